"""The hot path's shortcuts (issue #25) give what the general code gives.

Each shortcut of the request path is checked against the general path it stands in for: the
copy an object receives of its caller's request, ``Response.json``'s direct construction, the
trace's row recording, the fetch-result check that replaced a wrapper coroutine, the interleaved
events of a turn, and the storage reporting to its newest instance.
"""
from __future__ import annotations

import asyncio
import sqlite3
from typing import Any, Callable

import pytest

from course.runtime import Runtime
from course.runtime.kernel.clock import Clock
from course.runtime.kernel.trace import Trace
from course.runtime.objects.durable_objects import DURABLE_OBJECTS
from course.workers import JsException
from course.workers.http import Request, Response
from course.workers.streams import LiveReadableStream

from _projects import durable_objects_toml as toml


# -- Request.copy_of ------------------------------------------------------------------------------
def _request_state(r: Request) -> tuple[Any, ...]:
    return (type(r), r.url, r.method, r.headers.raw_items(), r._body, dict(r.cf), r.redirect, r.bodyUsed)


@pytest.mark.parametrize("make", [
    lambda: Request("https://example.com/a?b=1"),
    lambda: Request("https://example.com/a", method="post", body="hi", headers={"X-A": "1", "x-b": "2"}),
    lambda: Request("https://example.com/a", method="PUT", body=b"\x00\x01", cf={"colo": "SIN", "n": [1]}),
    lambda: Request("https://example.com/a", headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]),
])
def test_copy_of_gives_what_the_constructor_gives(make: Callable[[], Request]) -> None:
    assert _request_state(Request.copy_of(make())) == _request_state(Request(make()))


def test_copy_of_has_its_own_headers_and_cf() -> None:
    base = Request("https://example.com/", headers={"x-a": "1"}, cf={"colo": "SIN", "nested": {"k": 1}})
    copy = Request.copy_of(base)
    copy.headers.set("x-a", "2")
    copy.cf["colo"] = "LHR"
    copy.cf["nested"]["k"] = 2
    assert base.headers.get("x-a") == "1"
    assert base.cf["colo"] == "SIN" and base.cf["nested"]["k"] == 1


def test_copy_of_takes_over_a_streamed_body_as_the_constructor_does() -> None:
    async def go() -> tuple[bool, bytes]:
        stream = LiveReadableStream()
        stream.push(b"part")
        stream.close()
        base = Request("https://example.com/", method="POST", body=stream)
        copy = Request.copy_of(base)
        return base.bodyUsed, await copy.text()

    used, text = asyncio.run(go())
    assert used is True and text == "part"


# -- Response.json ----------------------------------------------------------------------------------
def _response_state(r: Response) -> tuple[Any, ...]:
    return (type(r), r.status, r.statusText, r.headers.raw_items(), r._body, r.webSocket, r.url, r.redirected,
            r.bodyUsed)


@pytest.mark.parametrize("data", [{"n": 1}, [1, "é", None], "text", 3.5, None, {"nested": {"a": [True]}}])
@pytest.mark.parametrize("status", [None, 200, 201, 404, 599])
def test_response_json_gives_what_the_general_path_gives(data: Any, status: int | None) -> None:
    fast = Response.json(data) if status is None else Response.json(data, status=status)
    # A headers argument takes the general path: the same response, built by the constructor.
    general = Response.json(data, status=status, headers={})
    assert _response_state(fast) == _response_state(general)


@pytest.mark.parametrize("status", [204, 304, 101, 99, 600, True, "200", 200.0])
def test_response_json_refuses_what_the_constructor_refuses(status: Any) -> None:
    with pytest.raises((JsException, TypeError)) as fast:
        Response.json({"n": 1}, status=status)
    with pytest.raises((JsException, TypeError)) as general:
        Response.json({"n": 1}, status=status, headers={})
    assert (type(fast.value), str(fast.value)) == (type(general.value), str(general.value))


def test_response_json_of_a_subclass_is_that_subclass() -> None:
    class Mine(Response):
        pass

    r = Mine.json({"n": 1})
    assert type(r) is Mine and r.headers.get("content-type") == "application/json"


# -- the trace's rows -------------------------------------------------------------------------------
def test_record_row_and_record_plain_store_what_record_stores() -> None:
    traces = [Trace(Clock(virtual=True)) for _ in range(3)]
    keys = ("id", "ids", "who", "gap")
    rows = [(1, (2, 3), "a", None), (2, (), "b", 0.5)]
    for row in rows:
        traces[0].record("e", **dict(zip(keys, [list(v) if isinstance(v, tuple) else v for v in row])))
        traces[1].record_row("e", keys, row)
        traces[2].record_plain("e", keys, row)
    dumps = [[(e.seq, e.kind, e.data) for e in t] for t in traces]
    assert dumps[0] == dumps[1] == dumps[2]
    assert dumps[0][0][2] == {"id": 1, "ids": [2, 3], "who": "a", "gap": None}  # tuples read as lists


def test_record_row_takes_a_list_of_values_too() -> None:
    trace = Trace(Clock(virtual=True))
    trace.record_row("e", ("a", "b"), [1, (2, 3)])  # type: ignore[arg-type]
    assert trace.last("e").data == {"a": 1, "b": [2, 3]}


