"""What the runtime does with WebSocket frames: the wire between two ends, and where frames land.

Each end of a ``WebSocketPair`` (``course.workers.websocket``) gets an :class:`EndLink`, the
runtime's side of that end. Every delivery runs on the runtime's loop, asynchronously after
``send`` returns (as over a wire), in order. Between a client in one region and an object placed
in another (``course.runtime.net.regions``), each message and Close frame takes the one-way
latency of the matrix (plus any ``rt.faults.latency``) on the runtime clock, traced as a
``"net"`` leg (``leg="ws:message"`` / ``"ws:close"``). A message sent across an
``rt.faults.partition`` breaks the connection as a lost TCP connection does: both ends close
with code 1006 (``wasClean`` false; ``webSocketClose``, not ``webSocketError``, which is for
"non-disconnection related errors",
https://developers.cloudflare.com/durable-objects/api/websockets/#websocketerror). With one
region and no faults nothing of this applies: deliveries are immediate.

Where an accepted end's frames go is its :class:`SocketOwner`: a plain Worker (listeners run as
background tasks), a Durable Object that accepted it with ``accept()`` (listeners run as events
of the object, through its gates, and the open socket keeps the object in memory), the
hibernation API (``course.runtime.objects.hibernation``), or a client connection
(``course.runtime.edges.sessions``).
"""
from __future__ import annotations

import asyncio
import collections
from typing import Any, Protocol

from course.workers.context import current_actor, current_worker
from course.workers.jsproxy import to_py
from course.workers.websocket import ABNORMAL_CLOSURE, WEBSOCKET_WIRE_SERVICE, WebSocket, event_for

from course.runtime.kernel.clone import structured_clone
from course.runtime.kernel.plugins import ServiceSlot
from course.runtime.kernel.runtime import Kernel
from course.runtime.kernel.worker import Worker, call_relaxed
from course.runtime.net.endpoints import Endpoint
from course.runtime.net.faults import FAULTS
from course.runtime.net.links import caller_endpoint, leg_ms
from course.runtime.objects.instance import LiveObject, current_object

#: From this compatibility date the runtime answers a received Close frame itself
#: (``web_socket_auto_reply_to_close``,
#: https://developers.cloudflare.com/workers/configuration/compatibility-flags/#websocket-auto-reply-to-close).
AUTO_REPLY_TO_CLOSE_SINCE = "2026-04-07"


class SocketOwner(Protocol):
    """Where an accepted end lives: its place in the network and where its frames go."""

    #: the actor the end belongs to ("client", "BINDING:name"), None for a plain Worker
    label: str | None
    #: the Worker whose code handles the end's events (None for a client connection)
    worker: Worker | None

    def endpoint(self) -> Endpoint: ...

    def deliver(self, ws: WebSocket, kind: str, payload: Any) -> None: ...

    def release(self, ws: WebSocket) -> None: ...


def answers_close(worker: Worker | None) -> bool:
    """Whether the runtime answers a Close frame for sockets of ``worker`` (compatibility date)."""
    date = getattr(getattr(worker, "config", None), "compatibility_date", None) or ""
    return date >= AUTO_REPLY_TO_CLOSE_SINCE


def actor_of(ws: WebSocket | None) -> str:
    """Who sent a frame from ``ws``, for the trace: its owner's label, else "client"."""
    if ws is None or not isinstance(ws.link, EndLink):
        return "client"
    return ws.link.owner_label() or "client"


class WorkerOwner:
    """An end accepted with ``accept()`` in a Worker: listeners run as background tasks."""

    label: str | None = None

    def __init__(self, runtime: Kernel, worker: Worker | None, region: str | None, name: str) -> None:
        self.runtime, self.worker, self.region, self.name = runtime, worker, region, name

    def endpoint(self) -> Endpoint:
        return Endpoint(self.region, getattr(self.worker, "name", None) or self.name)

    def deliver(self, ws: WebSocket, kind: str, payload: Any) -> None:
        handlers = ws.listeners(kind)
        if handlers:
            self.runtime.spawn(run_listeners(handlers, event_for(kind, payload)), label=f"websocket:{kind}",
                               worker=self.worker)

    def release(self, ws: WebSocket) -> None:
        pass


