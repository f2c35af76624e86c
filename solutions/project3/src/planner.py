"""The PlannerAgent: one per region and shard; takes a task, plans it, queues it for the workers.

Idempotent by task id: the task's record is written before it is queued and marked queued after,
so a client's retry (or a failover that lands on another planner) never loses a task, and at worst
queues it twice; the notifier keeps one completion per task id, whatever arrives twice.
"""
import time

from workers import DurableObject

from metrics import record
from protocol import MODEL, span, trace_id_of


def to_python(value):
    """A value received over RPC as plain Python (Cloudflare hands over JS proxies)."""
    return value.to_py() if hasattr(value, "to_py") else value


class PlannerAgent(DurableObject):
    async def accept(self, name, task, region, traceparent):
        """RPC: plan and queue ``task`` (a TaskRequest dict) for planner ``name``; returns the plan.

        ``traceparent`` is the intake's span: the planner's log line continues the task's trace, and
        the plan carries the planner's own span to the workers."""
        task = to_python(task)
        # BEGIN SOLUTION
        key = f"task:{task['task_id']}"
        stored = to_python(await self.ctx.storage.get(key))
        if stored is not None and stored.get("queued"):
            return stored["plan"]
        trace_id = trace_id_of(traceparent)
        plan = {"task_id": task["task_id"], "text": task["text"], "priority": task.get("priority", "normal"),
                "region": region, "planner": name, "model": MODEL, "planned_at": time.time(),
                "trace_id": trace_id, "traceparent": span(trace_id, "planner", task["task_id"])[1]}
        await self.ctx.storage.put(key, {"plan": plan, "queued": False})
        await self.env.TASKS.send(plan)
        await self.ctx.storage.put(key, {"plan": plan, "queued": True})
        record(self.env, "planner", "planned", region=region, task_id=task["task_id"], trace=traceparent)
        return plan
        # END SOLUTION
        # STARTER: raise NotImplementedError("TODO: remember the task, queue it for the workers, return the plan")

    async def ping(self):
        """RPC: readiness probe."""
        return "pong"
