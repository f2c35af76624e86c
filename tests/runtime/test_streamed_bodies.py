"""Streamed bodies: ASGI ``StreamingResponse`` and WSGI generators reach the reader chunk by chunk,
and a streamed request body reaches an ASGI or WSGI app chunk by chunk (all on the virtual clock).

The project is tests/projects/streaming (FastAPI + Flask, written for these tests).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from course.runtime import load

PROJECT = Path(__file__).resolve().parents[1] / "projects" / "streaming"


@pytest.fixture
def rt(tmp_path, runtimes):
    folder = tmp_path / "streaming"
    shutil.copytree(PROJECT, folder)
    runtime = load(folder, virtual_time=True)
    runtimes.append(runtime)
    return runtime


@pytest.mark.parametrize("app, path", [("asgi", "ticks"), ("wsgi", "wsgi/ticks")])
def test_first_chunk_arrives_before_the_last_is_produced(rt, app, path):
    report = rt.client().get(f"/read/{path}").json()
    arrivals, produced = report["arrivals"], [p for p in report["produced"] if p[0] == app]
    assert [text for text, _ in arrivals] == ["tick 0\n", "tick 1\n", "tick 2\n"]
    assert [i for _, i, _ in produced] == [0, 1, 2]
    # each chunk is read the moment it is produced, a virtual second apart
    assert arrivals[0][1] < produced[2][2]
    assert [t for _, t in arrivals] == [t for _, _, t in produced]
    assert produced[2][2] - produced[0][2] == pytest.approx(2.0)


@pytest.mark.parametrize("path", ["/ticks", "/wsgi/ticks"])
def test_a_client_receives_the_whole_streamed_body(rt, path):
    r = rt.client().get(path)
    assert r.status_code == 200 and r.text == "tick 0\ntick 1\ntick 2\n"
    assert r.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/upload", "/wsgi/upload"])
def test_a_streamed_request_body_reaches_the_app_in_chunks(rt, path):
    chunks = rt.client().get(path).json()["chunks"]
    assert [text for text, _ in chunks] == ["a", "bb", "ccc"]
    times = [t for _, t in chunks]
    assert times[1] - times[0] == pytest.approx(1.0) and times[2] - times[1] == pytest.approx(1.0)
