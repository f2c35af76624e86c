"""The network model: regions, the latency matrix, placement of Durable Objects, KV propagation.

Docs: https://developers.cloudflare.com/durable-objects/reference/data-location/
"""
from __future__ import annotations

from typing import Callable

import httpx
import pytest

from course.runtime import Runtime
from course.runtime.bindings.kv import KV, KVEntry
from course.runtime.net.regions import ONE_WAY_LATENCY_MS, REGIONS, one_way_ms
from course.runtime.edges.transport import WorkerTransport
from course.runtime.edges.sessions import WebSocketClosed

from _projects import durable_objects_toml

WRANGLER = durable_objects_toml({"ROOMS": "Room"}, name="net", compat="2026-10-01")

ENTRY = '''
from urllib.parse import parse_qs, urlparse
from workers import DurableObject, Response, WorkerEntrypoint
from course.workers.context import current_region

class Room(DurableObject):
    async def where(self):
        return str(current_region.get())

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        options = {"locationHint": q["hint"]} if q.get("hint") else None
        stub = self.env.ROOMS.getByName(q.get("room", "a"), options)
        try:
            return Response(await stub.where())
        except Exception as exc:
            return Response(f"{type(exc).__name__}: {exc}", status=503)
'''


@pytest.fixture
def net(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": WRANGLER, "src/entry.py": ENTRY})


#: WebSockets to Durable Objects: "Chat" uses the hibernation API, "Feed" the standard API; both
#: echo, and both record their close/error events (read back at /events).
WS_WRANGLER = durable_objects_toml({"CHAT": "Chat", "FEED": "Feed"}, name="netws", compat="2026-10-01")

WS_ENTRY = '''
from urllib.parse import parse_qs, urlparse
from js import WebSocketPair
from pyodide.ffi import create_proxy
from workers import DurableObject, Response, WorkerEntrypoint

EVENTS = []

class Chat(DurableObject):
    async def fetch(self, request):
        client, server = WebSocketPair.new().object_values()
        self.ctx.acceptWebSocket(server)
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        ws.send(f"echo {message}")

    async def webSocketClose(self, ws, code, reason, was_clean):
        EVENTS.append(["chat close", code, reason, was_clean])

    async def webSocketError(self, ws, error):
        EVENTS.append(["chat error", str(error)])

class Feed(DurableObject):
    async def fetch(self, request):
        client, server = WebSocketPair.new().object_values()
        server.accept()
        server.addEventListener("message", create_proxy(lambda event: server.send(f"feed {event.data}")))
        def on_close(event):
            EVENTS.append(["feed close", event.code, event.reason, event.wasClean])
        server.addEventListener("close", create_proxy(on_close))
        server.addEventListener("error", create_proxy(lambda event: EVENTS.append(["feed error", event.message])))
        return Response(None, status=101, web_socket=client)

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        if url.path == "/events":
            return Response.json(EVENTS)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        options = {"locationHint": q["hint"]} if q.get("hint") else None
        namespace = self.env.FEED if url.path == "/feed" else self.env.CHAT
        return await namespace.getByName(q.get("room", "a"), options).fetch(request)
'''


@pytest.fixture
def netws(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": WS_WRANGLER, "src/entry.py": WS_ENTRY})


def test_latency_matrix_covers_every_pair_of_location_hints_symmetrically() -> None:
    """Nine regions (the locationHint values), one latency per unordered pair, 0 within one.
    https://developers.cloudflare.com/durable-objects/reference/data-location/#provide-a-location-hint"""
    assert len(REGIONS) == 9
    pairs = {frozenset((a, b)) for a in REGIONS for b in REGIONS if a != b}
    assert set(ONE_WAY_LATENCY_MS) == pairs
    assert all(0 < ms < 200 for ms in ONE_WAY_LATENCY_MS.values())
    assert one_way_ms("apac", "weur") == one_way_ms("weur", "apac") == 85
    assert one_way_ms("weur", "weur") == 0 and one_way_ms(None, "weur") == 0


def test_call_from_apac_to_object_hinted_in_weur_takes_the_round_trip_on_the_clock(net: Runtime) -> None:
    """locationHint places the object; the call crosses apac->weur and back (virtual time).
    https://developers.cloudflare.com/durable-objects/reference/data-location/"""
    r = net.client(region="apac").get("/?room=eu&hint=weur")
    assert r.text == "weur"  # the object's code runs in its region
    assert net.clock.now() == pytest.approx(2 * 0.085)
    placed = net.trace.last("do_placed")
    assert (placed.object, placed.region, placed.by) == ("eu", "weur", "locationHint")
    legs = [(e.src_region, e.dst_region, e.ms, e.leg) for e in net.trace.events("net")]
    assert legs == [("apac", "weur", 85.0, "request"), ("weur", "apac", 85.0, "response")]


def test_object_without_hint_is_placed_by_its_first_caller_and_stays_there(net: Runtime) -> None:
    """"Durable Objects are created in the location closest to the first request", fixed thereafter.
    https://developers.cloudflare.com/durable-objects/reference/data-location/"""
    assert net.client(region="enam").get("/?room=b").text == "enam"
    assert net.clock.now() == 0
    start = net.clock.now()
    assert net.client(region="apac").get("/?room=b&hint=oc").text == "enam"  # a later hint changes nothing
    assert net.clock.now() - start == pytest.approx(2 * 0.110)
    assert [(e.object, e.region, e.by) for e in net.trace.events("do_placed")] == [("b", "enam", "first_caller")]
    assert net.regions.placements() == {"ROOMS:b": "enam"}


def test_default_single_region_adds_no_latency_and_no_trace_events(net: Runtime) -> None:
    """With no region named, the model is off: instant calls, the trace as before."""
    assert net.client().get("/?room=c").text == "None"
    assert net.clock.now() == 0
    assert net.trace.count("net") == 0 and net.trace.count("do_placed") == 0


def test_region_comes_from_header_or_cf_colo(net: Runtime) -> None:
    """A request names its region with x-course-region or request.cf.colo (IATA code)."""
    assert net.client().get("/?room=d&hint=me", headers={"x-course-region": "oc"}).text == "me"
    assert net.trace.events("net")[0].src_region == "oc"
    with httpx.Client(transport=WorkerTransport(net, cf={"colo": "SIN"}), base_url="http://localhost") as c:
        assert c.get("/?room=e&hint=weur").text == "weur"
    assert net.trace.last("net").dst_region == "apac"


def test_unknown_region_and_hint_are_rejected_clearly(net: Runtime) -> None:
    """Only the documented location hints exist. https://developers.cloudflare.com/durable-objects/reference/data-location/"""
    with pytest.raises(ValueError, match="unknown region 'mars'"):
        net.client(region="mars")
    r = net.client().get("/?room=f&hint=mars")
    assert r.status_code == 500 and "Invalid locationHint 'mars'" in r.text


def test_kv_propagation_follows_the_latency_model_when_configured(net: Runtime) -> None:
    """KV keeps its documented 60 s by default; rt.regions.use_for_kv() makes it base + latency.
    https://developers.cloudflare.com/kv/concepts/how-kv-works/"""
    store = KV.of(net).store("demo")
    store.write("k", KVEntry(b"v", None, None), "weur")
    net.clock.advance(1.0)
    assert store.get("k", region="apac") is None  # default: up to 60 s
    net.regions.use_for_kv(base_seconds=1.0)
    store.write("k2", KVEntry(b"v2", None, None), "weur")
    net.clock.advance(1.08)
    assert store.get("k2", region="apac") is None and store.get("k2", region="eeur") == "v2"
    net.clock.advance(0.01)
    assert store.get("k2", region="apac") == "v2"


def test_latency_by_region_chart_shows_observed_legs(net: Runtime) -> None:
    """course.viz.latency_by_region draws the mean ms per (caller, callee) region from "net" events."""
    from course.viz import latency_by_region

    net.client(region="apac").get("/?room=g&hint=weur")
    net.client(region="wnam").get("/?room=g")
    fig = latency_by_region(net.trace)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(texts) == ["70\nn=1", "70\nn=1", "85\nn=1", "85\nn=1"]  # both directions of each
    empty = latency_by_region([])
    assert "no network legs" in empty.axes[0].texts[0].get_text()


# -- WebSockets through the network model ---------------------------------------------------------
def _ws_legs(rt: Runtime) -> list[tuple[str, str, str | None, str | None, float, str]]:
    return [(e.src, e.dst, e.src_region, e.dst_region, e.ms, e.leg) for e in rt.trace.events("net")
            if e.leg.startswith("ws:")]


def test_websocket_messages_take_the_one_way_latency_in_each_direction(netws: Runtime) -> None:
    """A client in apac talking to an object placed in weur: each message crosses the network
    one way (85 ms) on the runtime clock, and each leg is a "net" trace event.
    https://developers.cloudflare.com/durable-objects/reference/data-location/ and
    https://developers.cloudflare.com/durable-objects/best-practices/websockets/"""
    ws = netws.websocket("/chat?room=eu&hint=weur", region="apac")
    t0 = netws.clock.now()
    assert t0 == pytest.approx(2 * 0.085)  # the upgrade request went there and back
    ws.send("hi")
    assert ws.receive() == "echo hi"
    assert netws.clock.now() - t0 == pytest.approx(2 * 0.085)
    started = netws.trace.last("do_event", phase="start", method="webSocketMessage")
    assert started.t == pytest.approx(t0 + 0.085) and started.caller == "client"
    assert _ws_legs(netws) == [("client", "CHAT:eu", "apac", "weur", 85.0, "ws:message"),
                               ("CHAT:eu", "client", "weur", "apac", 85.0, "ws:message")]


def test_websocket_close_frame_crosses_the_network_too(netws: Runtime) -> None:
    """The client's Close frame reaches the object one way later; webSocketClose runs then.
    https://developers.cloudflare.com/durable-objects/api/websockets/#websocketclose"""
    ws = netws.websocket("/chat?room=eu&hint=weur", region="apac")
    t0 = netws.clock.now()
    ws.close(4000, "bye")
    netws.run_until_idle()  # waits for frames still on the wire
    closed = netws.trace.last("do_event", phase="start", method="webSocketClose")
    assert closed.t == pytest.approx(t0 + 0.085)
    assert ("client", "CHAT:eu", "apac", "weur", 85.0, "ws:close") in _ws_legs(netws)
    assert netws.client().get("/events").json() == [["chat close", 4000, "bye", True]]


def test_websocket_messages_stay_in_order_under_latency_jitter(netws: Runtime) -> None:
    """A WebSocket runs over one TCP connection: seeded jitter delays messages but never
    reorders them."""
    netws.faults.latency(0, jitter_ms=300, between=("client", "CHAT:*"))
    ws = netws.websocket("/chat?room=j&hint=enam", region="wnam")
    for i in range(8):
        ws.send(str(i))
    assert [ws.receive() for _ in range(8)] == [f"echo {i}" for i in range(8)]
    extra = [e.extra_ms for e in netws.trace.events("net") if e.leg == "ws:message"]
    assert len(extra) == 16 and len(set(extra)) == 16  # every leg had its own jitter


def test_partition_breaks_a_hibernatable_websocket_with_1006_at_both_ends(netws: Runtime) -> None:
    """A message across a partition fails the connection as a lost connection does on Cloudflare:
    the client sees close code 1006 (not clean), the object's webSocketClose(ws, 1006, "", False)
    runs, and webSocketError does not ("Called by the system when any non-disconnection related
    errors occur"). https://developers.cloudflare.com/durable-objects/api/websockets/#websocketerror"""
    ws = netws.websocket("/chat?room=eu&hint=weur", region="apac")
    ws.send("before")
    assert ws.receive() == "echo before"
    netws.faults.partition("apac", "weur")
    ws.send("lost")  # send() itself does not fail: the loss is found asynchronously
    with pytest.raises(WebSocketClosed) as info:
        ws.receive()
    assert (info.value.code, info.value.reason, info.value.clean) == (1006, "", False)
    netws.run_until_idle()
    hit = netws.trace.last("fault", phase="hit")
    assert (hit.fault, hit.src, hit.target, hit.leg) == ("partition", "client", "CHAT:eu", "ws:message")
    assert [e.cause for e in netws.trace.events("ws_disconnect")] == ["partition", "partition"]
    assert netws.trace.count("do_event", phase="start", method="webSocketMessage") == 1  # "lost" never arrived
    netws.faults.heal()
    assert netws.client().get("/events").json() == [["chat close", 1006, "", False]]
    again = netws.websocket("/chat?room=eu", region="apac")  # after heal() a new connection works
    again.send("after")
    assert again.receive() == "echo after"


def test_partition_between_client_and_object_names_breaks_a_standard_websocket(netws: Runtime) -> None:
    """Partitions also name actors ("client", "BINDING:name") and apply in the default single
    region; a standard-API socket gets a close event with code 1006 and wasClean false.
    https://developers.cloudflare.com/workers/runtime-apis/websockets/"""
    ws = netws.websocket("/feed?room=f")
    ws.send("1")
    assert ws.receive() == "feed 1"
    netws.faults.partition("client", "FEED:f")
    ws.send("2")
    with pytest.raises(WebSocketClosed) as info:
        ws.receive()
    assert info.value.code == 1006
    assert netws.clock.now() == 0  # one region: no latency, only the fault
    netws.faults.heal()
    assert netws.client().get("/events").json() == [["feed close", 1006, "", False]]


def test_default_single_region_websocket_adds_no_latency_and_no_trace_events(netws: Runtime) -> None:
    """With no region named and no faults, WebSocket traffic is instant and the trace as before."""
    ws = netws.websocket("/chat?room=d")
    ws.send("x")
    assert ws.receive() == "echo x"
    ws.close()
    netws.run_until_idle()
    assert netws.clock.now() == 0
    assert netws.trace.count("net") == 0 and netws.trace.count("fault") == 0


def test_latency_by_region_chart_includes_websocket_legs(netws: Runtime) -> None:
    """course.viz.latency_by_region reads WebSocket legs like any other "net" event."""
    from course.viz import latency_by_region

    ws = netws.websocket("/chat?room=eu&hint=weur", region="apac")
    ws.send("hi")
    ws.receive()
    texts = sorted(t.get_text() for t in latency_by_region(netws.trace).axes[0].texts)
    assert texts == ["85\nn=2", "85\nn=2"]  # the upgrade's request/response plus one message each way
