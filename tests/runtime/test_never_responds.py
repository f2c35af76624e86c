"""A handler that waits on something nothing can complete fails, as on workerd, instead of
hanging the notebook cell or the grader forever (virtual time only)."""
from __future__ import annotations

import asyncio

import pytest

from course.runtime import Runtime
from course.workers import JsException, Response, WorkerEntrypoint


class Forever(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.endswith("/hang"):
            await asyncio.get_running_loop().create_future()  # nothing will ever resolve it
        if request.url.endswith("/sleep"):
            await asyncio.sleep(3600)
        return Response("ok")


@pytest.fixture
def rt():
    runtime = Runtime(virtual_time=True)
    runtime.add_worker(Forever)
    runtime.clock.never_responds_grace = 0.05  # the default (2 s) waits for other threads' work
    yield runtime
    runtime.close()


def test_a_request_that_can_never_finish_gets_a_500_naming_the_reason(rt: Runtime) -> None:
    """workerd: "The script will never generate a response." (Workers errors, error 1101 family)."""
    r = rt.client().get("/hang")
    assert r.status_code == 500
    assert "will never generate a response" in r.text
    assert rt.trace.count("stalled") == 1
    assert any("will never generate a response" in line.message for line in rt.logs)


def test_the_runtime_keeps_serving_after_a_stalled_request(rt: Runtime) -> None:
    client = rt.client()
    client.get("/hang")
    assert client.get("/").text == "ok"


def test_a_long_sleep_is_not_a_stall_it_jumps_the_clock(rt: Runtime) -> None:
    assert rt.client().get("/sleep").text == "ok"
    assert rt.clock.now() == pytest.approx(3600)
    assert rt.trace.count("stalled") == 0


def test_waiting_for_background_work_that_can_never_finish_raises(rt: Runtime) -> None:
    async def stuck() -> None:
        rt.spawn(asyncio.get_running_loop().create_future(), label="stuck")

    rt.call(stuck())
    with pytest.raises(JsException, match="will never generate a response"):
        rt.run_until_idle()
