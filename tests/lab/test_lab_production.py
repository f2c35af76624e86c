"""The production lab Worker (Day 7, Project 3): health, one trace across the agent chain, signed
requests, sharded counters, placement, KV config, and the monitoring data read back through the
Analytics Engine SQL API."""
from __future__ import annotations

import time
import uuid

import pytest

import course
from course.lab.vendor import protocol_drift
from course.protocol.production import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, TRACEPARENT, sign

KEY = "dev-only-signing-key-change-me"  # course/lab/production/.dev.vars


@pytest.fixture()
def lab():
    client = course.connect(lab="production", seed=3)
    yield client
    client.close()


def test_liveness_answers_and_readiness_turns_503_when_the_coordinator_is_partitioned(lab) -> None:
    assert lab.get("/healthz").json()["status"] == "ok" and lab.get("/readyz").status_code == 200
    lab.runtime.faults.partition("COORDINATOR:*")
    ready = lab.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["coordinator"].startswith("failing")
    assert lab.get("/healthz").status_code == 200, "liveness must not depend on other agents"


def test_one_trace_crosses_all_five_agents_with_parent_links_even_when_a_hop_is_retried(lab) -> None:
    spans = lab.post("/chain", json={"task": "report", "flaky": {"data": 2}}).json()["spans"]
    assert [s["agent"] for s in spans] == ["gateway", "planner", "data", "analysis", "notify"]
    assert len({s["trace_id"] for s in spans}) == 1 and spans[0]["parent_id"] is None
    assert all(b["parent_id"] == a["span_id"] for a, b in zip(spans, spans[1:]))
    assert spans[2]["attempt"] == 3


def test_an_incoming_traceparent_is_continued_not_replaced(lab) -> None:
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    spans = lab.post("/chain", json={"task": "x"}, headers={TRACEPARENT: header}).json()["spans"]
    assert spans[0]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and spans[0]["parent_id"] == "00f067aa0ba902b7"


def _signed(lab, body: str, *, skew: float = 0.0, nonce: str | None = None, tamper: bool = False):
    ts = int(time.time() + skew) if not lab.emulated else int(lab.runtime.clock.wall() + skew)
    nonce = nonce or uuid.uuid4().hex
    sig = sign(KEY, "POST", "/signed/tasks", body, ts, nonce)
    sent = body.replace("summarize", "notify") if tamper else body
    return lab.post("/signed/tasks", content=sent, headers={SIGNATURE_HEADER: sig, TIMESTAMP_HEADER: str(ts),
                                                            NONCE_HEADER: nonce})


def test_signed_requests_are_accepted_once_and_tampered_stale_or_replayed_ones_refused(lab) -> None:
    body = '{"task_id": "t1", "action": "summarize"}'
    nonce = uuid.uuid4().hex
    assert _signed(lab, body, nonce=nonce).status_code == 202
    replay = _signed(lab, body, nonce=nonce)
    assert replay.status_code == 401 and "replayed" in replay.json()["error"]
    assert "bad signature" in _signed(lab, body, tamper=True).json()["error"]
    assert "stale" in _signed(lab, body, skew=-400).json()["error"]
    assert _signed(lab, body, skew=-120).status_code == 202, "a clock two minutes behind is within the skew"
    assert lab.post("/signed/tasks", content=body).status_code == 401


def test_a_sharded_counter_keeps_an_exact_total(lab) -> None:
    for i in range(40):
        assert lab.post(f"/counters/hits/hit?shards=4&key=user-{i}").status_code == 200
    total = lab.get("/counters/hits?shards=4").json()
    assert total["total"] == 40 and sum(1 for v in total["shards"] if v) > 1
    assert lab.post("/counters/hits/hit?shards=0").status_code == 400


def test_a_coordinator_placed_near_the_caller_answers_faster_than_one_far_away(lab) -> None:
    client = lab.runtime.client(region="weur")
    near = client.get("/coordinator/ping?hint=weur").json()["ms"]
    far = client.get("/coordinator/ping?hint=oc").json()["ms"]
    assert near == 0.0 and far == 2 * 135.0


def test_the_monitor_reads_its_own_metrics_back_through_the_sql_api(lab) -> None:
    lab.post("/chain", json={"task": "a"})
    lab.post("/chain", json={"task": "b", "flaky": {"notify": 1}})
    summary = lab.get("/monitor.json").json()
    assert summary["total"] == {"agent": "all", "requests": 11, "errors": 1, "p50_ms": 0.0, "p99_ms": 0.0}
    assert summary["alerts"] and "availability" in summary["alerts"][0]
    page = lab.get("/monitor")
    assert page.headers["content-type"].startswith("text/html") and "/monitor.json" in page.text


def test_bad_input_gets_a_precise_4xx(lab) -> None:
    assert lab.post("/chain", content="nope").status_code == 400
    bad = lab.post("/chain", json={"task": "", "flaky": {"x": 1}})
    assert bad.status_code == 422 and "task" in bad.json()["error"]
    assert lab.get("/coordinator/ping?hint=mars").status_code == 400
    assert lab.delete("/healthz").status_code == 405


def test_the_production_lab_carries_an_identical_protocol_copy() -> None:
    assert not [d for d in protocol_drift() if d.startswith("production/")]
