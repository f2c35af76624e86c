"""Nothing of a reset instance keeps running or writing: its waitUntil work is cancelled, and a
leftover reference to its ``ctx.storage`` raises instead of writing into the next instance."""
from __future__ import annotations

import asyncio

import pytest

from course.runtime import Runtime
from course.workers import DurableObject, JsException, Response, WorkerEntrypoint


class Agent(DurableObject):
    async def start(self):
        async def later():
            await asyncio.sleep(1)
            await self.ctx.storage.put("ghost", "written by the crashed instance")
        self.ctx.waitUntil(later())
        return "started"

    async def keep_handle(self):
        Agent.leftover = self.ctx.storage
        return "kept"

    async def read(self):
        return await self.ctx.storage.get("ghost")


class Entry(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")


@pytest.fixture
def rt():
    runtime = Runtime(virtual_time=True)
    runtime.add_worker(Entry, durable_objects={"A": Agent})
    yield runtime
    runtime.close()


def stub(rt):
    ns = rt.env.A
    return ns.get(ns.idFromName("a"))


def test_a_crashed_instances_wait_until_work_never_writes(rt):
    assert rt.call(stub(rt).start()) == "started"
    rt.crash("A", "a")
    rt.clock.advance(2)
    rt.run_until_idle()
    assert rt.call(stub(rt).read()) is None
    assert rt.storage("A", "a").kv() == {}


def test_an_evicted_instances_storage_handle_refuses_to_write(rt):
    assert rt.call(stub(rt).keep_handle()) == "kept"
    rt.evict("A", "a")

    async def write_through_old_handle():
        await Agent.leftover.put("ghost", "late")

    with pytest.raises(JsException, match="no longer active"):
        rt.call(write_through_old_handle())
    assert rt.call(stub(rt).read()) is None
