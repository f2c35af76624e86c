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
        raise NotImplementedError("TODO: remember the task, queue it for the workers, return the plan")

    async def ping(self):
        """RPC: readiness probe."""
        return "pong"
