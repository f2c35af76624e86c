"""The Python Workflows API: ``WorkflowEntrypoint``, the ``step`` a run receives, ``NonRetryableError``.

What Worker code sees of Cloudflare Workflows (https://developers.cloudflare.com/workflows/python/),
the stand-in for the SDK's ``workers.WorkflowEntrypoint`` and ``workers.workflows``:

- ``class MyWorkflow(WorkflowEntrypoint)`` with ``async def run(self, event, step)``; ``event`` is a
  dict (``payload``, ``timestamp``, ``instanceId``, ``workflowName``; keys also readable as
  attributes) and what ``run`` returns is the instance's output;
- ``@step.do(...)`` decorates an async function and returns a callable; awaiting the call runs
  the step durably (its result is memoised per step name, retried per ``config``). Two
  signatures exist, chosen like the SDK by the compatibility flag
  ``python_workflows_implicit_dependencies`` (on by default from 2026-02-25):

  * legacy ``step.do(name, depends=None, concurrent=False, config=None)``: the function's
    parameters other than ``ctx`` receive, in order, the results of the steps in ``depends``;
  * implicit ``step.do(name=None, *, concurrent=False, config=None)``: a parameter named like an
    earlier step (``func.__name__`` when no name is given) receives that step's result.

  Either way a parameter named ``ctx`` receives the step context (``ctx.step.name``,
  ``ctx.step.count``, ``ctx.attempt``, ``ctx.config``), dependencies not yet run are run first
  (at once with ``concurrent=True``), and a dependency already run is not run again;
- ``step.sleep(name, duration)``, ``step.sleep_until(name, timestamp)`` and
  ``step.wait_for_event(name, event_type, timeout="24 hours")``: like a JavaScript promise, they
  start when called and are awaited for their result;
- ``raise NonRetryableError(message)`` inside a step fails it at once, without retries.

The durable part (memoised results, retries, timers, events) is the engine's, behind the small
:class:`EngineStep` protocol; this module only turns Python functions into calls on it, as the
SDK turns them into calls on the JavaScript ``WorkflowStep``.
"""
from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable, Protocol

from course.workers.jsproxy import wrap
from course.workers.rpc import python_from_rpc, python_to_rpc


class NonRetryableError(Exception):
    """Raised in a step: the step fails at once, without retries (``from workers.workflows``)."""


class EngineStep(Protocol):
    """What the Workflows engine offers one run (Cloudflare's JavaScript ``WorkflowStep``)."""

    async def do(self, name: str, config: Any, callback: Callable[[Any], Awaitable[Any]]) -> Any: ...

    async def sleep(self, name: str, duration: Any) -> None: ...

    async def sleep_until(self, name: str, timestamp: Any) -> None: ...

    async def wait_for_event(self, name: str, event_type: str, timeout: Any) -> Any: ...


class WorkflowEntrypoint:
    """Base class of a Workflow: the engine constructs it with ``(ctx, env)`` and calls ``run``."""

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env

    async def run(self, event: Any, step: "WorkflowStep") -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define `async def run(self, event, step)`")


_CTX = "ctx"


class StepCallable:
    """What ``@step.do(...)`` returns: awaiting ``fn()`` runs the step (once per call)."""

    def __init__(self, step: "WorkflowStep", func: Callable[..., Any], name: str, depends: list[Any] | None,
                 concurrent: bool, config: Any) -> None:
        self._step, self._func = step, func
        self._step_name = name
        self._depends, self._concurrent, self._config = depends, concurrent, config
        self.__name__ = getattr(func, "__name__", name)
        self.__doc__ = getattr(func, "__doc__", None)

    def __call__(self) -> Awaitable[Any]:
        return self._step._run_step(self)

    def __repr__(self) -> str:
        return f"<workflow step {self._step_name!r}>"


