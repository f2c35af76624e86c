"""Question 5, WebSocket resume from an offset: a client that reconnects gets exactly what it missed.

The learner writes ``Hub(send, storage)``, the mesh hub as a pure class: ``publish(event)``
stamps the event with the next offset (1, 2, ...), keeps it in ``storage`` (a dict that
survives a hub restart; the hub's memory does not) and sends it to every connected client with
``send(client, offset, event)``; ``connect(client, after)`` connects (or reconnects) a client
that has seen everything up to offset ``after`` and returns the backlog it missed, a list of
``(offset, event)`` in order; ``disconnect(client)``. ``send`` raises
:class:`~.types.ClientGone` for a client whose connection died: forget that client, and keep
sending to the others.

Each case runs three clients through a seeded schedule of publishes on the virtual clock, and
each client keeps the last offset it saw. Fault kinds (:data:`FAULTS`): ``disconnect`` (clients
leave and come back with their offset), ``partition`` (a connection dies silently: the hub
finds out when ``send`` fails), ``crash`` (the hub restarts from ``storage``; every client
reconnects), ``duplicate`` (a client reconnects while its old connection is still open).
Every client must see every offset exactly once, in order. A failure shrinks to the shortest
schedule.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from course.checks.day6.common import KindScenario
from course.checks.day6.types import ClientGone
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, random_stream

FAULTS = ("disconnect", "partition", "crash", "duplicate")
CLIENTS = ("planner", "scout", "critic")


@dataclass(frozen=True)
class ResumeCase(Case):
    seed: int
    kind: str
    steps: tuple[tuple[str, str], ...]  # (op, client): publish / leave / back / cut / restart / again

    def describe(self) -> str:
        return f"{len(self.steps)} steps ({self.kind}): " + ", ".join(
            op if op in ("publish", "restart") else f"{op} {c}" for op, c in self.steps)

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, len(self.steps)).map(lambda n: resume_case(self.seed, self.kind, n))

    def check(self, hub_cls: Any, log: MessageLog) -> str:
        seen = {c: 0 for c in CLIENTS}
        live = {c: True for c in CLIENTS}  # the client's own connection works
        clock = [0.0]

        def got(client: str, offset: Any, event: Any, how: str) -> None:
            log.record(clock[0], "hub", client, how, f"offset={offset} {event.get('text', '') if isinstance(event, dict) else event}")
            if offset != seen[client] + 1:
                raise CaseFailed(f"{client} had seen up to offset {seen[client]} and got offset {offset!r} ({how}): "
                                 + ("a duplicate" if isinstance(offset, int) and offset <= seen[client] else "a gap")
                                 + "; every client must see every offset exactly once, in order")
            if event != {"text": f"e{offset}"}:
                raise CaseFailed(f"{client} got {event!r} at offset {offset}; that offset's event is {{'text': 'e{offset}'}}")
            seen[client] = offset

        def send(client: str, offset: int, event: Any) -> None:
            if not live[client]:
                log.record(clock[0], "hub", client, "send", f"offset={offset}", "lost: the connection is dead")
                raise ClientGone(f"{client}'s WebSocket is closed")
            got(client, offset, event, "live")

        storage: dict[str, Any] = {}
        hub = hub_cls(send, storage)
        published = 0

        def connect(client: str) -> None:
            log.record(clock[0], client, "hub", "connect", f"after={seen[client]}")
            live[client] = True
            backlog = hub.connect(client, seen[client])
            for item in list(backlog or []):
                offset, event = item
                got(client, offset, event, "backlog")

        for client in CLIENTS:
            connect(client)
        for op, client in self.steps:
            clock[0] = round(clock[0] + 0.5, 6)
            if op == "publish":
                published += 1
                log.record(clock[0], "agent", "hub", "publish", f"e{published}")
                offset = hub.publish({"text": f"e{published}"})
                if offset != published:
                    raise CaseFailed(f"publish of the event number {published} returned offset {offset!r}; offsets "
                                     f"count from 1 and survive a restart")
            elif op == "leave":
                log.record(clock[0], client, "hub", "disconnect", "")
                hub.disconnect(client)
                live[client] = False
            elif op == "cut":
                log.record(clock[0], client, "hub", "partition", "the connection dies silently", "fault")
                live[client] = False
            elif op == "restart":
                log.record(clock[0], "platform", "hub", "restart", "the hub's memory is lost; storage is kept", "fault")
                hub = hub_cls(send, storage)
                for c in CLIENTS:
                    connect(c)
            elif op == "again":
                connect(client)
            else:
                connect(client)
        for client in CLIENTS:
            if not live[client]:
                connect(client)
        behind = {c: s for c, s in seen.items() if s != published}
        if behind:
            raise CaseFailed(f"after {published} events and every client back, {behind} had seen only up to those "
                             f"offsets: a reconnecting client gets every event after its offset")
        return f"{published} events, every client saw each offset once"


def resume_case(seed: int, kind: str, n: int | None = None) -> ResumeCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day6", "resume", seed, kind)
    steps: list[tuple[str, str]] = []
    away: set[str] = set()
    while len(steps) < 14:
        roll, client = rng.random(), rng.choice(CLIENTS)
        if roll < 0.5:
            steps.append(("publish", ""))
        elif client in away:
            steps.append(("back", client))
            away.discard(client)
        elif kind == "disconnect":
            steps.append(("leave", client))
            away.add(client)
        elif kind == "partition":
            steps.append(("cut", client))
            away.add(client)
        elif kind == "crash" and roll > 0.8 and not any(op == "restart" for op, _ in steps):
            steps.append(("restart", ""))
        elif kind == "duplicate":
            steps.append(("again", client))
        else:
            steps.append(("publish", ""))
    if kind == "crash" and ("restart", "") not in steps:
        steps.insert(len(steps) // 2, ("restart", ""))
    return ResumeCase(seed, kind, tuple(steps[:n] if n else steps))


class ResumeScenario(KindScenario):
    name_root, faults, default_target, what = "resume", FAULTS, "Hub", "connection schedules"
    make = staticmethod(resume_case)


def resume_scenario(seed: int = 0, faults: Any = None) -> ResumeScenario:
    """Three clients on the hub: disconnects, silent partitions, a hub restart, duplicate connections."""
    return ResumeScenario(seed, faults)


def grade_resume(hub_cls: Any, seed: int = 0, faults: Any = None) -> CheckResult:
    return resume_scenario(seed, faults).run(hub_cls).assert_ok()


__all__ = ["FAULTS", "ResumeCase", "ResumeScenario", "grade_resume", "resume_case", "resume_scenario"]