class PinnedOwner:
    """An end accepted with ``accept()`` inside a Durable Object: its listeners run as events of
    the object, and while it is open the object stays in memory."""

    def __init__(self, live: LiveObject) -> None:
        self.live = live
        self.worker: Worker | None = live.host.worker
        self.label: str | None = f"{live.host.binding_name}:{live.label}"

    def endpoint(self) -> Endpoint:
        host = self.live.host
        return Endpoint(host.region_of(self.live.hex), self.label, host.binding_name)

    def deliver(self, ws: WebSocket, kind: str, payload: Any) -> None:
        live = self.live
        handlers = ws.listeners(kind)
        if not handlers or live.dead:
            return
        host, rt = live.host, live.runtime
        event = event_for(kind, payload)

        async def as_event() -> None:
            current_actor.set(actor_of(ws.peer))
            try:
                await host.deliver(live.id, "websocket", kind, lambda _instance: run_listeners(handlers, event))
            except Exception as exc:  # noqa: BLE001 - a listener's failure is logged
                rt.log("error", f"WebSocket {kind} listener failed: {type(exc).__name__}: {exc}",
                       worker=host.worker.name)
        rt.spawn(as_event(), label=f"websocket:{kind}", worker=host.worker)

    def release(self, ws: WebSocket) -> None:
        self.live.unpin(ws)


async def run_listeners(handlers: list[Any], event: Any) -> None:
    for handler in handlers:
        await call_relaxed(handler, event)


