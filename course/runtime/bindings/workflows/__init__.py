"""Cloudflare Workflows: durable multi-step instances of a ``WorkflowEntrypoint``, on the runtime clock.

A Worker defines a Workflow with a ``[[workflows]]`` entry (:mod:`.plugin`) and a class whose
``async def run(self, event, step)`` calls ``step.do`` / ``step.sleep`` / ``step.wait_for_event``
(the Python API is :mod:`course.workers.workflows`); ``env.<binding>`` creates and manages its
instances (:mod:`.binding`). The engine (:mod:`.engine`) stores every step's outcome in the
Workflow's SQLite database (:mod:`.store`) before going on, so an instance survives a crash of
its engine or of the whole runtime and resumes from its last stored step without running it
again. Retries, sleeps, event timeouts and crashes all run on the runtime clock: on virtual time
``rt.run_until_idle()`` or ``rt.clock.advance(7 * 86400)`` takes a week of sleeps in milliseconds.

Docs: https://developers.cloudflare.com/workflows/ (Python: https://developers.cloudflare.com/workflows/python/).

Not emulated: the account-level limits on concurrent and queued instances and on the creation
rate, retention of finished instances (they stay in the state directory), streamed step outputs,
``step.with_rollback`` and the Workflows REST API and dashboard.

One module per job: :mod:`.limits` (limits, defaults, statuses, durations), :mod:`.store`
(persistence), :mod:`.engine` (one execution of an instance), :mod:`.faults` (injected failures,
timeouts and crashes), :mod:`.service` (every Workflow and instance of a runtime: ``workflows(rt)``),
:mod:`.binding` (``env.MY_WORKFLOW``) and :mod:`.plugin` (the wiring).
"""
from __future__ import annotations

from course.runtime.bindings.workflows.binding import WorkflowBinding, WorkflowInstance
from course.runtime.bindings.workflows.engine import Execution
from course.runtime.bindings.workflows.faults import WorkflowFaults
from course.runtime.bindings.workflows.limits import (DEFAULT_RETRIES, DEFAULT_STEP_LIMIT, DEFAULT_TIMEOUT, LIMITS_DOC,
                                                      MAX_BATCH_SIZE, MAX_EVENT_PAYLOAD_BYTES, MAX_INSTANCE_ID_LENGTH,
                                                      MAX_STEP_LIMIT, MAX_STEP_NAME_LENGTH, MAX_STEP_RESULT_BYTES,
                                                      STATUSES, duration_ms)
from course.runtime.bindings.workflows.plugin import PLUGIN, attach, bind
from course.runtime.bindings.workflows.service import WORKFLOWS, Definition, WorkflowService, workflows

__all__ = [
    "workflows", "WORKFLOWS", "WorkflowService", "WorkflowBinding", "WorkflowInstance", "WorkflowFaults", "Execution",
    "Definition", "PLUGIN", "bind", "attach", "duration_ms", "STATUSES", "LIMITS_DOC", "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT", "DEFAULT_STEP_LIMIT", "MAX_STEP_LIMIT", "MAX_BATCH_SIZE", "MAX_EVENT_PAYLOAD_BYTES",
    "MAX_INSTANCE_ID_LENGTH", "MAX_STEP_NAME_LENGTH", "MAX_STEP_RESULT_BYTES",
]
