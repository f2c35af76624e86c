"""rt.faults: seeded partitions, latency, drops, duplicates, crashes, AI faults, schedules.

Network errors follow workerd's "Network connection lost."
(https://developers.cloudflare.com/durable-objects/best-practices/error-handling/); placement
and regions follow https://developers.cloudflare.com/durable-objects/reference/data-location/
"""
from __future__ import annotations

import json
from typing import Callable

import pytest

from course.runtime import Runtime, load
from course.workers import Response
from course.runtime.edges.sessions import WebSocketClosed

from _projects import CHAT, durable_objects_toml

FILES = {
    "wrangler.toml": durable_objects_toml({"ROOMS": "Room"}, name="faulty", compat="2026-10-01",
                                          extra='[ai]\nbinding = "AI"\n'),
    "src/entry.py": """
        from urllib.parse import parse_qs, urlparse
        from workers import DurableObject, Response, WorkerEntrypoint

        class Room(DurableObject):
            async def ping(self):
                return "pong"

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                url = urlparse(request.url)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                try:
                    if url.path == "/ai":
                        return Response.json(await self.env.AI.run("@cf/meta/llama-3.1-8b-instruct", {"prompt": "Hi"}))
                    options = {"locationHint": q["hint"]} if q.get("hint") else None
                    return Response(await self.env.ROOMS.getByName(q.get("room", "a"), options).ping())
                except Exception as exc:
                    return Response(f"{type(exc).__name__}: {exc} retryable={getattr(exc, 'retryable', None)}",
                                    status=503)
    """,
}


