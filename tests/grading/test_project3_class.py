"""Grading a small class of Project 3 Worker projects: the reference, the starter, two systems that
each break one invariant or budget and one that does not load, as folders and zips, graded
completely and identically twice; the design rationale is left to the instructor ("manual")."""
from __future__ import annotations

import csv
import importlib.util
import io
import json
from pathlib import Path

import pytest

from course.grading.project_grade import grade_project_class

ROOT = Path(__file__).resolve().parents[2]
#: Grading five projects twice (each plays the simulated hour once) takes a minute or two of real time.
pytestmark = pytest.mark.slow


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


variants = _load("project3_variants", ROOT / "tests" / "grading" / "fixtures" / "project3_class" / "variants.py")
project_class = _load("project_class", ROOT / "tests" / "grading" / "project_class.py")

#: Real seconds per load and per rubric item (the first hour item plays the hour for all eight).
ITEM_TIMEOUT = 60
#: LMS name -> (variant, as a zip?, expected score). None = the reference; "starter" = the release.
#: 23 of 25 at most before the instructor grades DESIGN.md (2 points).
CLASS = {
    "ada_301_9201_project3": (None, True, 23),
    "ben_302_9202_project3": ("starter", False, 0),
    "cleo_303_9203_project3": ("memory_nonces", True, 21),
    "dev_304_9204_project3": ("pricey_model", False, 22),
    "eva_305_9205_project3": ("syntax_error", True, 0),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = project_class.build_class(tmp_path_factory.mktemp("class"), tmp_path_factory.mktemp("build"), "project3",
                                     CLASS, variants.build, ROOT / "exercises" / "project3")
    out = tmp_path_factory.mktemp("out")
    runs = [grade_project_class(root, "project3", out / f"run{n}", jobs=2, item_timeout=ITEM_TIMEOUT,
                                progress=io.StringIO(), warnings=io.StringIO()) for n in (1, 2)]
    return runs[0], runs[1]


def test_every_submission_gets_its_expected_score_and_loses_exactly_its_items(graded):
    report, _ = graded
    scores = {r.student_id: r.score for r in report.results}
    assert scores == {name.split("_")[1]: score for name, (_, _, score) in CLASS.items()}
    assert all(r.max_score == 25 for r in report.results)
    by_id = {r.student_id: r for r in report.results}
    for name, (variant, _, _) in CLASS.items():
        if variant in variants.LOSES:
            failed = {q.grade_id for q in by_id[name.split("_")[1]].questions if q.status == "fail"}
            assert failed == variants.LOSES[variant], (name, failed)


def test_the_design_rationale_is_reported_manual_with_what_there_is_to_read(graded):
    report, _ = graded
    by_id = {r.student_id: r for r in report.results}
    design = next(q for q in by_id["301"].questions if q.grade_id == "design")
    assert design.status == "manual" and design.score == 0
    questions = list(csv.DictReader(report.questions_csv.open()))
    ada = next(q for q in questions if q["student_id"] == "301")
    assert ada["no-lost-task"] == "3" and ada["design"] == "0"
    page = (report.out_dir / "feedback" / "303.html").read_text()
    assert "[signed-calls seed=3] FAILED" in page and "replay-after-crash" in page
    assert "Design rationale (DESIGN.md)" in page and "graded by hand by your instructor" in page
    assert "DESIGN.md:" in design.reason  # what the instructor will find to read


def test_a_submission_that_does_not_load_gets_its_verdict(graded):
    report, _ = graded
    eva = next(r for r in report.results if r.student_id == "305")
    assert eva.status == "not graded" and variants.UNLOADABLE["syntax_error"][2] in " ".join(eva.verdicts)
    results = json.loads(report.results_json.read_text())
    assert {r["student_id"] for r in results if r["status"] == "not graded"} == {"305"}


def test_the_class_is_graded_identically_twice(graded):
    first, second = graded
    assert first.grades_csv.read_bytes() == second.grades_csv.read_bytes()
    assert first.results_json.read_bytes() == second.results_json.read_bytes()
    assert first.questions_csv.read_bytes() == second.questions_csv.read_bytes()
