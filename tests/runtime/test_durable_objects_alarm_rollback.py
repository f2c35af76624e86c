"""A crash that rolls back the alarm handler's own setAlarm() leaves the running alarm to be retried."""
from __future__ import annotations

import time
from typing import Any

from course.runtime import Runtime
from course.workers import DurableObject, Response, WorkerEntrypoint


class _Edge(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Response:
        return Response("")


class Backfill(DurableObject):
    async def start(self) -> None:
        await self.ctx.storage.setAlarm(time.time() * 1000 + 1000)

    async def alarm(self) -> None:
        runs = (await self.ctx.storage.get("runs") or 0) + 1
        await self.ctx.storage.put("runs", runs)
        if runs < 3:
            await self.ctx.storage.setAlarm(time.time() * 1000 + 1000)  # re-arm: more work left
        if runs == 1 and not await self.ctx.storage.get("crashed"):
            self.ctx.storage.put("crashed", True)  # rolled back below, so this crashes again next time
            self.env.CRASH()


def test_a_crash_after_the_handlers_uncommitted_set_alarm_retries_the_running_alarm() -> None:
    rt = Runtime(virtual_time=True)
    rt.add_worker(_Edge, durable_objects={"JOB": Backfill}, vars={"CRASH": None})
    crashes = []

    def crash() -> None:
        if not crashes:
            crashes.append(rt.clock.now())
            rt.crash("JOB", "job")
            raise RuntimeError("reset")

    rt.workers["worker"].env.CRASH = crash

    async def start() -> None:
        await rt.env["JOB"].getByName("job").start()

    rt.call(start())
    rt.clock.advance(60)
    assert crashes == [1.0]
    # The first run's writes and its setAlarm() were lost with the crash; the alarm was retried.
    assert rt.storage("JOB", "job").get("runs") == 3
    retried = [e for e in rt.trace.events("do_alarm") if e.get("phase") == "retry"]
    assert len(retried) == 1
    rt.close()
