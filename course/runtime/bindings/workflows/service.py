"""Every Workflow of one runtime (``workflows(rt)``): definitions, instances, their lifecycle, crashes.

The service owns the stores (one per Workflow, see :mod:`.store`) and the executions in memory
(:class:`.engine.Execution`). The lifecycle follows the Workers API
(https://developers.cloudflare.com/workflows/build/workers-api/#workflowinstance):

- ``create`` stores the instance as ``queued`` and starts an execution (``running``; ``waiting``
  while it sleeps or waits for an event; then ``complete`` or ``errored``);
- ``pause`` stops it at the next step boundary (``waitingForPause`` while a step attempt runs,
  then ``paused``); ``resume`` starts a new execution that replays the stored steps, and pending
  sleeps are pushed back by the time spent paused;
- ``terminate`` ends a live instance (``terminated``; an error on a finished one); ``restart``
  forgets every stored step and runs the instance again from the beginning;
- ``send_event`` stores an event for the instance, handed to a waiting ``wait_for_event``.

Durability: what an execution stored survives it. ``crash(id)`` (or a fault rule) drops the
execution and starts a new one, and a runtime loading a Worker over an existing ``persist_to``
resumes that Worker's unfinished instances. From Python (any thread)::

    wf = workflows(rt)
    wf.status("order-42")             # {"status": "waiting", "output": None}
    wf.steps("order-42")              # the stored steps: key, attempts, done, value or error
    wf.crash("order-42")              # the engine dies; a new one resumes from the stored steps
    wf.faults.fail(step="charge")     # see .faults
"""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from course.workers.jsproxy import JsException, JsObject, to_py

from course.runtime.bindings.workflows import limits
from course.runtime.bindings.workflows.engine import Execution
from course.runtime.bindings.workflows.faults import WorkflowFaults
from course.runtime.bindings.workflows.store import InstanceStore, encode
from course.runtime.kernel.config import ConfigError
from course.runtime.kernel.plugins import ServiceSlot
from course.runtime.kernel.runtime import Kernel

#: The compatibility flag that gives ``step.do`` implicit dependencies, on by default for Python
#: Workers from this date (workerd compatibility-date.capnp, ``pythonWorkflowsImplicitDeps``).
IMPLICIT_DEPENDENCIES_FLAG = "python_workflows_implicit_dependencies"
IMPLICIT_DEPENDENCIES_DATE = "2026-02-25"
#: With this flag an unhandled NonRetryableError keeps its own message as the instance's error.
PRESERVE_NON_RETRYABLE_FLAG = "workflows_preserve_non_retryable_error_message"


@dataclass(frozen=True)
class Definition:
    """A Workflow as a Worker defines it (``[[workflows]]`` without ``script_name``)."""

    name: str
    worker_name: str
    class_name: str
    step_limit: int = limits.DEFAULT_STEP_LIMIT
    implicit_dependencies: bool = False
    preserve_non_retryable_message: bool = False

    def worker(self, runtime: Kernel) -> Any:
        return runtime.worker(self.worker_name)


def implicit_dependencies(config: Any) -> bool:
    flags = set(config.compatibility_flags or ())
    if IMPLICIT_DEPENDENCIES_FLAG in flags:
        return True
    if f"no_{IMPLICIT_DEPENDENCIES_FLAG}" in flags:
        return False
    return (config.compatibility_date or "") >= IMPLICIT_DEPENDENCIES_DATE


