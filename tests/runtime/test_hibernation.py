"""The Durable Object WebSocket Hibernation API: handlers, tags, attachments, auto-response,
hibernation across eviction.

Docs: https://developers.cloudflare.com/durable-objects/api/state/ and
https://developers.cloudflare.com/durable-objects/best-practices/websockets/
"""
from __future__ import annotations

import json
from typing import Callable

import pytest

from course.runtime import Runtime, load
from course.runtime.edges.sessions import WebSocketClosed
from course.runtime.objects.hibernation import HIBERNATION_IDLE_SECONDS

from _projects import CHAT, durable_objects_toml

WRANGLER = durable_objects_toml({"ROOM": "Room"}, name="hib", compat="2026-10-01")

ENTRY = '''
import asyncio
import json
from urllib.parse import parse_qs, urlparse
from js import WebSocketPair
from workers import DurableObject, Response, WorkerEntrypoint
from course.workers.websocket import WebSocketRequestResponsePair

EVENTS = []

class Room(DurableObject):
    async def fetch(self, request):
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        client, server = WebSocketPair.new().object_values()
        tags = q["tags"].split(",") if q.get("tags") else None
        try:
            if q.get("timeout") is not None:
                value = q["timeout"]
                self.ctx.setHibernatableWebSocketEventTimeout(int(value) if value.isdigit() else value)
            self.ctx.acceptWebSocket(server, tags)
        except Exception as exc:
            return Response(f"{type(exc).__name__}: {exc}", status=400)
        if q.get("blob"):
            try:
                server.serializeAttachment({"blob": "x" * int(q["blob"])})
            except Exception as exc:
                return Response(f"{type(exc).__name__}: {exc}", status=400)
        if q.get("twice"):
            try:
                server.accept()
            except Exception as exc:
                return Response(f"{type(exc).__name__}: {exc}", status=400)
        if q.get("auto"):
            self.ctx.setWebSocketAutoResponse(WebSocketRequestResponsePair("ping", "pong"))
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        EVENTS.append(["message", message if isinstance(message, str) else len(message)])
        if message == "tags":
            ws.send(json.dumps(list(self.ctx.getTags(ws))))
        elif message.startswith("count:"):
            ws.send(str(len(self.ctx.getWebSockets(message[6:] or None))))
        elif message.startswith("sleep:"):
            await self.ctx.storage.put("before_sleep", message)
            await asyncio.sleep(float(message[6:]))
            await self.ctx.storage.put("after_sleep", message)
            ws.send("woke")
        elif message.startswith("timeout:"):
            self.ctx.setHibernatableWebSocketEventTimeout(int(message[8:]))
            ws.send(str(self.ctx.getHibernatableWebSocketEventTimeout()))
        elif message == "when":
            ts = self.ctx.getWebSocketAutoResponseTimestamp(ws)
            ws.send("none" if ts is None else ts.isoformat())
        else:
            ws.send(f"echo {message}")

    async def webSocketClose(self, ws, code, reason, was_clean):
        EVENTS.append(["close", code, reason, was_clean])

    async def webSocketError(self, ws, error):
        EVENTS.append(["error", str(error)[:40]])

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if urlparse(request.url).path == "/events":
            return Response.json(EVENTS)
        return await self.env.ROOM.getByName("r").fetch(request)
'''