class EndLink:
    """The runtime's side of one WebSocket end (implements ``course.workers.websocket.WebSocketLink``)."""

    def __init__(self, runtime: Kernel, ws: WebSocket) -> None:
        self.runtime = runtime
        self.ws = ws
        self.owner: SocketOwner | None = None
        #: Frames on the wire towards this end (arrival time on the loop clock, kind, payload),
        #: carried in order by one background task; only used when a leg has latency.
        self.inflight: collections.deque[tuple[float, str, Any]] = collections.deque()
        self._courier: asyncio.Task[Any] | None = None
        self.broken = False  # the connection failed (a partition); its 1006 close is on the way

    # -- who holds the end ---------------------------------------------------------------------
    def own(self, owner: SocketOwner) -> None:
        """The end now belongs to ``owner`` (set when it is accepted or taken)."""
        self.owner = owner

    def owner_label(self) -> str | None:
        return self.owner.label if self.owner is not None else None

    def accepted(self) -> None:
        live = current_object.get()
        if live is not None and not live.dead:
            self.own(PinnedOwner(live))
            live.pin(self.ws)
        else:  # a Worker runs where it was called
            self.own(WorkerOwner(self.runtime, current_worker.get(), caller_endpoint(self.runtime).region,
                                 self.ws.label))

    def released(self) -> None:
        if self.owner is not None:
            self.owner.release(self.ws)

    def auto_reply_to_close(self) -> bool:
        if self.ws.mode == "external":
            return True  # client libraries answer a Close frame themselves
        return answers_close(self.owner.worker if self.owner is not None else current_worker.get())

    def clone(self, value: Any) -> Any:
        return to_py(structured_clone(value))

    def trace(self, kind: str, **data: Any) -> None:
        self.runtime.trace.record(kind, socket=self.ws.label, **data)

    # -- the wire --------------------------------------------------------------------------------
    def endpoint(self) -> Endpoint:
        """This end as a network endpoint: region and names."""
        if self.owner is not None:
            return self.owner.endpoint()
        return Endpoint(None, self.ws.label)

    def fault_names(self) -> tuple[str, ...]:
        owner = self.owner_label()
        if owner is None:
            return (f"ws:{self.ws.label}", "websocket")
        return (owner, f"ws:{owner}", "websocket")

    def transmit(self, kind: str, payload: Any) -> None:
        """Put a frame on the wire to the other end: partitions, drops, duplicates, latency."""
        peer = self.ws.peer
        if peer is None or self.broken:
            return
        to = peer.link
        assert isinstance(to, EndLink)
        rt = self.runtime
        faults = FAULTS.peek(rt)
        # An end not taken yet (the client end inside a 101 response) gets the frame right
        # behind that response, which already crossed the network: no leg of its own.
        src = dst = None
        if peer.mode is not None:
            src, dst = self.endpoint(), to.endpoint()
            if faults is not None and faults.partitioned(src, dst, leg=f"ws:{kind}"):
                self.break_connection("partition")
                return
        copies = 1
        if kind == "message" and faults is not None:
            names = to.fault_names()
            if faults.should_drop(*names):
                return
            if faults.should_duplicate(*names):
                copies = 2
        delay = 0.0
        if src is not None and dst is not None and (faults is not None or src.region is not None
                                                    or dst.region is not None):
            delay = leg_ms(rt, src, dst, leg=f"ws:{kind}", socket=self.ws.label) / 1000.0
        for _ in range(copies):
            to.arrive_after(delay, kind, payload)

    def arrive(self, kind: str, payload: Any) -> None:
        # Deliver after the sender's current step, in order, as over a wire.
        self.runtime.loop.call_soon(self.ws.receive_frame, kind, payload)

    def arrive_after(self, delay: float, kind: str, payload: Any) -> None:
        """Deliver ``delay`` seconds from now, never before a frame sent earlier (TCP keeps order)."""
        if delay <= 0 and not self.inflight:
            self.arrive(kind, payload)
            return
        # Frame times and the courier's sleeps are both on the loop's clock.
        loop = self.runtime.loop
        at = loop.time() + max(delay, 0.0)
        if self.inflight:
            at = max(at, self.inflight[-1][0])
        self.inflight.append((at, kind, payload))
        if self._courier is None or self._courier.done():
            # A background task, so run_until_idle() waits for frames still on the wire.
            self._courier = self.runtime.spawn(self._carry(), label=f"websocket:wire:{self.ws.label}")

    async def _carry(self) -> None:
        loop = self.runtime.loop
        while self.inflight:
            wait = self.inflight[0][0] - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            _, kind, payload = self.inflight.popleft()
            self.ws.receive_frame(kind, payload)

    def break_connection(self, cause: str) -> None:
        """The connection failed in the network: both ends see an abnormal close (1006)."""
        for end in (self.ws, self.ws.peer):
            if end is None or end.readyState == WebSocket.CLOSED:
                continue
            link = end.link
            assert isinstance(link, EndLink)
            if link.broken:
                continue
            link.broken = True
            link.inflight.clear()  # frames in flight are lost with the connection
            link.trace("ws_disconnect", code=ABNORMAL_CLOSURE, reason="", cause=cause)
            link.arrive("close", (ABNORMAL_CLOSURE, "", False))

    def fire(self, kind: str, payload: Any) -> None:
        if self.owner is not None:
            self.owner.deliver(self.ws, kind, payload)


class WebSocketWire:
    """The runtime's WebSocket service (``WEBSOCKET_WIRE.of(rt)``): numbers pairs, links ends."""

    def __init__(self, runtime: Kernel) -> None:
        self.runtime = runtime
        self._pairs = 0

    def next_pair(self) -> int:
        self._pairs += 1
        return self._pairs

    def link(self, ws: WebSocket) -> EndLink:
        return EndLink(self.runtime, ws)


#: The runtime's WebSocket wire; Worker code finds it under this name in ``runtime.services``.
WEBSOCKET_WIRE: ServiceSlot[WebSocketWire] = ServiceSlot(WEBSOCKET_WIRE_SERVICE, WebSocketWire)
