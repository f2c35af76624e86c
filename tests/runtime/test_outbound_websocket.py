"""Outbound WebSockets from Worker code: ``js.WebSocket.new(url)`` in a Durable Object and the
``fetch(url, headers={"Upgrade": "websocket"})`` form, through the emulator's network only.

tests/projects/ws_client/ holds the consumer (a Durable Object keeping a connection, as in
Cloudflare's websocket-stream-consumer example) and the feed it connects to (a Worker that
accepts WebSockets), both written for these tests.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from course.runtime import load

PROJECTS = Path(__file__).resolve().parents[1] / "projects" / "ws_client"


@pytest.fixture
def rt(tmp_path, runtimes):
    for name in ("consumer", "feed"):
        shutil.copytree(PROJECTS / name, tmp_path / name)
    runtime = load(tmp_path / "consumer", virtual_time=True)
    runtimes.append(runtime)
    runtime.add_project(tmp_path / "feed")
    return runtime


def status(rt):
    rt.run_until_idle()
    return rt.client().get("/status").json()


def test_a_durable_object_connects_to_a_registered_upstream_and_gets_its_frames(rt):
    rt.network.upstream("wss://feed.example.com", "ws-feed")
    assert rt.client().get("/connect").text == "connecting"
    report = status(rt)
    kinds = [e[0] for e in report["events"]]
    assert kinds == ["send while connecting", "open", "message", "message", "message"]
    assert report["events"][0][1] == "InvalidStateError"
    messages = [e[1] for e in report["events"] if e[0] == "message"]
    assert messages == ["welcome", "tick 1", "tick 2"]
    ticks = [e[2] for e in report["events"] if e[0] == "message"]
    assert ticks[2] - ticks[1] == pytest.approx(1.0)  # the upstream's virtual second
    assert report["readyState"] == 1 and report["protocol"] == "feed.v1"

    rt.client().get("/send?text=ping")
    assert [e[1] for e in status(rt)["events"] if e[0] == "message"][-1] == "echo: ping"
    rt.client().get("/send?text=close+please")
    report = status(rt)
    assert report["events"][-1] == ["close", 1000, "as asked", True]
    assert report["readyState"] == 3


def test_an_unregistered_host_is_refused_offline_with_fetchs_error(rt):
    rt.client().get("/connect")
    report = status(rt)
    error, close = report["events"][-2:]
    assert error[0] == "error" and "offline" in error[1] and "rt.network.upstream('https://feed.example.com'" in error[1]
    assert close == ["close", 1006, "", False]
    assert report["readyState"] == 3


def test_an_upstream_that_does_not_switch_protocols_fails_the_connection(rt):
    rt.network.upstream("wss://feed.example.com", lambda request: __import__("workers").Response("no", status=403))
    rt.client().get("/connect")
    error, close = status(rt)["events"][-2:]
    assert error[0] == "error" and "403 instead of 101" in error[1]
    assert close[:2] == ["close", 1006]


def test_fetch_with_upgrade_returns_the_web_socket_to_accept(rt):
    rt.network.upstream("https://feed.example.com", "ws-feed")
    assert rt.client().get("/fetch-upgrade").json() == {"status": 101, "messages": ["welcome", "echo: hi"]}


def test_the_upgrade_is_a_traced_subrequest(rt):
    rt.network.upstream("wss://feed.example.com", "ws-feed")
    rt.client().get("/connect")
    rt.run_until_idle()
    sub = rt.trace.events("subrequest")
    assert [e.data["url"] for e in sub] == ["https://feed.example.com/subscribe"]
    assert sub[0].data["upstream"] == "https://feed.example.com"
    assert rt.trace.events("ws_accept", mode="outbound")


def test_a_worker_talks_to_a_hibernating_durable_object_upstream(rt):
    rt.network.upstream("wss://feed.example.com", "ws-feed")
    assert rt.client().get("/room-chat").json() == {
        "heard": ["room has 1", "room heard hello (#1)", "room heard again (#2)"]}


def test_a_partition_to_the_upstream_fails_the_connection_like_fetch(rt):
    rt.network.upstream("wss://feed.example.com", "ws-feed")
    rt.faults.partition("*", "feed.example.com")
    rt.client().get("/connect")
    error, close = status(rt)["events"][-2:]
    assert error[0] == "error" and "Network connection lost." in error[1]
    assert close == ["close", 1006, "", False]


def test_an_online_runtime_reaches_a_real_websocket_server(load_project):
    """``course serve`` (online, real time) dials real WebSockets; here a local server stands in
    for the internet."""
    import threading

    from websockets.sync.server import serve

    def echo(conn):
        conn.send(f"hello {conn.request.path} via {conn.subprotocol}")
        for message in conn:
            if message == "bye":
                conn.close(4000, "asked to")
                return
            conn.send(message[::-1] if isinstance(message, str) else bytes(reversed(message)))

    with serve(echo, "127.0.0.1", 0, subprotocols=["chat"]) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.socket.getsockname()[1]
        rt = load_project({"wrangler.toml": 'name = "dialer"\nmain = "src/entry.py"\n', "src/entry.py": f"""
            import asyncio
            import js
            from workers import Response, WorkerEntrypoint

            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    ws = js.WebSocket.new("ws://127.0.0.1:{port}/feed", "chat")
                    seen, closed = [], asyncio.get_running_loop().create_future()
                    def on_open(event):
                        ws.send("abc")
                        ws.send(b"xyz")
                        ws.send("bye")
                    ws.addEventListener("open", on_open)
                    ws.addEventListener("message", lambda e: seen.append(e.data if isinstance(e.data, str) else e.data.to_bytes().decode()))
                    ws.addEventListener("close", lambda e: closed.set_result([e.code, e.reason, e.wasClean]))
                    close = await asyncio.wait_for(closed, 10)
                    return Response.json({{"seen": seen, "close": close, "protocol": ws.protocol}})
        """}, virtual_time=False)
        rt.network.online = True
        assert rt.client().get("/").json() == {"seen": ["hello /feed via chat", "cba", "zyx"],
                                                "close": [4000, "asked to", True], "protocol": "chat"}
