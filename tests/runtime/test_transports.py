"""In-process transports: rt.client() and rt.async_client() reach the Worker with no sockets,
from plain code, from inside a running event loop, and from a real Jupyter kernel."""
from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from course.runtime import Runtime, load

HELLO = Path(__file__).resolve().parents[1] / "projects" / "hello"


class NoNewSockets(socket.socket):
    """socket.socket that refuses to open a new socket (wrapping an existing fd is allowed:
    asyncio builds its self-pipe that way)."""

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):  # noqa: A002
        if fileno is None:
            raise AssertionError("a socket was opened")
        super().__init__(family, type, proto, fileno)


@pytest.fixture
def rt(runtimes) -> Runtime:
    runtime = load(HELLO, virtual_time=True)
    runtimes.append(runtime)
    return runtime


@pytest.fixture
def no_sockets(monkeypatch):
    monkeypatch.setattr(socket, "socket", NoNewSockets)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("create_connection called"))


def test_the_socket_guard_catches_a_real_connection(no_sockets):
    with pytest.raises(AssertionError, match="a socket was opened"):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_sync_client_reaches_the_worker_without_sockets(rt, no_sockets):
    with rt.client() as client:
        r = client.post("/echo", json={"n": 1})
    assert r.status_code == 200 and r.json()["received"] == {"n": 1}


def test_async_client_reaches_the_worker_without_sockets(rt, no_sockets):
    async def main():
        async with rt.async_client() as client:
            return await client.get("/")

    r = asyncio.run(main())
    assert (r.status_code, r.text) == (200, "Hello from a Python Worker!")


def test_async_client_serves_concurrent_requests_from_another_loop(rt):
    async def main():
        async with rt.async_client() as client:
            return await asyncio.gather(*(client.post("/echo", json={"i": i}) for i in range(20)))

    responses = asyncio.run(main())
    assert [r.json()["received"]["i"] for r in responses] == list(range(20))
    assert rt.trace.count("request") == 20


def test_sync_client_works_inside_a_running_event_loop(rt):
    """What a Jupyter cell does: a blocking call while the kernel's loop runs on this thread."""
    async def cell():
        return rt.client().get("/").text

    assert asyncio.run(asyncio.wait_for(cell(), timeout=30)) == "Hello from a Python Worker!"


def test_client_base_url_and_request_url_match_wrangler_dev(rt):
    r = rt.client().get("/?q=1")
    assert str(r.request.url) == "http://localhost:8787/?q=1"
    assert rt.trace.last("request").url == "http://localhost:8787/?q=1"


def test_client_can_target_a_named_worker(runtimes, make_project):
    rt = Runtime(virtual_time=True)
    runtimes.append(rt)
    rt.add_project(HELLO)
    other = make_project({
        "wrangler.toml": 'name = "other"\nmain = "src/entry.py"\n',
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response("other")
        """,
    })
    rt.add_project(other)
    assert rt.client(worker="other").get("/").text == "other"
    assert rt.client().get("/").text.startswith("Hello")


def test_blocking_call_from_worker_code_is_refused_with_advice(load_project):
    rt = load_project({
        "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n',
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    from course.workers.context import current_runtime
                    current_runtime.get().client().get("/")
                    return Response("unreachable")
        """,
    })
    r = rt.client().get("/")
    assert r.status_code == 500 and "await it instead" in r.text


@pytest.mark.slow
def test_clients_work_inside_a_real_jupyter_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"from course.runtime import load\nrt = load({str(HELLO)!r}, virtual_time=True)"),
        nbformat.v4.new_code_cell("r = rt.client().get('/')\nprint(r.status_code, r.text)"),
        nbformat.v4.new_code_cell("async with rt.async_client() as c:\n"
                                  "    r = await c.post('/echo', json={'from': 'kernel'})\n"
                                  "print(r.json()['received'])"),
        nbformat.v4.new_code_cell("rt.close()"),
    ]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=60,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = ["".join(o.get("text", "") for o in cell.outputs) for cell in nb.cells]
    assert outputs[1] == "200 Hello from a Python Worker!\n"
    assert outputs[2] == "{'from': 'kernel'}\n"


def test_clients_of_a_closed_runtime_say_it_is_closed(runtimes):
    rt = load(HELLO, virtual_time=True)
    sync_client, async_client = rt.client(), rt.async_client()
    rt.close()
    with pytest.raises(RuntimeError, match="this runtime is closed"):
        sync_client.get("/")

    async def main():
        async with async_client:
            await async_client.get("/")

    with pytest.raises(RuntimeError, match="this runtime is closed"):
        asyncio.run(main())


