"""The Durable Objects docs example over real HTTP: `course serve --persist-to` in a subprocess."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import httpx

from _projects import LIST_EXAMPLE, durable_objects_toml

WRANGLER = durable_objects_toml({"LIST": "List"}, name="list")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(project: Path, state: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from course.cli import main; sys.exit(main())",
                             "serve", str(project), "--port", str(port), "--persist-to", str(state), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:  # a TCP connect, not a request: every request runs the Worker
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"course serve exited: {proc.stdout.read().decode()}")  # type: ignore[union-attr]
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("course serve did not start within 30 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_docs_example_over_course_serve_persists_across_restart(make_project: Callable[..., Path],
                                                                 tmp_path: Any) -> None:
    """https://developers.cloudflare.com/durable-objects/get-started/ (Python) served like
    `wrangler dev --persist-to`: storage survives a restart of the server."""
    project = make_project({"wrangler.toml": WRANGLER, "src/entry.py": LIST_EXAMPLE})
    state = tmp_path / "state"
    proc, url = _serve(project, state)
    try:
        assert httpx.get(url, timeout=10).json() == ["hello"]
        assert httpx.get(url, timeout=10).json() == ["hello", "hello"]
    finally:
        _stop(proc)
    proc, url = _serve(project, state)
    try:
        assert httpx.get(url, timeout=10).json() == ["hello", "hello", "hello"]
    finally:
        _stop(proc)
