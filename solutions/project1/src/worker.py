"""The WorkerAgent: processes one subtask per assignment and reports its value.

Delivery between agents is at least once: a retry after a lost reply, a client that resends,
a platform that redelivers. So a worker that gets the same subtask twice answers with the
report it already made, and counts the work once; that memory lives in the object's storage,
so it survives a restart of the worker.
"""
from workers import DurableObject

from protocol import Assignment, WorkerReport, apply_operation


def to_python(value):
    """A value received over RPC as plain Python (Cloudflare hands over JS proxies)."""
    return value.to_py() if hasattr(value, "to_py") else value


class WorkerAgent(DurableObject):
    async def process(self, assignment):
        """RPC: compute ``assignment`` and return a WorkerReport (as a dict)."""
        job = Assignment.model_validate(to_python(assignment))
        key = f"report:{job.task_id}:{job.subtask_id}"
        # BEGIN SOLUTION
        done = await self.ctx.storage.get(key)
        if done is not None:
            return to_python(done)  # a duplicate: the same report, and the work is not counted again
        # END SOLUTION
        report = WorkerReport(task_id=job.task_id, subtask_id=job.subtask_id, worker=job.worker,
                              value=apply_operation(job.operation, job.items)).model_dump(mode="json")
        # BEGIN SOLUTION
        processed = await self.ctx.storage.get("processed") or 0
        await self.ctx.storage.put(key, report)
        await self.ctx.storage.put("processed", processed + 1)
        # END SOLUTION
        # STARTER: # TODO: remember this report (a duplicate must get the same one) and count the work
        return report

    async def stats(self, name):
        """RPC: ``{"name", "processed"}``, the distinct subtasks this worker has processed."""
        # BEGIN SOLUTION
        return {"name": name, "processed": await self.ctx.storage.get("processed") or 0}
        # END SOLUTION
        # STARTER: return {"name": name, "processed": 0}  # TODO: read it from storage
