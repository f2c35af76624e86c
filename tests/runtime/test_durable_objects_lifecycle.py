"""Durable Objects live like under ``wrangler dev``: one instance per id, kept in memory between
requests on virtual and real time, evicted only when idle, and writes that start when called."""
from __future__ import annotations

import asyncio
import random
from typing import Any, Callable

import pytest

from course.runtime import Runtime
from course.runtime.objects.durable_objects import DURABLE_OBJECTS, IDLE_EVICTION_SECONDS

from _projects import durable_objects_toml as toml

ENTRY = '''
import asyncio
from workers import DurableObject, Response, WorkerEntrypoint


class Counter(DurableObject):
    """Counts in memory only: what an instance that stays in memory remembers."""

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.n = 0

    async def fetch(self, request):
        self.n += 1
        return Response(str(self.n))


class Room(DurableObject):
    """A chat room whose history lives in memory."""

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.history = []

    async def post(self, text):
        self.history.append(text)
        return list(self.history)


class CachedCounter(DurableObject):
    """A count loaded once under blockConcurrencyWhile, then kept in memory and written through."""

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.count = None
        ctx.blockConcurrencyWhile(self.load)

    async def load(self):
        self.count = await self.ctx.storage.get("n") or 0

    async def incr(self, pause):
        await asyncio.sleep(pause)        # the request is in flight here
        self.count += 1
        await self.ctx.storage.put("n", self.count)
        return self.count


class Writer(DurableObject):
    """Storage writes started without await, as JavaScript promises are."""

    async def put_unawaited(self, key, value):
        self.ctx.storage.put(key, value)
        return await self.ctx.storage.get(key)

    async def delete_unawaited(self, key):
        self.ctx.storage.delete(key)
        return await self.ctx.storage.get(key)

    async def put_then_sleep(self, key, value):
        self.ctx.storage.put(key, value)
        await asyncio.sleep(5)
        return "slept"

    async def get(self, key):
        return await self.ctx.storage.get(key)

    async def alarm_in(self, seconds):
        import time
        self.ctx.storage.setAlarm(time.time() * 1000 + seconds * 1000)

    async def alarm_deleted(self, seconds):
        import time
        self.ctx.storage.setAlarm(time.time() * 1000 + seconds * 1000)
        self.ctx.storage.deleteAlarm()
        return await self.ctx.storage.getAlarm()

    async def alarm(self):
        await self.ctx.storage.put("alarm_ran", True)


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await self.env.COUNTER.getByName("c").fetch(request)
'''

CLASSES = {"COUNTER": "Counter", "ROOMS": "Room", "CACHED": "CachedCounter", "WRITER": "Writer"}


