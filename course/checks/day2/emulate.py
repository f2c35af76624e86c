"""The learner's Durable Object class on a fresh emulated Workers runtime, and what it left behind.

Questions 1 and 2 are Durable Object classes. Each case loads the class into its own
``Runtime(virtual_time=True, seed=...)`` under one binding, drives it over RPC exactly as a
Worker would (``env.BINDING.get(id).method(...)``), moves the virtual clock (alarms fire on
it), and injects the platform's faults (``rt.evict``, ``rt.crash``). :func:`leftovers` reads an
object's storage from outside: the keys of its KV API, the rows of its own SQL tables, and its
pending alarm.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from course.runtime import Runtime
from course.workers import Response, WorkerEntrypoint
from course.workers.jsproxy import JsException

#: The compatibility date the checks' Workers run with (the lab Worker's): before 2026-02-24,
#: ``deleteAll()`` leaves the alarm alone (Durable Objects storage API, deleteAll).
COMPATIBILITY_DATE = "2025-11-01"


class _Edge(WorkerEntrypoint):
    """The Worker around the learner's class: the checks call the object over RPC, not HTTP."""

    async def fetch(self, request: Any) -> Response:
        return Response("the checks call the Durable Object over RPC", status=404)


def emulated(cls: type, binding: str, *, seed: int) -> Runtime:
    """A virtual-time runtime with ``cls`` bound as ``binding`` (close it when done)."""
    rt = Runtime(virtual_time=True, seed=seed)
    try:
        rt.add_worker(_Edge, name="day2-check", durable_objects={binding: cls},
                      config={"compatibility_date": COMPATIBILITY_DATE})
    except BaseException:
        rt.close()
        raise
    return rt


def call(rt: Runtime, make: Callable[[], Awaitable[Any]]) -> Any:
    """Run one RPC (``make()`` builds the awaitable on the runtime's loop) and return its value.

    An exception the learner's object raised arrives as the platform's ``Error`` (a
    ``JsException``); it is re-raised here as :class:`ObjectRaised` with the original text.
    """
    async def go() -> Any:
        return await make()

    try:
        return rt.call(go())
    except NotImplementedError:
        raise
    except JsException as exc:
        text = str(exc)
        if "NotImplementedError" in text:
            raise NotImplementedError(text) from None
        raise ObjectRaised(text.removeprefix("Error: ")) from None


def rpc(rt: Runtime, awaitable: Any) -> Any:
    """``rpc(rt, stub.method(...))``: the call's value as plain Python, for a notebook cell.

    An exception the object raised is re-raised as :class:`ObjectRaised` (or
    ``NotImplementedError``, so a question not attempted yet reads as such).
    """
    return plain(call(rt, lambda: awaitable))


class ObjectRaised(Exception):
    """The learner's Durable Object raised while handling a call (the text names the error)."""


def plain(value: Any) -> Any:
    """An RPC result as plain Python (what ``to_py()`` gives on Cloudflare)."""
    return value.to_py() if hasattr(value, "to_py") else value


def leftovers(rt: Runtime, binding: str, hex_id: str) -> list[str]:
    """What object ``hex_id`` still stores: ``["key 'result'", "2 rows in table 'log'", "an alarm at ..."]``."""
    view = rt.storage(binding, hex_id)
    found = [f"key {key!r}" for key in view.kv()]
    for table in view.tables():
        count = view.sql(f'SELECT COUNT(*) AS n FROM "{table}"')[0]["n"]
        if count:
            found.append(f"{count} row{'s' if count != 1 else ''} in table {table!r}")
    alarm = view.alarm()
    if alarm is not None:
        found.append(f"an alarm set for t={alarm / 1000 - rt.clock.wall() + rt.clock.now():.1f}s")
    return found


def stored_text(rt: Runtime, binding: str, name: Any) -> str:
    """Everything object ``name`` stores, as one string (to ask "is this id still in there?")."""
    view = rt.storage(binding, name)
    parts = [repr(view.kv())]
    for table in view.tables():
        parts.append(repr(view.sql(f'SELECT * FROM "{table}"')))
    return "\n".join(parts)


__all__ = ["COMPATIBILITY_DATE", "ObjectRaised", "call", "rpc", "emulated", "leftovers", "plain", "stored_text"]
