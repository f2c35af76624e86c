"""The `course` command: subcommand wiring and `course doctor`."""
from __future__ import annotations

import http.server
import platform
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import course
from course.cli import SUBCOMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_http_server():
    """A local HTTP server answering 200 on every GET: stands in for a live Worker URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"live"
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_course_without_a_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "serve" in out and "doctor" in out


def test_course_lists_serve_and_doctor_even_before_later_subcommands_exist():
    result = subprocess.run([sys.executable, "-m", "course.cli", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout and "doctor" in result.stdout


def test_unknown_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_doctor_prints_python_course_and_package_versions(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_WORKER_URL", raising=False)
    main(["doctor"])
    out = capsys.readouterr().out
    assert f"python       {platform.python_version()}" in out
    assert f"course       {course.__version__}" in out
    for name in ("httpx", "pydantic", "uvicorn", "jupyterlab"):
        assert any(line.split()[1:2] == [name] and line.startswith("ok") for line in out.splitlines()), name


def test_doctor_says_whether_node_and_npx_exist(capsys, monkeypatch):
    import course.cli.doctor

    monkeypatch.setattr(course.cli.doctor.shutil, "which", lambda name: None)
    main(["doctor"])
    out = capsys.readouterr().out
    assert "node         not found (only needed for conformance tests and benchmarks)" in out
    assert "npx          not found" in out


def test_doctor_reports_node_version_when_present(capsys):
    if shutil.which("node") is None:
        pytest.skip("node is not installed here")
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    main(["doctor"])
    assert f"node         {node}" in capsys.readouterr().out


def test_doctor_reports_a_live_worker_that_answers(capsys, tiny_http_server):
    code = main(["doctor", "--url", tiny_http_server])
    out = capsys.readouterr().out
    assert f"live Worker  {tiny_http_server} answered 200" in out
    assert code == 0


def test_doctor_reads_the_worker_url_from_the_environment(capsys, monkeypatch, tiny_http_server):
    monkeypatch.setenv("COURSE_WORKER_URL", tiny_http_server)
    main(["doctor"])
    assert f"{tiny_http_server} answered 200" in capsys.readouterr().out


def test_doctor_fails_when_the_live_worker_does_not_answer(capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
        code = main(["doctor", "--url", url])
    out = capsys.readouterr().out
    assert code == 1
    assert f"!!  live Worker  {url} did not answer" in out


def test_a_subcommand_imports_only_its_own_module():
    """``course check`` must not pay for ``course serve``'s imports (uvicorn) nor ``grade``'s for serve."""
    code = ("import sys\nfrom course.cli import build_parser\n"
            "build_parser(['deps', 'status', '.'])\n"
            "print(sorted(m for m in ('course.cli.serve', 'course.cli.grading', 'course.cli.deps') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['course.cli.deps']"
    parser = build_parser([])  # no command named (course --help): every subcommand is listed
    assert set(parser._subparsers._group_actions[0].choices) == set(SUBCOMMANDS)