def test_course_serve_sends_the_workers_own_reason_phrase() -> None:
    """Response(statusText=...) reaches HTTP clients (workerd does; ASGI has no field for it)."""
    from uvicorn.protocols.http import h11_impl

    from course.runtime.edges.asgi import REASON_PHRASE, send_reason_phrases

    assert send_reason_phrases()
    assert h11_impl.STATUS_PHRASES[299] == b""
    token = REASON_PHRASE.set("Custom Reason")
    try:
        assert h11_impl.STATUS_PHRASES[299] == b"Custom Reason"
    finally:
        REASON_PHRASE.reset(token)
    assert h11_impl.STATUS_PHRASES[404] == b"Not Found"


# -- what course serve answers before the Worker does, in-process too ------------------------------
SCHEDULED = {
    "wrangler.toml": 'name = "sched"\nmain = "src/entry.py"\n',
    "src/entry.py": """
        from workers import Response, WorkerEntrypoint

        RUNS = []

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return Response.json({"fetch": request.url, "runs": RUNS})

            async def scheduled(self, controller, env, ctx):
                RUNS.append(controller.cron)
    """,
}


def test_in_process_client_answers_the_cdn_cgi_trigger_route_not_the_worker(load_project):
    """/cdn-cgi/handler/scheduled fires the scheduled handler, as under course serve (edges/scheduled.py)."""
    rt = load_project(SCHEDULED)
    client = rt.client()
    r = client.get("/cdn-cgi/handler/scheduled", params={"cron": "*/3 * * * *"})
    assert (r.status_code, r.text) == (200, "ok")
    assert client.get("/").json()["runs"] == ["*/3 * * * *"]


def test_in_process_test_scheduled_route_only_when_asked(rt):
    assert rt.client().get("/__scheduled").status_code == 404  # the Worker's own fetch answers
    with rt.client(test_scheduled=True) as client:
        r = client.get("/__scheduled", params={"cron": "* * * * *"})
    assert (r.status_code, r.text) == (200, "Ran scheduled event")


def test_in_process_body_over_the_limit_gets_413_without_reaching_the_worker(rt):
    from course.runtime.edges.limits import MAX_REQUEST_BODY_BYTES

    chunk = b"x" * (1 << 20)
    sent = []

    def upload():
        for _ in range(MAX_REQUEST_BODY_BYTES // len(chunk) + 50):
            sent.append(1)
            yield chunk

    with rt.client() as client:
        r = client.post("/echo", content=upload())  # chunked: no Content-Length, a running count
        assert r.status_code == 413 and "Payload Too Large" in r.text
        assert len(sent) == MAX_REQUEST_BODY_BYTES // len(chunk) + 1  # stopped reading at the limit
        r = client.post("/echo", content=b"{}", headers={"content-length": str(MAX_REQUEST_BODY_BYTES + 1)})
        assert r.status_code == 413
    assert rt.trace.count("request") == 0


def test_async_in_process_body_over_a_limit_gets_413(rt):
    import httpx

    from course.runtime.edges.transport import AsyncWorkerTransport

    async def upload():
        for _ in range(5):
            yield b"12345"

    async def main():
        transport = AsyncWorkerTransport(rt, max_body_bytes=20)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.post("/echo", content=upload()), await client.post("/echo", json={"n": 1})

    too_big, fine = asyncio.run(main())
    assert too_big.status_code == 413 and fine.json()["received"] == {"n": 1}


def test_a_client_can_say_where_its_requests_come_from_with_cf(runtimes):
    """``rt.client(cf={"colo": "SIN"})``: every request's ``request.cf`` carries it, and the
    runtime places the caller in that colo's region, as Cloudflare does."""
    rt = Runtime(virtual_time=True)
    runtimes.append(rt)

    from course.workers import Response, WorkerEntrypoint
    from course.workers.context import current_region

    class Where(WorkerEntrypoint):
        async def fetch(self, request):
            return Response.json({"colo": request.cf.get("colo"), "region": current_region.get()})

    rt.add_worker(Where, name="where")
    assert rt.client(cf={"colo": "SIN"}).get("/").json() == {"colo": "SIN", "region": "apac"}

    async def from_async():
        async with rt.async_client(cf={"colo": "SIN"}) as client:
            return (await client.get("/")).json()

    assert asyncio.run(from_async()) == {"colo": "SIN", "region": "apac"}
