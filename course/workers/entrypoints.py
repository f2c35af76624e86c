"""The classes Worker code subclasses: WorkerEntrypoint, DurableObject, and their context.

``WorkflowEntrypoint`` lives with the rest of the Workflows API in :mod:`course.workers.workflows`
and is re-exported here, as the SDK exports it beside the other entrypoints.

Python Workers: https://developers.cloudflare.com/workers/languages/python/ . A Worker's
default export is ``class Default(WorkerEntrypoint)``; the platform constructs it with
``(ctx, env)`` and calls ``fetch``, ``scheduled`` or ``queue`` on it.
"""
from __future__ import annotations

import asyncio
import functools
from typing import Any, Awaitable, Callable, Protocol

from course.workers.workflows import WorkflowEntrypoint


class Context(Protocol):
    """The type of ``ctx`` as the Python SDK declares it (anything with ``waitUntil``)."""

    def waitUntil(self, other: Awaitable[Any]) -> None: ...  # noqa: N802 - Cloudflare's name


def handler(func: Callable[..., Any]) -> Callable[..., Any]:
    """``@handler`` on a module-level ``on_fetch(request, env, ctx)``.

    On Cloudflare it turns the JavaScript request into ``workers.Request`` and wraps ``env`` so
    bindings take Python values. Here both already are Python, so it only marks the function.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


class ExecutionContext:
    """``ctx`` of a Worker invocation: ``waitUntil`` and ``passThroughOnException``."""

    def __init__(self, runtime: Any = None, worker: Any = None) -> None:
        self._runtime = runtime
        self._worker = worker
        self.pass_through = False
        self.props: dict[str, Any] = {}

    def waitUntil(self, awaitable: Awaitable[Any]) -> None:  # noqa: N802 - Cloudflare's name
        """Keep the invocation alive until ``awaitable`` settles, after the response is sent."""
        if self._runtime is None:
            raise RuntimeError("waitUntil() needs a running Worker")
        self._runtime.wait_until(awaitable, worker=self._worker)

    wait_until = waitUntil

    def passThroughOnException(self) -> None:  # noqa: N802
        """On an exception, forward the request to the origin instead of failing (fail open)."""
        self.pass_through = True

    pass_through_on_exception = passThroughOnException


class WorkerEntrypoint:
    """Base class of a Worker's entrypoint: ``self.env`` holds bindings, ``self.ctx`` the context."""

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


class DurableObject:
    """Base class of a Durable Object: constructed with ``(ctx, env)``; ``ctx.storage`` persists."""

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


def _is_coroutine_function(fn: Any) -> bool:
    return asyncio.iscoroutinefunction(fn)


__all__ = ["Context", "DurableObject", "ExecutionContext", "WorkerEntrypoint", "WorkflowEntrypoint", "handler"]
