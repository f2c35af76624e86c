"""Worker projects in the style of Cloudflare's published Python examples run unchanged.

Each folder under tests/projects/cf_examples/ is a complete project (wrangler config + src/)
written the way Cloudflare's Python Workers docs and the cloudflare/python-workers-examples
repository write Workers: ``from workers import ...``, ``from js import ...``,
``from pyodide.ffi import to_js``, camelCase binding methods, handlers on ``Default``. The tests
drive them through ``rt.client()`` on the virtual clock and pin what Cloudflare documents.
Docs: https://developers.cloudflare.com/workers/languages/python/
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from course.runtime import Runtime, load
from course.runtime.bindings.cron import trigger
from course.workers import Response

EXAMPLES = Path(__file__).resolve().parents[1] / "projects" / "cf_examples"


@pytest.fixture
def example(tmp_path, runtimes):
    """``example("kv")`` -> a runtime with that project loaded (a copy, so state stays in tmp)."""

    def _load(name: str, **kwargs: object) -> Runtime:
        folder = tmp_path / name
        shutil.copytree(EXAMPLES / name, folder)
        kwargs.setdefault("virtual_time", True)
        rt = load(folder, **kwargs)  # type: ignore[arg-type]
        runtimes.append(rt)
        return rt

    return _load


def test_every_example_project_loads_as_is(example):
    """Every project folder loads with its own wrangler config, no edits."""
    names = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
    assert len(names) >= 12
    for name in names:
        rt = example(name)
        assert rt.main is not None


def test_hello_world_returns_a_text_response(example):
    """https://developers.cloudflare.com/workers/languages/python/ (Hello world)."""
    r = example("hello").client().get("/")
    assert r.status_code == 200
    assert r.text == "Hello from a Python Worker!"
    assert r.headers["content-type"] == "text/plain;charset=UTF-8"


def test_json_request_and_response(example):
    """``await request.json()`` and ``Response.json(data, status=, headers=)``."""
    client = example("json_api").client()
    r = client.post("/echo", json={"b": 1, "a": [1, 2]})
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-handled-by"] == "python"
    assert r.json() == {"received": {"b": 1, "a": [1, 2]}, "keys": ["a", "b"], "length": 2}
    assert client.get("/text-json", headers={"user-agent": "pytest"}).json() == {"ok": True, "agent": "pytest"}
    bad = client.request("GET", "/bad")
    assert bad.status_code == 400 and bad.text.startswith("bad json")
    assert client.get("/nope").status_code == 404


def test_fetch_subrequests_reach_a_registered_upstream(example):
    """``from workers import fetch``: GET, POST with method/headers/body keywords, a Request."""
    rt = example("subrequest")
    seen = []

    async def weather(request):
        seen.append((str(request.method), request.url, request.headers.get("x-api-key")))
        if request.url.endswith("/reports"):
            assert json.loads(await request.text()) == {"city": "Lisbon"}
            return Response.json({"id": 7}, status=201, headers={"x-upstream": "weather"})
        if request.url.endswith("/health"):
            return Response(None, status=204)
        return Response.json({"sky": "clear"})

    rt.network.upstream("https://api.weather.example", weather)
    assert rt.client().get("/").json() == {
        "sky": "clear", "created_status": 201, "created_id": 7, "upstream_header": "weather",
        "health": 204, "ok": True,
    }
    assert seen == [
        ("GET", "https://api.weather.example/today?city=Lisbon", None),
        ("POST", "https://api.weather.example/reports", "k1"),
        ("HEAD", "https://api.weather.example/health", None),
    ]


def test_env_vars_and_dev_vars_secrets(example):
    """[vars] (strings, numbers, objects) and .dev.vars secrets are on ``self.env``."""
    r = example("env_vars").client().get("/", headers={"authorization": "Bearer s3cr3t-from-dev-vars"})
    assert r.json() == {"greeting": "Olá", "max_items": 3, "search": True, "beta": False, "authorized": True}


def test_js_globals_build_responses_and_parse_urls(example):
    """``from js import ...``: Response.new, Headers.new, Object.fromEntries, JSON, URL, Request.new."""
    rt = example("js_globals")
    client = rt.client()
    r = client.get("/js-response")
    assert (r.status_code, r.text, r.headers["x-made-with"]) == (202, "built in JavaScript", "js.Headers")
    r = client.get("/from-entries?city=Porto")
    assert r.json() == {"city": "Porto", "n": 2}
    assert rt.logs[-1].message == 'options are {"city":"Porto","n":2}'
    assert client.get("/parse").text == "6 a value"
    assert client.get("/request").text == "POST origin.example payload"
    assert client.get("/now").text == str(int(rt.clock.wall() * 1000))


