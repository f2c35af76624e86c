"""The CoordinatorAgent: receives a task, delegates its subtasks to workers, reports the result.

Everything it knows about a task is in its storage (a :class:`TaskRecord` under
``task:<task_id>``), written before it waits on anyone: a coordinator that is evicted or
restarted mid-task loses nothing it had finished, and the client's retry (the same task id)
resumes the task where it stopped instead of starting it again. A task id that already
finished is answered from storage, with no new work.
"""
import asyncio

from workers import DurableObject

from protocol import (
    ATTEMPT_TIMEOUT_SECONDS,
    Assignment,
    SubtaskRecord,
    TaskRecord,
    TaskReport,
    TaskRequest,
    WorkerReport,
    aggregate,
    split,
    worker_name,
)


def to_python(value):
    """A value received over RPC as plain Python (Cloudflare hands over JS proxies)."""
    return value.to_py() if hasattr(value, "to_py") else value


class CoordinatorAgent(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        # Submissions of one task id in progress in this instance: a second, concurrent
        # submission of the same task waits for the first instead of doing the work twice.
        self.in_flight = {}

    async def submit(self, name, request):
        """RPC: run the TaskRequest ``request`` on coordinator ``name``; return its TaskReport."""
        req = TaskRequest.model_validate(to_python(request))
        raise NotImplementedError("TODO: split the task, delegate each subtask, report")

    async def task(self, task_id):
        """RPC: the TaskRecord of ``task_id`` (as a dict), or None if there is none."""
        return None  # TODO: read the task's record from storage

