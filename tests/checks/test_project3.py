"""Project 3's harness: the reference passes every automatic item (the design rationale is graded
by hand), the starter scores nothing, each broken variant loses exactly the item of the invariant
or budget it breaks, a failure tells its story, the simulated hour is the same for the same seed,
and the release is generated from the solution."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course.checks import project3
from course.checks.harness.messages import LOG_HEADER, parse_log
from course.checks.project3.contract import signing_key
from course.checks.project3.hour import play_hour
from course.checks.project3.schedule import FAULT_KINDS, draw_schedule
from course.checks.projects import ProjectSession, load_submission
from course.grading.project_release import MD_BEGIN, MD_END, MD_STARTER, ReleaseMarkerError, starter_source
from course.grading.release import render_release

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "project3"
STARTER = ROOT / "exercises" / "project3"
_spec = importlib.util.spec_from_file_location(
    "project3_variants", ROOT / "tests" / "grading" / "fixtures" / "project3_class" / "variants.py")
variants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(variants)

AUTOMATIC = ["contract", "no-lost-task", "no-double-task", "signed-calls", "health", "breaker", "regions",
             "throughput", "cost", "monitor", "tracing", "loadtest"]


def lost(report) -> set[str]:
    return {item.key for item in report.items if item.status not in ("pass", "manual")}


def test_reference_solution_passes_every_automatic_item_and_leaves_the_design_to_the_instructor():
    report = project3.check(SOLUTION)
    assert not report.load_error
    assert [i.key for i in report.items] == [*AUTOMATIC, "design"]
    assert report.max_score == 25
    assert all(i.status == "pass" for i in report.items if i.key != "design"), report.format()
    design = report.items[-1]
    assert design.status == "manual" and design.points == 0 and "DESIGN.md:" in design.reason
    assert report.score == 23


def test_released_starter_loads_and_scores_nothing_with_a_reason_per_item():
    report = project3.check(STARTER)
    assert not report.load_error, report.load_error
    assert report.score == 0, report.format()
    assert lost(report) == set(AUTOMATIC)
    assert all("FAILED:" in i.reason and "reproduce: course check" in i.reason
               for i in report.items if i.key != "design")


@pytest.mark.parametrize("variant", sorted(variants.VARIANTS))
def test_each_broken_variant_loses_exactly_the_item_it_breaks(variant, tmp_path):
    report = project3.check(variants.build(tmp_path / "p", variant))
    assert lost(report) == variants.LOSES[variant], report.format()
    lost_points = sum(i.max_points for i in report.items if i.key in variants.LOSES[variant])
    assert report.score == 23 - lost_points


def test_a_failure_names_item_seed_the_shrunk_schedule_messages_and_a_reproduce_line(tmp_path):
    folder = variants.build(tmp_path / "p", "always_ready")
    item = project3.check(folder, only=["health"], shown_as="my-project").items[0]
    assert item.status == "fail" and item.points == 0
    first = item.reason.splitlines()[0]
    assert first.startswith("[health seed=3] FAILED: GET /readyz at ")
    assert "while that region's planners were cut off" in first
    assert "smallest failing case: the simulated hour, seed 300: 900 s" in item.reason
    assert LOG_HEADER in item.reason and "/readyz" in item.reason
    failed_at = float(first.split("GET /readyz at ")[1].split("s from")[0])
    arrows = parse_log(item.reason)
    assert failed_at - 2 <= arrows[0][0] <= failed_at  # the messages around the failure, not minute 0
    assert item.reason.rstrip().endswith("reproduce: course check my-project --only health --seed 3")


def test_the_same_seed_plays_the_same_hour_and_another_seed_another(tmp_path):
    assert draw_schedule(300) == draw_schedule(300)
    assert draw_schedule(300) != draw_schedule(301)
    key = signing_key(SOLUTION)
    assert key
    runs = []
    for _ in range(2):
        rt = load_submission(SOLUTION, seed=300)
        session = ProjectSession(rt)
        try:
            obs = play_hour(session, draw_schedule(300).until(900), key)
            events = [(e.kind, round(e.t, 6)) for e in rt.trace.events(("request", "response", "do_event", "ai",
                                                                        "queue_delivery", "fault"))]
        finally:
            session.close()
        runs.append((obs.sent, obs.attacks, obs.probes, obs.feed, obs.monitor, obs.ai_calls, events))
    assert runs[0] == runs[1]
    assert len(runs[0][3]) == len([s for s in runs[0][0] if s.status == 202]) > 100


def test_same_submission_same_report(tmp_path):
    folder = variants.build(tmp_path / "p", "no_cooldown")
    first = project3.check(folder, only=["breaker", "health", "throughput"])
    second = project3.check(folder, only=["breaker", "health", "throughput"])
    assert first == second and lost(first) == {"breaker"}


def test_the_schedule_has_every_fault_and_attack_kind_and_shrinks_to_smaller_hours():
    hour = draw_schedule(300)
    assert {f.kind for f in hour.faults} == set(FAULT_KINDS)
    assert {a.kind for a in hour.attacks} == {"unsigned", "forged", "stale", "wrong-key", "replay",
                                              "replay-after-crash"}
    assert {p.expect for p in hour.probes} == {"ok", "planner", "ai"}
    half = hour.candidates()[0]
    assert half.duration == 1800 and all(a.t < 1800 for a in half.arrivals)
    quarter, calm, *single = half.candidates()
    assert quarter.duration == 900
    shortest = quarter
    while shortest.candidates() and shortest.candidates()[0].duration < shortest.duration:
        shortest = shortest.candidates()[0]
    assert shortest.duration == 225 and 10 < len(shortest.arrivals) < 40  # halved no shorter than 200 s
    assert calm.faults == () and {p.expect for p in calm.probes} == {"ok"} and calm.attacks == half.attacks
    kinds = [k for k in FAULT_KINDS if k in {f.kind for f in half.faults}]
    assert len(kinds) > 1 and [{f.kind for f in s.faults} for s in single] == [{k} for k in kinds]


def test_a_submission_without_a_signing_key_loses_only_the_signed_calls_and_is_told_where_it_goes(tmp_path):
    folder = variants.build(tmp_path / "p", None)
    (folder / ".dev.vars").write_text("OTHER=1\n")
    report = project3.check(folder, only=["signed-calls", "no-lost-task"])
    assert [i.status for i in report.items] == ["fail", "pass"]
    assert "no AGENT_SIGNING_KEY in .dev.vars" in report.items[0].reason


def test_exercises_project3_is_generated_from_the_solution():
    files = render_release("project3", ROOT / "solutions")
    committed = {p.relative_to(STARTER).as_posix(): p.read_bytes() for p in sorted(STARTER.rglob("*"))
                 if p.is_file() and "__pycache__" not in p.parts}
    assert files == committed, "run `course release project3`"
    for rel, data in files.items():
        assert b"BEGIN SOLUTION" not in data and b"STARTER:" not in data, rel
        if rel.endswith(".py"):
            compile(data, rel, "exec")
    assert b"COOLDOWN_SECONDS = " not in files["src/analyst.py"]  # the reference's breaker stays out
    design = files["DESIGN.md"].decode()
    assert "## 5. Error handling" in design and "25 calls" not in design and "_Write your rationale" in design


def test_markdown_release_markers_are_html_comments_and_must_be_balanced():
    text = "# T\n<!-- BEGIN SOLUTION -->\nref\n<!-- END SOLUTION -->\n<!-- STARTER: _Write it._ -->\n"
    assert starter_source(text, "D.md", begin=MD_BEGIN, end=MD_END, starter_line=MD_STARTER) == "# T\n_Write it._\n"
    with pytest.raises(ReleaseMarkerError, match="never closed"):
        starter_source("<!-- BEGIN SOLUTION -->\nx\n", "D.md", begin=MD_BEGIN, end=MD_END, starter_line=MD_STARTER)


def test_the_brief_states_every_rubric_item_with_its_points_and_the_deploy_command():
    nb = json.loads((SOLUTION / "project3_brief.ipynb").read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    for item in project3.RUBRIC.items:
        assert f"| `{item.key}` | {item.points:g} |" in text, item.key
    assert "uv run pywrangler deploy" in text and "course serve ." in text and "course check ." in text
    assert "python loadtest.py" in text


@pytest.mark.slow
@pytest.mark.parametrize("folder", [SOLUTION, STARTER], ids=["solution", "starter"])
def test_the_brief_runs_offline_top_to_bottom(folder, tmp_path):
    work = tmp_path / folder.name
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns("__pycache__", ".wrangler"))
    nb = nbformat.read(work / "project3_brief.ipynb", as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    if folder == SOLUTION:
        assert "202 {'task_id': 'try-1'" in printed and "12/12 rubric items pass; 1 graded by hand (23/25 points)" \
            in printed, printed
    else:
        assert "TODO: hand the task to a planner" in printed and "0/12 rubric items pass" in printed, printed
