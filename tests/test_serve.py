"""`course serve DIR --port P`: the sample Worker over real HTTP (uvicorn), like `wrangler dev`."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import course.cli.serve
from course.cli import main

ROOT = Path(__file__).resolve().parents[1]
HELLO = ROOT / "tests" / "projects" / "hello"
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(project: Path, port: int) -> subprocess.Popen:
    """`course serve` in a subprocess; returns once it answers HTTP (or fails the test)."""
    proc = subprocess.Popen([sys.executable, "-m", "course.cli", "serve", str(project), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"course serve exited early ({proc.returncode}):\n{proc.stdout.read()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/__ready__", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)  # waiting for a real server process to bind, not for Worker time
    proc.kill()
    pytest.fail(f"course serve did not answer within {STARTUP_TIMEOUT} s:\n{proc.communicate()[0]}")


def stop_with_ctrl_c(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"course serve ignored Ctrl-C:\n{out}")
    return proc.returncode, out


@pytest.fixture(scope="module")
def served_hello():
    """One `course serve tests/projects/hello` for the module; yields (base_url, proc)."""
    port = free_port()
    proc = start_serve(HELLO, port)
    yield f"http://127.0.0.1:{port}", proc
    if proc.poll() is None:
        stop_with_ctrl_c(proc)


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
    base, proc = served_hello
    httpx.get(base + "/")
    httpx.post(base + "/echo", json={})
    httpx.get(base + "/nowhere")
    code, out = stop_with_ctrl_c(proc)
    assert code == 0, out
    assert "ready on http://127.0.0.1:" in out
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
    assert main(["serve", str(tmp_path), "--port", str(free_port())]) == 1
    err = capsys.readouterr().err
    assert "course serve:" in err and "wrangler.toml" in err and "key 'main'" in err
