"""The production Worker's monitoring page in a real browser: `course serve` on the production lab
Worker, a few traced requests, then headless Chromium renders /monitor (its script fetches
/monitor.json, which the Worker builds from Analytics Engine through the SQL API) and the test
reads the numbers off the rendered DOM.

Needs Chromium (``apt-get install chromium``, or set ``CHROMIUM`` to its path); without one the
test is skipped with that instruction.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from test_serve import Served  # noqa: E402  (course serve --port 0, waiting for "Ready on")

PRODUCTION = ROOT / "course" / "lab" / "production"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") \
    or shutil.which("google-chrome")

pytestmark = pytest.mark.slow


def _rendered(url: str, profile: Path) -> str:
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                           "--virtual-time-budget=10000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _row(dom: str, agent: str) -> list[str]:
    found = re.search(rf'<tr data-agent="{agent}">(.*?)</tr>', dom, re.S)
    assert found, f"no rendered row for {agent!r} in:\n{dom[:3000]}"
    return re.findall(r"<td>(.*?)</td>", found[1])


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: apt-get install chromium (or set CHROMIUM=/path/to/it)")
def test_the_monitoring_page_renders_the_analytics_engine_numbers_in_chromium(tmp_path: Path) -> None:
    served = Served(PRODUCTION, "--no-persist", "--offline")
    try:
        with httpx.Client(base_url=served.base_url, timeout=30) as client:
            for i in range(3):
                assert client.post("/chain", json={"task": f"t{i}"}).status_code == 200
            assert client.post("/chain", json={"task": "flaky", "flaky": {"analysis": 1}}).status_code == 200
            expected = client.get("/monitor.json").json()
        dom = _rendered(f"{served.base_url}/monitor", tmp_path / "profile")
    finally:
        served.stop()
    assert expected["total"]["requests"] == 21 and expected["total"]["errors"] == 1
    assert _row(dom, "all")[:3] == ["all", "21", "1"]
    assert _row(dom, "analysis")[:3] == ["analysis", "5", "1"]
    assert _row(dom, "gateway")[:3] == ["gateway", "4", "0"]
    assert "availability 95.24% (target 99%)" in dom
    assert 'class="alert"' in dom and "below the 99% SLO" in dom
