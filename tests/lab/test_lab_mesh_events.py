"""The mesh's notification agent keeps an event log (Day 6): expected-version appends, a WebSocket
that resumes from an offset across hibernation, a board rebuilt by replay, a queue into the log."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from course.lab.connect import LabClient, connect
from course.protocol import PROBLEM_JSON, ProblemDetails
from course.protocol.events import AlertBoard, StoredEvent
from course.runtime.bindings.queues import queues
from course.runtime.objects.hibernation import HIBERNATION_IDLE_SECONDS


@pytest.fixture
def mesh() -> Iterator[LabClient]:
    client = connect(seed=6, lab="mesh")
    yield client
    client.close()


def raised(n: int, **extra: Any) -> dict[str, Any]:
    return {"type": "alert_raised", "event_id": f"e{n}", "agent": "ops", "alert_id": f"a{n}", "topic": "db",
            "severity": 2, "text": f"alert {n}", **extra}


def append(mesh: LabClient, *events: dict[str, Any], expected: int | None = None) -> Any:
    return mesh.post("/notify/ops/events", json={"expected_version": expected, "events": list(events)})


def seqs(mesh: LabClient, name: str = "ops") -> list[int]:
    return [StoredEvent.model_validate(e).seq for e in mesh.get(f"/notify/{name}/events").json()]


def received(ws: Any, count: int) -> list[int]:
    return [StoredEvent.model_validate(ws.receive_json()).seq for _ in range(count)]


def assert_nothing_more(ws: Any) -> None:
    with pytest.raises(TimeoutError):
        ws.receive(timeout=1)


def test_an_append_at_a_stale_version_is_409_and_a_retried_append_is_idempotent(mesh: LabClient) -> None:
    first = append(mesh, raised(1), raised(2), expected=0)
    assert first.status_code == 201 and first.json()["version"] == 2
    stale = append(mesh, raised(3), expected=0)
    assert stale.status_code == 409 and stale.headers["content-type"].startswith(PROBLEM_JSON)
    assert ProblemDetails.model_validate(stale.json()).model_extra["current_version"] == 2
    retry = append(mesh, raised(1), raised(2), expected=0)  # the reply was lost; the writer sends it again
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    assert [e["seq"] for e in retry.json()["events"]] == [1, 2]
    assert append(mesh, raised(2), raised(3), expected=2).status_code == 409  # half stored: not a retry
    assert append(mesh, raised(3), expected=2).json()["version"] == 3
    assert seqs(mesh) == [1, 2, 3]


def test_an_append_is_validated_with_the_event_models(mesh: LabClient) -> None:
    bad = append(mesh, raised(1, severity=9))
    assert bad.status_code == 422 and "severity" in bad.json()["detail"]
    assert append(mesh, {"type": "alert_exploded", "event_id": "x", "agent": "ops"}).status_code == 422
    assert append(mesh, raised(1), raised(1)).status_code == 422
    assert mesh.get("/notify/ops/events?after=soon").status_code == 400
    assert seqs(mesh) == []


def test_a_socket_that_reconnects_with_its_last_seq_gets_exactly_the_missed_events(mesh: LabClient) -> None:
    append(mesh, raised(1), raised(2))
    ws = mesh.runtime.websocket("/notify/ops/events?after=0")
    assert received(ws, 2) == [1, 2]  # the backlog first
    append(mesh, raised(3))
    assert received(ws, 1) == [3]  # then live
    ws.close()
    append(mesh, raised(4), raised(5))
    again = mesh.runtime.websocket("/notify/ops/events?after=3")
    assert received(again, 2) == [4, 5]
    append(mesh, raised(6))
    assert received(again, 1) == [6]
    assert_nothing_more(again)


def test_a_socket_survives_hibernation_and_a_resume_after_eviction_gets_exactly_the_missed_events(
        mesh: LabClient) -> None:
    rt = mesh.runtime
    append(mesh, raised(1))
    live = rt.websocket("/notify/ops/events?after=0")
    gone = rt.websocket("/notify/ops/events?after=0")
    assert received(live, 1) == received(gone, 1) == [1]
    gone.close()
    rt.clock.advance(HIBERNATION_IDLE_SECONDS + 1)
    assert "hibernate" in [e.reason for e in rt.trace.events("do_evict", binding="NOTIFY")]
    constructed = rt.trace.count("do_construct", binding="NOTIFY")
    append(mesh, raised(2), raised(3))
    assert rt.trace.count("do_construct", binding="NOTIFY") == constructed + 1  # woken from hibernation
    assert received(live, 2) == [2, 3]  # the hibernated socket still follows the log
    back = rt.websocket("/notify/ops/events?after=1")
    assert received(back, 2) == [2, 3]
    back.close()
    mesh.evict("NOTIFY", "ops")
    append(mesh, raised(4))
    assert received(live, 1) == [4]
    resumed = rt.websocket("/notify/ops/events?after=3")
    assert received(resumed, 1) == [4]
    assert_nothing_more(resumed)


def test_the_board_at_a_past_time_is_rebuilt_by_replay(mesh: LabClient) -> None:
    t0 = mesh.clock.wall()
    append(mesh, raised(1), raised(2))
    mesh.advance(60)
    append(mesh, {"type": "alert_acknowledged", "event_id": "ack1", "agent": "ops", "alert_id": "a1", "by": "ann"})
    written = [e["at"] for e in mesh.get("/notify/ops/events").json()]
    assert written[2] - written[0] == pytest.approx(60)
    assert written[0] == pytest.approx(t0)
    then = AlertBoard.model_validate(mesh.get("/notify/ops/board", params={"at": written[0] + 30}).json())
    assert sorted(then.open_alerts) == ["a1", "a2"] and then.acknowledged == {} and then.last_seq == 2
    now = AlertBoard.model_validate(mesh.get("/notify/ops/board").json())
    assert sorted(now.open_alerts) == ["a2"] and now.acknowledged == {"a1": "ann"} and now.last_seq == 3
    before = AlertBoard.model_validate(mesh.get("/notify/ops/board", params={"at": written[0] - 1}).json())
    assert before == AlertBoard()


def test_a_notification_reaches_the_log_through_the_queue_once_despite_duplicate_deliveries(mesh: LabClient) -> None:
    rt = mesh.runtime
    rt.faults.duplicate(1.0, target="queue:mesh-events")
    for key, value in (("a", 2), ("b", 3)):
        mesh.put(f"/data/prices/records/{key}", json={"value": value})
    mesh.post("/notify/ops/subscriptions", json={"subscriber": "oncall"})
    mesh.post("/analysis/main/jobs", json={"job_id": "j1", "data_agent": "prices", "keys": ["a", "b"], "notify": "ops"})
    mesh.advance(60)
    assert rt.trace.count("fault", fault="duplicate") >= 1
    log = [StoredEvent.model_validate(e) for e in mesh.get("/notify/ops/events").json()]
    assert [(e.seq, e.event.event_id) for e in log] == [(1, "notification:analysis:j1")]
    board = AlertBoard.model_validate(mesh.get("/notify/ops/board").json())
    assert list(board.open_alerts) == ["analysis:j1"] and "total 5" in board.open_alerts["analysis:j1"]["text"]
    assert [n["key"] for n in mesh.get("/notify/ops/state").json()["outbox"]] == ["analysis:j1"]  # as before


def test_a_poison_message_is_dead_lettered_and_the_log_keeps_the_good_ones(mesh: LabClient) -> None:
    rt = mesh.runtime
    rt.call(rt.env.MESH_EVENTS.send({"agent": "ops", "event": {"type": "alert_raised", "text": "no ids"}}))
    rt.call(rt.env.MESH_EVENTS.send({"agent": "ops", "event": raised(1)}))
    mesh.advance(300)
    events = queues(rt).queue("mesh-events")
    assert [d["body"]["event"]["text"] for d in events.dead_letters()] == ["no ids"]
    assert queues(rt).queue("mesh-events-dlq").depth() == 1  # waits there for a person
    assert rt.trace.last("queue_dead_letter").dead_letter_queue == "mesh-events-dlq"
    assert seqs(mesh) == [1]
