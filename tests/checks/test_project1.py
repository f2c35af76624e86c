"""Project 1's harness: the reference scores full marks, the starter nothing, each broken variant
loses exactly the rubric items of the behaviour it lacks, failures tell their story, and the
release is generated from the solution."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from course.checks import project1
from course.checks.harness.messages import LOG_HEADER, parse_log
from course.checks.projects import SubmissionDoesNotLoad, load_submission, project_name, project_root
from course.grading.project_release import ReleaseMarkerError, starter_source
from course.grading.release import render_release

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "project1"
STARTER = ROOT / "exercises" / "project1"
_spec = importlib.util.spec_from_file_location(
    "project1_variants", ROOT / "tests" / "grading" / "fixtures" / "project1_class" / "variants.py")
variants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(variants)


def lost(report) -> set[str]:
    return {item.key for item in report.items if item.status != "pass"}


def test_reference_solution_scores_full_marks():
    report = project1.check(SOLUTION)
    assert not report.load_error
    assert report.score == report.max_score == 20, report.format()
    assert [i.key for i in report.items] == ["happy-path", "worker-crash", "slow-worker", "duplicates",
                                             "coordinator-restart", "bad-input", "concurrent"]


def test_released_starter_loads_and_scores_nothing():
    report = project1.check(STARTER)
    assert not report.load_error, report.load_error
    assert report.score == 0, report.format()


@pytest.mark.parametrize("variant", sorted(variants.VARIANTS))
def test_each_broken_variant_loses_exactly_the_items_of_its_missing_behaviour(variant, tmp_path):
    report = project1.check(variants.build(tmp_path / "p", variant))
    assert lost(report) == variants.LOSES[variant], report.format()
    lost_points = sum(i.max_points for i in report.items if i.key in variants.LOSES[variant])
    assert report.score == 20 - lost_points


def test_a_failure_names_item_seed_smallest_case_messages_and_a_reproduce_line(tmp_path):
    folder = variants.build(tmp_path / "p", "no_timeout")
    item = project1.check(folder, only=["slow-worker"], shown_as="my-project").items[0]
    assert item.status == "fail" and item.points == 0
    first = item.reason.splitlines()[0]
    assert first.startswith("[slow-worker seed=3] FAILED: over budget: virtual time per task")
    assert "smallest failing case:" in item.reason and "answers after 60 s" in item.reason
    assert LOG_HEADER in item.reason
    arrows = parse_log(item.reason)
    assert any(a[3].startswith("process") for a in arrows), arrows  # the worker's assignment is drawn
    assert item.reason.rstrip().endswith("reproduce: course check my-project --only slow-worker --seed 3")


def test_same_submission_same_report(tmp_path):
    folder = variants.build(tmp_path / "p", "shared_current_task")
    first, second = project1.check(folder), project1.check(folder)
    assert first == second


def test_another_seed_tells_other_stories_and_the_reference_still_passes():
    report = project1.check(SOLUTION, seed=11)
    assert report.score == 20, report.format()
    assert all("seed=11" in i.reason for i in report.items)


@pytest.mark.parametrize("broken", ["bad_config", "syntax_error", "missing_module"])
def test_a_submission_that_does_not_load_scores_nothing_and_says_why(broken, tmp_path):
    folder = variants.build(tmp_path / "p", broken)
    with pytest.raises(SubmissionDoesNotLoad):
        load_submission(folder)
    report = project1.check(folder)
    assert report.score == 0 and report.load_error.startswith("the Worker does not load")
    assert variants.UNLOADABLE[broken][2] in report.load_error
    assert {i.status for i in report.items} == {"not run"}


def test_a_project_is_found_inside_a_wrapping_folder_and_named_by_its_pyproject(tmp_path):
    variants.build(tmp_path / "download" / "project", None)
    assert project_root(tmp_path / "download") == tmp_path / "download" / "project"
    assert project_name(tmp_path / "download") == "project1"
    with pytest.raises(SubmissionDoesNotLoad, match="no wrangler.toml"):
        project_root(tmp_path / "download" / "project" / "src")


def test_exercises_project1_is_generated_from_the_solution():
    files = render_release("project1", ROOT / "solutions")
    committed = {p.relative_to(STARTER).as_posix(): p.read_bytes() for p in sorted(STARTER.rglob("*"))
                 if p.is_file() and "__pycache__" not in p.parts}
    assert files == committed, "run `course release project1`"
    for rel, data in files.items():
        assert b"BEGIN SOLUTION" not in data and b"STARTER:" not in data, rel
        if rel.endswith(".py"):
            compile(data, rel, "exec")
    assert b"asyncio.wait_for" not in files["src/coordinator.py"]  # the reference's answer stays out


def test_release_markers_must_be_balanced():
    assert starter_source("a\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n    # STARTER: x = 0\n") == \
        "a\n    x = 0\n"
    with pytest.raises(ReleaseMarkerError, match="never closed"):
        starter_source("# BEGIN SOLUTION\nx = 1\n", "f.py")
    with pytest.raises(ReleaseMarkerError, match="without"):
        starter_source("# END SOLUTION\n", "f.py")


def test_the_brief_states_every_rubric_item_with_its_points_and_the_deploy_command():
    nb = json.loads((SOLUTION / "project1_brief.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    for item in project1.RUBRIC.items:
        assert f"| `{item.key}` | {item.points:g} |" in text, item.key
    assert "uv run pywrangler deploy" in text and "course serve ." in text and "course check ." in text
