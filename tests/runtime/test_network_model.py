"""The network model: regions, the latency matrix, placement of Durable Objects, KV propagation.

Docs: https://developers.cloudflare.com/durable-objects/reference/data-location/
"""
from __future__ import annotations

from typing import Callable

import httpx
import pytest

from course.runtime import Runtime
from course.runtime.kv import KVEntry, KVService
from course.runtime.regions import ONE_WAY_LATENCY_MS, REGIONS, one_way_ms
from course.runtime.transport import WorkerTransport

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
    store = net.service("kv", KVService).store("demo")
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
