"""Under real time too, a request that nothing can ever complete fails like on workerd instead
of hanging its client (``course serve``, ``load(..., virtual_time=False)``)."""
from __future__ import annotations

import asyncio

import pytest

from course.runtime import Runtime
from course.workers import Response, WorkerEntrypoint


class Forever(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.endswith("/hang"):
            await asyncio.get_running_loop().create_future()  # nothing will ever resolve it
        if request.url.endswith("/nap"):
            await asyncio.sleep(0.2)  # a timer is pending: waiting, not stalled
        return Response("ok")


@pytest.fixture
def rt():
    runtime = Runtime(virtual_time=False)
    runtime.add_worker(Forever)
    runtime.clock.never_responds_grace = 0.05
    yield runtime
    runtime.close()


def test_a_hung_request_gets_the_never_generate_a_response_error_under_real_time(rt: Runtime) -> None:
    r = rt.client(timeout=10).get("/hang")
    assert r.status_code == 500
    assert "will never generate a response" in r.text
    assert rt.trace.count("stalled") == 1


def test_a_pending_timer_is_not_a_stall_and_serving_continues(rt: Runtime) -> None:
    client = rt.client(timeout=10)
    client.get("/hang")
    assert client.get("/nap").text == "ok"
    assert client.get("/").text == "ok"
    assert rt.trace.count("stalled") == 1
