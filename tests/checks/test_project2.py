"""Project 2's harness: the reference scores full marks, the starter nothing, each broken variant
loses exactly the rubric items of the behaviour it lacks, failures tell their story, the brief runs,
and the release is generated from the solution."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course.checks import project2
from course.checks.harness.messages import LOG_HEADER, parse_log
from course.checks.projects import SubmissionDoesNotLoad, load_submission, project_name
from course.grading.release import render_release

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "project2"
STARTER = ROOT / "exercises" / "project2"
_spec = importlib.util.spec_from_file_location(
    "project2_variants", ROOT / "tests" / "grading" / "fixtures" / "project2_class" / "variants.py")
variants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(variants)
ITEMS = ["happy-path", "upstream-faults", "ai-faults", "resume", "duplicates", "agent-crash", "burst"]


def lost(report) -> set[str]:
    return {item.key for item in report.items if item.status != "pass"}


def test_reference_solution_scores_full_marks():
    report = project2.check(SOLUTION)
    assert not report.load_error
    assert report.score == report.max_score == 20, report.format()
    assert [i.key for i in report.items] == ITEMS


def test_released_starter_loads_and_scores_nothing_and_says_why_per_item():
    report = project2.check(STARTER)
    assert not report.load_error, report.load_error
    assert report.score == 0, report.format()
    for item in report.items:
        assert item.reason.startswith(f"[{item.key} seed=") and "smallest failing case:" in item.reason, item.reason
        assert "has no notification for" in item.reason or "answered 404" in item.reason, item.reason


@pytest.mark.parametrize("variant", sorted(variants.VARIANTS))
def test_each_broken_variant_loses_exactly_the_items_of_its_missing_behaviour(variant, tmp_path):
    report = project2.check(variants.build(tmp_path / "p", variant))
    assert lost(report) == variants.LOSES[variant], report.format()
    lost_points = sum(i.max_points for i in report.items if i.key in variants.LOSES[variant])
    assert report.score == 20 - lost_points


def test_a_failure_names_item_seed_smallest_case_messages_and_a_reproduce_line(tmp_path):
    folder = variants.build(tmp_path / "p", "no_fetch_timeout")
    item = project2.check(folder, only=["upstream-faults"], shown_as="my-project").items[0]
    assert item.status == "fail" and item.points == 0
    first = item.reason.splitlines()[0]
    assert first.startswith("[upstream-faults seed=2] FAILED: over budget: virtual time from POST to the subscriber's "
                            "frame was 31 s, the budget is 10")
    assert "smallest failing case:" in item.reason and "upstream: slow then ok" in item.reason
    smallest = item.reason.split("smallest failing case:")[1].splitlines()[0]
    assert smallest.count("upstream:") == 1  # shrunk to the one update the slow upstream hits
    assert LOG_HEADER in item.reason
    kinds = {a[3] for a in parse_log(item.reason)}
    assert {"queue.send", "queue.deliver", "fetch.GET", "readings", "ai.run", "publish", "ws.frame"} <= kinds, kinds
    assert item.reason.rstrip().endswith("reproduce: course check my-project --only upstream-faults --seed 2")


def test_a_lost_update_is_reported_with_the_crash_and_the_queue_messages(tmp_path):
    folder = variants.build(tmp_path / "p", "ack_on_failure")
    item = project2.check(folder, only=["agent-crash"]).items[0]
    assert "log has no notification for" in item.reason.splitlines()[0]
    arrows = parse_log(item.reason)
    assert any(a[3].startswith("crash") and a[4] == "fault" for a in arrows), arrows
    assert any(a[3] == "queue.deliver" for a in arrows) and any(a[3] == "readings.error" for a in arrows), arrows
    assert not any(a[3] == "queue.retry" for a in arrows)  # the failed message was acknowledged, not retried


def test_same_submission_same_report(tmp_path):
    folder = variants.build(tmp_path / "p", "ignores_offset")
    first, second = project2.check(folder), project2.check(folder)
    assert first == second


def test_another_seed_tells_other_stories_and_the_reference_still_passes():
    report = project2.check(SOLUTION, seed=11)
    assert report.score == 20, report.format()
    assert all("seed=11" in i.reason for i in report.items)


@pytest.mark.parametrize("broken", sorted(variants.UNLOADABLE))
def test_a_submission_that_does_not_load_scores_nothing_and_says_why(broken, tmp_path):
    folder = variants.build(tmp_path / "p", broken)
    with pytest.raises(SubmissionDoesNotLoad):
        load_submission(folder)
    report = project2.check(folder)
    assert report.score == 0 and report.load_error.startswith("the Worker does not load")
    assert variants.UNLOADABLE[broken][2] in report.load_error
    assert {i.status for i in report.items} == {"not run"}


def test_the_project_names_itself_in_its_pyproject(tmp_path):
    variants.build(tmp_path / "download" / "my-mesh", None)
    assert project_name(tmp_path / "download") == "project2"


def test_exercises_project2_is_generated_from_the_solution():
    files = render_release("project2", ROOT / "solutions")
    committed = {p.relative_to(STARTER).as_posix(): p.read_bytes() for p in sorted(STARTER.rglob("*"))
                 if p.is_file() and "__pycache__" not in p.parts}
    assert files == committed, "run `course release project2`"
    for rel, data in files.items():
        assert b"BEGIN SOLUTION" not in data and b"STARTER:" not in data, rel
        if rel.endswith(".py"):
            compile(data, rel, "exec")
    assert b"asyncio.wait_for" not in files["src/data.py"]  # the reference's answers stay out
    assert b"self.ctx.acceptWebSocket(server)" not in files["src/notify.py"]
    assert files["src/protocol.py"] == (SOLUTION / "src" / "protocol.py").read_bytes()  # the contract is given whole


def test_the_brief_states_every_rubric_item_with_its_points_and_the_commands():
    nb = json.loads((SOLUTION / "project2_brief.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    for item in project2.RUBRIC.items:
        assert f"| `{item.key}` | {item.points:g} |" in text, item.key
    assert "uv run pywrangler deploy" in text and "course serve ." in text and "course check ." in text
    for budget in ("3 virtual s", "10 virtual s", "8 virtual s", "6 RPC messages", "5 virtual s"):
        assert budget in text, budget
    for cell in nb["cells"]:
        assert cell["cell_type"] != "code" or (not cell["outputs"] and cell["execution_count"] is None)


@pytest.mark.slow
@pytest.mark.parametrize("folder", [SOLUTION, STARTER], ids=["solution", "starter"])
def test_the_brief_runs_offline_top_to_bottom(folder, tmp_path):
    work = tmp_path / folder.name
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns("__pycache__", ".wrangler"))
    nb = nbformat.read(work / "project2_brief.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    if folder == SOLUTION:
        assert "'status': 'ok'" in printed and "7/7 rubric items pass (20/20 points)" in printed, printed
    else:
        assert "the pipeline is yours to write" in printed and "0/7 rubric items pass" in printed, printed
