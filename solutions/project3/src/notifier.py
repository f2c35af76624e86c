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
        # BEGIN SOLUTION
        key = f"done:{result['task_id']}"
        stored = to_python(await self.ctx.storage.get(key))
        if stored is not None:
            return {"new": False, "result": stored}
        count = await self.ctx.storage.get("count") or 0
        await self.ctx.storage.put({key: result, f"feed:{count:08d}": result["task_id"], "count": count + 1})
        record(self.env, "notifier", "done", region=result["region"], task_id=result["task_id"], trace=traceparent)
        return {"new": True, "result": result}
        # END SOLUTION
        # STARTER: return {"new": True, "result": result}  # TODO: keep one completion per task id, in storage

    async def get(self, task_id):
        """RPC: the TaskResult of ``task_id``, or None."""
        # BEGIN SOLUTION
        return to_python(await self.ctx.storage.get(f"done:{task_id}"))
        # END SOLUTION
        # STARTER: return None

    async def completions(self):
        """RPC: this shard's TaskResults, in the order they finished."""
        # BEGIN SOLUTION
        order = to_python(await self.ctx.storage.list(prefix="feed:"))
        ids = [order[k] for k in sorted(order)]
        results = {}
        for start in range(0, len(ids), 128):  # get() takes at most 128 keys at once
            results.update(to_python(await self.ctx.storage.get([f"done:{i}" for i in ids[start:start + 128]])))
        return [results[f"done:{i}"] for i in ids]
        # END SOLUTION
        # STARTER: return []
