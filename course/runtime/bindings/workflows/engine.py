"""The Workflows engine: one execution of an instance's ``run``, replayed against its stored steps.

An :class:`Execution` is what Cloudflare's engine is for one instance while it is in memory: it
constructs the Workflow class, calls ``run(event, step)`` and answers the step calls
(:class:`course.workers.workflows.EngineStep`). Every durable call has a key, its name and how
many times that name was used before in this run (``do:charge:1``, ``sleep:nap:1``), so a new
execution that replays ``run`` from the top finds, for each call, what was stored:

- ``step.do``: a stored result (or final error) is returned (raised) without running the
  function again; otherwise attempts run, each under the step's ``timeout``, and a failed one is
  retried after ``delay`` (constant, linear: ``delay * n``, exponential: ``delay * 2**(n-1)``
  after ``n`` failed attempts) until ``retries.limit`` retries were made; a
  ``NonRetryableError`` fails the step at once (https://developers.cloudflare.com/workflows/build/sleeping-and-retrying/);
- ``step.sleep`` / ``sleep_until``: the wake-up time is stored when the sleep starts, so a
  replay only sleeps what is left;
- ``step.wait_for_event``: takes the oldest unconsumed event of its type, or waits for one until
  its stored deadline, then fails with ``WorkflowTimeoutError``.

A crash (``workflows(rt).crash(id)`` or a fault rule) loses only the attempt in progress: it ran
once and runs again (at-least-once, like the platform); a completed step never runs twice. All
waits are on the runtime clock, so on virtual time a week of sleeps takes milliseconds. Every
attempt, retry, sleep, wait and event is traced (``workflow_*`` events).
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import inspect
import math
from typing import Any, Callable

from course.workers.entrypoints import ExecutionContext
from course.workers.jsproxy import JsDate, JsException, JsObject, wrap
from course.workers.workflows import NonRetryableError, WorkflowStep

from course.runtime.bindings.workflows import limits
from course.runtime.bindings.workflows.store import decode, encode

#: The instance's error when an unhandled NonRetryableError ends it (the engine's wording, used
#: unless the compatibility flag workflows_preserve_non_retryable_error_message is set).
UNHANDLED_NON_RETRYABLE = ("The execution of the Workflow instance was terminated, as a step threw an "
                           "NonRetryableError and it was not handled")
#: Marks "no retry wait pending" in a step row's wake_at while an attempt runs.
_IN_ATTEMPT = -1.0


def error_info(exc: BaseException) -> dict[str, str]:
    """An error as the engine stores and reports it: ``{"name", "message"}``."""
    if isinstance(exc, JsException):
        return {"name": exc.name, "message": exc.message}
    return {"name": type(exc).__name__, "message": str(exc)}


def step_error(info: dict[str, str]) -> Exception:
    """The exception ``run`` sees for a failed step, as the Python SDK rebuilds it: TypeError and
    ValueError as themselves, NonRetryableError as itself, anything else as a JsException."""
    name, message = info.get("name", "Error"), info.get("message", "")
    if name == "TypeError":
        return TypeError(message)
    if name == "ValueError":
        return ValueError(message)
    if name == "NonRetryableError":
        return NonRetryableError(message)
    return JsException(message, name)


def timeout_error(ms: float) -> JsException:
    return JsException(f"Execution timed out after {int(ms)}ms", "WorkflowTimeoutError")


class Halted(BaseException):
    """Raised into an execution that was stopped (crash, pause, terminate): it writes nothing more.

    A BaseException, so Worker code's ``except Exception`` cannot swallow it, as nothing in a
    Workflow can catch the platform aborting its engine."""


class Execution:
    """One in-memory run of one instance (the platform's engine for it)."""

    def __init__(self, service: Any, definition: Any, instance_id: str) -> None:
        # service: the runtime's WorkflowService; definition: the Workflow's service.Definition
        # (typed loosely: the service imports this module).
        self.service = service
        self.runtime = service.runtime
        self.definition = definition
        self.workflow = definition.name
        self.instance_id = instance_id
        self.store = service.store(definition.name)
        self.task: asyncio.Task[Any] | None = None
        self.dead = False
        self.pause_requested = False
        self.active_steps = 0
        self.step_calls = 0
        self._counters: dict[str, int] = {}
        #: event type -> [(wait key, future)], oldest first
        self.waiters: dict[str, list[tuple[str, asyncio.Future[dict[str, Any]]]]] = {}

    # -- helpers -----------------------------------------------------------------------------------
    def _trace(self, kind: str, **data: Any) -> None:
        self.runtime.trace.record(kind, workflow=self.workflow, instance=self.instance_id, **data)

    def _alive(self) -> None:
        if self.dead:
            raise Halted(f"instance {self.instance_id} was stopped")

    def _count(self, kind: str, name: str) -> int:
        key = f"{kind}:{name}"
        self._counters[key] = self._counters.get(key, 0) + 1
        return self._counters[key]

    def _status(self, status: str, **fields: Any) -> None:
        self._alive()
        self.service.set_status(self.workflow, self.instance_id, status, **fields)

    def halt(self) -> None:
        """Stop this execution where it is: nothing it does from now on is stored."""
        self.dead = True
        for waiting in self.waiters.values():
            for _, future in waiting:
                if not future.done():
                    future.cancel()
        self.waiters.clear()
        if self.task is not None and not self.task.done() and self.task is not asyncio.current_task():
            self.task.cancel()

    def _crash_point(self, step: str, when: str) -> None:
        faults = self.service.peek_faults()
        if faults is not None and faults.take("crash", self.workflow, self.instance_id, step, when) is not None:
            self.service.crash(self.instance_id, workflow=self.workflow, reason=f"fault: {when} {step!r}")
            raise Halted(f"engine crashed {when} step {step!r}")

    async def _until(self, wake_wall: float) -> None:
        delay = wake_wall - self.runtime.clock.wall()
        if delay > 0:
            await asyncio.sleep(delay)
        self._alive()

    async def _pause_point(self) -> None:
        if self.pause_requested and self.active_steps == 0:
            self.service.set_status(self.workflow, self.instance_id, limits.PAUSED,
                                    paused_at=self.runtime.clock.wall())
            self.halt()
            raise Halted("paused")

    # -- the run -----------------------------------------------------------------------------------
    async def run(self) -> None:
        row = self.store.instance(self.instance_id)
        if row is None or row.status in limits.FINISHED or row.status == limits.PAUSED:
            return
        worker = self.definition.worker(self.runtime)
        self._status(limits.RUNNING, started=row.started or self.runtime.clock.wall())
        event = JsObject({"payload": row.params, "timestamp": JsDate.from_ms(row.created * 1000),
                          "instanceId": self.instance_id, "workflowName": self.workflow})
        try:
            entry = worker.export(self.definition.class_name)(ExecutionContext(self.runtime, worker), worker.env)
            step = WorkflowStep(self, implicit_dependencies=self.definition.implicit_dependencies)
            result = entry.run(event, step)
            if inspect.isawaitable(result):
                result = await result
            self._alive()
        except (Halted, asyncio.CancelledError):
            if not self.dead:
                raise
            return
        except Exception as exc:  # noqa: BLE001 - an unhandled error ends the instance as errored
            if self.dead:
                return
            self._finish(limits.ERRORED, error=self._instance_error(exc))
            return
        try:
            encode(result)
        except JsException as exc:
            self._finish(limits.ERRORED, error={"name": "WorkflowFatalError",
                                                "message": f"The output of run() is not serialisable: {exc.message}"})
            return
        self._finish(limits.COMPLETE, output=result)

    def _instance_error(self, exc: BaseException) -> dict[str, str]:
        if isinstance(exc, NonRetryableError) or (isinstance(exc, JsException) and exc.name == "NonRetryableError"):
            if self.definition.preserve_non_retryable_message:
                return {"name": "NonRetryableError", "message": str(exc.args[0]) if exc.args else ""}
            return {"name": "WorkflowFatalError", "message": UNHANDLED_NON_RETRYABLE}
        return error_info(exc)

    def _finish(self, status: str, **fields: Any) -> None:
        self._status(status, ended=self.runtime.clock.wall(), **fields)
        self.dead = True

    # -- step.do -----------------------------------------------------------------------------------
    async def do(self, name: str, config: Any, callback: Callable[[Any], Any]) -> Any:
        self._alive()
        self.step_calls += 1
        limit = self.definition.step_limit
        if self.step_calls > limit:
            raise limits.fatal(f"The limit of {limit} steps has been reached. This limit can be changed in your "
                               "worker configuration.")
        if not limits.valid_step_name(name):
            raise limits.fatal(f'Step name "{name}" exceeds max length ({limits.MAX_STEP_NAME_LENGTH} chars) or '
                               "invalid characters found")
        cfg = limits.step_config(name, config)
        count = self._count("do", name)
        key = f"do:{name}:{count}"
        row = self.store.step(self.instance_id, key)
        if row is not None and row.done:
            self._trace("workflow_step", step=name, key=key, replayed=True, ok=row.error is None)
            if row.error is not None:
                raise step_error(row.error)
            return row.value
        attempts = row.attempts if row is not None else 0
        if attempts == 0:
            self._crash_point(name, "before")
        elif row is not None and row.wake_at is not None and row.wake_at > 0:
            await self._until(row.wake_at)  # the engine stopped while this step waited to retry
        else:
            self._trace("workflow_attempt", phase="lost", step=name, key=key, attempt=attempts,
                        error="the engine stopped during this attempt")
        while True:
            attempt = attempts + 1
            self.store.put_step(self.instance_id, key, attempts=attempt, wake_at=_IN_ATTEMPT)
            started = self.runtime.clock.now()
            self._trace("workflow_attempt", phase="start", step=name, key=key, attempt=attempt)
            self.active_steps += 1
            self._status(limits.RUNNING)
            failure: Exception | None = None
            blob = b""
            try:
                result = await self._attempt(name, count, cfg, attempt, callback)
                self._alive()
                blob = self._stored(name, count, result)
            except Halted:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed attempt is retried or fails the step
                self._alive()
                failure = exc
            finally:
                self.active_steps -= 1
            if failure is None:
                self._crash_point(name, "during")
                self.store.put_step(self.instance_id, key, done=True, value=blob)
                self._trace("workflow_attempt", phase="end", step=name, key=key, attempt=attempt, ok=True,
                            start=started)
                self._trace("workflow_step", step=name, key=key, replayed=False, ok=True, attempts=attempt)
                self._crash_point(name, "after")
                await self._pause_point()
                return decode(blob)
            info = error_info(failure)
            self._trace("workflow_attempt", phase="end", step=name, key=key, attempt=attempt, ok=False,
                        start=started, error=info["name"], message=info["message"])
            final = isinstance(failure, NonRetryableError) or info["name"] == "NonRetryableError"
            if not final and attempt <= cfg.limit:
                delay_ms = cfg.retry_delay_ms(attempt)
                wake = self.runtime.clock.wall() + delay_ms / 1000
                self.store.put_step(self.instance_id, key, wake_at=wake)
                self._trace("workflow_retry", step=name, key=key, attempt=attempt, delay_ms=delay_ms,
                            backoff=cfg.backoff)
                await self._until(wake)
                attempts = attempt
                continue
            self.store.put_step(self.instance_id, key, done=True, error=info)
            self._trace("workflow_step", step=name, key=key, replayed=False, ok=False, attempts=attempt,
                        error=info["name"], message=info["message"])
            self._crash_point(name, "after")
            await self._pause_point()
            raise step_error(info)

    async def _attempt(self, name: str, count: int, cfg: limits.StepConfig, attempt: int,
                       callback: Callable[[Any], Any]) -> Any:
        faults = self.service.peek_faults()
        if faults is not None:
            rule = faults.take("fail", self.workflow, self.instance_id, name)
            if rule is not None:
                raise JsException(rule.message, "Error")
            if faults.take("timeout", self.workflow, self.instance_id, name) is not None:
                raise timeout_error(cfg.timeout_ms)
        ctx = wrap({"step": {"name": name, "count": count}, "attempt": attempt, "config": cfg.as_dict()})
        task = asyncio.ensure_future(callback(ctx))
        try:
            done, _ = await asyncio.wait({task}, timeout=cfg.timeout_ms / 1000)
        except BaseException:
            task.cancel()
            raise
        if not done:
            task.cancel()
            raise timeout_error(cfg.timeout_ms)
        return task.result()

    def _stored(self, name: str, count: int, result: Any) -> bytes:
        """The encoded result, or the error the engine gives for a value it cannot keep."""
        try:
            blob = encode(result)
        except JsException:
            self.service.set_status(self.workflow, self.instance_id, limits.ERRORED, ended=self.runtime.clock.wall(),
                                    error={"name": "WorkflowFatalError", "message": (
                                        f'The execution of the Workflow instance was terminated, as the step "{name}" '
                                        "returned a value which is not serialisable")})
            self.halt()
            raise Halted("not serialisable") from None
        if len(blob) > limits.MAX_STEP_RESULT_BYTES:
            raise JsException(f"Step {name}-{count} output is too large. Maximum allowed size is 1MiB.",
                              "WorkflowInternalError")
        row = self.store.instance(self.instance_id)
        if row is not None and row.state_bytes + len(blob) > limits.MAX_INSTANCE_STATE_BYTES:
            raise JsException("The instance has exceeded the 1GiB storage limit", "WorkflowInternalError")
        return blob

    # -- sleeping ----------------------------------------------------------------------------------
    async def sleep(self, name: str, duration: Any) -> None:
        self._alive()
        ms = limits.duration_ms(duration)
        if math.isnan(ms) or ms < 0:
            raise JsException(f"step.sleep({name!r}): invalid duration {duration!r}: use milliseconds or a "
                              'string such as "10 seconds"', "TypeError")
        if ms > limits.MAX_SLEEP_MS:
            raise limits.fatal(f"step.sleep({name!r}) of {duration!r} is longer than 365 days ({limits.LIMITS_DOC})")
        await self._sleep(name, lambda: self.runtime.clock.wall() + ms / 1000)

    async def sleep_until(self, name: str, timestamp: Any) -> None:
        self._alive()
        if isinstance(timestamp, _dt.datetime):
            aware = timestamp if timestamp.tzinfo else timestamp.astimezone()
            target = aware.timestamp()
        elif isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
            target = timestamp / 1000  # a number is milliseconds since the epoch, as for a JS Date
        else:
            raise JsException(f"step.sleep_until({name!r}): timestamp must be a datetime or milliseconds since "
                              f"the Unix epoch, got {type(timestamp).__name__}", "TypeError")
        key = f"sleep:{name}:{self._counters.get('sleep:' + name, 0) + 1}"
        row = self.store.step(self.instance_id, key)
        if (row is None or not row.done) and target < self.runtime.clock.wall() and (row is None or row.wake_at is None):
            raise JsException("You can't sleep until a time in the past, time-traveler", "Error")
        await self._sleep(name, lambda: target)

    async def _sleep(self, name: str, wake: Callable[[], float]) -> None:
        key = f"sleep:{name}:{self._count('sleep', name)}"
        row = self.store.step(self.instance_id, key)
        if row is not None and row.done:
            self._trace("workflow_sleep", phase="replayed", step=name, key=key)
            return
        until = row.wake_at if row is not None and row.wake_at is not None else wake()
        self.store.put_step(self.instance_id, key, wake_at=until)
        self._trace("workflow_sleep", phase="start", step=name, key=key, until=until)
        self._status(limits.WAITING)
        await self._until(until)
        self.store.put_step(self.instance_id, key, done=True)
        self._trace("workflow_sleep", phase="end", step=name, key=key)
        self._status(limits.RUNNING)

    # -- events ------------------------------------------------------------------------------------
    async def wait_for_event(self, name: str, event_type: str, timeout: Any) -> Any:
        self._alive()
        if not isinstance(event_type, str) or not event_type:
            raise JsException(f"step.wait_for_event({name!r}): the event type must be a non-empty str", "TypeError")
        ms = limits.duration_ms(timeout if timeout is not None else limits.DEFAULT_EVENT_TIMEOUT)
        if math.isnan(ms) or ms < 0:
            raise JsException(f"step.wait_for_event({name!r}): invalid timeout {timeout!r}", "TypeError")
        key = f"wait:{name}:{self._count('wait', name)}"
        row = self.store.step(self.instance_id, key)
        if row is not None and row.done:
            self._trace("workflow_wait", phase="replayed", step=name, key=key, type=event_type)
            if row.error is not None:
                raise step_error(row.error)
            return row.value
        deadline = row.wake_at if row is not None and row.wake_at is not None else self.runtime.clock.wall() + ms / 1000
        self.store.put_step(self.instance_id, key, wake_at=deadline)
        self._trace("workflow_wait", phase="start", step=name, key=key, type=event_type, until=deadline)
        event = self.store.take_event(self.instance_id, event_type, key)
        if event is None:
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self.waiters.setdefault(event_type, []).append((key, future))
            self._status(limits.WAITING)
            remaining = max(0.0, deadline - self.runtime.clock.wall())
            done, _ = await asyncio.wait({future}, timeout=remaining)
            self._alive()
            if not done:
                self.waiters[event_type] = [w for w in self.waiters.get(event_type, []) if w[1] is not future]
                info = error_info(timeout_error(ms))
                self.store.put_step(self.instance_id, key, done=True, error=info)
                self._trace("workflow_wait", phase="timeout", step=name, key=key, type=event_type)
                self._status(limits.RUNNING)
                raise step_error(info)
            event = future.result()
        value = {"payload": event["payload"], "type": event_type, "timestamp": JsDate.from_ms(event["timestamp"] * 1000)}
        blob = encode(value)
        self.store.put_step(self.instance_id, key, done=True, value=blob)
        self._trace("workflow_wait", phase="end", step=name, key=key, type=event_type, event=event["seq"])
        self._status(limits.RUNNING)
        return decode(blob)

    def deliver(self, event_type: str) -> bool:
        """An event of ``event_type`` was stored: hand it to the oldest wait for it, if any."""
        waiting = self.waiters.get(event_type) or []
        while waiting:
            key, future = waiting.pop(0)
            if future.done():
                continue
            event = self.store.take_event(self.instance_id, event_type, key)
            if event is None:
                return False
            future.set_result(event)
            return True
        return False
