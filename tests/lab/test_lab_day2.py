"""The lab Worker's Day 2 routes: the registry, pools with strategies and backpressure, ephemeral task agents."""
from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest

from course.lab.connect import LabClient, connect
from course.protocol import EphemeralTaskReport, PoolState, PoolTaskReport, RegistryEntry, RegistryListing, ring_owner


@pytest.fixture
def lab() -> Iterator[LabClient]:
    client = connect(seed=5)
    yield client
    client.close()


def card(agent_id: str, *capabilities: str, ttl: float = 30) -> dict[str, Any]:
    return {"agent_id": agent_id, "capabilities": list(capabilities) or ["summarize"], "ttl_seconds": ttl}


# -- the registry ------------------------------------------------------------------------------
def test_a_registered_agent_is_found_by_capability_until_its_ttl_passes(lab: LabClient) -> None:
    r = lab.post("/registries/main/agents", json=card("summarizer-1", "summarize"))
    assert r.status_code == 201 and RegistryEntry.model_validate(r.json()).card.agent_id == "summarizer-1"
    lab.post("/registries/main/agents", json=card("translator-1", "translate"))
    listing = RegistryListing.model_validate(lab.get("/registries/main/agents", params={"capability": "summarize"}).json())
    assert [e.card.agent_id for e in listing.agents] == ["summarizer-1"]
    lab.advance(29)
    assert len(lab.get("/registries/main/agents").json()["agents"]) == 2
    lab.advance(2)
    assert lab.get("/registries/main/agents").json()["agents"] == []


def test_heartbeats_keep_an_agent_alive_and_an_expired_one_must_register_again(lab: LabClient) -> None:
    lab.post("/registries/main/agents", json=card("reader-1"))
    for _ in range(5):
        lab.advance(20)
        r = lab.post("/registries/main/agents/reader-1/heartbeat")
        assert r.status_code == 200 and r.json()["alive"] is True
    lab.advance(31)
    r = lab.post("/registries/main/agents/reader-1/heartbeat")
    assert r.status_code == 404 and "register again" in r.json()["error"]
    assert lab.post("/registries/main/agents", json=card("reader-1")).status_code == 201
    assert [e["card"]["agent_id"] for e in lab.get("/registries/main/agents").json()["agents"]] == ["reader-1"]


def test_the_registry_alarm_deletes_expired_rows_without_any_request(lab: LabClient) -> None:
    lab.post("/registries/main/agents", json=card("short-1", ttl=5))
    lab.post("/registries/main/agents", json=card("long-1", ttl=60))
    rt = lab.runtime
    stored = lambda: [r["agent_id"] for r in rt.storage("REGISTRY", "main").sql("SELECT agent_id FROM agents ORDER BY agent_id")]  # noqa: E731
    assert stored() == ["long-1", "short-1"]
    lab.advance(6)
    assert stored() == ["long-1"]
    lab.advance(60)
    assert stored() == [] and rt.storage("REGISTRY", "main").alarm() is None


def test_the_registry_survives_eviction(lab: LabClient) -> None:
    lab.post("/registries/main/agents", json=card("reader-2"))
    lab.runtime.evict("REGISTRY", "main")
    assert [e["card"]["agent_id"] for e in lab.get("/registries/main/agents").json()["agents"]] == ["reader-2"]


# -- pools -------------------------------------------------------------------------------------
def run_burst(lab: LabClient, pool: str, keys: list[str], gap: float = 0.25) -> list[Any]:
    rt = lab.runtime

    async def burst() -> list[Any]:
        async with rt.async_client() as client:
            async def one(i: int, key: str) -> Any:
                await asyncio.sleep(i * gap)
                return await client.post(f"/pools/{pool}/tasks", json={"operation": "sum", "items": [i, 1], "key": key})
            return await asyncio.gather(*(one(i, k) for i, k in enumerate(keys)))

    return rt.call(burst())


@pytest.mark.parametrize("strategy", ["round-robin", "least-loaded", "consistent-hash"])
def test_each_strategy_runs_every_task_and_reports_its_worker(lab: LabClient, strategy: str) -> None:
    assert lab.put(f"/pools/{strategy}/config", json={"size": 3, "strategy": strategy, "max_queue": 32}).status_code == 200
    replies = run_burst(lab, strategy, [f"conv-{i % 4}" for i in range(9)])
    reports = [PoolTaskReport.model_validate(r.json()) for r in replies]
    assert [r.result for r in reports] == [i + 1 for i in range(9)]
    assert all(r.strategy == strategy for r in reports)
    state = PoolState.model_validate(lab.get(f"/pools/{strategy}").json())
    assert sum(w.done for w in state.workers) == 9 and all(w.in_flight == 0 for w in state.workers)


