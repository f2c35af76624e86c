"""The lab Worker (Project 1: coordinator + workers) through course.connect(), emulated."""
from __future__ import annotations

import os
from typing import Iterator

import httpx
import pytest

import course
from course.lab.connect import EmulatorOnly, LabClient, connect
from course.protocol import TRANSITIONS, TaskState, can_transition


@pytest.fixture
def lab() -> Iterator[LabClient]:
    client = connect(seed=3)
    yield client
    client.close()


def submit(lab: LabClient, **body: object) -> httpx.Response:
    body.setdefault("workers", 3)
    return lab.post("/coordinators/main/tasks", json=body)


@pytest.mark.parametrize("operation,items,expected", [
    ("word_count", ["a b", "c d e", "f", "g h"], 8),
    ("sum", [1, 2, 3, 4, 5, 6, 7], 28),
    ("max", [3, 9, -1, 4], 9),
    ("uppercase", ["a", "b", "c", "d"], ["A", "B", "C", "D"]),
])
def test_coordinator_splits_delegates_and_aggregates(lab: LabClient, operation: str, items: list, expected: object) -> None:
    r = submit(lab, task_id="t", operation=operation, items=items)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["status"] == "done"
    assert report["result"] == expected
    assert report["subtasks"] == 3 and report["reassignments"] == 0


def test_each_worker_processes_its_slice_and_logs_both_messages(lab: LabClient) -> None:
    submit(lab, task_id="t", operation="sum", items=list(range(9)))
    for i in range(3):
        state = lab.get(f"/workers/main-w{i}").json()
        assert state["processed"] == 1
        assert [(e["direction"], e["envelope"]["type"]) for e in state["log"]] == [("in", "task.assign"), ("out", "task.result")]
        reply = state["log"][1]["envelope"]
        assert reply["causation_id"] == state["log"][0]["envelope"]["id"]
        assert reply["correlation_id"] == "t"


def test_failed_subtask_is_reassigned_to_another_worker(lab: LabClient) -> None:
    assert lab.put("/workers/main-w1/config", json={"fail_next": 1}).status_code == 200
    report = submit(lab, task_id="t", operation="sum", items=list(range(1, 31))).json()
    assert report["status"] == "done" and report["result"] == 465 and report["reassignments"] == 1
    task = lab.get("/coordinators/main/tasks/t").json()
    moved = task["subtasks"][1]
    assert moved["worker"] == "main-w2" and moved["attempts"] == 2
    assert moved["history"] == ["created", "assigned", "running", "failed", "assigned", "running", "done"]


def test_every_recorded_history_follows_the_lifecycle(lab: LabClient) -> None:
    lab.put("/workers/main-w0/config", json={"fail_next": 2})
    submit(lab, task_id="t", operation="sum", items=list(range(12)), max_attempts=3)
    for sub in lab.get("/coordinators/main/tasks/t").json()["subtasks"]:
        steps = sub["history"]
        assert steps[0] == "created"
        assert all(can_transition(a, b) for a, b in zip(steps, steps[1:])), steps


def test_task_fails_when_every_attempt_fails(lab: LabClient) -> None:
    for i in range(2):
        lab.put(f"/workers/main-w{i}/config", json={"fail_next": 10})
    r = submit(lab, task_id="t", operation="sum", items=[1, 2], workers=2, max_attempts=2)
    assert r.status_code == 200
    report = r.json()
    assert report["status"] == "failed" and report["result"] is None
    assert report["failed_subtasks"] == ["t.0", "t.1"]


def test_crashed_worker_mid_task_is_replaced(lab: LabClient) -> None:
    rt = lab.runtime
    lab.put("/workers/main-w2/config", json={"delay_seconds": 5})
    rt.call_later(1.0, lambda: rt.crash("WORKER", "main-w2"), label="test crash")
    report = submit(lab, task_id="t", operation="sum", items=list(range(1, 31))).json()
    assert report["status"] == "done" and report["result"] == 465 and report["reassignments"] == 1
    crash = rt.trace.last("do_crash")
    assert crash is not None and crash.object == "main-w2" and crash.t == pytest.approx(1.0)
    sub = lab.get("/coordinators/main/tasks/t").json()["subtasks"][2]
    assert sub["worker"] == "main-w0" and "failed" in sub["history"]