@pytest.fixture
def rt(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project(FILES)


def test_partition_between_regions_fails_calls_until_healed(rt: Runtime) -> None:
    """A partition makes calls fail like workerd's "Network connection lost." (retryable);
    heal() restores them. https://developers.cloudflare.com/durable-objects/best-practices/error-handling/"""
    apac = rt.client(region="apac")
    assert apac.get("/?room=a&hint=weur").text == "pong"
    rt.faults.partition("apac", "weur")
    r = apac.get("/?room=a")
    assert r.status_code == 503 and r.text == "JsException: Error: Network connection lost. retryable=True"
    assert rt.client(region="enam").get("/?room=a").text == "pong"  # other regions still reach it
    hit = rt.trace.last("fault", phase="hit")
    assert (hit.fault, hit.target) == ("partition", "ROOMS:a")
    assert rt.faults.heal() == 1
    assert apac.get("/?room=a").text == "pong"


def test_partition_of_one_object_and_time_window(rt: Runtime) -> None:
    """partition(a, "*", during=(t0, t1)) isolates an object only inside the window."""
    c = rt.client()
    rt.faults.partition("ROOMS:b", during=(10, 20))
    assert c.get("/?room=b").text == "pong"
    rt.clock.advance(10)
    assert c.get("/?room=b").status_code == 503
    assert c.get("/?room=other").text == "pong"
    rt.clock.advance(10)
    assert c.get("/?room=b").text == "pong"
    assert [e.kind for e in rt.trace.events(["fault", "fault_cleared"], fault="partition")] == \
        ["fault", "fault", "fault_cleared"]


def test_latency_fault_adds_extra_milliseconds_on_the_clock(rt: Runtime) -> None:
    """latency(extra_ms, between=...) adds to each leg, on top of the region matrix."""
    rt.faults.latency(100, between=("faulty", "ROOMS:*"))  # the Worker calls the object
    rt.client().get("/?room=c")
    assert rt.clock.now() == pytest.approx(0.2)
    legs = rt.trace.events("net")
    assert [e.extra_ms for e in legs] == [100.0, 100.0]


def test_latency_jitter_is_seeded(load_project: Callable[..., Runtime]) -> None:
    """Jitter comes from rt.rng("faults:..."): same seed, same delays."""
    def run(seed: int) -> float:
        rt = load_project(FILES, seed=seed)
        rt.faults.latency(10, jitter_ms=50)
        for _ in range(3):
            rt.client().get("/?room=d")
        return rt.clock.now()
    assert run(1) == run(1)
    assert run(1) != run(2)


def test_drop_fails_object_calls_at_the_seeded_rate(rt: Runtime) -> None:
    """drop(rate, target=) loses deliveries to the target."""
    rt.faults.drop(1.0, target="ROOMS:e")
    assert rt.client().get("/?room=e").status_code == 503
    assert rt.client().get("/?room=f").text == "pong"
    assert rt.trace.last("fault", fault="drop").target == "ROOMS:e"


def test_drop_and_duplicate_websocket_messages(runtimes: list[Runtime]) -> None:
    """WebSocket deliveries can be lost or delivered twice (target "ws:BINDING:name")."""
    rt = load(CHAT, virtual_time=True)
    runtimes.append(rt)
    ws = rt.websocket("/chat?room=dup&user=ann")
    rule = rt.faults.duplicate(1.0, target="ws:CHAT_ROOM:dup")
    ws.send("twice")
    assert json.loads(ws.receive())["text"] == "twice"
    assert json.loads(ws.receive())["text"] == "twice"
    rule.cancel()
    rt.faults.drop(1.0, target="ws:CHAT_ROOM:*")
    ws.send("lost")
    with pytest.raises(TimeoutError):
        ws.receive(timeout=1)
    assert {e.fault for e in rt.trace.events("fault", phase="hit")} == {"duplicate", "drop"}


def test_crash_scheduled_on_the_clock_resets_the_object(runtimes: list[Runtime]) -> None:
    """crash(binding, name, at=) fires on the runtime clock; its sockets drop (1006)."""
    rt = load(CHAT, virtual_time=True)
    runtimes.append(rt)
    ws = rt.websocket("/chat?room=boom&user=ann")
    rt.faults.crash("CHAT_ROOM", "boom", at=5.0)
    with pytest.raises(WebSocketClosed) as info:
        ws.receive(timeout=10)
    assert info.value.code == 1006
    crash = rt.trace.last("fault", fault="crash")
    assert crash.t == 5.0 and crash.target == "CHAT_ROOM:boom" and rt.trace.count("do_crash") == 1


def test_ai_fault_delegates_to_workers_ai(rt: Runtime) -> None:
    """rt.faults.ai(kind, rate) is rt.ai.fault: the binding fails as configured."""
    rt.faults.ai("rate_limit", 1.0, times=1)
    assert rt.client().get("/ai").status_code == 503
    assert rt.client().get("/ai").status_code == 200
    assert rt.trace.last("fault", target="ai", phase="start").kind_of == "rate_limit"


def test_schedule_scripts_faults_over_time(rt: Runtime) -> None:
    """schedule(at, "partition", ...) then schedule(at, "heal")."""
    c = rt.client(region="oc")
    rt.faults.schedule(30, "partition", "oc", "*")
    rt.faults.schedule(60, "heal")
    assert c.get("/?room=g").text == "pong"
    rt.clock.advance(31)
    assert c.get("/?room=g").status_code == 503
    rt.clock.advance(30)
    assert c.get("/?room=g").text == "pong"
    with pytest.raises(ValueError, match="cannot schedule 'explode'"):
        rt.faults.schedule(1, "explode")


def test_bad_fault_arguments_are_rejected_clearly(rt: Runtime) -> None:
    with pytest.raises(ValueError, match="rate must be a number between 0 and 1"):
        rt.faults.drop(1.5)
    with pytest.raises(ValueError, match="during must be"):
        rt.faults.partition("apac", "weur", during=5)
    with pytest.raises(KeyError, match="NOPE"):
        rt.faults.crash("NOPE", "x", at=1)


def test_queues_can_ask_the_duplicate_hook(rt: Runtime) -> None:
    """The hook queues read: should_duplicate("queue:NAME"), seeded and traced."""
    assert rt.faults.should_duplicate("queue:jobs") is False
    rt.faults.duplicate(1.0, target="queue:jobs")
    assert rt.faults.should_duplicate("queue:jobs") is True
    assert rt.faults.should_duplicate("queue:other") is False
    assert rt.trace.last("fault", phase="hit").target == "queue:jobs"


def test_every_fault_kind_is_in_the_trace_and_on_the_sequence_diagram(rt: Runtime) -> None:
    """Each fault is a trace event of kind "fault" with fault/target; sequence_diagram draws it."""
    from course.viz import messages_from_trace, sequence_diagram

    c = rt.client(region="apac")
    c.get("/?room=a")
    rt.faults.partition("apac", "ROOMS:a")
    c.get("/?room=a")
    rt.faults.heal()
    rt.faults.latency(5)
    rt.faults.drop(0.0)
    rt.faults.duplicate(0.0)
    rt.faults.ai("server_error", 0.0)
    rt.faults.evict("ROOMS", "a")
    rt.faults.crash("ROOMS", "a")
    kinds = {e.fault for e in rt.trace.events("fault")}
    assert kinds == {"partition", "latency", "drop", "duplicate", "ai", "evict", "crash"}
    faults = [m for m in messages_from_trace(rt.trace) if m[4] == "fault"]
    assert ("ROOMS:a", "ROOMS:a", "fault: partition") in [m[1:4] for m in faults]
    sequence_diagram(rt.trace)


def _scenario(load_project: Callable[..., Runtime], seed: int) -> str:
    rt = load_project(FILES, seed=seed)
    rt.faults.drop(0.5, target="ROOMS:*")
    rt.faults.latency(20, jitter_ms=30, between=("apac", "*"))
    rt.faults.partition("wnam", "weur", during=(0.5, 1.0))
    for i in range(12):
        region = ("apac", "wnam", "weur")[i % 3]
        rt.client(region=region).get(f"/?room=r{i % 4}")
        rt.clock.advance(0.1)
    rt.faults.crash("ROOMS", "r0", at=rt.clock.now() + 1)
    rt.clock.advance(2)
    return rt.trace.to_jsonl(wall=False)


def test_same_seed_gives_the_same_trace_with_faults(load_project: Callable[..., Runtime]) -> None:
    """Determinism: every fault decision comes from the seed; the JSONL trace is identical."""
    first = _scenario(load_project, 7)
    assert '"kind": "fault"' in first
    assert _scenario(load_project, 7) == first
    assert _scenario(load_project, 8) != first


def test_partition_and_latency_apply_to_outbound_fetch(load_project: Callable[..., Runtime]) -> None:
    """Outbound subrequests cross the same fault model, matched by host name."""
    rt = load_project({
        "wrangler.toml": 'name = "out"\nmain = "src/entry.py"\n',
        "src/entry.py": """
            from workers import Response, WorkerEntrypoint, fetch

            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    try:
                        r = await fetch("https://api.example.com/x")
                        return Response(await r.text())
                    except Exception as exc:
                        return Response(str(exc), status=502)
        """,
    })
    rt.network.upstream("https://api.example.com", lambda request: Response("upstream"))
    rt.faults.latency(250, between=("out", "api.example.com"))
    assert rt.client().get("/").text == "upstream"
    assert rt.clock.now() == pytest.approx(0.25)
    rt.faults.partition("*", "api.example.com")
    r = rt.client().get("/")
    assert r.status_code == 502 and "Network connection lost." in r.text