def test_ffi_to_js_options_to_py_and_js_exceptions(example):
    """``to_js(dict_converter=Object.fromEntries)`` options, ``.to_py()``, ``JsProxy``, ``JsException``."""
    data = example("ffi").client().get("/").json()
    assert data["value"] == "42" and data["source"] == "ffi"
    assert data["py_type"] == "dict" and data["is_proxy"] is True and data["py_is_proxy"] is False
    assert data["listed"] == ["answer"]
    assert data["doubled"] == 42
    assert "Expiration TTL must be at least 60" in data["ttl_error"]


def test_durable_object_rpc_and_storage(example):
    """A Durable Object's methods are called over RPC on a stub; storage persists per object."""
    client = example("durable_object").client()
    assert client.get("/alice/inc").text == "2"
    assert client.get("/alice/inc").text == "4"
    assert client.get("/bob/inc").text == "2"
    assert client.get("/alice/by-name").text == "5"
    assert client.get("/alice/note/first").text == "first"
    assert client.get("/alice/note/second").text == "first,second"
    assert client.get("/alice/sql").text == "1"
    assert client.get("/alice/sql").text == "2"
    assert client.post("/carol").text == "object carol saw POST"


def test_kv_put_get_list_with_keys_as_attribute(example):
    """KV put/get/list; ``result.keys`` is the list of keys, as on Cloudflare (not dict.keys)."""
    client = example("kv").client()
    assert client.get("/put?key=a&value=alpha").status_code == 201
    assert client.get("/put?key=b&value=beta").status_code == 201
    assert client.get("/get?key=a").text == "alpha"
    assert client.get("/get?key=zzz").status_code == 404
    assert client.get("/json?key=b").json() == {"len": 4, "same": True}
    assert client.get("/list").json() == {
        "names": ["meta:a", "meta:b"], "same": True, "complete": True, "metadata": ["meta", "meta"],
    }
    assert client.get("/page").json() == ["a", "b", False]
    client.get("/delete?key=a")
    assert client.get("/get?key=a").status_code == 404


def test_d1_prepare_bind_run_all_first_raw_batch(example):
    """D1 with migrations: prepare().bind().run()/all()/first()/raw(columnNames=True)/batch()."""
    client = example("d1").client()
    r = client.post("/add", json={"quote": "Readability counts.", "author": "Tim Peters"})
    assert r.status_code == 201 and r.json() == {"id": 2, "changes": 1, "success": True}
    assert client.get("/all").json()["first_author"] == "Tim Peters"
    assert [row["quote"] for row in client.get("/all").json()["rows"]] == [
        "Simple is better than complex.", "Readability counts."]
    assert client.get("/first?author=Tim%20Peters").json() == {"quote": "Simple is better than complex.", "count": 2}
    assert client.get("/first?author=nobody").status_code == 404
    assert client.get("/raw").json() == [["author"], ["Tim Peters"], ["Tim Peters"]]
    assert client.get("/batch").json() == [1, 1]


def test_r2_put_get_head_list_delete(example):
    """R2 put with httpMetadata/customMetadata keywords, get + writeHttpMetadata, list, delete."""
    client = example("r2").client()
    r = client.put("/docs/readme.md", content="# Hello", headers={"content-type": "text/markdown"})
    assert r.status_code == 201 and r.text.startswith("Put docs/readme.md (7 bytes)")
    r = client.get("/docs/readme.md")
    assert r.text == "# Hello"
    assert r.headers["content-type"] == "text/markdown"
    assert r.headers["x-uploader"] == "python"
    assert r.headers["etag"].startswith('"')
    assert client.get("/").json() == {"keys": ["docs/readme.md"], "truncated": False}
    assert client.head("/docs/readme.md").status_code == 200
    assert client.delete("/docs/readme.md").text == "Deleted!"
    assert client.get("/docs/readme.md").status_code == 404
    assert client.post("/x").status_code == 405


def test_queue_producer_and_consumer(example):
    """send/sendBatch, then ``queue(self, batch, env, ctx)`` receives them after the batch timeout."""
    rt = example("queues")
    client = rt.client()
    assert client.post("/", json={"task": "resize"}).status_code == 202
    assert client.get("/").json() == []
    rt.clock.advance(3)  # max_batch_timeout = 2 s
    assert len(client.get("/").json()) == 4
    assert any(line.message == "got a batch of 4 from tasks" for line in rt.logs)


def test_cron_scheduled_handler_runs_on_the_clock(example):
    """``scheduled(self, controller, env, ctx)`` runs every 5 minutes; ``print`` goes to the logs."""
    rt = example("cron")
    rt.clock.advance(15 * 60)
    assert rt.client().get("/").text == "runs: 3"
    printed = [line for line in rt.logs if line.message.startswith("cron ")]
    assert [line.message for line in printed] == ["cron */5 * * * * fired"] * 3
    assert printed[0].worker == "cron-report"
    trigger(rt)
    assert rt.client().get("/").text == "runs: 4"