class WorkflowService:
    """Every Workflow and instance of one runtime."""

    def __init__(self, runtime: Kernel) -> None:
        self.runtime = runtime
        self.definitions: dict[str, Definition] = {}
        self.stores: dict[str, InstanceStore] = {}
        self.live: dict[tuple[str, str], Execution] = {}
        self._ids = runtime.rng("workflows.instance_ids")
        self._faults: WorkflowFaults | None = None

    # -- definitions and stores --------------------------------------------------------------------
    def define(self, definition: Definition, path: Any, key: str) -> None:
        existing = self.definitions.get(definition.name)
        if existing is not None and existing.worker_name != definition.worker_name:
            raise ConfigError(path, f"a Workflow named {definition.name!r} is already defined by Worker "
                              f"{existing.worker_name!r}; Workflow names are unique per account", key=key)
        self.definitions[definition.name] = definition

    def definition(self, workflow: str) -> Definition:
        try:
            return self.definitions[workflow]
        except KeyError:
            raise JsException(f"no Workflow named {workflow!r} is defined in this runtime (defined: "
                              f"{', '.join(sorted(self.definitions)) or 'none'}); a [[workflows]] entry with "
                              "script_name needs that Worker loaded too", "Error") from None

    def store(self, workflow: str) -> InstanceStore:
        if workflow not in self.stores:
            self.stores[workflow] = InstanceStore(workflow, self.runtime.state_path("workflows", f"{workflow}.sqlite"))
        return self.stores[workflow]

    @property
    def faults(self) -> WorkflowFaults:
        """Fault rules for step attempts and step boundaries (see :mod:`.faults`)."""
        if self._faults is None:
            self._faults = WorkflowFaults(self.runtime)
        return self._faults

    def peek_faults(self) -> WorkflowFaults | None:
        return self._faults

    # -- status ------------------------------------------------------------------------------------
    def set_status(self, workflow: str, instance_id: str, status: str, **fields: Any) -> None:
        store = self.store(workflow)
        row = store.instance(instance_id)
        store.update(instance_id, status=status, **fields)
        if row is None or row.status != status:
            self.runtime.trace.record("workflow_status", workflow=workflow, instance=instance_id, status=status,
                                      previous=row.status if row is not None else None,
                                      error=fields.get("error"))

    def _row(self, workflow: str, instance_id: str) -> Any:
        row = self.store(workflow).instance(instance_id)
        if row is None:
            raise JsException("instance.not_found", "Error")
        return row

    def instance_status(self, workflow: str, instance_id: str) -> JsObject:
        """``{status, output}`` (+ ``error`` when errored), as ``instance.status()`` returns it."""
        row = self._row(workflow, instance_id)
        out: dict[str, Any] = {"status": row.status, "output": row.output if row.status == limits.COMPLETE else None}
        if row.error is not None:
            out["error"] = dict(row.error)
        return JsObject(out)

    # -- executions (loop thread) ------------------------------------------------------------------
    def start(self, workflow: str, instance_id: str) -> Execution:
        self.stop(workflow, instance_id)
        definition = self.definition(workflow)
        execution = Execution(self, definition, instance_id)
        key = (workflow, instance_id)
        self.live[key] = execution

        async def run() -> None:
            try:
                await execution.run()
            finally:
                if self.live.get(key) is execution:
                    del self.live[key]

        execution.task = self.runtime.spawn(run(), label=f"workflow {workflow}/{instance_id}",
                                            worker=definition.worker(self.runtime))
        return execution

    def stop(self, workflow: str, instance_id: str) -> bool:
        execution = self.live.pop((workflow, instance_id), None)
        if execution is None:
            return False
        execution.halt()
        return True

    def resume_unfinished(self, worker_name: str) -> list[str]:
        """Start an execution for every unfinished instance of the Workflows ``worker_name`` defines
        (a runtime loaded over an existing ``persist_to``)."""
        resumed = []
        for definition in self.definitions.values():
            if definition.worker_name != worker_name:
                continue
            for instance_id in self.store(definition.name).instance_ids((limits.QUEUED, limits.RUNNING,
                                                                         limits.WAITING, limits.WAITING_FOR_PAUSE)):
                self.runtime.trace.record("workflow_resume", workflow=definition.name, instance=instance_id,
                                          reason="runtime started")
                self.runtime.run_on_loop(lambda d=definition, i=instance_id: self.start(d.name, i))
                resumed.append(instance_id)
        return resumed

    # -- the operations of the binding (loop thread) -----------------------------------------------
    def new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def create(self, workflow: str, instance_id: Any, params: Any) -> str:
        self.definition(workflow)
        if instance_id is None:
            instance_id = self.new_id()
        if not limits.valid_instance_id(instance_id):
            raise JsException(f"WorkflowError: Workflow instance has invalid id {instance_id!r}: at most "
                              f"{limits.MAX_INSTANCE_ID_LENGTH} characters of {limits.INSTANCE_ID_PATTERN.pattern} "
                              f"({limits.LIMITS_DOC})", "Error")
        blob = encode(params if params is not None else {})
        if len(blob) > limits.MAX_EVENT_PAYLOAD_BYTES:
            raise JsException(f"WorkflowError: the params of instance {instance_id!r} are {len(blob)} bytes; the "
                              f"maximum event payload is 1 MiB ({limits.LIMITS_DOC})", "Error")
        store = self.store(workflow)
        if store.instance(instance_id) is not None:
            raise JsException(f"instance.already_exists: Workflow {workflow!r} already has an instance with id "
                              f"{instance_id!r} ({limits.API_DOC}#create)", "Error")
        store.add_instance(instance_id, blob, self.runtime.clock.wall())
        self.runtime.trace.record("workflow_status", workflow=workflow, instance=instance_id, status=limits.QUEUED,
                                  previous=None)
        self.start(workflow, instance_id)
        return instance_id

    def pause(self, workflow: str, instance_id: str) -> None:
        row = self._row(workflow, instance_id)
        if row.status not in (limits.RUNNING, limits.WAITING, limits.QUEUED):
            return
        execution = self.live.get((workflow, instance_id))
        if execution is not None and execution.active_steps > 0:
            execution.pause_requested = True
            self.set_status(workflow, instance_id, limits.WAITING_FOR_PAUSE)
            return
        self.stop(workflow, instance_id)
        self.set_status(workflow, instance_id, limits.PAUSED, paused_at=self.runtime.clock.wall())

    def resume(self, workflow: str, instance_id: str) -> None:
        row = self._row(workflow, instance_id)
        execution = self.live.get((workflow, instance_id))
        if row.status == limits.WAITING_FOR_PAUSE and execution is not None:
            execution.pause_requested = False
            self.set_status(workflow, instance_id, limits.RUNNING)
            return
        if row.status != limits.PAUSED:
            return
        store = self.store(workflow)
        if row.paused_at is not None:
            store.shift_wake_times(instance_id, self.runtime.clock.wall() - row.paused_at)
        self.set_status(workflow, instance_id, limits.QUEUED, paused_at=None)
        self.start(workflow, instance_id)

    def terminate(self, workflow: str, instance_id: str) -> None:
        row = self._row(workflow, instance_id)
        if row.status in limits.FINISHED:
            raise JsException("(instance.cannot_terminate) Cannot terminate instance since its on a finite state",
                              "WorkflowError")
        self.stop(workflow, instance_id)
        self.set_status(workflow, instance_id, limits.TERMINATED, ended=self.runtime.clock.wall())

    def restart(self, workflow: str, instance_id: str) -> None:
        self._row(workflow, instance_id)
        self.stop(workflow, instance_id)
        self.store(workflow).reset(instance_id)
        self.runtime.trace.record("workflow_restart", workflow=workflow, instance=instance_id)
        self.set_status(workflow, instance_id, limits.QUEUED)
        self.start(workflow, instance_id)

    def send_event(self, workflow: str, instance_id: str, event_type: Any, payload: Any) -> None:
        self._row(workflow, instance_id)
        if not isinstance(event_type, str) or not event_type:
            raise JsException(f"sendEvent(): the event type must be a non-empty str, got {event_type!r}", "TypeError")
        blob = encode(payload)
        if len(blob) > limits.MAX_EVENT_PAYLOAD_BYTES:
            raise JsException(f"sendEvent(): the payload is {len(blob)} bytes; the maximum event payload is 1 MiB "
                              f"({limits.LIMITS_DOC})", "Error")
        seq = self.store(workflow).add_event(instance_id, event_type, blob, self.runtime.clock.wall())
        execution = self.live.get((workflow, instance_id))
        delivered = execution.deliver(event_type) if execution is not None else False
        self.runtime.trace.record("workflow_event", workflow=workflow, instance=instance_id, type=event_type,
                                  seq=seq, delivered=delivered)

    # -- crashes -----------------------------------------------------------------------------------
    def crash(self, instance_id: str, *, workflow: str | None = None, restart_after: float = 0.0,
              reason: str = "crash()") -> bool:
        """The engine running ``instance_id`` dies: what it stored stays, the attempt in progress is
        lost, and a new engine resumes the instance ``restart_after`` seconds later (runtime clock).
        False if the instance was not running in memory."""
        workflow = workflow or self.workflow_of(instance_id)

        def on_loop() -> bool:
            if not self.stop(workflow, instance_id):
                return False
            self.runtime.trace.record("workflow_crash", workflow=workflow, instance=instance_id, reason=reason)

            async def restart() -> None:
                # A background task (not a bare timer), so rt.run_until_idle() waits for the restart.
                if restart_after > 0:
                    await asyncio.sleep(restart_after)
                row = self.store(workflow).instance(instance_id)
                if row is not None and row.status not in limits.FINISHED and row.status != limits.PAUSED \
                        and (workflow, instance_id) not in self.live:
                    self.runtime.trace.record("workflow_resume", workflow=workflow, instance=instance_id,
                                              reason="after crash")
                    self.start(workflow, instance_id)

            self.runtime.spawn(restart(), label=f"workflow {workflow}/{instance_id}: restart")
            return True

        return self.runtime.run_on_loop(on_loop)

    # -- inspection (any thread) -------------------------------------------------------------------
    def workflow_of(self, instance_id: str) -> str:
        found = [name for name in self.definitions if self.store(name).instance(instance_id) is not None]
        if len(found) != 1:
            raise KeyError(f"instance {instance_id!r} " + (f"exists in several Workflows ({', '.join(found)}): pass "
                                                           "workflow=" if found else "is in no Workflow of this runtime"))
        return found[0]

    def status(self, instance_id: str, workflow: str | None = None) -> dict[str, Any]:
        """The instance's ``status()`` answer, as plain Python."""
        wf = workflow or self.workflow_of(instance_id)
        return to_py(self.runtime.run_on_loop(lambda: self.instance_status(wf, instance_id)))

    def steps(self, instance_id: str, workflow: str | None = None) -> list[dict[str, Any]]:
        """The instance's stored steps, sleeps and waits, in the order they started."""
        wf = workflow or self.workflow_of(instance_id)
        return [{"key": s.key, "attempts": s.attempts, "done": s.done, "value": to_py(s.value), "error": s.error}
                for s in self.store(wf).steps(instance_id)]

    def instances(self, workflow: str) -> list[str]:
        self.definition(workflow)
        return self.store(workflow).instance_ids()

    def create_from_python(self, workflow: str, *, id: str | None = None, params: Any = None) -> str:  # noqa: A002
        """Create an instance from a notebook or test (as ``env.BINDING.create`` would)."""
        return self.runtime.run_on_loop(lambda: self.create(workflow, id, params))

    def send_event_from_python(self, instance_id: str, event_type: str, payload: Any = None,
                               workflow: str | None = None) -> None:
        wf = workflow or self.workflow_of(instance_id)
        self.runtime.run_on_loop(lambda: self.send_event(wf, instance_id, event_type, payload))

    def close(self) -> None:
        for execution in list(self.live.values()):
            execution.dead = True
            if execution.task is not None and not execution.task.done():
                try:
                    execution.task.get_loop().call_soon_threadsafe(execution.task.cancel)
                except RuntimeError:
                    pass
        self.live.clear()
        for store in self.stores.values():
            store.close()


#: Every Workflow of the runtime.
WORKFLOWS: ServiceSlot[WorkflowService] = ServiceSlot("workflows", WorkflowService)


def workflows(runtime: Kernel) -> WorkflowService:
    """The runtime's Workflows, for inspection, crashes and faults."""
    return WORKFLOWS.of(runtime)
