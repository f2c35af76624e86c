"""One Durable Object in memory: its events, its turns, and its input and output gates.

The model (Cloudflare's, from "Durable Objects: Easy, Fast, Correct - Choose three" and
https://developers.cloudflare.com/durable-objects/ ):

- Each event delivered to an object (a ``fetch``, an RPC call, an alarm) runs as its own task,
  in *turns*: a turn is the code between two suspensions of that task. Turns of one object never
  overlap (one thread), so requests interleave only where an event awaits something real: a
  ``fetch``, a sleep, another object's stub. Storage operations never suspend the event: while
  one is in flight no other event is delivered (the input gate holds).
- Writes go into the object's SQLite transaction and commit when the turn ends, so writes with
  no await between them are atomic (write coalescing), and an event's result is handed to its
  caller only after its writes committed (the output gate).
- Group commit: the last turn of an event does not commit on its own. The events that end in the
  same pass of the loop (concurrent requests to one object) share one COMMIT, run right after
  them; until it has run, no result leaves the object, whichever event wrote, since a result
  may show what another event wrote (workerd's output gate holds every outgoing message until
  the writes before it are confirmed). A reset before that commit loses those writes and fails
  those events, as it fails events in flight: nothing confirmed is lost. A turn that ends at an
  outside await still commits at once, before the call it awaits leaves.
- ``ctx.blockConcurrencyWhile(fn)`` closes the input gate until ``fn`` settles: no other event
  starts or continues meanwhile.

:class:`LiveObject` is the instance and its bookkeeping; :class:`TurnDriver` drives one event's
coroutine turn by turn. Which instance is live, eviction and crashes belong to the class's host
(``course.runtime.objects.host``), reached through the :class:`InstanceHost` port.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars
import inspect
import itertools
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Callable, Protocol

from course.workers.context import current_runtime

from course.runtime.kernel.runtime import Kernel
from course.runtime.kernel.worker import Worker
from course.runtime.objects.errors import DurableObjectAborted, reset_error
from course.runtime.objects.ids import DurableObjectId
from course.runtime.objects.storage import ObjectStorage

if TYPE_CHECKING:  # typing only: WebSocket ends pinned in memory
    from course.workers.websocket import WebSocket

#: "To help mitigate deadlocks there is a 30 second timeout applied when executing the callback. If
#: this timeout is exceeded, the Durable Object will be reset."
#: (https://developers.cloudflare.com/durable-objects/api/state/#blockconcurrencywhile)
BLOCK_CONCURRENCY_TIMEOUT_SECONDS = 30.0

#: The object whose event the current task runs (None outside objects): WebSocket accept()
#: reads it to pin the object in memory.
current_object: contextvars.ContextVar["LiveObject | None"] = contextvars.ContextVar("course_do_object", default=None)


#: The fields every object event starts with (LiveObject.trace, whose values are the instance's
#: trace_head), then those of the hot events' own: one shared tuple per kind (Trace.record_plain).
_HEAD = ("binding", "object", "id", "cls")
DO_EVENT_START_KEYS = _HEAD + ("event", "event_kind", "method", "phase", "caller")
DO_EVENT_END_KEYS = _HEAD + ("event", "event_kind", "method", "phase", "outcome", "start", "end", "turns",
                             "caller")
_DO_TURN_KEYS = _HEAD + ("event", "event_kind", "method", "turn", "start", "end", "storage_ops", "input_gate",
                         "writes_committed", "interleaved", "gate_wait", "final")
_DO_OUTPUT_GATE_KEYS = _HEAD + ("event", "writes")


class InstanceHost(Protocol):
    """What an instance needs of the host of its class (``course.runtime.objects.host.ObjectClass``)."""

    runtime: Kernel
    worker: Worker
    class_name: str
    binding_name: str

    def label_of(self, hex_id: str) -> str: ...

    def id_of(self, hex_id: str) -> DurableObjectId: ...

    def instance(self, hex_id: str) -> "LiveObject | None": ...

    def region_of(self, hex_id: str) -> str | None: ...

    def idle_timeout(self, hex_id: str) -> float | None: ...

    def idle_reason(self, hex_id: str) -> str: ...

    def evict(self, hex_id: str, *, reason: str = "evict") -> bool: ...

    def crash(self, hex_id: str, *, reason: str = "crash", error: BaseException | None = None) -> bool: ...

    async def deliver(self, id: DurableObjectId, kind: str, method: str, call: Callable[[Any], Any]) -> Any: ...


class ObjectEvent:
    """One fetch / RPC call / alarm / WebSocket event delivered to an object."""

    __slots__ = ("eid", "kind", "method", "start", "future", "task", "turns", "writes", "last_turn_seq",
                 "gate_wait_since")

    def __init__(self, eid: int, kind: str, method: str, start: float, future: "asyncio.Future[Any]",
                 last_turn_seq: int = 0) -> None:
        self.eid, self.kind, self.method, self.start, self.future = eid, kind, method, start, future
        self.task: "asyncio.Task[Any] | None" = None
        self.turns = 0
        self.writes = 0
        #: the object's turn count when this event last ran a turn (or was delivered)
        self.last_turn_seq = last_turn_seq
        self.gate_wait_since: float | None = None

    def __repr__(self) -> str:
        return f"<ObjectEvent {self.eid} {self.kind} {self.method} turns={self.turns} writes={self.writes}>"


class TurnDriver:
    """Drives one event's coroutine step by step: each step is a turn of the object.

    Before a turn starts, the driver waits while the input gate is closed by
    ``blockConcurrencyWhile``; when a turn ends at a suspension, the object's buffered writes
    commit (unless a ``transaction()`` is open).
    """

    def __init__(self, live: "LiveObject", event: ObjectEvent, call: Callable[[Any], Any]) -> None:
        #: ``call(instance)`` starts the event's code on the object's instance; ``call.check``,
        #: when it has one, validates the event's result (a fetch must give a Response) and raises
        #: inside the event, which then fails as if its code had raised
        self.live, self.event, self.call = live, event, call
        self.check: Callable[[Any], None] | None = getattr(call, "check", None)

    def _wait_gate(self) -> Any:
        live, event = self.live, self.event
        while live.blocked:
            if event.gate_wait_since is None:
                event.gate_wait_since = live.runtime.clock.now()
            yield from live.gate_closed().__await__()

    def __await__(self) -> Any:
        live, event = self.live, self.event
        if live.block_depth:
            yield from self._wait_gate()
        live.begin_turn(event)
        try:
            result = self.call(live.instance)
        except BaseException:
            live.end_turn(event, final=True)
            raise
        if type(result) is not CoroutineType and not inspect.isawaitable(result):
            live.end_turn(event, final=True)
            if self.check is not None:
                self.check(result)
            return result
        it = result.__await__()
        send: Any = None
        exc: BaseException | None = None
        while True:
            try:
                yielded = it.throw(exc) if exc is not None else it.send(send)
            except StopIteration as stop:
                live.end_turn(event, final=True)
                if self.check is not None:
                    self.check(stop.value)
                return stop.value
            except BaseException:
                live.end_turn(event, final=True)
                raise
            live.end_turn(event, final=False)
            try:
                send, exc = (yield yielded), None
            except BaseException as e:  # cancellation and errors go into the event's code
                send, exc = None, e
            if exc is None and live.block_depth:
                yield from self._wait_gate()
            live.begin_turn(event)


class LiveObject:
    """An object in memory: the user's instance, its ctx, the events it is running."""

    def __init__(self, host: InstanceHost, id: DurableObjectId, storage: ObjectStorage) -> None:
        self.host = host
        self.runtime = host.runtime
        self.id = id
        self.hex = id.toString()
        self.label = id.name if id.name is not None else host.label_of(self.hex)
        #: the values of _HEAD, the same for every event of this instance
        self.trace_head = (host.binding_name, self.label, self.hex, host.class_name)
        #: who its events' calls come from (``current_actor``)
        self.actor = f"{host.binding_name}:{self.label}"
        self.storage = storage
        #: ``self.ctx`` of the instance (a DurableObjectState), set by the host
        self.ctx: Any = None
        self.instance: Any = None
        self.events: dict[int, ObjectEvent] = {}
        self.block_depth = 0
        self.gate_waiters: list[asyncio.Future[Any]] = []
        self.current: ObjectEvent | None = None
        self.turn_started = 0.0
        self.turn_ops = 0
        self.turn_writes = 0
        self.turn_seq = 0
        #: the event of each of the last 512 turns, oldest first (turn turn_seq is the last one)
        self.recent_turns: collections.deque[int] = collections.deque(maxlen=512)
        self.dead = False  # no longer the object's instance in memory (evicted or crashed)
        self.crashed = False  # reset: its unconfirmed writes were dropped, it must not commit
        #: an eviction asked for while events ran: it happens when the object is idle
        self.evict_pending: str | None = None
        self.idle_handle: asyncio.TimerHandle | None = None
        self.last_active = self.runtime.clock.now()
        self.created_at = self.last_active
        self.bcw_tasks: set[asyncio.Task[Any]] = set()
        self._flush_scheduled = False
        #: Standard-API WebSockets accepted inside this object: they keep it in memory.
        self.pinned_sockets: set["WebSocket"] = set()
        #: writes of ended events waiting for the group commit (counted in their do_turn already)
        self.unconfirmed_writes = 0
        #: (event, result) of ended events whose result waits for the group commit
        self.held_results: list[tuple[ObjectEvent, Any]] = []
        self._group_commit_scheduled = False
        storage.on_commit = self._committed
        storage.on_op = self.on_storage_op  # the storage reports to its newest instance

    @property
    def blocked(self) -> bool:
        return self.block_depth > 0

    @property
    def busy(self) -> bool:
        """Events run or blockConcurrencyWhile holds the gate: not idle."""
        return bool(self.events) or self.blocked

    def trace(self, kind: str, **data: Any) -> None:
        self.runtime.trace.record(kind, binding=self.host.binding_name, object=self.label,
                                  id=self.hex, cls=self.host.class_name, **data)

    # -- turns -----------------------------------------------------------------------------------
    def begin_turn(self, event: ObjectEvent) -> None:
        self.current = event
        self.turn_started = self.runtime.clock.now()
        self.turn_ops = 0
        self.turn_writes = 0

    def end_turn(self, event: ObjectEvent, *, final: bool) -> None:
        storage = self.storage
        if self.crashed:
            committed = 0
        elif final and storage.committable:
            # The event ends: its writes commit with those of the other events ending now.
            committed = storage.pending_writes - self.unconfirmed_writes
            self.unconfirmed_writes = storage.pending_writes
            if not self._group_commit_scheduled:
                self._group_commit_scheduled = True
                self.runtime.loop.call_soon(self._group_commit)
        else:
            earlier = self.unconfirmed_writes  # counted by the turns that made them
            n = storage.flush()
            committed = n - earlier if n else 0
        event.turns += 1
        event.writes += committed
        self.turn_seq += 1
        # The other events that ran a turn since this one's last turn (or its delivery):
        # recent_turns holds the event of each of the last turns, in order, so those turns are
        # its newest (turn_seq - 1 - last_turn_seq) entries.
        me = event.eid
        recent = self.recent_turns
        newer = min(self.turn_seq - 1 - event.last_turn_seq, len(recent))
        if newer <= 0:
            interleaved: tuple[int, ...] = ()
        else:
            seen = set(itertools.islice(reversed(recent), newer))
            seen.discard(me)
            interleaved = tuple(sorted(seen))
        recent.append(me)
        waited = None
        if event.gate_wait_since is not None:
            waited = round(self.turn_started - event.gate_wait_since, 6)
            event.gate_wait_since = None
        end = self.runtime.clock.now()
        self.runtime.trace.record_plain("do_turn", _DO_TURN_KEYS, self.trace_head + (
            event.eid, event.kind, event.method, event.turns, self.turn_started, end, self.turn_ops,
            "held" if self.turn_ops else "open", committed, interleaved, waited, final), end)
        event.last_turn_seq = self.turn_seq
        self.current = None

    def on_storage_op(self, name: str, write: bool) -> None:
        if self.dead:
            # No instance in memory (the platform's own storage work, such as an alarm's row):
            # a write commits when the running step yields, as the host does without an instance.
            if write:
                self.runtime.loop.call_soon(self.storage.flush)
            return
        if self.current is not None:
            self.turn_ops += 1
            if write:
                self.turn_writes += 1
        elif write and not self._flush_scheduled:
            # A write outside any tracked turn (a waitUntil task, a gather() child): commit it
            # when the running step yields, which is still "no await between the writes".
            self._flush_scheduled = True
            self.runtime.loop.call_soon(self._late_flush)

    # -- the output gate and group commit ---------------------------------------------------------
    def release(self, event: ObjectEvent, result: Any) -> None:
        """Hand ``event``'s result to its caller: at once, or after the group commit when writes
        of ended events are not committed yet."""
        if self.unconfirmed_writes and not self.crashed:
            self.held_results.append((event, result))
            return
        if event.writes:
            self.runtime.trace.record_plain("do_output_gate", _DO_OUTPUT_GATE_KEYS,
                                            self.trace_head + (event.eid, event.writes))
        if not event.future.done():
            event.future.set_result(result)

    def _group_commit(self) -> None:
        self._group_commit_scheduled = False
        if not self.crashed and not self.dead:  # an eviction committed already; a crash rolled back
            self.storage.flush()  # calls _committed; inside a transaction() it waits for its end

    def _committed(self) -> None:
        """The object's transaction committed: every held result may leave."""
        self.unconfirmed_writes = 0
        held, self.held_results = self.held_results, []
        if not held:
            return
        record, head, now = self.runtime.trace.record_plain, self.trace_head, self.runtime.clock.now()
        for event, result in held:
            if event.writes:  # the gate opens for all of them at this one instant
                record("do_output_gate", _DO_OUTPUT_GATE_KEYS, head + (event.eid, event.writes), now)
            if not event.future.done():
                event.future.set_result(result)

    def drop_held_results(self) -> list[ObjectEvent]:
        """The object was reset before its group commit: the held events, which then fail."""
        self.unconfirmed_writes = 0
        held, self.held_results = self.held_results, []
        return [event for event, _ in held]

    def _late_flush(self) -> None:
        self._flush_scheduled = False
        if not self.crashed:
            self.storage.flush()

    # -- the input gate --------------------------------------------------------------------------
    def gate_closed(self) -> "asyncio.Future[Any]":
        """A future that resolves when the input gate opens again."""
        fut = self.runtime.loop.create_future()
        self.gate_waiters.append(fut)
        return fut

    def open_gate(self) -> None:
        waiters, self.gate_waiters = self.gate_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def block_concurrency_while(self, fn: Callable[[], Any]) -> "asyncio.Task[Any]":
        rt = self.runtime
        self.block_depth += 1
        self.trace("do_block_concurrency", phase="start")

        async def run() -> Any:
            failed: BaseException | None = None
            try:
                result = fn()
                if inspect.isawaitable(result):
                    result = await result
                return result
            except BaseException as exc:
                failed = exc
                raise
            finally:
                self.block_depth -= 1
                if not self.crashed:
                    self.storage.flush()
                self.trace("do_block_concurrency", phase="end", error=type(failed).__name__ if failed else None)
                if not self.blocked:
                    self.open_gate()
                if failed is not None and not isinstance(failed, (asyncio.CancelledError, DurableObjectAborted)) \
                        and not self.dead:
                    # "If the callback throws, the object is terminated and reset."
                    self.host.crash(self.hex, reason="blockConcurrencyWhile", error=reset_error(
                        f"blockConcurrencyWhile() callback failed: {type(failed).__name__}: {failed}"))
                else:
                    self.settled()

        task = rt.loop.create_task(run(), name=f"blockConcurrencyWhile({self.label})")

        def timed_out() -> None:
            if task.done() or self.dead:
                return
            self.trace("do_block_concurrency", phase="timeout", seconds=BLOCK_CONCURRENCY_TIMEOUT_SECONDS)
            self.host.crash(self.hex, reason="blockConcurrencyWhile_timeout", error=reset_error(
                f"blockConcurrencyWhile() callback did not finish within {BLOCK_CONCURRENCY_TIMEOUT_SECONDS:g} "
                "seconds; the Durable Object was reset."))

        timer = rt.call_later(BLOCK_CONCURRENCY_TIMEOUT_SECONDS, timed_out,
                              label=f"blockConcurrencyWhile-timeout:{self.label}")
        task.add_done_callback(lambda _t: timer.cancel())
        self.bcw_tasks.add(task)
        task.add_done_callback(self.bcw_tasks.discard)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved by the awaiter
        return task

    # -- idle eviction -----------------------------------------------------------------------------
    def settled(self) -> None:
        """An event or a blockConcurrencyWhile ended: evict now if asked while busy, else
        restart the idle timer."""
        if self.dead:
            return
        if self.evict_pending is not None and not self.busy:
            self.host.evict(self.hex, reason=self.evict_pending)
            return
        self.touch()

    def touch(self) -> None:
        """Note activity and (re)start the idle-eviction timer, on the runtime clock."""
        rt = self.runtime
        self.last_active = rt.clock.now()
        if self.idle_handle is not None:
            self.cancel_idle_timer()
        if self.events or self.dead or self.pinned_sockets:
            return
        timeout = self.host.idle_timeout(self.hex)
        if timeout is None or timeout == float("inf"):
            return
        # rt.call_later converts runtime-clock times to the loop's clock (they differ on real time).
        self.idle_handle = rt.call_later(timeout, self._idle_check, label=f"idle:{self.host.binding_name}:{self.label}")

    def cancel_idle_timer(self) -> None:
        if self.idle_handle is not None:
            self.idle_handle.cancel()
            self.idle_handle = None

    def _idle_check(self) -> None:
        self.idle_handle = None
        if self.dead or self.busy or self.pinned_sockets:
            return
        current_runtime.set(self.runtime)
        self.host.evict(self.hex, reason=self.host.idle_reason(self.hex))

    # -- standard WebSockets -----------------------------------------------------------------------
    def pin(self, ws: "WebSocket") -> None:
        """"WebSocket connections pin your Durable Object to memory" (standard API)."""
        self.pinned_sockets.add(ws)
        self.touch()

    def unpin(self, ws: "WebSocket") -> None:
        self.pinned_sockets.discard(ws)
        if not self.dead:
            self.touch()

    def drop_pinned_sockets(self, code: int, reason: str) -> None:
        """The instance is gone: its standard WebSockets drop without a close handshake."""
        for ws in list(self.pinned_sockets):
            ws.drop_connection(code, reason)
        self.pinned_sockets.clear()
