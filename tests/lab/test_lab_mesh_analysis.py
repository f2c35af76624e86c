"""The mesh's analysis agent asks Workers AI (Day 4): JSON mode, validated, one retry, a second model,
rules flagged degraded at total failure or timeout, and Day 3's intent log still resuming it."""
from __future__ import annotations

import ast
import sys
import tomllib
from typing import Any, Iterator

import pytest

from course.lab import MESH_DIR
from course.lab.connect import LabClient, connect
from course.protocol.mesh import (ANALYSIS_AI_TIMEOUT, ANALYSIS_ATTEMPTS, ANALYSIS_BUDGET, ANALYSIS_MODELS,
                                  RULES_SOURCE, AnalysisJob, AnalysisReport, NotificationAgentState)

PRIMARY, FALLBACK = ANALYSIS_MODELS
#: What a good model answers for the records below (a=2, b=3, c=5, zz missing).
GOOD = {"summary": "Prices rose from 2 to 5; record zz is missing.", "trend": "rising", "anomalies": ["zz"]}
KEYS = ["a", "b", "c", "zz"]


def any_request(inputs: dict[str, Any]) -> bool:
    return True


@pytest.fixture
def mesh() -> Iterator[LabClient]:
    client = connect(seed=4, lab="mesh")
    for key, value in (("a", 2), ("b", 3), ("c", 5)):
        client.put(f"/data/prices/records/{key}", json={"value": value})
    client.post("/notify/ops/subscriptions", json={"subscriber": "oncall"})
    yield client
    client.close()


def run_job(mesh: LabClient, job_id: str = "j1") -> AnalysisJob:
    submitted = mesh.post("/analysis/main/jobs", json={"job_id": job_id, "data_agent": "prices", "keys": KEYS,
                                                       "notify": "ops"})
    assert submitted.status_code == 202
    mesh.advance(120)
    return AnalysisJob.model_validate(mesh.get(f"/analysis/main/jobs/{job_id}").json())


def model_calls(mesh: LabClient) -> list[tuple[str, str]]:
    """(model, "ok" or the error code) of every Workers AI call, in order."""
    return [(e.get("model"), "ok" if e.get("status") == "ok" else str(e.get("code")))
            for e in mesh.runtime.trace.events("ai")]


def outbox(mesh: LabClient) -> list[Any]:
    return NotificationAgentState.model_validate(mesh.get("/notify/ops/state").json()).outbox


def test_the_first_models_valid_json_answer_is_the_jobs_analysis(mesh: LabClient) -> None:
    seen: list[dict[str, Any]] = []
    mesh.runtime.ai.script(any_request, lambda inputs: (seen.append(inputs), GOOD)[1])
    job = run_job(mesh)
    assert job.status == "done" and job.attempts == 1
    assert job.result == {"records": 4, "missing": 1, "numbers": 3, "total": 10, "mean": 10 / 3}  # Day 3's figures
    assert job.analysis == AnalysisReport(**GOOD, source=PRIMARY, degraded=False, model_calls=1)
    (request,) = seen
    schema = request["response_format"]["json_schema"]
    assert request["response_format"]["type"] == "json_schema"
    assert schema["properties"]["anomalies"]["items"]["enum"] == KEYS  # the schema says which keys exist
    assert "total 10" in request["messages"][-1]["content"]  # the exact figures are given, not asked for
    assert [n.text for n in outbox(mesh)] == ["analysis j1: 4 records, total 10, trend rising"]


@pytest.mark.parametrize("damage", ["malformed", "truncated", "invalid field", "unknown record"])
def test_a_bad_answer_is_refused_and_asked_again_once_with_the_reason(mesh: LabClient, damage: str) -> None:
    ai = mesh.runtime.ai
    asked: list[str] = []

    def answer(reply: dict[str, Any]) -> Any:
        return lambda inputs: (asked.append(inputs["messages"][-1]["content"]), reply)[1]

    if damage in ("malformed", "truncated"):
        ai.fault(damage, times=1)
    else:
        bad = {**GOOD, "trend": "sideways"} if damage == "invalid field" else {**GOOD, "anomalies": ["zz", "q9"]}
        ai.script(any_request, answer(bad), times=1)
    ai.script(any_request, answer(GOOD))
    job = run_job(mesh)
    assert job.analysis == AnalysisReport(**GOOD, source=PRIMARY, model_calls=2)
    assert model_calls(mesh) == [(PRIMARY, "ok"), (PRIMARY, "ok")]
    first, retry = asked
    assert first.startswith("Analyse job j1") and retry.startswith("Your reply was refused (")
    assert {"invalid field": "trend", "unknown record": "q9"}.get(damage, "") in retry  # the reason goes back