@pytest.fixture(params=[True, False], ids=["virtual_time", "real_time"])
def both_times(request: pytest.FixtureRequest, load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": toml(CLASSES), "src/entry.py": ENTRY}, virtual_time=request.param)


@pytest.fixture
def rt(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": toml(CLASSES), "src/entry.py": ENTRY})


def run(rt: Runtime, fn: Callable[[], Any]) -> Any:
    async def go() -> Any:
        return await fn()
    return rt.call(go())


# -- idle eviction runs on the runtime clock, on virtual and on real time ----------------------
def test_a_counter_in_memory_counts_1_2_3_on_virtual_and_real_time(both_times: Runtime) -> None:
    """wrangler dev answers 1 2 3: the object stays in memory between requests (idle < 70 s)."""
    with both_times.client() as client:
        assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
    assert both_times.trace.count("do_evict") == 0


def test_a_chat_room_keeps_its_history_on_virtual_and_real_time(both_times: Runtime) -> None:
    room = both_times.env["ROOMS"].getByName("lobby")
    for text in ("hi", "hello"):
        last = run(both_times, lambda t=text: room.post(t))
    assert list(last) == ["hi", "hello"]


def test_the_idle_eviction_timer_is_due_after_the_idle_timeout_on_real_time(load_project: Callable[..., Runtime]) -> None:
    """Regression: the timer was set on the loop's clock with a runtime-clock time (fired at once)."""
    rt = load_project({"wrangler.toml": toml(CLASSES), "src/entry.py": ENTRY}, virtual_time=False)
    with rt.client() as client:
        client.get("/")
    host, hex_id = DURABLE_OBJECTS.of(rt).resolve("COUNTER", "c")
    handle = rt.run_on_loop(lambda: host.instance(hex_id).idle_handle)
    assert handle is not None
    assert handle.when() - rt.loop.time() == pytest.approx(IDLE_EVICTION_SECONDS, abs=5.0)


# -- never two live instances of one id ----------------------------------------------------------
def test_evicting_a_busy_object_waits_until_its_requests_end(rt: Runtime) -> None:
    cached = rt.env["CACHED"].getByName("c")

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(cached.incr(10))
        await asyncio.sleep(1)
        assert rt.evict("CACHED", "c") is True          # deferred: a request is in flight
        assert len(rt.objects("CACHED")) == 1
        second = await cached.incr(0)                    # served by the same instance
        return [await first, second]

    assert sorted(run(rt, scenario)) == [1, 2]
    assert rt.objects("CACHED") == []                    # evicted once idle
    [deferred] = rt.trace.events("do_evict_deferred")
    assert deferred.reason == "manual" and deferred.in_flight
    assert rt.trace.last("do_evict").reason == "manual"
    assert rt.storage("CACHED", "c").get("n") == 2


def test_evictions_at_random_points_neither_lose_nor_duplicate_increments(rt: Runtime) -> None:
    """A seeded soak: 2,000 rounds of concurrent increments of a count cached in memory, each
    round with an eviction at a random moment (often while a request is in flight)."""
    rng = random.Random(11)
    cached = rt.env["CACHED"].getByName("c")
    seen: list[int] = []

    async def incr_later(start: float, pause: float) -> int:
        await asyncio.sleep(start)
        return await cached.incr(pause)

    async def evict_later(at: float) -> None:
        await asyncio.sleep(at)
        rt.evict("CACHED", "c")

    async def soak() -> None:
        steps = (0.0, 0.01, 0.02, 0.05)
        for _ in range(2000):
            calls = [incr_later(rng.choice(steps), rng.choice(steps)) for _ in range(3)]
            results = await asyncio.gather(*calls, evict_later(rng.choice(steps) + 0.005))
            seen.extend(results[:3])

    run(rt, soak)
    duplicates = len(seen) - len(set(seen))
    stored = rt.storage("CACHED", "c").get("n")
    assert (duplicates, stored, len(seen)) == (0, 6000, 6000)
    assert rt.trace.count("do_evict") > 1000


def test_crash_still_fails_requests_in_flight_and_drops_their_unconfirmed_writes(rt: Runtime) -> None:
    writer = rt.env["WRITER"].getByName("w")

    async def scenario() -> Any:
        pending = asyncio.ensure_future(writer.put_then_sleep("k", 1))
        await asyncio.sleep(1)
        assert rt.crash("WRITER", "w") is True
        with pytest.raises(Exception, match="no longer active"):
            await pending
        return await writer.get("k")

    assert run(rt, scenario) == 1  # the put committed when its turn ended, before the crash


# -- writes start when called, awaited or not -----------------------------------------------------
def test_an_unawaited_put_is_read_back_in_the_same_and_the_next_request_and_survives_eviction(rt: Runtime) -> None:
    writer = rt.env["WRITER"].getByName("w")
    assert run(rt, lambda: writer.put_unawaited("k", {"v": 1})) == {"v": 1}
    assert run(rt, lambda: writer.get("k")) == {"v": 1}
    assert rt.evict("WRITER", "w") is True
    assert run(rt, lambda: writer.get("k")) == {"v": 1}
    assert rt.storage("WRITER", "w").get("k") == {"v": 1}


def test_an_unawaited_delete_takes_effect(rt: Runtime) -> None:
    writer = rt.env["WRITER"].getByName("w")
    run(rt, lambda: writer.put_unawaited("k", 1))
    assert run(rt, lambda: writer.delete_unawaited("k")) is None
    assert rt.storage("WRITER", "w").get("k") is None


def test_the_output_gate_holds_the_response_until_an_unawaited_put_is_confirmed(rt: Runtime) -> None:
    writer = rt.env["WRITER"].getByName("w")
    assert run(rt, lambda: writer.put_then_sleep("k", 7)) == "slept"
    [gate] = [e for e in rt.trace.events("do_output_gate") if e.event is not None][-1:]
    assert gate.writes == 1
    assert rt.storage("WRITER", "w").get("k") == 7


def test_an_unawaited_set_alarm_fires(rt: Runtime) -> None:
    writer = rt.env["WRITER"].getByName("w")
    run(rt, lambda: writer.alarm_in(30))
    assert rt.storage("WRITER", "w").alarm() is not None
    rt.clock.advance(31)
    rt.run_until_idle()
    assert rt.storage("WRITER", "w").get("alarm_ran") is True


def test_an_unawaited_delete_alarm_cancels_the_alarm(rt: Runtime) -> None:
    writer = rt.env["WRITER"].getByName("w")
    assert run(rt, lambda: writer.alarm_deleted(30)) is None
    rt.clock.advance(31)
    rt.run_until_idle()
    assert rt.storage("WRITER", "w").get("alarm_ran") is None
