"""What Pyodide gives Python Worker code, and how workerd calls and loads a Worker.

Each test is a small project written the way real Python Workers are: imports of ``pyodide.ffi``
inside handlers, ``run_sync``, ``js.globalThis``, ``Uint8Array`` views, bodies as
``ReadableStream`` (R2 included), ``js.Response.new(dict)``, ``Response.json`` as the SDK writes
it; the handler forms workerd accepts for ``queue``/``scheduled`` (and the ones it refuses); env
at import time; randomness refused at import time.
"""
from __future__ import annotations

import json
from textwrap import dedent

import pytest

from course.runtime import WorkerLoadError


def worker(entry: str, toml: str = "") -> dict[str, str]:
    return {"wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n' + dedent(toml), "src/entry.py": dedent(entry)}


def test_pyodide_ffi_imports_inside_a_handler_and_pyodide_version(load_project):
    rt = load_project(worker("""
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                from pyodide.ffi import to_js, run_sync
                import pyodide
                return Response(pyodide.__version__ + " " + type(to_js({"a": 1})).__name__)
    """))
    r = rt.client().get("/")
    assert r.status_code == 200, r.text
    assert r.text == "0.28.2 JsObject"


def test_run_sync_waits_on_the_loop_while_time_passes(load_project):
    rt = load_project(worker("""
        import asyncio, time
        from pyodide.ffi import run_sync
        from workers import WorkerEntrypoint, Response

        def slow_total():
            async def later():
                await asyncio.sleep(30)
                return 42
            return run_sync(later())        # synchronous code waiting on an awaitable

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                start = time.time()
                value = slow_total()
                return Response.json({"value": value, "waited": round(time.time() - start)})
    """))
    assert rt.client().get("/").json() == {"value": 42, "waited": 30}


def test_js_global_this_uint8array_buffer_and_slice(load_project):
    rt = load_project(worker("""
        import js
        from js import Uint8Array
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                data = await request.bytes()
                view = Uint8Array.new(data)
                part = view.slice(1, -1)
                return Response.json({"same_fetch": js.globalThis.fetch is js.fetch,
                                      "slice": part.to_py().decode(), "len": view.buffer.byteLength,
                                      "neg": data.slice(-2).to_bytes().decode()})
    """))
    assert rt.client().post("/", content=b"abcde").json() == {"same_fetch": True, "slice": "bcd", "len": 5,
                                                              "neg": "de"}


def test_request_body_is_a_readable_stream_read_with_a_reader(load_project):
    rt = load_project(worker("""
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                reader = request.body.getReader()
                chunks = []
                while True:
                    result = await reader.read()
                    if result.done:
                        break
                    chunks.append(result.value.to_bytes())
                return Response.json({"text": b"".join(chunks).decode(), "used": request.bodyUsed,
                                      "locked": request.body.locked})
    """))
    assert rt.client().post("/", content=b"hello stream").json() == {"text": "hello stream", "used": True,
                                                                     "locked": True}


def test_a_second_reader_on_a_locked_stream_is_a_type_error(load_project):
    rt = load_project(worker("""
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                request.body.getReader()
                try:
                    request.body.getReader()
                except Exception as exc:
                    return Response(type(exc).__name__ + ": " + str(exc))
                return Response("no error")
    """))
    assert rt.client().post("/", content=b"x").text == "JsException: TypeError: ReadableStream is currently locked to a reader."


def test_r2_object_body_streams_with_async_for(load_project):
    rt = load_project(worker("""
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                await self.env.BUCKET.put("k", "stored bytes")
                obj = await self.env.BUCKET.get("k")
                parts = [chunk.to_bytes() async for chunk in obj.body]
                return Response(b"".join(parts))
    """, """
        [[r2_buckets]]
        binding = "BUCKET"
    """))
    assert rt.client().get("/").text == "stored bytes"


def test_js_response_new_stringifies_a_dict_and_response_json_matches_the_sdk(load_project):
    rt = load_project(worker("""
        import js
        from pyodide.ffi import to_js
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                kind = request.url.rsplit("/", 1)[1]
                if kind == "js-new":
                    return js.Response.new({"a": 1})
                if kind == "js-json":
                    return js.Response.json({"é": [1, 2]})
                if kind == "sdk-proxy":
                    return Response.json(to_js({"é": 1}))
                return Response.json({"é": [1, 2]})
    """))
    client = rt.client()
    assert client.get("/js-new").text == "{'a': 1}"
    assert client.get("/js-json").text == '{"é":[1,2]}'
    assert client.get("/sdk-proxy").text == '{"é":1}'
    sdk = client.get("/sdk")
    assert sdk.text == json.dumps({"é": [1, 2]}) == '{"\\u00e9": [1, 2]}'
    assert sdk.headers["content-type"] == "application/json"


QUEUE_TOML = """
    [[queues.producers]]
    binding = "JOBS"
    queue = "jobs"
    [[queues.consumers]]
    queue = "jobs"
    max_batch_timeout = 1
"""


def test_queue_handler_gets_batch_env_ctx_with_env_and_ctx_none(load_project):
    rt = load_project(worker("""
        from workers import WorkerEntrypoint, Response
        SEEN = []
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                if request.method == "POST":
                    await self.env.JOBS.send({"n": 1})
                return Response.json(SEEN)
            async def queue(self, batch, env, ctx):
                SEEN.append({"n": batch.messages[0].body.n, "env": env, "ctx": ctx,
                             "self_env": self.env.JOBS is not None})
                batch.ackAll()
    """, QUEUE_TOML))
    client = rt.client()
    client.post("/")
    rt.clock.advance(2)
    assert client.get("/").json() == [{"n": 1, "env": None, "ctx": None, "self_env": True}]


def test_queue_handler_without_env_and_ctx_fails_as_on_cloudflare_with_the_fix(load_project):
    rt = load_project(worker("""
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                await self.env.JOBS.send("x")
                return Response("sent")
            async def queue(self, batch):
                batch.ackAll()
    """, QUEUE_TOML))
    rt.client().post("/")
    rt.clock.advance(2)
    errors = "\n".join(line.message for line in rt.logs if line.level == "error")
    assert "Default.queue(batch) cannot be called as workerd calls it: queue(batch, env, ctx)" in errors
    assert "async def queue(self, batch, env, ctx)" in errors


def test_module_level_on_scheduled_is_called_relaxed(load_project):
    rt = load_project(worker("""
        from workers import Response
        RUNS = []
        async def on_fetch(request, env):
            return Response.json(RUNS)
        async def on_scheduled(controller):
            RUNS.append(controller.cron)
    """, """
        [triggers]
        crons = ["*/5 * * * *"]
    """))
    rt.clock.advance(300)
    assert rt.client().get("/").json() == ["*/5 * * * *"]


def test_env_is_readable_at_import_time_vars_and_bindings(load_project):
    rt = load_project(worker("""
        from workers import WorkerEntrypoint, Response, env
        GREETING = env.GREETING + "!"
        STORE = env.CACHE                  # a binding, bound right after the import
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                await STORE.put("k", GREETING)
                return Response(await STORE.get("k"))
    """, """
        [vars]
        GREETING = "hello"
        [[kv_namespaces]]
        binding = "CACHE"
    """))
    assert rt.client().get("/").text == "hello!"


def test_random_at_import_time_is_refused_as_workerd_does(load_project):
    with pytest.raises(WorkerLoadError, match=r"Cannot use random\.random\(\) outside of request context"):
        load_project(worker("""
            import random
            TOKEN = random.random()
            from workers import WorkerEntrypoint, Response
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response("x")
        """))


def test_random_inside_a_handler_is_allowed(load_project):
    rt = load_project(worker("""
        import random
        from random import randint
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return Response(str(0 <= random.random() < 1 and 1 <= randint(1, 6) <= 6))
    """))
    assert rt.client().get("/").text == "True"