@pytest.mark.parametrize("failure", ["rate_limit", "server_error", "timeout", "malformed"])
def test_the_second_model_answers_when_the_first_fails(mesh: LabClient, failure: str) -> None:
    mesh.runtime.ai.fault(failure, model=PRIMARY)
    mesh.runtime.ai.script(any_request, GOOD)
    job = run_job(mesh)
    first_calls = ANALYSIS_ATTEMPTS if failure == "malformed" else 1  # only a bad answer is asked again
    assert job.analysis == AnalysisReport(**GOOD, source=FALLBACK, model_calls=first_calls + 1)
    assert [m for m, _ in model_calls(mesh)] == [PRIMARY] * first_calls + [FALLBACK]
    assert not job.analysis.degraded


@pytest.mark.parametrize("failure", ["server_error", "rate_limit", "timeout", "malformed", "truncated"])
def test_total_ai_failure_gives_the_rule_based_reading_flagged_degraded(mesh: LabClient, failure: str) -> None:
    mesh.runtime.ai.fault(failure, rate=1.0)
    mesh.runtime.ai.script(any_request, GOOD)  # what the model would say: never reaches the job
    job = run_job(mesh)
    assert job.status == "done"
    report = job.analysis
    assert report is not None and report.degraded and report.source == RULES_SOURCE
    assert report.trend == "rising" and report.anomalies == ["zz"] and "Rule-based" in report.summary
    damaged = failure in ("malformed", "truncated")
    assert report.model_calls == len(ANALYSIS_MODELS) * (ANALYSIS_ATTEMPTS if damaged else 1)
    assert [n.text for n in outbox(mesh)] == [
        "analysis j1: 4 records, total 10, trend rising (degraded: rule-based reading)"]


def alarm_seconds(mesh: LabClient) -> float:
    """Virtual seconds the analysis alarm took, from its run to its done."""
    runs = mesh.runtime.trace.events("do_alarm")
    start = next(e.t for e in runs if e.get("phase") == "run")
    return next(e.t for e in runs if e.get("phase") == "done") - start


def test_a_hung_model_gives_a_degraded_reading_within_the_budget(mesh: LabClient) -> None:
    mesh.runtime.ai.fault("latency", rate=1.0, seconds=600.0)  # every model hangs for ten minutes
    mesh.runtime.ai.script(any_request, GOOD)
    job = run_job(mesh)
    assert job.analysis is not None and job.analysis.degraded and job.analysis.model_calls == 2
    took = alarm_seconds(mesh)
    assert took == pytest.approx(len(ANALYSIS_MODELS) * ANALYSIS_AI_TIMEOUT)  # one timeout per model, then rules
    assert took <= ANALYSIS_BUDGET


def test_the_budget_bounds_the_whole_chain_not_only_each_call(mesh: LabClient) -> None:
    # Each answer takes 4.5 s (inside one call's timeout) and is malformed: two calls to the first
    # model use 9 s, so the second model gets only the 3 s left of the budget.
    mesh.runtime.ai.fault("latency", rate=1.0, seconds=4.5)
    mesh.runtime.ai.fault("malformed", rate=1.0)
    mesh.runtime.ai.script(any_request, GOOD)
    job = run_job(mesh)
    assert job.analysis is not None and job.analysis.degraded and job.analysis.model_calls == 3
    assert alarm_seconds(mesh) == pytest.approx(ANALYSIS_BUDGET)


@pytest.mark.parametrize("reset", ["crash", "evict"])
def test_a_reset_mid_analysis_still_completes_once(mesh: LabClient, reset: str) -> None:
    rt = mesh.runtime
    rt.ai.fault("latency", times=1, seconds=1.0, model=PRIMARY)  # the first call is in flight for a second
    rt.ai.script(any_request, GOOD)
    resets: list[float] = []

    def reset_while_the_model_thinks(event: Any) -> None:
        if event.kind == "fault" and event.get("target") == "ai" and not resets:
            resets.append(event.t)
            getattr(rt, reset)("ANALYSIS", "main")

    stop = rt.trace.subscribe(reset_while_the_model_thinks)
    job = run_job(mesh)
    stop()
    assert resets, "the model call never started"
    assert job.status == "done" and job.analysis == AnalysisReport(**GOOD, source=PRIMARY, model_calls=1)
    # A crash loses the call in flight and the alarm runs again from the log (reads kept: each record
    # read once); an eviction waits for the running alarm to end.
    assert job.attempts == (2 if reset == "crash" else 1)
    assert rt.trace.count("do_event", binding="DATA", method="get", phase="end") == len(KEYS)
    assert [n.key for n in outbox(mesh)] == ["analysis:j1"]
    assert mesh.get("/analysis/main/state").json()["jobs"] == {"j1": "done"}


def test_the_analysis_agent_is_plain_workers_code_with_an_ai_binding() -> None:
    config = tomllib.loads((MESH_DIR / "wrangler.toml").read_text())
    assert config["ai"] == {"binding": "AI"}
    src = MESH_DIR / "src"
    own = {p.stem for p in src.glob("*.py")} | {"agent_protocol"}
    allowed = {"workers", "js", "pyodide", "pydantic"} | own | set(sys.stdlib_module_names)
    for name in ("agents.py", "analysis.py"):
        tree = ast.parse((src / name).read_text())
        roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert roots <= allowed, (name, roots - allowed)
