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
        # BEGIN SOLUTION
        running = self.in_flight.get(req.task_id)
        if running is not None:
            return await asyncio.shield(running)
        future = asyncio.get_running_loop().create_future()
        self.in_flight[req.task_id] = future
        try:
            report = await self.run_task(name, req)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # nobody else may be waiting for it
            raise
        finally:
            self.in_flight.pop(req.task_id, None)
        future.set_result(report)
        return report
        # END SOLUTION
        # STARTER: raise NotImplementedError("TODO: split the task, delegate each subtask, report")

    async def task(self, task_id):
        """RPC: the TaskRecord of ``task_id`` (as a dict), or None if there is none."""
        # BEGIN SOLUTION
        record = await self.load(task_id)
        return record.model_dump(mode="json") if record is not None else None
        # END SOLUTION
        # STARTER: return None  # TODO: read the task's record from storage

    # BEGIN SOLUTION
    async def load(self, task_id):
        stored = await self.ctx.storage.get(f"task:{task_id}")
        return TaskRecord.model_validate(to_python(stored)) if stored is not None else None

    async def save(self, record):
        await self.ctx.storage.put(f"task:{record.task_id}", record.model_dump(mode="json"))

    async def run_task(self, name, req):
        record = await self.load(req.task_id)
        if record is None:
            record = TaskRecord(task_id=req.task_id, operation=req.operation, workers=req.workers,
                                max_attempts=req.max_attempts,
                                subtasks=[SubtaskRecord(subtask_id=f"{req.task_id}.{i}", items=items)
                                          for i, items in enumerate(split(req.items, req.workers))])
            await self.save(record)
        if record.status == "running":
            # Only the subtasks not done yet: after a restart, finished work is not redone.
            await asyncio.gather(*(self.run_subtask(name, record, i)
                                   for i, sub in enumerate(record.subtasks) if sub.status != "done"))
            if all(sub.status == "done" for sub in record.subtasks):
                record.result = aggregate(record.operation, [sub.value for sub in record.subtasks])
                record.status = "done"
            else:
                record.status = "failed"
            await self.save(record)
        return self.report(record)

    async def run_subtask(self, name, record, index):
        sub = record.subtasks[index]
        while sub.attempts < record.max_attempts:
            sub.attempts += 1
            sub.worker = worker_name(name, index, sub.attempts, record.workers)
            sub.status = "running"
            await self.save(record)
            job = Assignment(task_id=record.task_id, subtask_id=sub.subtask_id, worker=sub.worker,
                             attempt=sub.attempts, operation=record.operation, items=sub.items)
            try:
                stub = self.env.WORKER.getByName(sub.worker)
                raw = await asyncio.wait_for(stub.process(job.model_dump(mode="json")), ATTEMPT_TIMEOUT_SECONDS)
                report = WorkerReport.model_validate(to_python(raw))
            except Exception as exc:  # a crashed, unreachable, slow or broken worker: try the next one
                sub.error = f"{type(exc).__name__}: {exc}"
                continue
            if (report.task_id, report.subtask_id) != (record.task_id, sub.subtask_id):
                sub.error = f"a report for another subtask ({report.subtask_id})"
                continue
            sub.value, sub.status, sub.error = report.value, "done", None
            await self.save(record)
            return
        sub.status = "failed"
        await self.save(record)

    @staticmethod
    def report(record):
        return TaskReport(
            task_id=record.task_id, status=record.status, result=record.result, subtasks=len(record.subtasks),
            reassignments=sum(max(0, sub.attempts - 1) for sub in record.subtasks),
            failed_subtasks=[sub.subtask_id for sub in record.subtasks if sub.status != "done"],
        ).model_dump(mode="json")
    # END SOLUTION
