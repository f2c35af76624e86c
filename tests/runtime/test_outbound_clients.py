"""HTTP client libraries inside a Worker take the runtime's one outbound path.

``requests``, ``urllib3``, ``httpx`` (sync and async) and ``aiohttp`` called from Worker code
reach registered upstreams, feel injected latency on the runtime's clock, time out on that clock,
and fail offline with the URL and how to register an upstream, exactly like ``fetch``. The
emulator's own use of the same libraries (outside Worker code) is untouched.
"""
from __future__ import annotations

from textwrap import dedent

import httpx

from course.cli.serve import load_runtime
from course.workers import Response

CLIENTS = """
import json
import aiohttp, httpx, requests, urllib3
from workers import WorkerEntrypoint, Response

URL = "https://api.example.com/items?x=1"

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        which = request.url.rsplit("/", 1)[1]
        if which == "requests":
            r = requests.post(URL, json={"via": "requests"}, headers={"x-k": "1"})
            return Response.json({"status": r.status_code, "body": r.json(), "h": r.headers["x-up"]})
        if which == "urllib3":
            r = urllib3.PoolManager().request("POST", URL, body=b"raw", headers={"x-k": "1"})
            return Response.json({"status": r.status, "body": json.loads(r.data), "h": r.headers["x-up"]})
        if which == "httpx-sync":
            with httpx.Client() as client:
                r = client.post(URL, json={"via": "httpx-sync"}, headers={"x-k": "1"})
            return Response.json({"status": r.status_code, "body": r.json(), "h": r.headers["x-up"]})
        if which == "httpx-async":
            async with httpx.AsyncClient() as client:
                r = await client.post(URL, json={"via": "httpx-async"}, headers={"x-k": "1"})
            return Response.json({"status": r.status_code, "body": r.json(), "h": r.headers["x-up"]})
        if which == "aiohttp":
            async with aiohttp.ClientSession() as session:
                async with session.post(URL, json={"via": "aiohttp"}, headers={"x-k": "1"}) as r:
                    return Response.json({"status": r.status, "body": await r.json(), "h": r.headers["x-up"]})
        if which == "httpx-timeout":
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    await client.get("https://slow.example.com/")
            except httpx.TimeoutException as exc:
                return Response("timeout: " + type(exc).__name__)
            return Response("no timeout")
        if which == "offline":
            try:
                requests.get("https://nowhere.example.org/path")
            except requests.ConnectionError as exc:
                return Response(str(exc), status=502)
        return Response("?", status=404)
"""


def load(load_project, **kwargs):
    return load_project({"wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n', "src/entry.py": dedent(CLIENTS)},
                        **kwargs)


def echo_upstream(seen):
    async def upstream(request):
        seen.append((request.method, request.url, request.headers.get("x-k"), await request.text()))
        return Response.json({"echo": seen[-1][3]}, status=201, headers={"x-up": "yes"})
    return upstream


def test_every_client_library_reaches_a_registered_upstream(load_project):
    rt = load(load_project)
    seen: list = []
    rt.network.upstream("https://api.example.com", echo_upstream(seen))
    client = rt.client()
    for which in ("requests", "urllib3", "httpx-sync", "httpx-async", "aiohttp"):
        r = client.get(f"/{which}")
        assert r.status_code == 200, (which, r.text)
        body = r.json()
        assert body["status"] == 201 and body["h"] == "yes", which
        assert seen[-1][:3] == ("POST", "https://api.example.com/items?x=1", "1"), which
    assert [s[3] for s in seen] == ['{"via": "requests"}', "raw", '{"via":"httpx-sync"}', '{"via":"httpx-async"}',
                                    '{"via": "aiohttp"}']
    # each went through the network: one subrequest in the trace per library
    assert len(rt.trace.events("subrequest")) == 5


def test_added_latency_delays_a_sync_client_on_the_virtual_clock(load_project):
    rt = load(load_project)
    rt.network.upstream("https://api.example.com", echo_upstream([]))
    rt.faults.latency(2500)
    before = rt.clock.now()
    assert rt.client().get("/requests").status_code == 200
    assert rt.clock.now() - before >= 2.5  # the blocking call waited on the runtime's clock


def test_a_partition_fails_a_sync_client_like_fetch(load_project):
    rt = load(load_project)
    rt.network.upstream("https://api.example.com", echo_upstream([]))
    rt.faults.partition("api.example.com")
    r = rt.client().get("/requests")
    assert r.status_code == 500
    assert "ConnectionError" in r.text


def test_a_library_timeout_fires_on_the_virtual_clock(load_project):
    rt = load(load_project)

    async def slow(request):
        import asyncio
        await asyncio.sleep(30)
        return Response("late")

    rt.network.upstream("https://slow.example.com", slow)
    before = rt.clock.now()
    assert rt.client().get("/httpx-timeout").text == "timeout: ReadTimeout"
    assert round(rt.clock.now() - before) == 10  # the client's 10 s, on the runtime's clock


def test_offline_runtime_refuses_naming_the_url_and_the_way_out(load_project):
    rt = load(load_project)
    r = rt.client().get("/offline")
    assert r.status_code == 502
    assert "https://nowhere.example.org/path" in r.text
    assert "rt.network.upstream('https://nowhere.example.org', handler)" in r.text


def test_the_emulators_own_httpx_is_not_rerouted(load_project):
    load(load_project)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="direct"))
    with httpx.Client(transport=transport) as client:
        assert client.get("https://api.example.com/").text == "direct"


def test_course_serve_is_online_by_default_and_offline_on_request(make_project, runtimes):
    folder = make_project({"wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n', "src/entry.py": dedent(CLIENTS)})
    online = load_runtime(folder)
    runtimes.append(online)
    offline = load_runtime(folder, offline=True)
    runtimes.append(offline)
    assert online.network.online is True
    assert offline.network.online is False
