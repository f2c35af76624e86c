"""Grading a class of ten Project 2 Worker projects: the reference, the starter, seven broken
meshes and one that does not load, as folders and zips, graded completely and identically twice."""
from __future__ import annotations

import csv
import importlib.util
import io
import json
from pathlib import Path

import pytest

from course.grading.project_grade import grade_project_class

ROOT = Path(__file__).resolve().parents[2]
#: Grading ten projects twice takes about two minutes of real time on two shared cores.
pytestmark = pytest.mark.slow


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


variants = _load("project2_variants", ROOT / "tests" / "grading" / "fixtures" / "project2_class" / "variants.py")
project_class = _load("project_class", ROOT / "tests" / "grading" / "project_class.py")

#: Real seconds per load and per rubric item.
ITEM_TIMEOUT = 30
#: LMS name -> (variant, as a zip?, expected score). None = the reference; "starter" = the release.
CLASS = {
    "amara_201_9101_project2": (None, True, 20),
    "bruno_202_9102_project2": ("starter", False, 0),
    "chen_203_9103_project2": ("no_fetch_timeout", True, 17),
    "dara_204_9104_project2": ("no_ai_fallback", False, 17),
    "emeka_205_9105_project2": ("ignores_offset", True, 17),
    "farah_206_9106_project2": ("publish_not_idempotent", False, 17),
    "goran_207_9107_project2": ("no_cache", True, 17),
    "hana_208_9108_project2": ("ack_on_failure", False, 17),
    "ines_209_9109_project2": ("check_first", True, 18),
    "jonas_210_9110_project2": ("missing_module", False, 0),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = project_class.build_class(tmp_path_factory.mktemp("class"), tmp_path_factory.mktemp("build"), "project2",
                                     CLASS, variants.build, ROOT / "exercises" / "project2")
    out = tmp_path_factory.mktemp("out")
    runs = [grade_project_class(root, "project2", out / f"run{n}", jobs=2, item_timeout=ITEM_TIMEOUT,
                                progress=io.StringIO(), warnings=io.StringIO()) for n in (1, 2)]
    return runs[0], runs[1]


def test_every_submission_gets_its_expected_score_and_loses_exactly_its_items(graded):
    report, _ = graded
    scores = {r.student_id: r.score for r in report.results}
    assert scores == {name.split("_")[1]: score for name, (_, _, score) in CLASS.items()}
    assert all(r.max_score == 20 for r in report.results)
    assert report.notes == ["instructions.txt: neither a project folder nor a .zip; skipped"]
    by_id = {r.student_id: r for r in report.results}
    for name, (variant, _, _) in CLASS.items():
        if variant in variants.LOSES:
            failed = {q.grade_id for q in by_id[name.split("_")[1]].questions if q.status != "pass"}
            assert failed == variants.LOSES[variant], (name, failed)


def test_the_submission_that_does_not_load_gets_its_own_verdict(graded):
    report, _ = graded
    by_name = {r.name: r for r in report.results}
    jonas = by_name["jonas"]
    assert jonas.status == "not graded" and {q.status for q in jonas.questions} == {"not run"}
    assert variants.UNLOADABLE["missing_module"][2] in " ".join(jonas.verdicts)
    assert by_name["amara"].status == "graded" and not by_name["amara"].verdicts


def test_the_class_is_graded_identically_twice(graded):
    first, second = graded
    assert first.grades_csv.read_bytes() == second.grades_csv.read_bytes()
    assert first.results_json.read_bytes() == second.results_json.read_bytes()
    assert first.questions_csv.read_bytes() == second.questions_csv.read_bytes()


def test_the_report_has_per_item_columns_feedback_and_reproduce_lines(graded):
    report, _ = graded
    rows = list(csv.DictReader(report.grades_csv.open()))
    assert len(rows) == 10 and rows[0]["assignment"] == "project2"
    questions = {q["student_id"]: q for q in csv.DictReader(report.questions_csv.open())}
    assert questions["208"]["agent-crash"] == "0" and questions["208"]["happy-path"] == "3"
    assert questions["209"]["burst"] == "0" and questions["209"]["resume"] == "3"
    assert len(report.feedback) == 10
    page = (report.out_dir / "feedback" / "205.html").read_text()
    assert "[resume seed=4] FAILED" in page and "data:image/png;base64," in page  # the sequence diagram
    assert "reproduce: course check . --only resume --seed 4" in page
    results = json.loads(report.results_json.read_text())
    assert {r["student_id"] for r in results if r["status"] == "not graded"} == {"210"}
