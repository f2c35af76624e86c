"""FastAPI, Flask and Django apps run as Python Workers through ``asgi`` and ``workers.wsgi``.

The projects in tests/projects/frameworks/ are written as Cloudflare's docs write them
(https://developers.cloudflare.com/workers/languages/python/packages/fastapi/): their
``pyproject.toml`` names the framework, which the course environment provides (so nothing is
downloaded), and the Worker hands each request to ``asgi.fetch(app, request, self.env)`` or
``workers.wsgi.fetch(app, request, self.env)``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from course.runtime import Runtime, load
from course.workers import Response

FRAMEWORKS = Path(__file__).resolve().parents[1] / "projects" / "frameworks"


@pytest.fixture
def app(tmp_path, runtimes):
    def _load(name: str) -> Runtime:
        folder = tmp_path / name
        shutil.copytree(FRAMEWORKS / name, folder)
        rt = load(folder, virtual_time=True)
        runtimes.append(rt)
        return rt

    return _load


def test_fastapi_routes_path_params_and_env_in_the_scope(app):
    client = app("fastapi_app").client()
    assert client.get("/").json() == {"message": "hello from FastAPI"}
    assert client.get("/items/42?q=x").json() == {"item_id": 42, "q": "x"}
    bad = client.get("/items/not-a-number")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "item_id"]
    assert client.get("/nope").status_code == 404


def test_fastapi_json_body_validation_and_a_binding(app):
    client = app("fastapi_app").client()
    r = client.post("/notes/a", json={"text": "hi", "tags": ["x"]})
    assert r.status_code == 201 and r.json() == {"saved": "a", "tags": ["x"]}
    assert client.get("/notes/a").json() == {"note": {"text": "hi", "tags": ["x"]}}
    assert client.post("/notes/b", json={"tags": "no-text"}).status_code == 422


def test_fastapi_sync_route_calls_an_upstream_with_requests(app):
    rt = app("fastapi_app")
    rt.network.upstream("https://weather.example.com", lambda request: Response.json({"sky": "clear"}))
    assert rt.client().get("/weather").json() == {"upstream": {"sky": "clear"}}


def test_fastapi_streaming_response_arrives_whole(app):
    r = app("fastapi_app").client().get("/stream")
    assert r.status_code == 200
    assert r.text == "chunk 0\nchunk 1\nchunk 2\n"
    assert r.headers["content-type"].startswith("text/plain")


def test_fastapi_websocket_route_through_asgi_websocket(app):
    rt = app("fastapi_app")
    ws = rt.websocket("/ws")
    ws.send("hi")
    assert ws.receive(timeout=5) == "echo: hi"
    ws.send("bye")
    assert ws.receive(timeout=5) == "echo: bye"
    ws.close()


def test_fastapi_lifespan_runs_around_each_request(make_project, runtimes):
    folder = make_project({
        "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n',
        "src/entry.py": """
from contextlib import asynccontextmanager
from fastapi import FastAPI, Request
from workers import WorkerEntrypoint
import asgi
EVENTS = []

@asynccontextmanager
async def lifespan(app):
    EVENTS.append("startup")
    yield {"db": "connected"}
    EVENTS.append("shutdown")

app = FastAPI(lifespan=lifespan)

@app.get("/")
async def root(request: Request):
    return {"events": list(EVENTS), "db": request.state.db}

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await asgi.fetch(app, request, self.env)
"""})
    rt = load(folder, virtual_time=True)
    runtimes.append(rt)
    assert rt.client().get("/").json() == {"events": ["startup"], "db": "connected"}
    assert rt.client().get("/").json() == {"events": ["startup", "shutdown", "startup"], "db": "connected"}


def test_flask_routes_bodies_headers_cookies_and_env(app):
    client = app("flask_app").client()
    assert client.get("/").text == "Hello from flask's Flask"
    r = client.post("/echo?q=1", json={"a": [1, 2]}, headers={"user-agent": "pytest"})
    assert r.json() == {"received": {"a": [1, 2]}, "path": "/echo", "q": "1", "agent": "pytest"}
    assert r.headers["x-framework"] == "flask"
    assert "seen=1" in r.headers["set-cookie"]
    form = client.post("/echo", data={"name": "ada"})
    assert form.json()["received"] == {"name": "ada"}


def test_flask_unicode_path_redirect_empty_and_generator_body(app):
    client = app("flask_app").client()
    assert client.get("/caf%C3%A9/z%C3%BC").json() == {"name": "zü"}
    moved = client.get("/old")
    assert moved.status_code == 301 and moved.headers["location"] == "/"
    empty = client.delete("/empty")
    assert empty.status_code == 204 and empty.content == b""
    assert client.get("/lines").text == "a\nb\n"
    assert client.get("/missing").status_code == 404


def test_django_project_views_and_query(app):
    client = app("django_app").client()
    home = client.get("/")
    assert home.status_code == 200 and home.text == "Hello from Django on a Worker"
    assert client.get("/greet/ada/?q=1").json() == {"hello": "ada", "method": "GET", "q": "1", "body": None}
    assert client.post("/greet/bob/", content=b"payload").json()["body"] == "payload"
    # CommonMiddleware's APPEND_SLASH redirect, as Django serves it anywhere
    slash = client.get("/greet/ada")
    assert slash.status_code == 301 and slash.headers["location"] == "/greet/ada/"
