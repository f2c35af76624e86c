"""WebSockets: WebSocketPair, accept/send/close and events, in-process clients, `course serve`.

Docs: https://developers.cloudflare.com/workers/runtime-apis/websockets/ and
https://developers.cloudflare.com/durable-objects/best-practices/websockets/
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from typing import Any, Callable

import pytest

from course.runtime import Runtime, load
from course.runtime.edges.sessions import WebSocketClosed, WebSocketUpgradeError

from _projects import CHAT, durable_objects_toml

WRANGLER = durable_objects_toml({"ECHO": "EchoRoom"}, name="ws", compat="2026-10-01")

ENTRY = '''
import json
from urllib.parse import urlparse
from js import WebSocketPair, Object
from pyodide.ffi import create_proxy
from workers import DurableObject, Response, WorkerEntrypoint

CLOSES = []

class EchoRoom(DurableObject):
    """The standard API inside a Durable Object (the docs' WebSocketServer example)."""
    async def fetch(self, request):
        client, server = WebSocketPair.new().object_values()
        server.accept()
        def on_message(event):
            server.send(f"room: {event.data}")
        server.addEventListener("message", create_proxy(on_message))
        def on_close(event):
            CLOSES.append([event.code, event.reason, event.wasClean])
            server.close(event.code, "Durable Object is closing WebSocket")
        server.addEventListener("close", create_proxy(on_close))
        return Response(None, status=101, web_socket=client)

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path == "/pair":
            pair = WebSocketPair()
            client, server = pair.object_values()
            values = Object.values(pair)
            checks = {
                "index": pair[0] is client and pair[1] is server,
                "values": values[0] is client and values[1] is server,
                "unpack": list(pair) == [client, server],
                "states": [WebSocketPair.new()[0].READY_STATE_OPEN, client.CLOSED, client.readyState],
            }
            try:
                server.send("too early")
                checks["send_before_accept"] = "no error"
            except Exception as exc:
                checks["send_before_accept"] = f"{type(exc).__name__}: {exc}"
            return Response.json(checks)
        if path == "/echo":
            client, server = WebSocketPair.new().object_values()
            server.accept()
            async def on_message(event):
                data = event.data
                if data == "close me":
                    server.close(4001, "asked to")
                elif isinstance(data, str):
                    server.send(data.upper())
                else:
                    server.send(bytes(reversed(bytes(data))))
            server.addEventListener("message", create_proxy(on_message))
            return Response(None, status=101, web_socket=client)
        if path == "/closes":
            return Response.json(CLOSES)
        if path == "/room":
            return await self.env.ECHO.getByName("r").fetch(request)
        if path == "/bad-close":
            client, server = WebSocketPair.new().object_values()
            server.accept()
            try:
                server.close(1005, "")
            except Exception as exc:
                return Response(f"{type(exc).__name__}: {exc}")
            return Response("no error")
        return Response("Not found", status=404)
'''


@pytest.fixture
def ws_rt(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": WRANGLER, "src/entry.py": ENTRY})


def test_websocket_pair_gives_client_and_server_ends_and_needs_accept_before_send(ws_rt: Runtime) -> None:
    """Ends 0 (client) and 1 (server), Object.values order, readyState constants; send() before
    accept() throws. https://developers.cloudflare.com/workers/runtime-apis/websockets/"""
    checks = ws_rt.client().get("/pair").json()
    assert checks["index"] and checks["values"] and checks["unpack"]
    assert checks["states"] == [1, 3, 1]
    assert checks["send_before_accept"].startswith("JsException: TypeError: You must call one of accept()")


def test_accepted_socket_delivers_messages_to_async_listeners_text_and_binary(ws_rt: Runtime) -> None:
    """accept() + addEventListener("message", create_proxy(fn)); text stays str, binary is bytes.
    https://developers.cloudflare.com/workers/runtime-apis/websockets/#accept"""
    with ws_rt.websocket("/echo") as ws:
        ws.send("hello")
        assert ws.receive() == "HELLO"
        ws.send(b"\x01\x02\x03")
        assert ws.receive() == b"\x03\x02\x01"


def test_server_close_reaches_client_with_code_and_reason(ws_rt: Runtime) -> None:
    """close(code, reason) from the server ends the client's session with that code.
    https://developers.cloudflare.com/workers/runtime-apis/websockets/#close"""
    ws = ws_rt.websocket("/echo")
    ws.send("close me")
    with pytest.raises(WebSocketClosed) as info:
        ws.receive()
    assert (info.value.code, info.value.reason) == (4001, "asked to")
    assert ws.closed and ws.close_code == 4001
    with pytest.raises(WebSocketClosed):
        ws.receive()


def test_client_close_fires_close_listener_with_code_reason_and_was_clean(ws_rt: Runtime) -> None:
    """A close frame from the client is a "close" event (code, reason, wasClean) on the server.
    https://developers.cloudflare.com/durable-objects/best-practices/websockets/#websocket-standard-api"""
    ws = ws_rt.websocket("/room")
    ws.send("x")
    assert ws.receive() == "room: x"
    ws.close(4000, "bye")
    ws_rt.run_until_idle()
    assert ws_rt.client().get("/closes").json() == [[4000, "bye", True]]


def test_invalid_close_code_is_rejected(ws_rt: Runtime) -> None:
    """1005 may not be sent in a close frame (RFC 6455 7.4.1), as in workerd.
    https://developers.cloudflare.com/workers/runtime-apis/websockets/#close"""
    text = ws_rt.client().get("/bad-close").text
    assert text.startswith("JsException: InvalidAccessError: Invalid WebSocket close code 1005")


def test_upgrade_answered_without_101_raises_upgrade_error(ws_rt: Runtime) -> None:
    """The upgrade is a fetch; a non-101 answer is not a WebSocket.
    https://developers.cloudflare.com/workers/runtime-apis/websockets/"""
    with pytest.raises(WebSocketUpgradeError) as info:
        ws_rt.websocket("/nowhere")
    assert info.value.status == 404


def test_standard_socket_pins_durable_object_in_memory_until_closed(ws_rt: Runtime) -> None:
    """Standard-API sockets keep the object in memory; after the close it is evicted when idle.
    https://developers.cloudflare.com/durable-objects/examples/websocket-server/"""
    ws = ws_rt.websocket("/room")
    ws.send("a")
    assert ws.receive() == "room: a"
    ws_rt.clock.advance(600)
    assert ws_rt.trace.count("do_evict") == 0
    ws.close()
    ws_rt.run_until_idle()
    ws_rt.clock.advance(71)
    assert [e.reason for e in ws_rt.trace.events("do_evict")] == ["idle"]


def test_async_session_works_from_another_event_loop(ws_rt: Runtime) -> None:
    """rt.async_websocket() from any loop (a notebook's). https://developers.cloudflare.com/workers/runtime-apis/websockets/"""
    async def talk() -> list[Any]:
        ws = await ws_rt.async_websocket("/echo")
        await ws.send("one")
        first = await ws.receive()
        await ws.close()
        return [first, ws.closed or ws.socket.readyState]

    assert asyncio.run(talk())[0] == "ONE"


# -- the chat room (tests/projects/chat) ------------------------------------------------------
def test_chat_room_broadcasts_to_three_in_process_clients(runtimes: list[Runtime]) -> None:
    """A hibernating chat room broadcasts each message to every socket of getWebSockets().
    https://developers.cloudflare.com/durable-objects/examples/websocket-hibernation-server/"""
    rt = load(CHAT, virtual_time=True)
    runtimes.append(rt)
    clients = [rt.websocket(f"/chat?room=lobby&user={u}") for u in ("ann", "bob", "cy")]
    clients[1].send("hello all")
    for ws in clients:
        assert json.loads(ws.receive()) == {"from": "bob", "text": "hello all", "online": 3}
    other = rt.websocket("/chat?room=elsewhere&user=dee")
    other.send("anyone?")
    assert json.loads(other.receive())["online"] == 1
    with pytest.raises(TimeoutError):
        clients[0].receive(timeout=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chat_room_over_course_serve_broadcasts_to_three_websocket_clients() -> None:
    """The same project over real HTTP (`course serve`, uvicorn) with the `websockets` client.
    https://developers.cloudflare.com/durable-objects/best-practices/websockets/"""
    from websockets.sync.client import connect

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from course.cli import main; sys.exit(main())",
                             "serve", str(CHAT), "--port", str(port), "--quiet", "--no-persist"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"course serve did not start: {proc.stdout.read().decode()}")  # type: ignore[union-attr]
                time.sleep(0.1)
        url = f"ws://127.0.0.1:{port}/chat?room=serve"
        with contextlib.ExitStack() as stack:
            clients = [stack.enter_context(connect(f"{url}&user={u}", open_timeout=10)) for u in ("ann", "bob", "cy")]
            clients[2].send("over the wire")
            for ws in clients:
                assert json.loads(ws.recv(timeout=10)) == {"from": "cy", "text": "over the wire", "online": 3}
        from websockets.exceptions import InvalidStatus

        with pytest.raises(InvalidStatus) as info:
            connect(f"ws://127.0.0.1:{port}/nowhere", open_timeout=10)
        assert info.value.response.status_code == 404
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
