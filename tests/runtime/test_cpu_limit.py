"""A handler that computes past its CPU-time limit is stopped; the runtime keeps serving."""
from __future__ import annotations

import textwrap

import pytest

from course.runtime import load
from course.runtime.kernel.cpu_limit import DEFAULT_CPU_MS, configured_cpu_ms

ENTRY = '''
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.endswith("/spin"):
            n = 0
            while True:
                n += 1
        return Response("alive")
'''


def project(tmp_path, limits: str = "[limits]\ncpu_ms = 50\n"):
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "entry.py").write_text(ENTRY)
    (tmp_path / "wrangler.toml").write_text(textwrap.dedent('''
        name = "spinner"
        main = "src/entry.py"
        compatibility_date = "2025-09-01"
    ''') + limits)
    return tmp_path


@pytest.mark.parametrize("virtual_time", [False, True])
def test_a_runaway_handler_gets_1102_and_the_next_request_is_served(tmp_path, virtual_time):
    rt = load(project(tmp_path), virtual_time=virtual_time)
    try:
        client = rt.client()
        spun = client.get("/spin")
        assert spun.status_code == 503
        assert "Error 1102: Worker exceeded resource limits" in spun.text
        assert "50 ms" in spun.text
        assert client.get("/").text == "alive"
        assert any("exceeded CPU time limit" in line.message for line in rt.logs)
        assert rt.watchdog.interrupted == 1
    finally:
        rt.close()


def test_an_idle_runtime_is_never_interrupted(tmp_path):
    rt = load(project(tmp_path), virtual_time=False)
    try:
        client = rt.client()
        for _ in range(20):
            assert client.get("/").text == "alive"
        assert rt.watchdog.interrupted == 0
    finally:
        rt.close()


def test_the_limit_comes_from_limits_cpu_ms_else_the_standard_default(tmp_path):
    rt = load(project(tmp_path, limits=""), virtual_time=True)
    try:
        assert rt.watchdog.limit_ms == DEFAULT_CPU_MS
    finally:
        rt.close()

    class Config:
        model_extra = {"limits": {"cpu_ms": 10_000_000}}
    assert configured_cpu_ms([Config()]) == 300_000  # capped at Cloudflare's maximum