def test_submitting_the_same_task_twice_returns_the_first_report(lab: LabClient) -> None:
    first = submit(lab, task_id="same", operation="sum", items=[1, 2, 3]).json()
    second = submit(lab, task_id="same", operation="sum", items=[1, 2, 3]).json()
    assert first == second
    assert lab.get("/workers/main-w0").json()["processed"] == 1


def test_state_survives_eviction_of_every_agent(lab: LabClient) -> None:
    submit(lab, task_id="t", operation="sum", items=[1, 2, 3])
    rt = lab.runtime
    assert rt.evict("COORDINATOR", "main")
    for i in range(3):
        rt.evict("WORKER", f"main-w{i}")
    assert lab.get("/coordinators/main/tasks/t").json()["result"] == 6
    assert lab.get("/workers/main-w0").json()["processed"] == 1


@pytest.mark.parametrize("body,status,needle", [
    (b"", 400, "empty"),
    (b"{not json", 400, "not valid JSON"),
    (b'{"operation": "sum", "items": [1, "two"]}', 422, "items: Value error, item 1"),
    (b'{"operation": "divide", "items": [1]}', 422, "operation"),
    (b'{"operation": "sum", "items": []}', 422, "items"),
    (b'{"operation": "sum", "items": [1], "workers": 0}', 422, "workers"),
    (b'{"operation": "sum", "items": [1], "colour": "red"}', 422, "colour"),
])
def test_bad_input_is_a_4xx_naming_the_field(lab: LabClient, body: bytes, status: int, needle: str) -> None:
    r = lab.post("/coordinators/main/tasks", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


def test_unknown_routes_and_methods_are_404_and_405(lab: LabClient) -> None:
    assert lab.get("/nope").status_code == 404
    r = lab.delete("/coordinators/main/tasks")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert lab.get("/coordinators/main/tasks/missing").status_code == 404


def test_openapi_document_covers_every_route(lab: LabClient) -> None:
    doc = lab.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    index = lab.get("/").json()["routes"]
    for route in index:
        method, path = route.split(" ", 1)
        if path in ("/", "/openapi.json"):
            continue
        assert method.lower() in doc["paths"][path.replace("{id}", "{task_id}")], route
    for name in ("TaskRequest", "TaskReport", "TaskRecord", "TaskState", "WorkerConfig", "WorkerState"):
        assert name in doc["components"]["schemas"]


def test_same_seed_gives_the_same_trace() -> None:
    traces = []
    for _ in range(2):
        with connect(seed=11) as lab:
            lab.put("/workers/main-w1/config", json={"fail_next": 1})
            submit(lab, task_id="t", operation="word_count", items=["a b", "c", "d e f"])
            traces.append(lab.runtime.trace.to_jsonl(wall=False))
    assert traces[0] == traces[1]


def test_connect_is_live_when_a_url_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_WORKER_URL", "http://127.0.0.1:9/")
    client = course.connect()
    try:
        assert not client.emulated
        assert str(client.base_url) == "http://127.0.0.1:9"
        with pytest.raises(EmulatorOnly, match="needs the emulated Worker"):
            client.advance(1)
    finally:
        client.close()


def test_lifecycle_table_is_closed_over_its_states() -> None:
    assert set(TRANSITIONS) == set(TaskState)
    assert TRANSITIONS[TaskState.DONE] == frozenset()


def test_lab_worker_is_a_standalone_python_workers_project() -> None:
    """The lab must deploy with Cloudflare's tooling: its code (with its protocol copy) imports
    nothing from ``course``, the copy is a real folder, and pyproject.toml declares pydantic."""
    import tomllib

    from course.lab import LAB_DIR

    for path in (LAB_DIR / "src").rglob("*.py"):
        text = path.read_text()
        assert "import course" not in text and "from course" not in text, path
    copy = LAB_DIR / "src" / "agent_protocol"
    assert copy.is_dir() and not copy.is_symlink()
    project = tomllib.loads((LAB_DIR / "pyproject.toml").read_text())
    assert "pydantic" in project["project"]["dependencies"]


def test_the_lab_workers_protocol_copy_is_identical_to_course_protocol() -> None:
    from course.lab.vendor import protocol_drift

    assert protocol_drift() == [], "course/lab/src/agent_protocol differs from course/protocol: run `make protocol`"