class WorkflowStep:
    """The ``step`` argument of ``run``: Python functions over the engine's durable step calls."""

    def __init__(self, engine: EngineStep, *, implicit_dependencies: bool) -> None:
        self._engine = engine
        self._implicit = implicit_dependencies
        self._closures: dict[str, StepCallable] = {}
        self._results: dict[StepCallable, Any] = {}
        self._in_flight: dict[StepCallable, asyncio.Future[Any]] = {}

    # -- step.do -------------------------------------------------------------------------------
    def do(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], StepCallable]:
        """``@step.do(...)``: see the module docstring for the two signatures."""
        if self._implicit:
            return self._do_implicit(*args, **kwargs)
        return self._do_legacy(*args, **kwargs)

    def _do_implicit(self, name: str | None = None, *, concurrent: bool = False,
                     config: Any = None) -> Callable[[Callable[..., Any]], StepCallable]:
        return self._decorator(name, None, concurrent, config)

    def _do_legacy(self, name: str, depends: Any = None, concurrent: bool = False,
                   config: Any = None) -> Callable[[Callable[..., Any]], StepCallable]:
        if depends is not None and not isinstance(depends, (list, tuple)):
            raise TypeError(f"step.do({name!r}): 'depends' must be a list of functions decorated with step.do, "
                            f"got {type(depends).__name__}")
        return self._decorator(name, list(depends) if depends is not None else None, concurrent, config)

    def _decorator(self, name: str | None, depends: list[Any] | None, concurrent: bool,
                   config: Any) -> Callable[[Callable[..., Any]], StepCallable]:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"step.do(): the step name must be a str, got {type(name).__name__}")

        def decorate(func: Callable[..., Any]) -> StepCallable:
            if not callable(func):
                raise TypeError(f"@step.do decorates an async function, got {type(func).__name__}")
            step_name = func.__name__ if name is None else name
            wrapped = StepCallable(self, func, step_name, depends, concurrent, config)
            self._closures[step_name] = wrapped
            return wrapped

        return decorate

    def _arguments(self, call: StepCallable) -> list[Any]:
        """For each parameter of the step function: a dependency (StepCallable) or ``_CTX``."""
        params = list(inspect.signature(call._func).parameters.values())
        if self._implicit:
            out: list[Any] = []
            for p in params:
                if p.name in self._closures and self._closures[p.name] is not call:
                    out.append(self._closures[p.name])
                elif p.name == _CTX:
                    out.append(_CTX)
                else:
                    raise TypeError(f"Received unexpected parameter {p.name} (step {call._step_name!r}: a "
                                    "parameter must be `ctx` or the name of an earlier step)")
            return out
        plain = [p for p in params if p.name != _CTX]
        depends = call._depends
        if depends is None and plain:
            raise TypeError(f"Step has {len(plain)} non-ctx parameter(s) but no 'depends' list provided "
                            f"(step {call._step_name!r})")
        if depends is not None and len(depends) != len(plain):
            raise TypeError(f"Step declares {len(plain)} non-ctx parameter(s) but 'depends' has "
                            f"{len(depends)} item(s) (step {call._step_name!r})")
        out, i = [], 0
        for p in params:
            if p.name == _CTX:
                out.append(_CTX)
                continue
            dep = depends[i]  # type: ignore[index]
            if not isinstance(dep, StepCallable):
                raise TypeError(f"'depends' entry for parameter {p.name!r} is not a function decorated with "
                                "step.do")
            out.append(dep)
            i += 1
        return out

    async def _resolve(self, dep: Any) -> Any:
        if dep is _CTX:
            return _CTX
        if dep in self._results:
            return self._results[dep]
        if dep in self._in_flight:
            return await self._in_flight[dep]
        return await dep()

    async def _run_step(self, call: StepCallable) -> Any:
        deps = self._arguments(call)
        if call._concurrent:
            values = list(await asyncio.gather(*(self._resolve(d) for d in deps)))
        else:
            values = [await self._resolve(d) for d in deps]

        async def callback(ctx: Any) -> Any:
            args = [python_from_rpc(ctx) if v is _CTX else v for v in values]
            result = call._func(*args)
            if inspect.isawaitable(result):
                result = await result
            return python_to_rpc(result)

        config = None if call._config is None else wrap(call._config)
        task = asyncio.ensure_future(self._engine.do(call._step_name, config, callback))
        self._in_flight[call] = task
        try:
            result = python_from_rpc(await task)
            self._results[call] = result
        finally:
            self._in_flight.pop(call, None)
        return result

    # -- sleeping and events ---------------------------------------------------------------------
    def sleep(self, name: str, duration: Any) -> "asyncio.Future[None]":
        """Sleep ``duration`` (milliseconds, or a string such as ``"10 seconds"``); durable."""
        return asyncio.ensure_future(self._engine.sleep(name, duration))

    def sleep_until(self, name: str, timestamp: Any) -> "asyncio.Future[None]":
        """Sleep until ``timestamp`` (a ``datetime``, or milliseconds since the Unix epoch)."""
        return asyncio.ensure_future(self._engine.sleep_until(name, timestamp))

    def wait_for_event(self, name: str, event_type: str, /, timeout: Any = "24 hours") -> "asyncio.Future[Any]":
        """Wait for ``instance.sendEvent({"type": event_type, ...})``; the event (``payload``,
        ``type``, ``timestamp``), or a timeout error after ``timeout``."""
        async def wait() -> Any:
            return python_from_rpc(await self._engine.wait_for_event(name, event_type, timeout))

        return asyncio.ensure_future(wait())


__all__ = ["EngineStep", "NonRetryableError", "StepCallable", "WorkflowEntrypoint", "WorkflowStep"]