def test_record_row_copies_values_that_are_not_plain() -> None:
    trace = Trace(Clock(virtual=True))
    value = {"k": [1, 2]}
    trace.record_row("e", ("v", "blob"), (value, b"xyz"))
    value["k"].append(3)  # changing it afterwards does not change the trace
    assert trace.last("e").data == {"v": {"k": [1, 2]}, "blob": {"bytes": 3}}


def test_a_subscriber_sees_rows_as_they_are_recorded() -> None:
    trace = Trace(Clock(virtual=True))
    seen: list[Any] = []
    trace.record_plain("before", ("n",), (0,))
    trace.subscribe(seen.append)
    trace.record_plain("e", ("n", "ids"), (1, (4, 5)))
    assert [(e.kind, e.data) for e in seen] == [("e", {"n": 1, "ids": [4, 5]})]
    assert [e.kind for e in trace] == ["before", "e"]


# -- Durable Objects --------------------------------------------------------------------------------
OBJECTS = '''
import asyncio
from workers import DurableObject, Response, WorkerEntrypoint

class Box(DurableObject):
    async def fetch(self, request):
        if request.url.endswith("/dict"):
            return {"not": "a response"}
        if request.url.endswith("/slow"):
            n = (await self.ctx.storage.get("n") or 0) + 1
            await asyncio.sleep(0.1)
            await self.ctx.storage.put("n", n)
            return Response(str(n))
        return Response("ok")

class Plain(DurableObject):
    def fetch(self, request):  # not async: its Response is the event's result
        return Response("plain")

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("front")
'''


@pytest.fixture
def objects(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": toml({"BOX": "Box", "PLAIN": "Plain"}), "src/entry.py": OBJECTS})


def _fetch(rt: Runtime, binding: str, name: str, path: str) -> Any:
    async def go() -> Any:
        return await rt.env[binding].getByName(name).fetch(f"https://do{path}")
    return rt.call(go())


def test_an_object_fetch_that_returns_no_response_fails_its_event(objects: Runtime) -> None:
    with pytest.raises(JsException, match="TypeError: the Durable Object's fetch.. returned dict; it must "
                                          "return a Response"):
        _fetch(objects, "BOX", "b", "/dict")
    end = objects.trace.last("do_event", phase="end", method="https://do/dict")
    assert end.outcome == "error"
    assert objects.trace.last("do_turn", method="https://do/dict").final is True
    assert _fetch(objects, "BOX", "b", "/ok").status == 200  # the object serves on


def test_a_synchronous_object_fetch_returns_its_response(objects: Runtime) -> None:
    assert _fetch(objects, "PLAIN", "p", "/").status == 200
    assert objects.trace.last("do_event", phase="end", cls="Plain").outcome == "ok"


def test_interleaved_lists_the_events_that_ran_turns_since_the_last_one(objects: Runtime) -> None:
    async def burst() -> None:
        stub = objects.env.BOX.getByName("i")

        async def later() -> None:  # delivered after the first three ran their first turns
            await asyncio.sleep(0.05)
            await asyncio.gather(*(stub.fetch("https://do/slow") for _ in range(3)))

        await asyncio.gather(*(stub.fetch("https://do/slow") for _ in range(3)), later())

    objects.call(burst())
    events = {e.event for e in objects.trace.events("do_event", phase="start", object="i")}
    # Brute force from the trace: for each turn, the other events with a turn after this
    # event's previous turn (or, for its first, after it was delivered).
    order = [e for e in objects.trace.events(("do_event", "do_turn"), object="i")
             if e.kind == "do_turn" or e.phase == "start"]
    last_seen: dict[int, int] = {}
    checked = 0
    for i, e in enumerate(order):
        if e.kind == "do_event":
            last_seen[e.event] = i
            continue
        expected = sorted({o.event for o in order[last_seen[e.event] + 1:i]
                           if o.kind == "do_turn" and o.event != e.event})
        assert e.interleaved == expected, (e.event, e.turn)
        last_seen[e.event] = i
        checked += 1
    assert checked == 2 * len(events) == 12
    assert any(e.interleaved for e in order if e.kind == "do_turn")


def test_a_write_with_no_instance_in_memory_still_commits(load_project: Callable[..., Runtime],
                                                          tmp_path: Any) -> None:
    rt = load_project({"wrangler.toml": toml({"BOX": "Box", "PLAIN": "Plain"}), "src/entry.py": OBJECTS},
                      persist_to=tmp_path)
    assert _fetch(rt, "BOX", "w", "/ok").status == 200
    assert DURABLE_OBJECTS.of(rt).evict("BOX", "w")
    host, hex_id = DURABLE_OBJECTS.of(rt).resolve("BOX", "w")
    storage = host.storage(hex_id)

    async def platform_write() -> None:  # the platform's own write, with no instance in memory
        storage.put_now("k", 41)
        await asyncio.sleep(0)  # the write commits when the running step yields

    rt.call(platform_write())
    path = next(tmp_path.rglob(f"{hex_id}.sqlite"))
    with sqlite3.connect(path) as db:  # another connection sees only committed data
        assert db.execute("SELECT count(*) FROM _cf_KV WHERE key = 'k'").fetchone() == (1,)
    assert rt.storage("BOX", "w").kv() == {"k": 41}
