"""The NotifierAgent: one shard of the feed of finished tasks, exactly one completion per task id.

A task may be processed twice (a queue redelivery, a retry after a lost reply, two planners after
a failover); the feed is where "done once" is decided: ``complete`` appends a task the first time
and answers the stored result every other time.
"""
from workers import DurableObject

from metrics import record


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class NotifierAgent(DurableObject):
    async def complete(self, result, traceparent=None):
        """RPC: record ``result`` (a TaskResult dict); returns ``{"new": bool, "result": ...}``."""
        result = to_python(result)
        return {"new": True, "result": result}  # TODO: keep one completion per task id, in storage

    async def get(self, task_id):
        """RPC: the TaskResult of ``task_id``, or None."""
        return None

    async def completions(self):
        """RPC: this shard's TaskResults, in the order they finished."""
        return []
