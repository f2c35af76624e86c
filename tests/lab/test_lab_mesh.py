"""The mesh lab Worker (Days 3-6): its agents' state, compare-and-set, a crash-safe analysis job, the outbox."""
from __future__ import annotations

import tomllib
from typing import Iterator

import pytest

from course.lab import MESH_DIR
from course.lab.connect import LabClient, connect
from course.protocol import AnalysisJob, DataAgentState, NotificationAgentState, Record


@pytest.fixture
def mesh() -> Iterator[LabClient]:
    client = connect(seed=3, lab="mesh")
    yield client
    client.close()


def test_a_record_write_is_versioned_and_a_stale_compare_and_set_gets_409(mesh: LabClient) -> None:
    first = mesh.put("/data/prices/records/eur-usd", json={"value": 1.08, "source": "ecb"})
    assert first.status_code == 201 and Record.model_validate(first.json()).version == 1
    assert mesh.put("/data/prices/records/eur-usd", json={"value": 1.09, "expected_version": 1}).json()["version"] == 2
    stale = mesh.put("/data/prices/records/eur-usd", json={"value": 1.07, "expected_version": 1})
    assert stale.status_code == 409 and stale.json()["current"]["value"] == 1.09
    assert DataAgentState.model_validate(mesh.get("/data/prices/state").json()).records == 1


def test_bad_input_is_a_4xx_that_names_the_problem(mesh: LabClient) -> None:
    assert mesh.put("/data/prices/records/k", content="").status_code == 400
    r = mesh.post("/analysis/main/jobs", json={"job_id": "j1", "data_agent": "prices", "keys": []})
    assert r.status_code == 422 and "keys" in r.json()["error"]
    assert mesh.put("/data/prices/records/k", json={"value": "x" * 70_000}).status_code == 413
    assert mesh.get("/nowhere").status_code == 404


def test_an_analysis_job_survives_a_crash_mid_run_and_notifies_once(mesh: LabClient) -> None:
    for key, value in (("a", 2), ("b", 3), ("c", 5)):
        mesh.put(f"/data/prices/records/{key}", json={"value": value})
    mesh.post("/notify/ops/subscriptions", json={"subscriber": "oncall"})
    rt = mesh.runtime
    reads = []

    def crash_after_first_read(event: object) -> None:
        if getattr(event, "kind", "") == "do_event" and event.get("binding") == "DATA" \
                and event.get("method") == "get" and event.get("phase") == "end":
            reads.append(event)
            if len(reads) == 1:
                rt.crash("ANALYSIS", "main")

    stop = rt.trace.subscribe(crash_after_first_read)
    job = mesh.post("/analysis/main/jobs", json={"job_id": "j1", "data_agent": "prices", "keys": ["a", "b", "c", "zz"],
                                                 "notify": "ops"})
    assert job.status_code == 202
    mesh.advance(30)
    stop()
    done = AnalysisJob.model_validate(mesh.get("/analysis/main/jobs/j1").json())
    assert done.status == "done" and done.result == {"records": 4, "missing": 1, "numbers": 3, "total": 10, "mean": 10 / 3}
    assert done.attempts == 2  # the alarm ran again after the crash and resumed from the log
    outbox = NotificationAgentState.model_validate(mesh.get("/notify/ops/state").json()).outbox
    assert [n.key for n in outbox] == ["analysis:j1"] and outbox[0].to == ["oncall"]
    again = mesh.post("/analysis/main/jobs", json={"job_id": "j1", "data_agent": "prices", "keys": ["a"]})
    assert again.json()["status"] == "done"  # a retried submit is the same job
    assert mesh.get("/analysis/main/state").json()["jobs"] == {"j1": "done"}


def test_the_data_agents_schema_is_versioned_and_survives_eviction(mesh: LabClient) -> None:
    mesh.put("/data/prices/records/a", json={"value": [1, 2]})
    mesh.runtime.evict("DATA", "prices")
    assert mesh.get("/data/prices/records/a").json()["value"] == [1, 2]
    assert mesh.runtime.storage("DATA", "prices").sql("PRAGMA user_version") == [{"user_version": 1}]


def test_the_mesh_is_a_plain_worker_project_with_its_own_protocol_copy() -> None:
    from course.lab.vendor import protocol_drift

    for path in (MESH_DIR / "src").rglob("*.py"):
        text = path.read_text()
        assert "import course" not in text and "from course" not in text, path
    config = tomllib.loads((MESH_DIR / "wrangler.toml").read_text())
    assert {b["class_name"] for b in config["durable_objects"]["bindings"]} == {"DataAgent", "AnalysisAgent",
                                                                                 "NotificationAgent"}
    assert (MESH_DIR / "src" / "agent_protocol" / "mesh.py").is_file()
    assert protocol_drift() == [], "a lab Worker's agent_protocol differs from course/protocol: run `make protocol`"


def test_connect_refuses_an_unknown_lab() -> None:
    with pytest.raises(ValueError, match="unknown lab Worker 'grid'"):
        connect(lab="grid")
