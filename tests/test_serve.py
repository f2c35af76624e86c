"""`course serve DIR`: a Worker project over real HTTP (uvicorn), behaving like `wrangler dev`.

Each server starts on a free port (``--port 0``) and the test waits for its ready line, which is
printed only once the port accepts connections (as wrangler dev's ``Ready on http://...``).
"""
from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Callable

import httpx
import pytest

import course.cli.serve
from course.cli import main
from course.cli.serve import state_dir
from course.runtime.kernel.config import default_state_dir

ROOT = Path(__file__).resolve().parents[1]
HELLO = ROOT / "tests" / "projects" / "hello"
STARTUP_TIMEOUT = 30.0
READY = re.compile(r"^\[course:info\] Ready on (http://127\.0\.0\.1:(\d+))$")


class Served:
    """`course serve PROJECT --port 0 ARGS...` in a subprocess, with its output read line by line."""

    def __init__(self, project: Path, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "course.cli", "serve", str(project), "--port", "0", *args],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        match = self.wait_for(READY)
        self.base_url, self.port = match[1], int(match[2])

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line.rstrip("\n"))
            self._new.put(line.rstrip("\n"))
        self._new.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = STARTUP_TIMEOUT) -> re.Match[str]:
        """The first new output line matching ``pattern`` (fails the test on exit or timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._new.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                pytest.fail(f"course serve printed no line matching {pattern.pattern} in {timeout} s:\n{self.output}")
            if line is None:
                pytest.fail(f"course serve exited ({self.proc.wait()}) before {pattern.pattern}:\n{self.output}")
            match = pattern.search(line)
            if match:
                return match

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, then the exit status and the whole output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"course serve ignored Ctrl-C:\n{self.output}")
        self._reader.join(timeout=10)
        return code, self.output


@pytest.fixture
def serve() -> Callable[..., Served]:
    """``serve(project, *args)``: a started `course serve`, stopped after the test."""
    started: list[Served] = []

    def start(project: Path, *args: str) -> Served:
        started.append(Served(project, *args))
        return started[-1]

    yield start
    for served in started:
        served.stop()


@pytest.fixture(scope="module")
def served_hello():
    """One `course serve tests/projects/hello` (state in memory) for the module."""
    served = Served(HELLO, "--no-persist")
    yield served.base_url, served
    served.stop()


pytestmark = pytest.mark.slow


def test_serve_returns_the_worker_body_and_headers(served_hello):
    base, _ = served_hello
    r = httpx.get(base + "/")
    assert (r.status_code, r.text) == (200, "Hello from a Python Worker!")
    assert r.headers["x-hello"] == "world"
    assert r.headers["content-type"] == "text/plain"
    assert r.headers["content-length"] == str(len(r.content))


def test_serve_handles_a_post_with_json(served_hello):
    base, _ = served_hello
    r = httpx.post(base + "/echo", json={"hello": ["http", 1]})
    assert r.status_code == 200
    assert r.json() == {"received": {"hello": ["http", 1]}, "max_items": 3}
    assert r.headers["content-type"] == "application/json"


def test_serve_returns_the_worker_status_for_unknown_paths(served_hello):
    base, _ = served_hello
    assert httpx.get(base + "/nowhere").status_code == 404


def test_serve_logs_each_request_and_stops_cleanly_on_ctrl_c(served_hello):
    base, served = served_hello
    httpx.get(base + "/")
    httpx.post(base + "/echo", json={})
    httpx.get(base + "/nowhere")
    code, out = served.stop()
    assert code == 0, out
    assert f"[course:info] Ready on {base}" in out.splitlines()
    assert "GET / 200 OK" in out
    assert "POST /echo 200 OK" in out
    assert "GET /nowhere 404 Not Found" in out
    assert "[course] stopped" in out
    assert "Traceback" not in out


def test_serve_without_a_folder_or_lab_worker_explains_itself(tmp_path, monkeypatch):
    monkeypatch.setattr(course.cli.serve, "LAB_DIR", tmp_path / "no-lab-here")
    with pytest.raises(SystemExit) as info:
        main(["serve"])
    assert "no project folder given" in str(info.value.code)
    assert "lab Worker" in str(info.value.code)


def test_serve_with_a_broken_project_reports_the_config_error(tmp_path, capsys):
    (tmp_path / "wrangler.toml").write_text('name = "w"\n')
    assert main(["serve", str(tmp_path), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "course serve:" in err and "wrangler.toml" in err and "key 'main'" in err


# -- like wrangler dev: ready line, local state, crons on request, limits, log, config -------------
NOTES = {
    "wrangler.toml": """
        name = "notes"
        main = "src/entry.py"
        compatibility_date = "2025-12-01"
        compatibility_flags = ["python_workers"]

        [triggers]
        crons = ["*/5 * * * *"]

        [[d1_databases]]
        binding = "DB"
        database_name = "notes-db"
        database_id = "notes-local"
    """,
    "src/entry.py": """
        from urllib.parse import urlparse

        from workers import Response, WorkerEntrypoint


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                path = urlparse(request.url).path
                if path == "/notes":
                    rows = await self.env.DB.prepare("SELECT text FROM notes ORDER BY id").all()
                    return Response.json([row["text"] for row in rows.results])
                if path == "/runs":
                    rows = await self.env.DB.prepare("SELECT cron FROM runs ORDER BY id").all()
                    return Response.json([row["cron"] for row in rows.results])
                return Response(f"{request.method} {path} ({len(await request.text())} bytes)")

            async def scheduled(self, controller, env, ctx):
                await self.env.DB.prepare("INSERT INTO runs (cron) VALUES (?)").bind(controller.cron).run()
    """,
    "schema.sql": """
        CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
        CREATE TABLE runs (id INTEGER PRIMARY KEY, cron TEXT NOT NULL);
        INSERT INTO notes (text) VALUES ('apply the SQL'), ('then run');
    """,
}


def test_ready_line_is_printed_only_once_the_port_accepts_connections(make_project, serve):
    served = serve(make_project(NOTES), "--no-persist")
    # No retry: the ready line promises the socket is listening (the subprocess went on running).
    socket.create_connection(("127.0.0.1", served.port), timeout=5).close()
    assert httpx.get(served.base_url + "/").text == "GET / (0 bytes)"
    assert served.lines.count(f"[course:info] Ready on {served.base_url}") == 1


def test_serve_persists_to_the_project_wrangler_state_that_d1_execute_wrote(make_project, serve, capsys):
    """The documented flow: apply the SQL with `course d1 execute`, then `course serve`, then read."""
    project = make_project(NOTES)
    assert main(["d1", "execute", "DB", "--file", str(project / "schema.sql"), str(project)]) == 0
    assert f"from {project / '.wrangler' / 'state'}:" in capsys.readouterr().out
    served = serve(project)
    assert httpx.get(served.base_url + "/notes").json() == ["apply the SQL", "then run"]
    assert f"[course] local state in {project / '.wrangler' / 'state'}" in served.lines


def test_serve_no_persist_starts_from_empty_state(make_project, serve):
    project = make_project(NOTES)
    assert main(["d1", "execute", "DB", "--file", str(project / "schema.sql"), str(project)]) == 0
    served = serve(project, "--no-persist")
    r = httpx.get(served.base_url + "/notes")
    assert r.status_code == 500 and "no such table: notes" in served.output
    assert "[course] local state in memory" in served.lines


def test_serve_persist_to_chooses_the_folder(make_project, serve, tmp_path):
    project = make_project(NOTES)
    state = tmp_path / "elsewhere"
    assert main(["d1", "execute", "DB", "--file", str(project / "schema.sql"), str(project),
                 "--persist-to", str(state)]) == 0
    served = serve(project, "--persist-to", str(state))
    assert httpx.get(served.base_url + "/notes").json() == ["apply the SQL", "then run"]
    assert not (project / ".wrangler").exists()


def test_serve_and_d1_execute_default_to_the_same_state_folder(make_project):
    project = make_project(NOTES)
    assert state_dir(project) == default_state_dir(project.resolve()) == project.resolve() / ".wrangler" / "state"
    assert state_dir(project, persist=False) is None
    assert state_dir(project, "x") == Path("x")


def test_migrations_apply_then_serve_reads_the_table(make_project, serve, capsys):
    files = {k: v for k, v in NOTES.items() if k != "schema.sql"}
    files["migrations/0001_notes.sql"] = NOTES["schema.sql"]
    project = make_project(files)
    assert main(["d1", "migrations", "apply", "DB", str(project), "--local"]) == 0
    assert "0001_notes.sql │ ✅" in capsys.readouterr().out
    served = serve(project)
    assert httpx.get(served.base_url + "/notes").json() == ["apply the SQL", "then run"]


def test_crons_fire_only_on_the_trigger_routes(make_project, serve):
    """wrangler dev never fires crons by itself: /__scheduled (--test-scheduled) and
    /cdn-cgi/handler/scheduled do (https://developers.cloudflare.com/workers/configuration/cron-triggers/#test-cron-triggers-locally)."""
    project = make_project(NOTES)
    assert main(["d1", "execute", "DB", "--file", str(project / "schema.sql"), str(project)]) == 0
    served = serve(project, "--test-scheduled")
    base = served.base_url
    assert httpx.get(base + "/runs").json() == []
    r = httpx.get(base + "/__scheduled", params={"cron": "*/5 * * * *"})
    assert (r.status_code, r.text) == (200, "Ran scheduled event")
    r = httpx.get(base + "/cdn-cgi/handler/scheduled", params={"cron": "0 0 * * *"})
    assert (r.status_code, r.text) == (200, "ok")
    assert httpx.get(base + "/runs").json() == ["*/5 * * * *", "0 0 * * *"]
    assert any("crons */5 * * * * fire only on request" in line for line in served.lines)
    assert any(re.search(r"GET /__scheduled 200 OK \(\d+ms\)$", line) for line in served.lines)


def test_a_body_over_cloudflares_limit_gets_413_before_it_is_read(make_project, serve):
    """100 MB on the Free and Pro plans (https://developers.cloudflare.com/workers/platform/limits/#request-limits):
    the declared length is refused at once, without the client sending the body."""
    served = serve(make_project(NOTES), "--no-persist")
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as conn:
        conn.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 209715200\r\n\r\nonly a little")
        answer = conn.makefile("rb")
        status = answer.readline().decode("latin-1")
        headers = dict(line.decode("latin-1").strip().lower().split(": ", 1)
                       for line in iter(answer.readline, b"\r\n"))
        body = answer.read(int(headers["content-length"])).decode()
    assert status.startswith("HTTP/1.1 413 "), status
    assert body.startswith("Payload Too Large: the request body is over 104,857,600 bytes")
    r = httpx.post(served.base_url + "/upload", content=b"x" * 1000)
    assert (r.status_code, r.text) == (200, "POST /upload (1000 bytes)")
    served.wait_for(re.compile(r"POST /upload 413 Payload Too Large"), timeout=5)


def test_request_paths_are_escaped_in_the_log(make_project, serve):
    served = serve(make_project(NOTES), "--no-persist")
    forged = "/a%0A[course:info] GET /admin 200 OK (1ms)%0D%0A"
    httpx.get(served.base_url + forged.replace(" ", "%20"))
    line = served.wait_for(re.compile(r"GET /a%0A")).string
    assert line.startswith("[course:info] GET /a%0A[course:info]%20GET%20/admin")
    assert line.endswith(" 200 OK (0ms)") or re.search(r" 200 OK \(\d+ms\)$", line)
    assert not any(other.startswith("[course:info] GET /admin") for other in served.lines)


def test_two_config_files_print_one_warning_naming_both(make_project, serve):
    files = dict(NOTES)
    files["wrangler.jsonc"] = '{"name": "from-jsonc", "main": "src/entry.py"}'
    served = serve(make_project(files), "--no-persist")
    warnings = [line for line in served.lines if "[WARNING]" in line]
    assert len(warnings) == 1 and "using wrangler.jsonc and ignoring wrangler.toml" in warnings[0]
    assert "[course] Worker 'from-jsonc'" in served.output


def test_serve_with_a_non_utf8_config_names_the_file(tmp_path, capsys):
    (tmp_path / "wrangler.toml").write_bytes(b'name = "w"\nmain = "\xff.py"\n')
    assert main(["serve", str(tmp_path), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'wrangler.toml'}:2:9: not UTF-8 text (byte 0xff" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


COUNTER = {
    "wrangler.toml": """
        name = "counter"
        main = "src/entry.py"
        compatibility_date = "2025-12-01"

        [[durable_objects.bindings]]
        name = "COUNTER"
        class_name = "Counter"

        [[migrations]]
        tag = "v1"
        new_sqlite_classes = ["Counter"]
    """,
    "src/entry.py": """
        from workers import DurableObject, Response, WorkerEntrypoint


        class Counter(DurableObject):
            def __init__(self, ctx, env):
                super().__init__(ctx, env)
                self.n = 0  # memory only: kept while the object stays in memory

            async def fetch(self, request):
                self.n += 1
                return Response(str(self.n))


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return await self.env.COUNTER.getByName("one").fetch(request)
    """,
}


def test_a_durable_objects_memory_lasts_across_requests_like_wrangler_dev(make_project, serve):
    """Real time: the object stays in memory between requests (idle eviction is 70-140 s away),
    so a counter kept in ``self.n`` answers 1 2 3 as under ``wrangler dev``, not 1 1 1."""
    served = serve(make_project(COUNTER), "--no-persist")
    answers = [httpx.get(served.base_url + "/").text for _ in range(3)]
    assert answers == ["1", "2", "3"]


STREAMING = {
    "wrangler.toml": """
        name = "streaming"
        main = "src/entry.py"
        compatibility_date = "2025-12-01"
        compatibility_flags = ["python_workers"]
    """,
    "src/entry.py": """
        import asyncio
        from urllib.parse import urlparse

        from js import TransformStream
        from workers import Response, WorkerEntrypoint

        GO = asyncio.Event()


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                path = urlparse(request.url).path
                if path == "/go":
                    GO.set()
                    return Response("released")
                pipe = TransformStream.new()
                writer = pipe.writable.getWriter()

                async def produce():
                    await writer.write(b"first chunk\\n")
                    await GO.wait()  # the rest only once another request has come in
                    await writer.write(b"last chunk\\n")
                    await writer.close()

                self.ctx.waitUntil(produce())
                return Response(pipe.readable, headers={"content-type": "text/plain"})
    """,
}


def test_a_streamed_body_is_sent_as_it_is_made_and_other_requests_go_on(make_project, serve):
    """A Response whose body is a stream goes out chunk by chunk (no Content-Length), and while
    it waits for its next chunk the server answers other requests (wrangler dev does both)."""
    served = serve(make_project(STREAMING), "--no-persist")
    base = f"http://127.0.0.1:{served.port}"
    with httpx.Client(timeout=10) as client, client.stream("GET", f"{base}/stream") as streamed:
        assert streamed.status_code == 200 and "content-length" not in streamed.headers
        chunks = streamed.iter_raw()
        assert next(chunks) == b"first chunk\n"  # before the last chunk exists
        assert httpx.get(f"{base}/go", timeout=10).text == "released"  # served meanwhile
        assert b"".join(chunks) == b"last chunk\n"