def test_consistent_hashing_sends_one_key_to_one_worker_the_rings_owner(lab: LabClient) -> None:
    lab.put("/pools/ring/config", json={"size": 4, "strategy": "consistent-hash", "max_queue": 32})
    replies = run_burst(lab, "ring", ["conv-7"] * 5 + ["conv-9"] * 3)
    workers = [r.json()["worker"] for r in replies]
    owners = [ring_owner(k, [f"ring-p{i}" for i in range(4)]) for k in ["conv-7"] * 5 + ["conv-9"] * 3]
    assert workers == owners


def test_least_loaded_routes_around_a_slow_worker_and_round_robin_does_not(lab: LabClient) -> None:
    latencies = {}
    for strategy in ("round-robin", "least-loaded"):
        lab.put(f"/pools/{strategy}/config", json={"size": 3, "strategy": strategy, "capacity": 1, "max_queue": 64,
                                                   "worker_delays": [4.0, 0.5, 0.5]})
        replies = run_burst(lab, strategy, [f"k{i}" for i in range(12)], gap=0.3)
        latencies[strategy] = max(r.json()["latency_seconds"] for r in replies)
    assert latencies["least-loaded"] < latencies["round-robin"]


def test_a_full_pool_answers_429_with_retry_after_and_loses_no_accepted_task(lab: LabClient) -> None:
    lab.put("/pools/tiny/config", json={"size": 1, "capacity": 1, "max_queue": 2, "retry_after_seconds": 3,
                                        "worker_delays": [2.0]})
    replies = run_burst(lab, "tiny", [f"k{i}" for i in range(6)], gap=0.0)
    codes = [r.status_code for r in replies]
    assert codes.count(200) == 3 and codes.count(429) == 3
    rejected = next(r for r in replies if r.status_code == 429)
    assert rejected.headers["retry-after"] == "3" and "retry after 3 s" in rejected.json()["error"]
    state = lab.get("/pools/tiny").json()
    assert state["rejected"] == 3 and state["workers"][0]["done"] == 3 and state["queued"] == 0


# -- ephemeral task agents ----------------------------------------------------------------------
def test_an_ephemeral_task_agent_answers_then_deletes_itself_and_its_alarm(lab: LabClient) -> None:
    r = lab.post("/tasks", json={"operation": "word_count", "items": ["spawn one", "agent per task"], "ttl_seconds": 60})
    assert r.status_code == 201
    report = EphemeralTaskReport.model_validate(r.json())
    assert report.result == 5 and report.expires_at - report.created_at == 60
    assert lab.get(f"/tasks/{report.agent_id}").json() == r.json()
    lab.runtime.crash("TASK_AGENT", report.agent_id)  # memory gone; the alarm is in storage
    lab.advance(61)
    assert lab.get(f"/tasks/{report.agent_id}").status_code == 404
    view = lab.runtime.storage("TASK_AGENT", report.agent_id)
    assert view.kv() == {} and view.alarm() is None


def test_each_task_gets_its_own_agent(lab: LabClient) -> None:
    ids = {lab.post("/tasks", json={"operation": "sum", "items": [1]}).json()["agent_id"] for _ in range(3)}
    assert len(ids) == 3


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("method, path, body, status, needle", [
    ("post", "/registries/main/agents", {"agent_id": "Bad Id", "capabilities": ["x"]}, 422, "agent_id"),
    ("post", "/registries/main/agents", {"agent_id": "a", "capabilities": ["summarize", "summarize"]}, 422, "capabilities"),
    ("post", "/registries/main/agents", {"agent_id": "a", "capabilities": ["x"], "ttl_seconds": 1}, 422, "ttl_seconds"),
    ("put", "/pools/p/config", {"strategy": "random"}, 422, "strategy"),
    ("put", "/pools/p/config", {"size": 0}, 422, "size"),
    ("post", "/pools/p/tasks", {"operation": "sum", "items": []}, 422, "items"),
    ("post", "/tasks", {"operation": "sum", "items": [1], "ttl_seconds": 0}, 422, "ttl_seconds"),
    ("post", "/tasks", {"operation": "sum", "items": [1], "colour": "red"}, 422, "colour"),
])
def test_bad_day2_input_is_a_4xx_naming_the_field(lab: LabClient, method: str, path: str, body: Any, status: int,
                                                   needle: str) -> None:
    r = getattr(lab, method)(path, json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


def test_bad_ids_in_the_path_are_422_or_404(lab: LabClient) -> None:
    assert lab.get("/registries/main/agents", params={"capability": "NO"}).status_code == 422
    assert lab.post("/registries/main/agents/Not_An_Id/heartbeat").status_code == 422
    assert lab.get("/tasks/xyz").status_code == 422
    assert lab.get("/tasks/" + "0" * 64).status_code == 404


def test_openapi_lists_the_day2_routes_and_models(lab: LabClient) -> None:
    doc = lab.get("/openapi.json").json()
    assert "429" in doc["paths"]["/pools/{name}/tasks"]["post"]["responses"]
    for name in ("AgentCard", "RegistryEntry", "PoolConfig", "PoolTaskReport", "EphemeralTaskReport"):
        assert name in doc["components"]["schemas"]
