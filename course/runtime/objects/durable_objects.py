"""Durable Objects: namespaces, ids, stubs, one instance per id, input/output gates, alarms.

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
- ``ctx.blockConcurrencyWhile(fn)`` closes the input gate until ``fn`` settles: no other event
  starts or continues meanwhile.
- One alarm per object, retried with exponential backoff; objects idle for
  :data:`IDLE_EVICTION_SECONDS` are evicted (memory gone, storage kept).

Every turn is in the trace (kind ``do_turn``), with events, evictions, crashes and alarms.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars
import copy
import hashlib
import inspect
import itertools
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from course.workers.context import current_actor, current_region, current_runtime, current_worker
from course.workers.http import Request, Response
from course.workers.jsproxy import JsException, JsObject, to_py
from course.workers.rpc import RESERVED_RPC_NAMES

from course.runtime.kernel.config import ConfigError
from course.runtime.kernel.clone import structured_clone
from course.runtime.kernel.plugins import DURABLE_OBJECTS_SERVICE, Plugin, ServiceSlot
from course.runtime.objects.storage import ObjectStorage
from course.runtime.objects.websockets import HIBERNATION_IDLE_SECONDS, HibernationAPI, hibernatable_count, object_reset
from course.runtime.kernel.worker import call_relaxed

# -- constants, with their sources -------------------------------------------------------------
#: An idle object (no request or event) is evicted "after 70-140 seconds of inactivity"
#: (https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/).
#: The lower bound is the default; set ``rt.do_idle_timeout`` to change it (None: this value).
IDLE_EVICTION_SECONDS = 70.0
#: "Retries are performed using exponential backoff starting at a 2 second delay from the first
#: failure with up to 6 retries allowed" (https://developers.cloudflare.com/durable-objects/api/alarms/).
ALARM_FIRST_RETRY_DELAY = 2.0
ALARM_MAX_RETRIES = 6
#: From this compatibility date on, deleteAll() also deletes the alarm
#: (https://developers.cloudflare.com/changelog/2026-02-24-deleteall-deletes-alarms).
DELETE_ALL_DELETES_ALARM_SINCE = "2026-02-24"
DELETE_ALL_DELETES_ALARM_FLAG = "delete_all_deletes_alarm"
#: The error callers see when the instance serving their request shut down (crash, reset):
#: https://developers.cloudflare.com/durable-objects/observability/troubleshooting/
INSTANCE_RESET_MESSAGE = ("Connection closed: this Durable Object instance is no longer active. "
                          "Reconnect or retry the request.")
#: The same page's error for an object reset by a code update (``rt.crash(..., code_update=True)``).
CODE_UPDATE_RESET_MESSAGE = "Durable Object reset because its code was updated."
#: "To help mitigate deadlocks there is a 30 second timeout applied when executing the callback. If
#: this timeout is exceeded, the Durable Object will be reset."
#: (https://developers.cloudflare.com/durable-objects/api/state/#blockconcurrencywhile)
BLOCK_CONCURRENCY_TIMEOUT_SECONDS = 30.0
#: locationHint values (https://developers.cloudflare.com/durable-objects/reference/data-location/).
LOCATION_HINTS = frozenset({"wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"})

#: Jurisdictions a namespace or newUniqueId() may be restricted to
#: (https://developers.cloudflare.com/durable-objects/reference/data-location/; "us" since
#: https://developers.cloudflare.com/changelog/post/2026-06-26-durable-objects-us-jurisdiction/).
JURISDICTIONS = frozenset({"eu", "us", "fedramp", "fedramp-high"})

_HEX64 = re.compile(r"[0-9a-f]{64}")


def _id_tag(key: str, jurisdiction: str | None, body: str) -> str:
    # The last 16 hex digits bind an id to its namespace and jurisdiction, so idFromString can tell.
    scope = key if jurisdiction is None else f"{key}@{jurisdiction}"
    return hashlib.sha256(f"{scope}|{body}".encode()).hexdigest()[:16]


def _jurisdiction_of(key: str, hex_id: str) -> tuple[bool, str | None]:
    """(valid for namespace ``key``, the id's jurisdiction) for a 64-hex-digit id."""
    body, tag = hex_id[:48], hex_id[48:]
    for jurisdiction in (None, *sorted(JURISDICTIONS)):
        if _id_tag(key, jurisdiction, body) == tag:
            return True, jurisdiction
    return False, None


def _check_jurisdiction(value: Any) -> str:
    if value not in JURISDICTIONS:
        raise JsException(f"Invalid jurisdiction {value!r}; use one of {sorted(JURISDICTIONS)}", "TypeError")
    return value

#: The object whose event the current task runs (None outside objects): WebSocket accept()
#: reads it to pin the object in memory.
current_object: contextvars.ContextVar["LiveObject | None"] = contextvars.ContextVar("course_do_object", default=None)


class DurableObjectAborted(BaseException):
    """Raised in an object's code after ``ctx.abort()``: not catchable as an ``Exception``."""


def reset_error(message: str = INSTANCE_RESET_MESSAGE) -> JsException:
    err = JsException(message, "Error")
    err.retryable = True  # type: ignore[attr-defined]
    err.remote = False  # type: ignore[attr-defined]
    return err


# -- ids -----------------------------------------------------------------------------------------
class DurableObjectId:
    """A Durable Object id: 64 hex digits; ``toString()``, ``name``, ``jurisdiction``, ``equals()``.

    ``name`` is set for ids from ``idFromName``/``getByName`` (None for ``newUniqueId`` and
    ``idFromString``); ``jurisdiction`` for ids made in a jurisdiction-restricted namespace
    (https://developers.cloudflare.com/durable-objects/api/id/).
    """

    __slots__ = ("_hex", "name", "_namespace", "jurisdiction")

    def __init__(self, hex_id: str, name: str | None, namespace: str, jurisdiction: str | None = None) -> None:
        self._hex = hex_id
        self.name = name
        self._namespace = namespace
        self.jurisdiction = jurisdiction

    def toString(self) -> str:  # noqa: N802 - Cloudflare's name
        return self._hex

    to_string = toString

    def equals(self, other: Any) -> bool:
        return isinstance(other, DurableObjectId) and other._hex == self._hex

    def __eq__(self, other: object) -> bool:
        return self.equals(other)

    def __hash__(self) -> int:
        return hash(self._hex)

    def __str__(self) -> str:
        return self._hex

    def __repr__(self) -> str:
        return f"DurableObjectId({self._hex[:12]}…{', name=' + repr(self.name) if self.name else ''})"


# -- the namespace binding ---------------------------------------------------------------------
class DurableObjectNamespace:
    """``env.BINDING``: makes ids and stubs for one Durable Object class."""

    def __init__(self, service: "DurableObjects", binding: str, script: str, class_name: str,
                 jurisdiction: str | None = None) -> None:
        self._service = service
        self.binding = binding
        self.script = script
        self.class_name = class_name
        self._key = f"{script}:{class_name}"
        self._jurisdiction = jurisdiction

    @property
    def host(self) -> "ObjectClass":
        return self._service.host(self.script, self.class_name, binding=self.binding)

    def _make(self, body: str, name: str | None, jurisdiction: str | None) -> DurableObjectId:
        return DurableObjectId(body + _id_tag(self._key, jurisdiction, body), name, self._key, jurisdiction)

    def idFromName(self, name: str) -> DurableObjectId:  # noqa: N802
        """The id for ``name``: the same name always gives the same id in this namespace (and a
        different one in each jurisdiction)."""
        if not isinstance(name, str):
            raise JsException(f"idFromName() takes a string, got {type(name).__name__}", "TypeError")
        scope = self._key if self._jurisdiction is None else f"{self._key}@{self._jurisdiction}"
        body = hashlib.sha256(f"{scope}|name|{name}".encode()).hexdigest()[:48]
        return self._make(body, name, self._jurisdiction)

    def newUniqueId(self, options: Any = None, *, jurisdiction: str | None = None,  # noqa: N802
                    **_: Any) -> DurableObjectId:
        """A fresh random id (seeded by the runtime: same seed, same ids); ``{"jurisdiction": "eu"}``
        restricts it to a jurisdiction."""
        if jurisdiction is None and options is not None:
            jurisdiction = (to_py(options) or {}).get("jurisdiction")
        if jurisdiction is not None:
            _check_jurisdiction(jurisdiction)
            if self._jurisdiction is not None and jurisdiction != self._jurisdiction:
                raise JsException(f"newUniqueId() jurisdiction {jurisdiction!r} differs from this namespace's "
                                  f"{self._jurisdiction!r}", "TypeError")
        rng = self._service.unique_rng(self._key)
        return self._make("%048x" % rng.getrandbits(192), None, jurisdiction or self._jurisdiction)

    def idFromString(self, text: str) -> DurableObjectId:  # noqa: N802
        """Parse an id made by this namespace (``id.toString()``); its ``name`` is None, as on
        Cloudflare (the name is not encoded in the id)."""
        if not isinstance(text, str) or not _HEX64.fullmatch(text):
            raise JsException("Invalid Durable Object ID: must be 64 hex digits", "TypeError")
        valid, jurisdiction = _jurisdiction_of(self._key, text)
        if not valid:
            raise JsException("Durable Object ID is not valid for this namespace.", "TypeError")
        self._check_id_jurisdiction(jurisdiction)
        return DurableObjectId(text, None, self._key, jurisdiction)

    def _check_id_jurisdiction(self, jurisdiction: str | None) -> None:
        # "You will run into an error if the jurisdiction on your DurableObjectNamespace and the
        # jurisdiction on DurableObjectId are different" (data-location docs).
        if self._jurisdiction is not None and jurisdiction != self._jurisdiction:
            raise JsException(f"Durable Object ID's jurisdiction ({jurisdiction}) does not match this namespace's "
                              f"jurisdiction ({self._jurisdiction}).", "TypeError")

    def get(self, id: DurableObjectId, options: Any = None, *, locationHint: str | None = None,
            **_: Any) -> "DurableObjectStub":
        """A stub for the object ``id`` (nothing is sent until a method is called)."""
        if not isinstance(id, DurableObjectId):
            raise JsException(f"get() takes a DurableObjectId (from idFromName, idFromString or "
                              f"newUniqueId), got {type(id).__name__}", "TypeError")
        if id._namespace != self._key:
            raise JsException("Durable Object ID is not valid for this namespace.", "TypeError")
        self._check_id_jurisdiction(id.jurisdiction)
        hint = locationHint
        if hint is None and isinstance(options, dict):
            hint = options.get("locationHint")
        if hint is not None and hint not in LOCATION_HINTS:
            raise JsException(f"Invalid locationHint {hint!r}; use one of {sorted(LOCATION_HINTS)}", "TypeError")
        return DurableObjectStub(self, id, hint)

    def getByName(self, name: str, options: Any = None, **kwargs: Any) -> "DurableObjectStub":  # noqa: N802
        """``get(idFromName(name))``."""
        return self.get(self.idFromName(name), options, **kwargs)

    def jurisdiction(self, name: str) -> "DurableObjectNamespace":
        """A subnamespace whose ids are restricted to jurisdiction ``name`` ("eu", "us", "fedramp"...)."""
        _check_jurisdiction(name)
        return DurableObjectNamespace(self._service, self.binding, self.script, self.class_name, name)

    id_from_name, id_from_string, new_unique_id, get_by_name = idFromName, idFromString, newUniqueId, getByName

    def __repr__(self) -> str:
        return f"<DurableObjectNamespace {self.binding} -> {self.class_name} ({self.script})>"


class _RpcMethod:
    def __init__(self, stub: "DurableObjectStub", name: str) -> None:
        self._stub, self._name = stub, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._stub._rpc(self._name, args, kwargs)

    def __await__(self) -> Any:
        # ``await stub.prop`` reads a property over RPC: a getter (``@property``) answers its value;
        # a plain instance attribute is not exposed (workerd: "does not implement the method").
        return self._stub._rpc(self._name, (), {}, property_read=True).__await__()

    def __repr__(self) -> str:
        return f"<RPC method {self._name} of {self._stub!r}>"


class DurableObjectStub:
    """A client for one object: ``await stub.fetch(...)`` or ``await stub.any_method(...)``."""

    def __init__(self, namespace: DurableObjectNamespace, id: DurableObjectId, hint: str | None = None) -> None:
        object.__setattr__(self, "_namespace", namespace)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "name", id.name)
        object.__setattr__(self, "_hint", hint)

    async def _send(self, kind: str, method: str, call: Callable[[Any], Any]) -> Any:
        """Deliver one event across the network model (placement, latency, partitions)."""
        from course.runtime.net.links import call_object

        host = self._namespace.host
        return await call_object(host, self.id, self._hint, lambda: host.deliver(self.id, kind, method, call))

    async def fetch(self, resource: Any, init: Any = None, **kwargs: Any) -> Response:
        """Send an HTTP request to the object's ``fetch`` handler (Fetch API semantics)."""
        request = resource if isinstance(resource, Request) and not (init or kwargs) else Request(resource, init, **kwargs)
        inbound = Request(request)  # the object gets its own copy, as over the wire

        def call(instance: Any) -> Any:
            handler = getattr(instance, "fetch", None)
            if handler is None:
                raise JsException("Handler does not export a fetch() function.", "Error")  # workerd

            async def run() -> Response:
                response = await call_relaxed(handler, inbound)
                if not isinstance(response, Response):
                    raise TypeError(f"the Durable Object's fetch() returned {type(response).__name__}; it "
                                    "must return a Response")
                return response
            return run()

        return await self._send("fetch", request.url, call)

    async def _rpc(self, method: str, args: tuple, kwargs: dict, *, property_read: bool = False) -> Any:
        host = self._namespace.host
        if method.startswith("_") or method in RESERVED_RPC_NAMES:
            why = ("names starting with '_' are private" if method.startswith("_")
                   else f"{method} is reserved (https://developers.cloudflare.com/workers/runtime-apis/rpc/reserved-methods/)")
            raise JsException(f'The RPC receiver does not implement the method "{method}". ({why})', "TypeError")
        cloned_args = [structured_clone(a, passthrough=PASSTHROUGH) for a in args]
        cloned_kwargs = {k: structured_clone(v, passthrough=PASSTHROUGH) for k, v in kwargs.items()}

        def call(instance: Any) -> Any:
            fn = getattr(type(instance), method, None)
            if property_read:
                if isinstance(inspect.getattr_static(type(instance), method, None), property):
                    return getattr(instance, method)
                if fn is not None and callable(fn):
                    raise JsException(f"{method} is an RPC method: call it (await stub.{method}(...)) "
                                      "instead of awaiting the attribute", "TypeError")
            if fn is None or not callable(fn):
                raise JsException(f'The RPC receiver does not implement the method "{method}".', "TypeError")
            return getattr(instance, method)(*cloned_args, **cloned_kwargs)

        result = await self._send("rpc", method, call)
        return structured_clone(result, passthrough=PASSTHROUGH)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _RpcMethod(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Durable Object stubs are read-only")

    def __repr__(self) -> str:
        return f"<DurableObjectStub {self._namespace.class_name} {self.name or self.id.toString()[:12]}>"


PASSTHROUGH: tuple[type, ...] = (DurableObjectStub, DurableObjectId, DurableObjectNamespace, Request, Response)


# -- ctx -----------------------------------------------------------------------------------------
class DurableObjectState(HibernationAPI):
    """``self.ctx`` of a Durable Object: ``id``, ``storage``, ``waitUntil``,
    ``blockConcurrencyWhile``, ``abort``, and the WebSocket hibernation API
    (``acceptWebSocket``, ``getWebSockets``... in :class:`course.runtime.objects.websockets.HibernationAPI`)."""

    def __init__(self, live: "LiveObject") -> None:
        self._live = live
        self.id = live.id
        self.storage = live.storage
        self.props: dict[str, Any] = {}

    def waitUntil(self, awaitable: Any) -> None:  # noqa: N802
        """Keep ``awaitable`` running after the current event (it does not delay the response)."""
        live = self._live
        live.host.runtime.wait_until(awaitable, worker=live.host.worker)

    def blockConcurrencyWhile(self, fn: Callable[[], Any]) -> "asyncio.Task[Any]":  # noqa: N802
        """Run ``fn`` with the input gate closed: no other event starts or resumes until it settles.

        Returns an awaitable (a Task), so a constructor may call it without awaiting. If ``fn``
        raises, the object is reset, as on Cloudflare.
        """
        return self._live.block_concurrency_while(fn)

    def abort(self, reason: str | None = None) -> None:
        """Reset the object now: in-flight requests fail with ``reason``; memory is lost."""
        live = self._live
        message = str(reason) if reason is not None else "Durable Object was aborted"
        live.host.crash(live.hex, reason="abort", error=reset_error(message))
        raise DurableObjectAborted(message)

    wait_until, block_concurrency_while = waitUntil, blockConcurrencyWhile

    def __repr__(self) -> str:
        return f"<DurableObjectState {self.id!r}>"


# -- events and turns ----------------------------------------------------------------------------
@dataclass
class ObjectEvent:
    """One fetch / RPC call / alarm delivered to an object."""

    eid: int
    kind: str
    method: str
    start: float
    future: "asyncio.Future[Any]"
    task: "asyncio.Task[Any] | None" = None
    turns: int = 0
    writes: int = 0
    last_turn_seq: int = 0
    gate_wait_since: float | None = None


class _TurnDriver:
    """Drives one event's coroutine step by step: each step is a turn of the object.

    Before a turn starts, the driver waits while the input gate is closed by
    ``blockConcurrencyWhile``; when a turn ends at a suspension, the object's buffered writes
    commit (unless a ``transaction()`` is open).
    """

    def __init__(self, live: "LiveObject", event: ObjectEvent, start: Callable[[], Any]) -> None:
        self.live, self.event, self.start = live, event, start

    def _wait_gate(self) -> Any:
        live, event = self.live, self.event
        while live.blocked:
            if event.gate_wait_since is None:
                event.gate_wait_since = live.host.runtime.clock.now()
            fut = live.host.runtime.loop.create_future()
            live.gate_waiters.append(fut)
            yield from fut.__await__()

    def __await__(self) -> Any:
        live, event = self.live, self.event
        yield from self._wait_gate()
        live.begin_turn(event)
        try:
            result = self.start()
        except BaseException:
            live.end_turn(event, final=True)
            raise
        if not inspect.isawaitable(result):
            live.end_turn(event, final=True)
            return result
        it = result.__await__()
        send: Any = None
        exc: BaseException | None = None
        while True:
            try:
                yielded = it.throw(exc) if exc is not None else it.send(send)
            except StopIteration as stop:
                live.end_turn(event, final=True)
                return stop.value
            except BaseException:
                live.end_turn(event, final=True)
                raise
            live.end_turn(event, final=False)
            try:
                send, exc = (yield yielded), None
            except BaseException as e:  # cancellation and errors go into the event's code
                send, exc = None, e
            if exc is None:
                yield from self._wait_gate()
            live.begin_turn(event)


class LiveObject:
    """An object in memory: the user's instance, its ctx, the events it is running."""

    def __init__(self, host: "ObjectClass", id: DurableObjectId) -> None:
        self.host = host
        self.id = id
        self.hex = id.toString()
        self.label = id.name if id.name is not None else host.names.get(self.hex, self.hex)
        self.storage = host.storage(self.hex)
        self.ctx = DurableObjectState(self)
        self.instance: Any = None
        self.events: dict[int, ObjectEvent] = {}
        self.block_depth = 0
        self.gate_waiters: list[asyncio.Future[Any]] = []
        self.current: ObjectEvent | None = None
        self.turn_started = 0.0
        self.turn_ops = 0
        self.turn_writes = 0
        self.turn_seq = 0
        self.recent_turns: collections.deque[tuple[int, int]] = collections.deque(maxlen=512)
        self.dead = False  # no longer the object's instance in memory (evicted or crashed)
        self.crashed = False  # reset: its unconfirmed writes were dropped, it must not commit
        self.idle_handle: asyncio.TimerHandle | None = None
        self.last_active = host.runtime.clock.now()
        self.created_at = self.last_active
        self.bcw_tasks: set[asyncio.Task[Any]] = set()
        self._flush_scheduled = False
        #: Standard-API WebSockets accepted inside this object: they keep it in memory.
        self.pinned_sockets: set[Any] = set()

    @property
    def blocked(self) -> bool:
        return self.block_depth > 0

    def trace(self, kind: str, **data: Any) -> None:
        self.host.runtime.trace.record(kind, binding=self.host.binding_name, object=self.label,
                                       id=self.hex, cls=self.host.class_name, **data)

    # -- turns -----------------------------------------------------------------------------------
    def begin_turn(self, event: ObjectEvent) -> None:
        self.current = event
        self.turn_started = self.host.runtime.clock.now()
        self.turn_ops = 0
        self.turn_writes = 0

    def end_turn(self, event: ObjectEvent, *, final: bool) -> None:
        rt = self.host.runtime
        committed = self.storage.flush() if not self.crashed else 0
        event.turns += 1
        event.writes += committed
        self.turn_seq += 1
        interleaved = sorted({eid for seq, eid in self.recent_turns if seq > event.last_turn_seq and eid != event.eid})
        self.recent_turns.append((self.turn_seq, event.eid))
        waited = None
        if event.gate_wait_since is not None:
            waited = round(self.turn_started - event.gate_wait_since, 6)
            event.gate_wait_since = None
        self.trace("do_turn", event=event.eid, event_kind=event.kind, method=event.method, turn=event.turns,
                   start=self.turn_started, end=rt.clock.now(), storage_ops=self.turn_ops,
                   input_gate="held" if self.turn_ops else "open", writes_committed=committed,
                   interleaved=interleaved, gate_wait=waited, final=final)
        event.last_turn_seq = self.turn_seq
        self.current = None

    def on_storage_op(self, name: str, write: bool) -> None:
        if self.current is not None:
            self.turn_ops += 1
            if write:
                self.turn_writes += 1
        elif write and not self._flush_scheduled:
            # A write outside any tracked turn (a waitUntil task, a gather() child): commit it
            # when the running step yields, which is still "no await between the writes".
            self._flush_scheduled = True
            self.host.runtime.loop.call_soon(self._late_flush)

    def _late_flush(self) -> None:
        self._flush_scheduled = False
        if not self.crashed:
            self.storage.flush()

    # -- the input gate --------------------------------------------------------------------------
    def open_gate(self) -> None:
        waiters, self.gate_waiters = self.gate_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def block_concurrency_while(self, fn: Callable[[], Any]) -> "asyncio.Task[Any]":
        rt = self.host.runtime
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
    def touch(self) -> None:
        rt = self.host.runtime
        self.last_active = rt.clock.now()
        if self.idle_handle is not None:
            self.idle_handle.cancel()
            self.idle_handle = None
        if self.events or self.dead or self.pinned_sockets:
            return
        timeout = self.host.service.idle_timeout
        if timeout is None or timeout == float("inf"):
            return
        if hibernatable_count(self.host, self.hex):
            timeout = min(timeout, HIBERNATION_IDLE_SECONDS)
        self.idle_handle = rt.loop.call_at(rt.clock.now() + timeout, self._idle_check)

    def _idle_check(self) -> None:
        self.idle_handle = None
        if self.dead or self.events or self.blocked or self.pinned_sockets:
            return
        current_runtime.set(self.host.runtime)
        self.host.evict(self.hex, reason="hibernate" if hibernatable_count(self.host, self.hex) else "idle")


# -- one class of objects ------------------------------------------------------------------------
class ObjectClass:
    """The objects of one Durable Object class (script + class): storage, live instances, alarms."""

    def __init__(self, service: "DurableObjects", worker: Any, class_name: str, binding: str) -> None:
        self.service = service
        self.runtime = service.runtime
        self.worker = worker
        self.class_name = class_name
        self.binding_name = binding
        self.cls = worker.export(class_name)
        self.sqlite_backed = _sqlite_backed(worker.config, class_name)
        date = worker.config.compatibility_date or ""
        # ... or earlier with the delete_all_deletes_alarm compatibility flag (storage API docs, deleteAll).
        flags = set(getattr(worker.config, "compatibility_flags", None) or ())
        self.delete_all_deletes_alarm = (date >= DELETE_ALL_DELETES_ALARM_SINCE
                                         or DELETE_ALL_DELETES_ALARM_FLAG in flags)
        self.has_alarm_handler = callable(getattr(self.cls, "alarm", None))
        self.live: dict[str, LiveObject] = {}
        self.storages: dict[str, ObjectStorage] = {}
        self.names: dict[str, str] = {}
        self.alarm_handles: dict[str, asyncio.TimerHandle] = {}
        #: hex id -> region the object lives in (fixed at its first call; None: the default region)
        self.placement: dict[str, str | None] = {}
        #: hex id -> its hibernatable WebSockets (course.runtime.objects.websockets.ObjectSockets)
        self.hibernation: dict[str, Any] = {}
        self._rearm_persisted_alarms()

    # -- storage ---------------------------------------------------------------------------------
    def storage(self, hex_id: str) -> ObjectStorage:
        storage = self.storages.get(hex_id)
        if storage is None:
            path = self.runtime.state_path("do", self.worker.name, self.class_name, f"{hex_id}.sqlite")
            storage = ObjectStorage(path, sqlite_backed=self.sqlite_backed,
                                    delete_all_deletes_alarm=self.delete_all_deletes_alarm,
                                    on_alarm_change=lambda ms, h=hex_id: self._alarm_changed(h, ms),
                                    on_op=lambda name, write, h=hex_id: self._storage_op(h, name, write))
            storage.has_alarm_handler = self.has_alarm_handler
            self.storages[hex_id] = storage
        return storage

    def _storage_op(self, hex_id: str, name: str, write: bool) -> None:
        live = self.live.get(hex_id)
        if live is not None:
            live.on_storage_op(name, write)
        elif write:
            self.runtime.loop.call_soon(self.storages[hex_id].flush)

    def _rearm_persisted_alarms(self) -> None:
        folder = self.runtime.state_path("do", self.worker.name, self.class_name, "x")
        if folder is None:
            return
        for path in sorted(folder.parent.glob("*.sqlite")):
            hex_id = path.stem
            if _HEX64.fullmatch(hex_id):
                ms = self.storage(hex_id).alarm_ms()
                if ms is not None:
                    self._alarm_changed(hex_id, ms)

    # -- instances ---------------------------------------------------------------------------------
    def get_live(self, id: DurableObjectId) -> LiveObject:
        hex_id = id.toString()
        live = self.live.get(hex_id)
        if live is not None:
            return live
        if id.name is not None:
            self.names[hex_id] = id.name
        live = LiveObject(self, id)
        token = current_worker.set(self.worker)
        try:
            self.live[hex_id] = live  # a constructor may start blockConcurrencyWhile on itself
            live.instance = self.cls(live.ctx, self.worker.env)
        except BaseException:
            self.live.pop(hex_id, None)
            live.dead = True
            raise
        finally:
            current_worker.reset(token)
        live.trace("do_construct")
        return live

    def place(self, hex_id: str, hint: str | None, caller_region: str | None) -> str | None:
        """The object's region: fixed by its first call, from ``locationHint`` or the caller's region."""
        if hex_id in self.placement:
            return self.placement[hex_id]
        region = hint if hint is not None else caller_region
        self.placement[hex_id] = region
        if region is not None:  # the default single region leaves the trace as it was
            self.runtime.trace.record("do_placed", binding=self.binding_name, object=self.names.get(hex_id, hex_id),
                                      id=hex_id, cls=self.class_name, region=region,
                                      by="locationHint" if hint is not None else "first_caller")
        return region

    def _id(self, hex_id: str) -> DurableObjectId:
        key = f"{self.worker.name}:{self.class_name}"
        return DurableObjectId(hex_id, self.names.get(hex_id), key, _jurisdiction_of(key, hex_id)[1])

    async def deliver(self, id: DurableObjectId, kind: str, method: str, call: Callable[[Any], Any]) -> Any:
        """Run one event on the object ``id`` and return its result to the caller.

        The result is handed over only after the event's writes committed (output gate).
        """
        rt = self.runtime
        live = self.get_live(id)
        eid = self.service.next_event_id()
        loop = rt.loop
        event = ObjectEvent(eid, kind, method, rt.clock.now(), loop.create_future())
        event.last_turn_seq = live.turn_seq
        live.events[eid] = event
        if live.idle_handle is not None:
            live.idle_handle.cancel()
            live.idle_handle = None
        caller = current_actor.get()
        live.trace("do_event", event=eid, event_kind=kind, method=method, phase="start", caller=caller)

        async def run() -> None:
            current_runtime.set(rt)
            current_worker.set(self.worker)
            current_actor.set(f"{self.binding_name}:{live.label}")
            current_object.set(live)
            region = self.placement.get(live.hex)
            if region is not None:
                current_region.set(region)
            outcome = "ok"
            try:
                result = await _TurnDriver(live, event, lambda: call(live.instance))
                if event.writes:
                    live.trace("do_output_gate", event=eid, writes=event.writes)
                if not event.future.done():
                    event.future.set_result(result)
            except asyncio.CancelledError:
                outcome = "reset"
                if not event.future.done():
                    event.future.set_exception(reset_error())
            except DurableObjectAborted:
                outcome = "reset"
            except BaseException as exc:  # noqa: BLE001 - re-thrown at the caller
                outcome = "error"
                if not live.crashed:
                    live.storage.flush()
                if not event.future.done():
                    event.future.set_exception(exc)
            finally:
                live.events.pop(eid, None)
                live.trace("do_event", event=eid, event_kind=kind, method=method, phase="end", outcome=outcome,
                           start=event.start, end=rt.clock.now(), turns=event.turns, caller=caller)
                if live.current is event:
                    live.current = None
                if not live.dead:
                    live.touch()

        event.task = loop.create_task(run(), name=f"do:{self.class_name}:{live.label}:{kind}:{method}")
        try:
            return await asyncio.shield(event.future)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            raise _rethrown(exc) from None

    # -- lifecycle ---------------------------------------------------------------------------------
    def evict(self, hex_id: str, *, reason: str = "evict") -> bool:
        """Drop the instance from memory (storage and alarm stay). False if it was not live."""
        live = self.live.pop(hex_id, None)
        if live is None:
            return False
        live.dead = True
        if live.idle_handle is not None:
            live.idle_handle.cancel()
        self.storages[hex_id].flush()
        live.trace("do_evict", reason=reason, in_flight=sorted(live.events))
        object_reset(live, hibernatable=False)
        return True

    def crash(self, hex_id: str, *, reason: str = "crash", error: BaseException | None = None) -> bool:
        """Reset the instance: in-flight events fail with ``error``, unconfirmed writes are lost."""
        live = self.live.pop(hex_id, None)
        if live is None:
            return False
        live.dead = live.crashed = True
        if live.idle_handle is not None:
            live.idle_handle.cancel()
        lost = self.storages[hex_id].rollback()
        err = error if error is not None else reset_error()
        failed = sorted(live.events)
        for event in list(live.events.values()):
            if not event.future.done():
                event.future.set_exception(copy_error(err))
                event.future.exception()  # callers may be gone; mark it retrieved
            if event.task is not None and event.task is not asyncio.current_task():
                event.task.cancel()
        for task in list(live.bcw_tasks):
            if task is not asyncio.current_task():
                task.cancel()
        live.block_depth = 0
        live.open_gate()
        live.trace("do_crash", reason=reason, error=str(err), failed_events=failed, lost_writes=lost)
        object_reset(live, hibernatable=True)
        return True

    # -- alarms ------------------------------------------------------------------------------------
    def _alarm_changed(self, hex_id: str, ms: int | None) -> None:
        old = self.alarm_handles.pop(hex_id, None)
        if old is not None:
            old.cancel()
        if ms is None:
            return
        self._schedule_alarm(hex_id, ms, retry=0, at_ms=ms)

    def _schedule_alarm(self, hex_id: str, ms: int, *, retry: int, at_ms: float) -> None:
        rt = self.runtime
        when = at_ms / 1000.0 - (rt.clock.wall() - rt.clock.now())
        label = self.names.get(hex_id, hex_id)
        handle = rt.call_at(when, lambda: self._alarm_due(hex_id, ms, retry), label=f"alarm:{self.class_name}:{label}",
                            binding=self.binding_name, object=label, retry=retry)
        self.alarm_handles[hex_id] = handle

    def _alarm_due(self, hex_id: str, ms: int, retry: int) -> Any:
        storage = self.storage(hex_id)
        if storage.closed or storage.alarm_ms() != ms:
            return None  # replaced, deleted, or never committed
        self.alarm_handles.pop(hex_id, None)
        return self._run_alarm(hex_id, ms, retry)

    async def _run_alarm(self, hex_id: str, ms: int, retry: int) -> None:
        rt = self.runtime
        info = JsObject({"retryCount": retry, "isRetry": retry > 0})
        label = self.names.get(hex_id, hex_id)
        rt.trace.record("do_alarm", binding=self.binding_name, object=label, id=hex_id, phase="run", retry=retry)

        def call(instance: Any) -> Any:
            storage = self.storage(hex_id)
            storage.running_alarm, storage.alarm_touched = ms, False
            return call_relaxed(instance.alarm, info)

        touched = False
        try:
            await self.deliver(self._id(hex_id), "alarm", "alarm", call)
        except Exception as exc:  # noqa: BLE001 - a failed alarm is retried
            storage = self.storage(hex_id)
            touched = storage.alarm_touched
            storage.running_alarm, storage.alarm_touched = None, False
            # setAlarm()/deleteAlarm() in the failed handler replaced this alarm: no retry
            # ("Calling deleteAlarm() inside the alarm() handler may prevent retries"; workerd
            # cancels the running alarm's retries when the alarm is rescheduled).
            if storage.closed or touched or storage.alarm_ms() != ms:
                return
            if retry < ALARM_MAX_RETRIES:
                delay = ALARM_FIRST_RETRY_DELAY * (2 ** retry)
                rt.trace.record("do_alarm", binding=self.binding_name, object=label, id=hex_id, phase="retry",
                                retry=retry + 1, delay=delay, error=f"{type(exc).__name__}: {exc}")
                self._schedule_alarm(hex_id, ms, retry=retry + 1, at_ms=rt.clock.wall() * 1000 + delay * 1000)
            else:
                rt.trace.record("do_alarm", binding=self.binding_name, object=label, id=hex_id, phase="gave_up",
                                retries=retry, error=f"{type(exc).__name__}: {exc}")
                self._clear_alarm(hex_id, ms)
            return
        storage = self.storage(hex_id)
        storage.running_alarm, storage.alarm_touched = None, False
        rt.trace.record("do_alarm", binding=self.binding_name, object=label, id=hex_id, phase="done", retry=retry)
        self._clear_alarm(hex_id, ms)

    def _clear_alarm(self, hex_id: str, ms: int) -> None:
        storage = self.storage(hex_id)
        if not storage.closed and storage.alarm_ms() == ms:  # the handler did not set a new one
            storage._begin()
            storage._set_alarm_row(None)
            storage.flush()

    def close(self) -> None:
        for handle in self.alarm_handles.values():
            handle.cancel()
        for live in self.live.values():
            if live.idle_handle is not None:
                live.idle_handle.cancel()
        for storage in self.storages.values():
            storage.close()


def copy_error(exc: BaseException) -> BaseException:
    """A copy of ``exc`` with the same type, message and attributes (the original if it can't)."""
    if isinstance(exc, JsException):
        out: BaseException = JsException(exc.message, exc.name)
        out.__dict__.update(exc.__dict__)
        return out
    try:
        return copy.copy(exc)
    except Exception:  # noqa: BLE001
        return exc


def _rethrown(exc: BaseException) -> BaseException:
    """The caller's copy of an error thrown in the object, as a Python Worker receives it.

    A Python exception crosses the RPC boundary as a JavaScript Error: the caller gets a
    ``JsException`` named "Error" whose message keeps the original type and text (service
    bindings do the same; conformance: do_rpc_values). Platform errors (``JsException``) keep
    their own name. Both carry ``remote = True``.
    """
    if isinstance(exc, JsException):
        out = copy_error(exc)
    else:
        out = JsException(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, "Error")
        for key in ("retryable", "overloaded"):
            if hasattr(exc, key):
                setattr(out, key, getattr(exc, key))
    try:
        if not hasattr(out, "remote"):  # thrown by the object's code, not the platform
            out.remote = True  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        pass
    return out


def _sqlite_backed(config: Any, class_name: str) -> bool:
    """True for new_sqlite_classes, False for new_classes (KV-backed); follows renames."""
    backend: dict[str, bool] = {}
    for migration in config.migrations:
        for name in migration.new_sqlite_classes:
            backend[name] = True
        for name in migration.new_classes:
            backend[name] = False
        for rename in migration.renamed_classes:
            src, dst = rename.get("from"), rename.get("to")
            if src in backend and dst:
                backend[dst] = backend.pop(src)
        for name in migration.deleted_classes:
            backend.pop(name, None)
    if class_name not in backend:
        raise ConfigError(config.path or "<code>",
                          f"Cannot create binding for class {class_name!r} because it is not currently configured "
                          "to implement Durable Objects. Did you forget to apply a Durable Object migration? Add "
                          f'[[migrations]] tag = "v1" new_sqlite_classes = ["{class_name}"]', key="migrations")
    return backend[class_name]


# -- the runtime-wide service ------------------------------------------------------------------
class DurableObjects:
    """Every Durable Object class of a runtime (``DURABLE_OBJECTS.of(rt)``); implements
    :class:`~course.runtime.kernel.plugins.DurableObjectControl` for the fault and network layers."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.hosts: dict[tuple[str, str], ObjectClass] = {}
        self._event_ids = itertools.count(1)
        self._rngs: dict[str, Any] = {}

    @property
    def idle_timeout(self) -> float | None:
        value = getattr(self.runtime, "do_idle_timeout", None)
        return IDLE_EVICTION_SECONDS if value is None else value

    def next_event_id(self) -> int:
        return next(self._event_ids)

    def unique_rng(self, key: str) -> Any:
        if key not in self._rngs:
            self._rngs[key] = self.runtime.rng(f"durable_objects.newUniqueId:{key}")
        return self._rngs[key]

    def host(self, script: str, class_name: str, *, binding: str) -> ObjectClass:
        key = (script, class_name)
        host = self.hosts.get(key)
        if host is None:
            if script not in self.runtime.workers:
                raise JsException(f"Durable Object binding {binding!r} refers to script {script!r}, which is not "
                                  f"loaded in this runtime (loaded: {', '.join(self.runtime.workers)}); load it "
                                  "with rt.add_project(...)", "Error")
            host = ObjectClass(self, self.runtime.workers[script], class_name, binding)
            self.hosts[key] = host
        return host

    def close(self) -> None:
        for host in self.hosts.values():
            host.close()

    # -- DurableObjectControl ------------------------------------------------------------------
    def check_binding(self, binding: str) -> None:
        _namespace(self.runtime, binding)

    def crash(self, binding: str, name: Any, *, code_update: bool = False) -> bool:
        return crash(self.runtime, binding, name, code_update=code_update)

    def evict(self, binding: str, name: Any) -> bool:
        return evict(self.runtime, binding, name)

    def placements(self) -> dict[str, str | None]:
        """Every placed Durable Object, as ``"BINDING:name" -> region``."""
        out: dict[str, str | None] = {}
        for host in self.hosts.values():
            for hex_id, region in host.placement.items():
                out[f"{host.binding_name}:{host.names.get(hex_id, hex_id)}"] = region
        return out


#: The runtime's Durable Objects.
DURABLE_OBJECTS: ServiceSlot[DurableObjects] = ServiceSlot(DURABLE_OBJECTS_SERVICE, DurableObjects)


def service(runtime: Any) -> DurableObjects:
    return DURABLE_OBJECTS.of(runtime)


def bind(runtime: Any, worker: Any) -> dict[str, Any]:
    """``env`` entries for the Worker's ``durable_objects.bindings``."""
    svc = service(runtime)
    out: dict[str, Any] = {}
    for b in worker.config.durable_objects.bindings:
        script = b.script_name or worker.name
        if script == worker.name:
            cls = worker.export(b.class_name)
            if not isinstance(cls, type):
                raise ConfigError(worker.config.path or "<code>", f"export {b.class_name!r} is not a class",
                                  key="durable_objects.bindings")
            _sqlite_backed(worker.config, b.class_name)  # fail at load without a migration
        out[b.name] = DurableObjectNamespace(svc, b.name, script, b.class_name)
    return out


def attach(runtime: Any, worker: Any) -> None:
    """Create the classes this Worker defines now, so alarms persisted on disk are re-armed."""
    if runtime.persist_to is None:
        return
    for b in worker.config.durable_objects.bindings:
        if (b.script_name or worker.name) == worker.name:
            service(runtime).host(worker.name, b.class_name, binding=b.name)


# -- inspection and faults (used by Runtime.evict/crash/objects/storage) ------------------------
@dataclass(frozen=True)
class ObjectInfo:
    """A live object, as ``rt.objects()`` lists it."""

    binding: str
    class_name: str
    script: str
    id: str
    name: str | None
    events_in_flight: int
    created_at: float
    last_active: float


class StorageView:
    """Read an object's storage from outside (a notebook, a test): KV entries, SQL, alarm."""

    def __init__(self, runtime: Any, storage: ObjectStorage) -> None:
        self._runtime, self._storage = runtime, storage

    def _run(self, fn: Callable[[], Any]) -> Any:
        if self._runtime.on_loop_thread():
            return fn()

        async def call() -> Any:
            return fn()
        return self._runtime.call(call(), hold=False)

    def kv(self) -> dict[str, Any]:
        """Every key of the async/sync KV API, in key order, as plain Python."""
        return self._run(self._storage.snapshot)

    def get(self, key: str, default: Any = None) -> Any:
        return self.kv().get(key, default)

    def sql(self, query: str, *params: Any) -> list[dict[str, Any]]:
        """Rows of a SQL query on the object's database (SQLite-backed objects)."""
        return self._run(lambda: self._storage.query(query, *params))

    def tables(self) -> list[str]:
        return self._run(self._storage.tables)

    def alarm(self) -> int | None:
        return self._run(self._storage.alarm_ms)

    def __repr__(self) -> str:
        return f"<StorageView {self.kv()!r}>"


def _namespace(runtime: Any, binding: str) -> DurableObjectNamespace:
    workers = ([runtime.main] if runtime.main is not None else []) + list(runtime.workers.values())
    for w in workers:
        ns = w.env.get(binding)
        if isinstance(ns, DurableObjectNamespace):
            return ns
    raise KeyError(f"no Durable Object binding named {binding!r} in this runtime")


def _resolve(runtime: Any, binding: str, name: Any) -> tuple[ObjectClass, str]:
    ns = _namespace(runtime, binding)
    if isinstance(name, DurableObjectId):
        hex_id = name.toString()
    elif isinstance(name, str) and _HEX64.fullmatch(name):
        hex_id = ns.idFromString(name).toString()
    else:
        hex_id = ns.idFromName(name).toString()
    return ns.host, hex_id


def evict(runtime: Any, binding: str, name: Any) -> bool:
    host, hex_id = _resolve(runtime, binding, name)
    return runtime.run_on_loop(lambda: host.evict(hex_id, reason="manual"))


def crash(runtime: Any, binding: str, name: Any, *, code_update: bool = False) -> bool:
    host, hex_id = _resolve(runtime, binding, name)
    error = reset_error(CODE_UPDATE_RESET_MESSAGE if code_update else INSTANCE_RESET_MESSAGE)
    return runtime.run_on_loop(lambda: host.crash(hex_id, reason="code_update" if code_update else "crash", error=error))


def objects(runtime: Any, binding: str | None = None) -> list[ObjectInfo]:
    svc = service(runtime)
    hosts: Iterable[ObjectClass] = svc.hosts.values()
    if binding is not None:
        ns = _namespace(runtime, binding)
        hosts = [h for h in hosts if (h.worker.name, h.class_name) == (ns.script, ns.class_name)]
    out = []
    for h in hosts:
        for hex_id, live in sorted(h.live.items()):
            out.append(ObjectInfo(h.binding_name if binding is None else binding, h.class_name, h.worker.name,
                                  hex_id, live.id.name, len(live.events), live.created_at, live.last_active))
    return out


def storage_view(runtime: Any, binding: str, name: Any) -> StorageView:
    host, hex_id = _resolve(runtime, binding, name)
    return StorageView(runtime, runtime.run_on_loop(lambda: host.storage(hex_id)))


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('durable_objects', ("durable_objects", "migrations"), bind, attach)
