"""Virtual time and determinism: timers, autojump, time.time()/datetime in Workers, seeds."""
from __future__ import annotations

import json
import time

import pytest

from course.runtime import Runtime
from course.runtime.kernel.clock import VIRTUAL_EPOCH

TOML = 'name = "w"\nmain = "src/entry.py"\n'

SLEEPY = {
    "wrangler.toml": TOML,
    "src/entry.py": """
        import asyncio
        from urllib.parse import urlparse
        from workers import WorkerEntrypoint, Response
        LOG = []
        async def tick(name, seconds):
            await asyncio.sleep(seconds)
            LOG.append(name)
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                path = urlparse(request.url).path[1:]
                if path == "log":
                    return Response(",".join(LOG))
                if path == "background":
                    self.ctx.waitUntil(tick("late", 30))
                    self.ctx.waitUntil(tick("early", 10))
                    return Response("queued")
                if path == "sleep":
                    await asyncio.sleep(3600)
                    return Response("woke")
                return Response("?", status=404)
    """,
}


@pytest.fixture
def rt(runtimes) -> Runtime:
    runtime = Runtime(virtual_time=True)
    runtimes.append(runtime)
    return runtime


def test_virtual_time_stands_still_until_advanced(rt):
    assert rt.clock.now() == 0.0
    assert rt.clock.wall() == VIRTUAL_EPOCH
    assert rt.clock.advance(2.5) == 2.5
    assert rt.clock.now() == 2.5


def test_advance_runs_every_due_timer_in_order(rt):
    fired = []
    for delay, name in [(30, "c"), (10, "a"), (20, "b"), (100, "later")]:
        rt.call_later(delay, lambda name=name: fired.append((name, rt.clock.now())), label=name)
    rt.clock.advance(60)
    assert fired == [("a", 10.0), ("b", 20.0), ("c", 30.0)]
    assert rt.clock.now() == 60.0
    assert [e.label for e in rt.trace.events("timer")] == ["a", "b", "c"]
    rt.clock.advance(40)
    assert fired[-1] == ("later", 100.0)


def test_timer_callback_may_return_a_coroutine(rt):
    done = []

    async def job():
        done.append(rt.clock.now())

    rt.call_later(5, job, label="job")
    rt.clock.advance(5)
    rt.run_until_idle()
    assert done == [5.0]


def test_advance_cannot_go_backwards(rt):
    with pytest.raises(ValueError, match="backwards"):
        rt.clock.advance(-1)


def test_advance_needs_virtual_time(runtimes):
    real = Runtime(virtual_time=False)
    runtimes.append(real)
    with pytest.raises(RuntimeError, match="virtual_time=True"):
        real.clock.advance(1)


def test_advance_runs_wait_until_sleeps_in_order(load_project):
    rt = load_project(SLEEPY)
    client = rt.client()
    assert client.get("/background").text == "queued"
    rt.clock.advance(15)
    assert client.get("/log").text == "early"
    rt.clock.advance(15)
    assert client.get("/log").text == "early,late"


def test_run_until_idle_waits_for_wait_until_work(load_project):
    rt = load_project(SLEEPY)
    client = rt.client()
    client.get("/background")
    rt.run_until_idle()
    assert client.get("/log").text == "early,late"
    assert rt.clock.now() == 30.0


def test_handler_sleeping_an_hour_returns_at_once_an_hour_later(load_project):
    rt = load_project(SLEEPY)
    started = time.perf_counter()
    assert rt.client().get("/sleep").text == "woke"
    assert time.perf_counter() - started < 5  # far less than an hour of real time
    assert rt.clock.now() == 3600.0


def test_time_and_datetime_in_worker_code_follow_the_virtual_clock(load_project):
    rt = load_project({"wrangler.toml": TOML, "src/entry.py": """
        import time, datetime
        from datetime import datetime as DT, timezone
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return Response.json({
                    "time": time.time(),
                    "dt": DT.now(timezone.utc).timestamp(),
                    "mod": datetime.datetime.now(datetime.timezone.utc).timestamp(),
                })
    """})
    rt.clock.advance(90)
    got = rt.client().get("/").json()
    assert got == {"time": VIRTUAL_EPOCH + 90, "dt": VIRTUAL_EPOCH + 90, "mod": VIRTUAL_EPOCH + 90}


def test_time_outside_the_runtime_stays_real(rt):
    rt.clock.advance(10_000)
    assert abs(time.time() - time.clock_gettime(time.CLOCK_REALTIME)) < 5


def scenario(root, seed: int) -> str:
    from course.runtime import load

    rt = load(root, virtual_time=True, seed=seed)
    try:
        client = rt.client()
        jitter = rt.rng("jitter")
        for path in ("/background", "/sleep", "/log", "/missing"):
            client.get(f"{path}?r={jitter.random()}")
        rt.run_until_idle()
        rt.clock.advance(60)
        return rt.trace.to_jsonl(wall=False)
    finally:
        rt.close()


def test_same_seed_and_inputs_give_identical_trace(make_project):
    root = make_project(SLEEPY)
    first, second = scenario(root, seed=3), scenario(root, seed=3)
    assert first == second
    kinds = {json.loads(line)["kind"] for line in first.splitlines()}
    assert {"request", "handler", "response", "wait_until"} <= kinds
    assert "wall_ms" not in first


def test_different_seed_gives_a_different_trace(make_project):
    root = make_project(SLEEPY)
    assert scenario(root, seed=3) != scenario(root, seed=4)


def test_rng_streams_depend_on_seed_and_purpose(runtimes):
    a, b, c = Runtime(seed=1), Runtime(seed=1), Runtime(seed=2)
    runtimes.extend([a, b, c])
    draws = lambda rt, purpose: [rt.rng(purpose).random() for _ in range(1)] + rt.rng(purpose).sample(range(100), 3)  # noqa: E731
    assert draws(a, "ids") == draws(b, "ids")
    assert draws(a, "ids") != draws(c, "ids")
    assert draws(a, "ids") != draws(a, "faults")


def test_concurrent_sleeping_requests_wake_in_virtual_time_order(load_project):
    import asyncio

    rt = load_project({"wrangler.toml": TOML, "src/entry.py": """
        import asyncio, time
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                seconds = float(request.url.rsplit("=", 1)[1])
                await asyncio.sleep(seconds)
                return Response(str(time.time()))
    """})

    async def main():
        async with rt.async_client() as client:
            return await asyncio.gather(*(client.get(f"/?s={s}") for s in (30, 10, 20)))

    woke = [float(r.text) - VIRTUAL_EPOCH for r in asyncio.run(main())]
    assert woke == [30.0, 10.0, 20.0]
    assert [e.t for e in rt.trace.events("response")] == [10.0, 20.0, 30.0]