@pytest.fixture
def hib(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": WRANGLER, "src/entry.py": ENTRY})


def test_messages_to_accepted_socket_run_webSocketMessage_as_object_events(hib: Runtime) -> None:
    """ctx.acceptWebSocket(ws): messages arrive as webSocketMessage events of the object.
    https://developers.cloudflare.com/durable-objects/api/state/#acceptwebsocket"""
    ws = hib.websocket("/ws")
    ws.send("hi")
    assert ws.receive() == "echo hi"
    events = hib.trace.events("do_event", phase="start", event_kind="websocket")
    assert [e.method for e in events] == ["webSocketMessage"]
    assert hib.trace.count("do_turn", method="webSocketMessage") >= 1


def test_get_websockets_filters_by_tag_and_get_tags_returns_a_sockets_tags(hib: Runtime) -> None:
    """getWebSockets(tag) and getTags(ws). https://developers.cloudflare.com/durable-objects/api/state/#getwebsockets"""
    a = hib.websocket("/ws?tags=red,blue")
    hib.websocket("/ws?tags=blue")
    hib.websocket("/ws")
    a.send("tags")
    assert json.loads(a.receive()) == ["red", "blue"]
    a.send("count:blue")
    assert a.receive() == "2"
    a.send("count:")
    assert a.receive() == "3"


def test_tag_limits_are_enforced(hib: Runtime) -> None:
    """At most 10 tags of at most 256 characters. https://developers.cloudflare.com/durable-objects/api/state/#acceptwebsocket"""
    r = hib.client().get("/ws", params={"tags": ",".join(f"t{i}" for i in range(11))}, headers={"upgrade": "websocket"})
    assert r.status_code == 400 and "at most 10 are allowed" in r.text
    r = hib.client().get("/ws", params={"tags": "x" * 257}, headers={"upgrade": "websocket"})
    assert r.status_code == 400 and "the limit is 256" in r.text


def test_accepting_a_socket_twice_is_an_error(hib: Runtime) -> None:
    """acceptWebSocket() replaces ws.accept(): not both. https://developers.cloudflare.com/durable-objects/api/state/#acceptwebsocket"""
    r = hib.client().get("/ws", params={"twice": "1"}, headers={"upgrade": "websocket"})
    assert r.status_code == 400 and "already been accepted" in r.text


def test_attachment_larger_than_limit_is_rejected(hib: Runtime) -> None:
    """serializeAttachment: "Maximum serialized size is 16,384 bytes".
    https://developers.cloudflare.com/durable-objects/best-practices/websockets/#websocketserializeattachment"""
    ok = hib.websocket("/ws?blob=16000")
    ok.send("x")
    assert ok.receive() == "echo x"
    r = hib.client().get("/ws", params={"blob": "17000"}, headers={"upgrade": "websocket"})
    assert r.status_code == 400 and "RangeError" in r.text and "16384" in r.text


def test_hibernated_chat_room_is_rebuilt_with_its_sockets_and_attachments(runtimes: list[Runtime]) -> None:
    """Idle with only hibernatable sockets, the object is evicted after 10 s; the next message
    runs the constructor again, and getWebSockets()/deserializeAttachment() still work.
    https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/"""
    rt = load(CHAT, virtual_time=True)
    runtimes.append(rt)
    ann, bob = rt.websocket("/chat?room=h&user=ann"), rt.websocket("/chat?room=h&user=bob")
    ann.send("before")
    assert json.loads(bob.receive())["from"] == "ann"
    ann.receive()
    assert rt.trace.count("do_construct") == 1
    rt.clock.advance(HIBERNATION_IDLE_SECONDS + 1)
    assert [e.reason for e in rt.trace.events("do_evict")] == ["hibernate"]
    assert rt.objects("CHAT_ROOM") == []
    bob.send("after")
    for ws in (ann, bob):
        assert json.loads(ws.receive()) == {"from": "bob", "text": "after", "online": 2}
    assert rt.trace.count("do_construct") == 2
    room = rt.objects("CHAT_ROOM")[0]
    assert room.name == "h"


def test_auto_response_answers_without_waking_the_object(hib: Runtime) -> None:
    """setWebSocketAutoResponse: a matching message is answered by the runtime, the hibernated
    object stays out of memory, and getWebSocketAutoResponseTimestamp records it.
    https://developers.cloudflare.com/durable-objects/api/state/#setwebsocketautoresponse"""
    ws = hib.websocket("/ws?auto=1")
    hib.clock.advance(HIBERNATION_IDLE_SECONDS + 1)
    constructed = hib.trace.count("do_construct")
    ws.send("ping")
    assert ws.receive() == "pong"
    assert hib.trace.count("do_construct") == constructed
    assert hib.trace.count("do_event", event_kind="websocket") == 0
    ws.send("when")
    assert ws.receive().startswith("2026-01-01T00:00:11")


def test_client_close_calls_webSocketClose_with_code_reason_and_was_clean(hib: Runtime) -> None:
    """webSocketClose(ws, code, reason, wasClean). https://developers.cloudflare.com/durable-objects/api/base/"""
    ws = hib.websocket("/ws")
    ws.close(4002, "done")
    hib.run_until_idle()
    assert hib.client().get("/events").json() == [["close", 4002, "done", True]]


def test_oversized_message_calls_webSocketError(hib: Runtime) -> None:
    """Received messages are limited to 32 MiB; a larger one is an error on the socket.
    https://developers.cloudflare.com/durable-objects/platform/limits/"""
    ws = hib.websocket("/ws")
    ws.send(b"\0" * (32 * 1024 * 1024 + 1))
    with pytest.raises(WebSocketClosed) as info:
        ws.receive()
    assert info.value.code == 1009
    hib.run_until_idle()
    assert hib.client().get("/events").json()[0][0] == "error"


def test_crash_disconnects_hibernatable_sockets(hib: Runtime) -> None:
    """A reset terminates the object's WebSockets (code 1006 for the client).
    https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/#shutdown-behavior"""
    ws = hib.websocket("/ws")
    hib.crash("ROOM", "r")
    with pytest.raises(WebSocketClosed) as info:
        ws.receive()
    assert info.value.code == 1006 and not info.value.clean


def test_event_past_the_hibernatable_event_timeout_is_cancelled_and_the_object_reset(hib: Runtime) -> None:
    """setHibernatableWebSocketEventTimeout(ms) "sets the maximum amount of time in milliseconds
    that a WebSocket event can run for"; past it the event is cancelled and the object reset
    (workerd: "Actor exceeded event execution time and was disconnected."), so its sockets drop
    with 1006 and the handler's later writes never happen.
    https://developers.cloudflare.com/durable-objects/api/state/#sethibernatablewebsocketeventtimeout"""
    ws = hib.websocket("/ws?timeout=1000")
    ws.send("sleep:5")
    with pytest.raises(WebSocketClosed) as info:
        ws.receive(timeout=30)
    assert info.value.code == 1006 and not info.value.clean
    assert hib.clock.now() == pytest.approx(1.0)  # the timeout, on the virtual clock, not the 5 s sleep
    crash = hib.trace.last("do_crash")
    assert crash.reason == "websocket_event_timeout"
    assert crash.error == "Error: Actor exceeded event execution time and was disconnected."
    end = hib.trace.last("do_event", phase="end", method="webSocketMessage")
    assert end.outcome == "reset"
    hib.clock.advance(10)
    assert hib.storage("ROOM", "r").kv() == {"before_sleep": "sleep:5"}  # it never woke up


def test_event_within_the_timeout_completes_and_zero_unsets_the_timeout(hib: Runtime) -> None:
    """An event shorter than the timeout runs to its end; "If no parameter or a parameter of 0
    is provided ... the timeout will be unset".
    https://developers.cloudflare.com/durable-objects/api/state/#sethibernatablewebsocketeventtimeout"""
    ws = hib.websocket("/ws?timeout=1000")
    ws.send("sleep:0.5")
    assert ws.receive() == "woke"
    ws.send("timeout:0")
    assert ws.receive() == "None"
    ws.send("sleep:5")
    assert ws.receive(timeout=30) == "woke"
    assert hib.trace.count("do_crash") == 0


def test_event_timeout_is_checked_against_the_documented_maximum(hib: Runtime) -> None:
    """"The maximum value of timeout is 604,800,000 ms (7 days)"; a non-number is a TypeError.
    https://developers.cloudflare.com/durable-objects/api/state/#sethibernatablewebsocketeventtimeout"""
    ok = hib.websocket("/ws?timeout=604800000")
    ok.send("x")
    assert ok.receive() == "echo x"
    r = hib.client().get("/ws", params={"timeout": "604800001"}, headers={"upgrade": "websocket"})
    assert r.status_code == 400 and "RangeError" in r.text and "604800000" in r.text
    r = hib.client().get("/ws", params={"timeout": "soon"}, headers={"upgrade": "websocket"})
    assert r.status_code == 400 and "TypeError" in r.text
