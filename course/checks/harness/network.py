"""An emulated network: the agent under test, its mailbox, and peers that answer with faults.

The agent under test talks through a :class:`Mailbox` (``send``, ``receive(timeout)``,
``now()``, ``name``). A message it sends is checked by the scenario (``accept``), recorded,
and handed to the recipient peer, a plain function that returns its replies. The network
schedules each reply on the virtual clock after the link's latency, then applies the
recipient's faults (:mod:`.faults`): lost to a crash or a drop, delayed, duplicated,
reordered. Everything that happens goes into the :class:`~.messages.MessageLog`.

Peers are synchronous and pure (message in, replies out): the timing and the faults are the
network's, so one peer written for a day serves every fault schedule.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from course.checks.harness.faults import Crash, Delay, Drop, Duplicate, Fault, Reorder
from course.checks.harness.messages import MessageLog
from course.checks.harness.streams import random_stream

#: Suffix of the id of a duplicated reply's second copy.
DUPLICATE_SUFFIX = "-dup"


@dataclass(frozen=True)
class Reply:
    """A message a peer answers with, and a note for the log (e.g. "wrong correlation_id")."""

    message: dict[str, Any]
    note: str = ""


#: A peer: (the message it received, the virtual time its reply will arrive) -> its replies.
Peer = Callable[[dict[str, Any], float], Sequence[Reply]]


def describe_message(message: Mapping[str, Any]) -> str:
    """The log's detail for a message: its id, what it answers, and small payload fields."""
    parts = [f"id={message.get('id')}"]
    if message.get("correlation_id") is not None:
        parts.append(f"corr={message['correlation_id']}")
    payload = message.get("payload")
    if isinstance(payload, Mapping) and "index" in payload:
        parts.append(f"index={payload['index']}")
    return " ".join(parts)


class Mailbox:
    """The agent under test's connection to the network."""

    def __init__(self, network: "Network", name: str) -> None:
        self._network = network
        self.name = name
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def now(self) -> float:
        """Virtual seconds since the scenario started."""
        return asyncio.get_running_loop().time()

    async def send(self, message: Any) -> None:
        self._network.send(message, sender=self.name)
        await asyncio.sleep(0)

    async def receive(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message for this agent, or None if none arrives within ``timeout`` s."""
        if timeout is None:
            return await self._inbox.get()
        if timeout <= 0:
            try:
                return self._inbox.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.sleep(0)
                return None
        try:
            return await asyncio.wait_for(self._inbox.get(), timeout)
        except asyncio.TimeoutError:
            return None


class Network:
    """One scenario's network, created inside the virtual loop that runs it."""

    def __init__(self, *, seed: int, latency: Callable[[str, int], float], log: MessageLog | None = None,
                 faults: Mapping[str, Sequence[Fault]] | None = None,
                 accept: Callable[[Any], dict[str, Any]] | None = None,
                 describe: Callable[[Mapping[str, Any]], str] | None = None) -> None:
        self.seed = seed
        self.latency = latency  # (recipient, how many messages were sent so far) -> seconds
        self.faults = {name: tuple(fs) for name, fs in (faults or {}).items()}
        self.accept = accept or (lambda message: dict(message))
        self.describe = describe or describe_message
        self.log = log if log is not None else MessageLog()
        self.peers: dict[str, Peer] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        self.sent = 0
        self.delivered: list[tuple[float, dict[str, Any]]] = []  # (time, message) that reached a mailbox

    def add_peer(self, name: str, peer: Peer) -> None:
        self.peers[name] = peer

    def mailbox(self, name: str) -> Mailbox:
        box = self.mailboxes[name] = Mailbox(self, name)
        return box

    def _fault(self, name: str, kind: type) -> Any:
        return next((f for f in self.faults.get(name, ()) if isinstance(f, kind)), None)

    def send(self, raw: Any, *, sender: str) -> None:
        """Accept, record and route one message (raises whatever ``accept`` raises)."""
        message = self.accept(raw)
        loop = asyncio.get_running_loop()
        now = loop.time()
        recipient = str(message.get("recipient"))
        self.sent += 1
        kind, detail = str(message.get("type")), self.describe(message)
        if self._fault(recipient, Crash) is not None:
            self.log.record(now, sender, recipient, kind, detail, f"lost: {recipient} has crashed")
            return
        drop = self._fault(recipient, Drop)
        if drop is not None and random_stream(self.seed, "drop", recipient, self.sent).random() < drop.probability:
            self.log.record(now, sender, recipient, kind, detail, "dropped by the network")
            return
        self.log.record(now, sender, recipient, kind, detail)
        peer = self.peers.get(recipient)
        if peer is None:
            return
        delay = self.latency(recipient, self.sent)
        fate = ""
        slow = self._fault(recipient, Delay)
        if slow is not None:
            delay += slow.seconds
            fate = f"delayed {slow.seconds:g} s"
        reorder = self._fault(recipient, Reorder)
        if reorder is not None:
            delay += random_stream(self.seed, "reorder", recipient, self.sent).uniform(0, reorder.spread)
        twice = self._fault(recipient, Duplicate)
        for reply in peer(message, now + delay):
            note = "; ".join(x for x in (reply.note, fate) if x)
            loop.call_later(delay, self._arrive, reply.message, note)
            if twice is not None:
                copy = dict(reply.message, id=str(reply.message.get("id")) + DUPLICATE_SUFFIX)
                loop.call_later(delay + twice.gap, self._arrive, copy, "; ".join(x for x in (note, "duplicate") if x))

    def _arrive(self, message: dict[str, Any], note: str) -> None:
        loop = asyncio.get_running_loop()
        recipient = str(message.get("recipient"))
        self.log.record(loop.time(), str(message.get("sender")), recipient, str(message.get("type")),
                        self.describe(message), note)
        box = self.mailboxes.get(recipient)
        if box is not None:
            fresh = json.loads(json.dumps(message))  # a fresh copy each time: the wire carries JSON
            self.delivered.append((loop.time(), fresh))
            box._inbox.put_nowait(json.loads(json.dumps(message)))


__all__ = ["DUPLICATE_SUFFIX", "Mailbox", "Network", "Peer", "Reply", "describe_message"]
