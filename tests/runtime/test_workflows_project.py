"""A Python Workflow project in Cloudflare's layout (python-workers-examples 10-workflows) runs
unchanged in-process and under `course serve`; the timeline figure of one instance.

Docs: https://developers.cloudflare.com/workflows/python/ ; example:
https://github.com/cloudflare/python-workers-examples/tree/main/10-workflows
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from course.runtime import load
from course.runtime.bindings.workflows import workflows
from course.viz import png_bytes, workflow_timeline
from workflows_fixtures import project

ROOT = Path(__file__).resolve().parents[2]
DAG = ROOT / "tests" / "projects" / "workflows_dag"
READY = re.compile(r"Ready on (http://127\.0\.0\.1:\d+)")


@pytest.fixture
def dag(tmp_path, runtimes):
    folder = tmp_path / "workflows_dag"
    shutil.copytree(DAG, folder)
    rt = load(folder, virtual_time=True)
    runtimes.append(rt)
    return rt


def test_start_and_status_routes_run_the_dag_to_completion(dag):
    client = dag.client()
    started = client.get("/start")
    assert started.status_code == 200
    iid = started.text.removeprefix("Just kicked off a workflow with ID: ")
    assert re.fullmatch(r"[0-9a-f-]{36}", iid)
    assert client.get(f"/status/{iid}").json() == {"status": "running", "output": None}
    dag.run_until_idle()
    assert client.get(f"/status/{iid}").json() == {"status": "complete",
                                                   "output": {"first": "dep1 done", "second": "dep2 done"}}
    # the two dependencies ran concurrently: the final step started when the longer one ended
    ends = {e.step: e.t for e in dag.trace.events("workflow_attempt") if e.get("phase") == "end"}
    starts = {e.step: e.t for e in dag.trace.events("workflow_attempt") if e.get("phase") == "start"}
    assert starts["dependency 1"] == starts["dependency 2"] == 0.0
    assert starts["final step"] == max(ends["dependency 1"], ends["dependency 2"])
    assert "executing dep1" in "\n".join(line.message for line in dag.logs)


def test_status_of_an_unknown_instance_is_an_error_like_cloudflare(dag):
    r = dag.client().get("/status/no-such-id")
    assert r.status_code == 500 and "instance.not_found" in r.text


def test_dag_project_runs_under_course_serve(tmp_path):
    folder = tmp_path / "workflows_dag"
    shutil.copytree(DAG, folder)
    proc = subprocess.Popen([sys.executable, "-m", "course.cli", "serve", str(folder), "--port", "0", "--persist-to",
                             str(tmp_path / "state")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        base = None
        deadline = time.monotonic() + 30
        while base is None and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            match = READY.search(line)
            base = match[1] if match else None
        assert base, "course serve did not print its Ready line"
        started = httpx.get(f"{base}/start", timeout=10)
        iid = started.text.rsplit(" ", 1)[-1]
        status = httpx.get(f"{base}/status/{iid}", timeout=10).json()
        assert status["status"] in ("queued", "running") and status["output"] is None
        assert (tmp_path / "state" / "v3" / "workflows" / "dag-workflow.sqlite").is_file()
    finally:
        proc.terminate()
        proc.wait(10)


def test_timeline_figure_draws_attempts_retries_sleeps_and_crashes(load_project):
    rt = load_project(project())
    wf = workflows(rt)
    wf.faults.fail(step="step 2")
    wf.faults.crash(step="step 4", when="during")
    iid = wf.create_from_python("five-steps")
    sleeper = wf.create_from_python("sleeper")
    rt.run_until_idle()
    fig = workflow_timeline(rt.trace, iid)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"step {i}" for i in range(1, 6)]
    colors = {tuple(round(c, 3) for c in p.get_facecolor()[:3]) for p in ax.patches}
    assert len(ax.patches) == 7  # 5 successes, 1 failure, 1 lost attempt
    assert len(colors) == 3
    assert "complete" in ax.get_title()
    assert png_bytes(fig)[:4] == b"\x89PNG"
    labels = [t.get_text() for t in workflow_timeline(rt.trace, sleeper).axes[0].get_yticklabels()]
    assert labels == ["before", "a week (sleep)", "and a bit (sleep)", "after"]
