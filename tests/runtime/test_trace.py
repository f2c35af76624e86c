"""The trace: what each request, handler, timer, log line and error records, and how to query it."""
from __future__ import annotations

import json

import pytest

from course.runtime import Runtime

TOML = 'name = "traced"\nmain = "src/entry.py"\n'
WORKER = {
    "wrangler.toml": TOML,
    "src/entry.py": """
        from js import console
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                console.log("handling", request.method)
                if request.url.endswith("/fail"):
                    raise KeyError("missing")
                return Response("ok", status=201)
    """,
}


@pytest.fixture
def rt(load_project) -> Runtime:
    return load_project(WORKER)


def test_a_request_records_request_handler_log_and_response_in_order(rt):
    mark = rt.trace.mark()
    rt.client().post("/things?x=1")
    events = rt.trace.events(since=mark)
    assert [e.kind for e in events] == ["request", "handler", "log", "response"]
    request, handler, log, response = events
    assert (request.method, request.path, request.url) == ("POST", "/things?x=1", "http://localhost:8787/things?x=1")
    assert request.worker == handler.worker == response.worker == "traced"
    assert handler.handler == "fetch" and handler.id == request.id == response.id
    assert (log.level, log.message) == ("log", "handling POST")
    assert response.status == 201 and response.wall_ms >= 0


def test_a_failing_handler_records_an_error_event(rt):
    rt.client().get("/fail")
    error = rt.trace.last("error")
    assert (error.error, error.message, error.worker) == ("KeyError", "'missing'", "traced")
    assert rt.trace.last("log", level="error").message.startswith("Uncaught exception in traced:")


def test_timers_are_recorded_with_their_label_and_extra_data(rt):
    rt.call_later(5, lambda: None, label="alarm", object_id="abc")
    rt.clock.advance(5)
    timer = rt.trace.last("timer")
    assert (timer.t, timer.label, timer.object_id) == (5.0, "alarm", "abc")


def test_events_filter_by_kind_and_matching_fields(rt):
    client = rt.client()
    client.get("/a")
    client.get("/fail")
    client.get("/b")
    assert [e.path for e in rt.trace.events("request")] == ["/a", "/fail", "/b"]
    assert [e.status for e in rt.trace.events("response", status=500)] == [500]
    assert len(rt.trace.events(["request", "response"])) == 6
    assert rt.trace.count("request", method="GET") == 3


def test_since_mark_returns_only_later_events(rt):
    client = rt.client()
    client.get("/first")
    mark = rt.trace.mark()
    client.get("/second")
    assert [e.path for e in rt.trace.events("request", since=mark)] == ["/second"]


def test_events_carry_the_clock_time_they_happened_at(rt):
    rt.clock.advance(42)
    rt.client().get("/")
    assert rt.trace.last("request").t == 42.0


def test_trace_exports_json_lines(rt, tmp_path):
    rt.client().get("/")
    out = tmp_path / "trace.jsonl"
    text = rt.trace.to_jsonl(out)
    assert out.read_text() == text
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["kind"] for r in rows] == [e.kind for e in rt.trace]
    assert rows[-1]["kind"] == "response" and rows[-1]["status"] == 201
    assert all({"seq", "t", "kind"} <= set(r) for r in rows)
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)


def test_deterministic_export_leaves_out_wall_clock_durations(rt):
    rt.client().get("/")
    assert '"wall_ms"' in rt.trace.to_jsonl()
    assert '"wall_ms"' not in rt.trace.to_jsonl(wall=False)


def test_subscribers_see_each_new_event(rt):
    seen = []
    unsubscribe = rt.trace.subscribe(lambda e: seen.append(e.kind))
    rt.client().get("/")
    unsubscribe()
    rt.client().get("/")
    assert seen == ["request", "handler", "log", "response"]


def _trace():
    from course.runtime.kernel.clock import Clock
    from course.runtime.kernel.trace import Trace

    return Trace(Clock(virtual=True))


def test_record_rows_gives_the_same_events_as_record_per_row():
    rows, single = _trace(), _trace()
    keys = ("queue", "id", "ids")
    values = [("q", "a", ["x", "y"]), ("q", "b", ("z",))]
    rows.record_rows("queue_send", keys, values)
    for row in values:
        single.record("queue_send", **dict(zip(keys, row)))
    assert rows.to_dicts() == single.to_dicts()
    assert [e.data for e in rows] == [{"queue": "q", "id": "a", "ids": ["x", "y"]},
                                      {"queue": "q", "id": "b", "ids": ["z"]}]
    assert rows.mark() == 2


def test_record_rows_reaches_subscribers_one_event_at_a_time():
    trace, seen = _trace(), []
    trace.subscribe(lambda e: seen.append((e.seq, e.id)))
    trace.record_rows("queue_ack", ("queue", "id"), [("q", "a"), ("q", "b")])
    assert seen == [(1, "a"), (2, "b")]


def test_a_recorded_list_is_copied_and_read_back_as_a_list():
    trace, ids = _trace(), ["a", "b"]
    trace.record("queue_delivery", ids=ids, nested={"k": [1, {"x": b"12"}]})
    ids.append("c")
    event = trace.last("queue_delivery")
    assert event.ids == ["a", "b"] and isinstance(event.ids, list)
    assert event.nested == {"k": [1, {"x": {"bytes": 2}}]}
