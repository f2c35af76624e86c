"""Day 3's Durable Object questions on the emulator, and the crash points of a run.

Each case loads the learner's class (and the checks' own objects: a tool, a pricer, planners)
into a fresh ``Runtime(virtual_time=True, seed=...)``, drives it over RPC as a Worker would,
moves the virtual clock (alarms fire and retry on it), and injects faults.

**Crash points.** A crash can hit an agent between any two things it does. The checks count
them: every storage operation of the learner's object (``ctx.storage`` methods, ``sql.exec``,
the sync KV API) and, for the crash-safe agent, both sides of each tool call (the request
arriving, the effect applied). :class:`OpCounter` numbers them in one run; the next runs
crash (or evict) right after operation ``k``, for every ``k`` in turn: an exhaustive search,
not a sample. A crash right after a storage operation loses what the turn wrote so far (it
had not committed: the output gate), exactly as on Cloudflare, and the crashed instance does
nothing more: its later storage calls and tool requests are refused (a reset instance is
gone). An eviction asked for after operation ``k`` waits, as on Cloudflare, until the object
is idle.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from course.runtime import Runtime
from course.workers import Response, WorkerEntrypoint
from course.workers.jsproxy import JsException

#: The compatibility date of the checks' Workers (the lab Worker's).
COMPATIBILITY_DATE = "2025-11-01"
#: Longest SQL text an operation's description quotes.
QUOTE = 48


class _Edge(WorkerEntrypoint):
    """The Worker around the objects: the checks call them over RPC, not HTTP."""

    async def fetch(self, request: Any) -> Response:
        return Response("the checks call the Durable Objects over RPC", status=404)


def emulated(classes: dict[str, type], *, seed: int, persist_to: Any = None) -> Runtime:
    """A virtual-time runtime with ``classes`` bound by name (close it when done)."""
    rt = Runtime(virtual_time=True, seed=seed, persist_to=persist_to)
    try:
        rt.add_worker(_Edge, name="day3-check", durable_objects=classes,
                      config={"compatibility_date": COMPATIBILITY_DATE})
    except BaseException:
        rt.close()
        raise
    return rt


class ObjectRaised(Exception):
    """The learner's Durable Object raised while handling a call (the text names the error)."""


def plain(value: Any) -> Any:
    """An RPC result as plain Python (what ``to_py()`` gives on Cloudflare)."""
    return value.to_py() if hasattr(value, "to_py") else value


def call(rt: Runtime, make: Callable[[], Awaitable[Any]], *, on_reply: Callable[[Any], None] | None = None) -> Any:
    """Run one RPC (``make()`` builds the awaitable on the runtime's loop) and return its plain value.

    An exception the object raised arrives as the platform's ``Error``; it is re-raised as
    :class:`ObjectRaised` with its text (``NotImplementedError`` stays itself). ``on_reply(value)``
    runs on the loop as the reply arrives, so a log records it in the order things happened.
    """
    async def go() -> Any:
        try:
            value = await make()
        except asyncio.CancelledError:
            return ("reset", None)
        if on_reply is not None:
            on_reply(plain(value))
        return ("ok", value)

    try:
        status, value = rt.call(go())
    except NotImplementedError:
        raise
    except JsException as exc:
        text = str(exc)
        if "NotImplementedError" in text:
            raise NotImplementedError(text) from None
        raise ObjectRaised(text.removeprefix("Error: ")) from None
    if status == "reset":
        raise ObjectRaised("the call was cut off: the object was reset")
    return plain(value)


def rpc(rt: Runtime, awaitable: Any) -> Any:
    """``rpc(rt, stub.method(...))``: the call's value as plain Python, for a notebook cell."""
    return call(rt, lambda: awaitable)


def move_to(rt: Runtime, t: float) -> None:
    if t > rt.clock.now():
        rt.clock.advance(t - rt.clock.now())


# -- crash points ------------------------------------------------------------------------------
class OpCounter:
    """Numbers the operations of one run and injects one fault right after operation ``fault_at``.

    ``kind`` is ``"crash"`` (reset the object now) or ``"evict"`` (drop it from memory once
    idle). Counting stops when the checks start verifying (``active = False``), so the reads
    of the verification are never crash points.
    """

    def __init__(self, rt: Runtime | None, binding: str, *, fault_at: int | None = None, kind: str = "crash",
                 on_fault: Callable[[str, str], None] | None = None) -> None:
        self.rt, self.binding = rt, binding
        self.fault_at, self.kind = fault_at, kind
        self.on_fault = on_fault
        self.ops: list[str] = []
        self.fired = False
        self.active = True
        #: the storage proxy of the instance in memory now (None before the first construction)
        self.current: "CountedStorage | None" = None
        #: the instance that was reset may not act any more (its tool requests are refused)
        self.fenced = False

    def constructed(self, proxy: "CountedStorage") -> None:
        self.current, self.fenced = proxy, False

    def hit(self, what: str) -> bool:
        """Count operation ``what``; True if the fault goes right after it."""
        if not self.active:
            return False
        self.ops.append(what)
        return len(self.ops) == self.fault_at and not self.fired

    def fire(self, object_id: str) -> None:
        """Inject the fault now (on the loop, from any task)."""
        self.fired = True
        what = self.ops[-1] if self.ops else "start"
        if self.on_fault is not None:
            self.on_fault(self.kind, what)
        if self.kind == "crash":
            if self.current is not None:
                self.current.dead = True
            self.fenced = True
            assert self.rt is not None
            self.rt.crash(self.binding, object_id)
        else:
            assert self.rt is not None
            self.rt.evict(self.binding, object_id)

    def describe(self, k: int) -> str:
        return self.ops[k - 1] if 0 < k <= len(self.ops) else f"operation {k}"