def test_workers_ai_run_messages_and_responses_api(example):
    """``env.AI.run(model, {"messages": ...})`` -> ``.response``; ``{"instructions", "input"}`` -> ``.output``."""
    client = example("workers_ai").client()
    chat = client.get("/chat").json()
    assert isinstance(chat["answer"], str) and chat["answer"] and chat["same"] is True
    assert client.get("/responses").json() == {"has_output": True}


def test_websocket_upgrade_in_a_worker_and_in_a_durable_object(example):
    """``WebSocketPair.new().object_values()``, ``accept``/``addEventListener``, and hibernation."""
    rt = example("websocket")
    with rt.websocket("/echo") as ws:
        ws.send("hi")
        assert ws.receive() == "echo: hi"
    with rt.websocket("/room/lobby") as a:
        assert json.loads(a.receive()) == {"type": "welcome", "peers": 1}
        with rt.websocket("/room/lobby") as b:
            assert json.loads(b.receive()) == {"type": "welcome", "peers": 2}
            b.send("hello room")
            assert json.loads(a.receive()) == {"type": "message", "text": "hello room"}
            assert json.loads(b.receive()) == {"type": "message", "text": "hello room"}
    assert rt.client().get("/room/lobby").status_code == 426


def test_service_binding_rpc_and_fetch(example):
    """Service bindings: RPC to Default and a named entrypoint, fetch, errors raised at the caller."""
    rt = example("service_gateway")
    shutil.copytree(EXAMPLES / "service_backend", Path(rt.main.config.root).parent / "service_backend")
    rt.add_project(Path(rt.main.config.root).parent / "service_backend")
    client = rt.client()
    assert client.get("/sum").text == "sum=5"
    assert client.get("/profile").json() == {"name": "ada", "roles": ["admin", "dev"]}
    assert client.get("/invoice").text == "invoice #42"
    assert client.get("/forward").text == "backend got from gateway"
    r = client.get("/error")
    assert r.status_code == 502 and "quota exceeded" in r.text


def test_routing_without_a_framework(example):
    """A stdlib router in a sibling module: path params, query strings, 405 with Allow, redirects."""
    client = example("routing").client(follow_redirects=False)
    r = client.post("/todos", json={"title": "write tests"})
    assert r.status_code == 201 and r.headers["location"] == "/todos/1"
    client.post("/todos", json={"title": "ship"})
    assert [t["title"] for t in client.get("/todos").json()] == ["write tests", "ship"]
    assert client.get("/todos?done=true").json() == []
    assert client.get("/todos/2").json()["title"] == "ship"
    assert client.get("/todos/9").status_code == 404
    r = client.delete("/todos")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    r = client.get("/old-todos")
    assert r.status_code == 301 and r.headers["location"] == "https://example.com/todos"


def test_sdk_form_data_and_blobs(example):
    """``request.form_data()`` (multipart and url-encoded), ``FormData`` and ``Blob`` bodies."""
    client = example("sdk_helpers").client()
    r = client.post("/form", data={"name": "ada", "tag": ["x", "y"]}, files={"file": ("notes.txt", b"hi there")})
    assert r.json() == {"name": "ada", "tags": ["x", "y"], "file": "notes.txt", "content": "hi there"}
    made = client.get("/make-form")
    assert made.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'filename="hello.txt"' in made.content and b"hello" in made.content
    blob = client.get("/blob")
    assert blob.text == "abcdef" and blob.headers["content-type"] == "text/plain"


def test_sdk_env_import_from_javascript_and_patch_env(example):
    """``import_from_javascript("cloudflare:workers").env`` is the running Worker's env; ``patch_env``."""
    assert example("sdk_helpers").client().get("/env").text == "eu us"


def test_sdk_python_to_rpc_round_trip_and_refusals(example):
    """``python_to_rpc`` / ``python_from_rpc`` keep datetimes and lists; tuples cannot be sent."""
    data = example("sdk_helpers").client().get("/rpc").json()
    assert data == {"year": 2026, "items": [1, 2], "refused": "<class 'tuple'> cannot be sent over RPC."}


def test_sdk_module_level_wait_until_and_env(example):
    """``from workers import wait_until, env``: background work finishes after the response."""
    rt = example("sdk_helpers")
    assert rt.client().get("/wait").status_code == 202
    rt.run_until_idle()
    from course.runtime.bindings.kv import kv_store

    assert kv_store(rt, "AUDIT").get("background") == "seen"


def test_sdk_response_from_json_default_status(example):
    """``Response.from_json(data, status=404)``."""
    r = example("sdk_helpers").client().get("/missing")
    assert r.status_code == 404 and r.json() == {"error": "not found"}


def test_legacy_on_fetch_handler_with_decorator(example):
    """The older module-level ``@handler async def on_fetch(request, env, ctx)`` style."""
    rt = example("legacy_handler")
    assert rt.client().get("/hi").text == "Hello from legacy!"
    assert rt.logs[-1].message == "GET http://localhost:8787/hi"
