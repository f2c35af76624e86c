"""Stand-in for ``pyodide.ffi``: ``to_js``, ``create_proxy``, ``JsProxy``, ``JsException``, ``run_sync``.

``run_sync(awaitable)`` is Pyodide's way for synchronous code to wait on JavaScript (it suspends
the WebAssembly stack with JSPI while the event loop keeps running:
https://pyodide.org/en/stable/usage/api/python-api/ffi.html#pyodide.ffi.run_sync). Here the same
stack switch is a greenlet: Worker code runs with a greenback portal, and ``run_sync`` awaits
the awaitable on the runtime's loop through it, so other requests, timers and virtual time go
on meanwhile, as on Cloudflare.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, TypeVar

import greenback

from course.workers.jsproxy import (  # noqa: F401
    JsArray,
    JsBuffer,
    JsException,
    JsObject,
    JsProxy,
    create_once_callable,
    create_proxy,
    to_js,
    to_py,
)

T = TypeVar("T")


def run_sync(awaitable: Awaitable[T]) -> T:
    """Block synchronous Worker code until ``awaitable`` is done, and return its result."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # No event loop at all (a plain script): nothing else can run meanwhile anyway.
        return asyncio.run(_await(awaitable))
    if not greenback.has_portal():
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError(
            "run_sync() (and synchronous HTTP clients such as requests or httpx.Client) can only "
            "wait from code a Worker handler runs: the course runtime gives each handler of a "
            "Worker that uses them a way to suspend (as Cloudflare does with JSPI). Call it from "
            "inside fetch/queue/scheduled/alarm, or use `await` instead")
    return greenback.await_(awaitable)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def enable_run_sync() -> None:
    """Let the current task's synchronous code call :func:`run_sync` (the runtime calls it)."""
    await greenback.ensure_portal()


__all__ = ["to_js", "to_py", "create_proxy", "create_once_callable", "JsProxy", "JsException",
           "JsObject", "JsArray", "JsBuffer", "run_sync"]