class _Reset(asyncio.CancelledError):
    """Raised in a crashed instance's code: the instance stops where it is."""


def _quote(sql: str) -> str:
    text = " ".join(str(sql).split())
    return text if len(text) <= QUOTE else text[:QUOTE - 3] + "..."


class CountedSql:
    """``ctx.storage.sql`` that counts every ``exec``."""

    def __init__(self, storage: "CountedStorage") -> None:
        self._outer = storage

    def exec(self, query: str, *params: Any) -> Any:
        return self._outer._counted(f"sql.exec({_quote(query)!r})", lambda: self._outer._real.sql.exec(query, *params))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outer._real.sql, name)


class CountedKV:
    """``ctx.storage.kv`` (the synchronous KV API) that counts every call."""

    def __init__(self, storage: "CountedStorage") -> None:
        self._outer = storage

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._outer._real.kv, name)
        if not callable(real):
            return real
        return lambda *a, **k: self._outer._counted(f"kv.{name}({_args(a)})", lambda: real(*a, **k))


def _args(args: tuple[Any, ...]) -> str:
    if not args:
        return ""
    first = args[0]
    if isinstance(first, str):
        return repr(first[:QUOTE])
    if isinstance(first, (int, float)):
        return "<time>"
    if hasattr(first, "keys") or isinstance(first, dict):
        return "{" + ", ".join(repr(k) for k in list(first.keys())[:4]) + "}"
    return "..."


class CountedStorage:
    """``ctx.storage`` of one instance, counting its operations for :class:`OpCounter`."""

    COUNTED = ("get", "put", "delete", "list", "deleteAll", "getAlarm", "setAlarm", "deleteAlarm", "sync")

    def __init__(self, real: Any, counter: OpCounter, object_id: str) -> None:
        self._real, self._counter, self._id = real, counter, object_id
        self.dead = False
        self._depth = 0
        self._pending = False

    def _counted(self, what: str, operation: Callable[[], Any]) -> Any:
        if self.dead:
            raise _Reset()
        result = operation()
        if self._counter.hit(what):
            if self._depth:
                self._pending = True  # crash when the transaction returns: its writes are lost with the turn's
            else:
                self._fire()
        return result

    def _fire(self) -> None:
        self._counter.fire(self._id)
        if self._counter.kind == "crash":
            raise _Reset()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._real, name)
        if name in self.COUNTED:
            return lambda *a, **k: self._counted(f"storage.{name}({_args(a)})", lambda: real(*a, **k))
        return real

    @property
    def sql(self) -> CountedSql:
        self._real.sql  # noqa: B018 - raises the platform's error on a KV-backed object
        return CountedSql(self)

    @property
    def kv(self) -> CountedKV:
        self._real.kv  # noqa: B018
        return CountedKV(self)

    def transactionSync(self, fn: Callable[[], Any]) -> Any:  # noqa: N802 - Cloudflare's name
        if self.dead:
            raise _Reset()
        self._depth += 1
        try:
            result = self._counted("storage.transactionSync(...)", lambda: self._real.transactionSync(fn))
        finally:
            self._depth -= 1
        if self._pending and not self._depth:
            self._pending = False
            self._fire()
        return result

    async def transaction(self, fn: Callable[[Any], Any]) -> Any:
        if self.dead:
            raise _Reset()
        self._depth += 1
        try:
            result = await self._real.transaction(fn)
        finally:
            self._depth -= 1
        if self._counter.hit("storage.transaction(...)") or self._pending:
            self._pending = False
            self._fire()
        return result

    transaction_sync = transactionSync


def instrumented(cls: type, counter: OpCounter) -> type:
    """``cls`` whose instances count their storage operations on ``counter`` (same name, same behaviour)."""

    def __init__(self: Any, ctx: Any, env: Any) -> None:
        proxy = CountedStorage(ctx.storage, counter, ctx.id.toString())
        counter.constructed(proxy)
        ctx.storage = proxy
        cls.__init__(self, ctx, env)

    return type(cls.__name__, (cls,), {"__init__": __init__, "__qualname__": cls.__qualname__,
                                        "__module__": cls.__module__, "__doc__": cls.__doc__})


def follow_platform(rt: Runtime, log: Any, names: dict[str, str]) -> Callable[[], None]:
    """Log the platform's own events for the objects in ``names`` (binding -> actor) as they happen:
    alarms and their retries. Returns the function that stops it."""

    def listener(e: Any) -> None:
        if e.kind != "do_alarm":
            return
        actor = names.get(e.get("binding"))
        if actor is None:
            return
        if e.get("phase") == "run":
            log.record(e.t, "platform", actor, "alarm", f"retry {e.get('retry')}" if e.get("retry") else "")
        elif e.get("phase") == "gave_up":
            log.record(e.t, "platform", actor, "alarm.gave_up", "after its retries", "fault")

    return rt.trace.subscribe(listener)


__all__ = ["COMPATIBILITY_DATE", "CountedStorage", "ObjectRaised", "OpCounter", "call", "emulated", "instrumented",
           "follow_platform", "move_to", "plain", "rpc"]
