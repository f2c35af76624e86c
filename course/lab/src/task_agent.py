"""Ephemeral task agents (Day 2): one Durable Object per task, gone after its time-to-live.

The Worker creates each with ``env.TASK_AGENT.newUniqueId()``: nobody else can address it. It
computes its task, keeps the report for ``ttl_seconds`` and sets an alarm; the alarm deletes
the alarm and every key, so the object holds nothing afterwards, even if it was evicted or
crashed meanwhile (the alarm is in storage, not in memory).
"""
import time

from workers import DurableObject

from agent_protocol.pair import apply_operation
from agent_protocol.pool import EphemeralTaskReport, EphemeralTaskRequest


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class EphemeralTaskAgent(DurableObject):
    async def run(self, agent_id, request):
        kept = await self.ctx.storage.get("report")
        if kept is not None:
            return kept  # the same task delivered twice: the same answer, the same alarm
        req = EphemeralTaskRequest.model_validate(to_python(request))
        now = time.time()
        report = EphemeralTaskReport(agent_id=agent_id, operation=req.operation,
                                     result=apply_operation(req.operation, req.items),
                                     created_at=now, expires_at=now + req.ttl_seconds).model_dump(mode="json")
        await self.ctx.storage.put("report", report)
        await self.ctx.storage.setAlarm(report["expires_at"] * 1000)
        return report

    async def report(self):
        return await self.ctx.storage.get("report")

    async def alarm(self):
        # deleteAll() keeps the alarm before compatibility date 2026-02-24: delete it first.
        await self.ctx.storage.deleteAlarm()
        await self.ctx.storage.deleteAll()
