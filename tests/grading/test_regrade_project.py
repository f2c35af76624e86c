"""``course grade --project project1 --only ID``: a Worker project regraded into the class's report.

Two Project 1 students from an LMS download (the reference, and the starter handed in
unchanged) are graded; then the second hands in a project that keeps its state in memory
(17 of 20) and is regraded alone. The first student's row, results and page stay byte for byte.
"""
from __future__ import annotations

import importlib.util
import io
import json
import shutil
from pathlib import Path

import pytest

from course.cli import main
from course.grading.project_grade import grade_project_class

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "project1_variants", ROOT / "tests" / "grading" / "fixtures" / "project1_class" / "variants.py")
variants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(variants)
#: Real seconds per load and per rubric item.
ITEM_TIMEOUT = 8


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _grade(submissions: Path, out: Path, only: list[str] | None = None):
    return grade_project_class(submissions, "project1", out, jobs=2, item_timeout=ITEM_TIMEOUT, only=only,
                               progress=io.StringIO(), warnings=io.StringIO())


@pytest.mark.slow
def test_a_project_is_regraded_into_the_report_and_the_other_student_stays_byte_for_byte(tmp_path, capsys):
    first = tmp_path / "first"
    first.mkdir()
    shutil.copytree(variants.build(tmp_path / "build" / "ref", None), first / "alice_101_9001_project1")
    shutil.copytree(ROOT / "exercises" / "project1", first / "bob_102_9002_project1",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    report = _grade(first, out)
    assert {r.student_id: r.score for r in report.results} == {"101": 20, "102": 0}
    assert main(["grade", "override", str(out), "101", report.results[0].questions[0].grade_id, "0",
                 "--reason", "copied from another team"]) == 0
    before = _files(out)

    second = tmp_path / "second"
    second.mkdir()
    shutil.copytree(variants.build(tmp_path / "build" / "memory", "memory_state"), second / "bob_102_9002_project1")
    report = _grade(second, out, only=["102"])
    assert {r.student_id: r.score for r in report.results} == {"101": 20 - report.results[0].questions[0].max_score,
                                                                "102": 17}
    after = _files(out)
    assert after["feedback/101.html"] == before["feedback/101.html"]
    assert after["feedback/102.html"] != before["feedback/102.html"]
    rows = lambda files: {line.split(",")[3]: line for line in files["grades.csv"].decode().splitlines()[1:]}  # noqa: E731
    assert rows(after)["101"] == rows(before)["101"]
    assert rows(after)["102"].split(",")[7] == "17.0"
    old = {r["student_id"]: r for r in json.loads(before["results.json"])}
    new = {r["student_id"]: r for r in json.loads(after["results.json"])}
    assert new["101"] == old["101"] and json.loads(after["run.json"])["kind"] == "project"

    assert main(["grade", str(second), "--project", "project1", "--out", str(out), "--only", "103"]) == 2
    assert "--only: no submission from 103" in capsys.readouterr().err
    assert main(["grade", str(second), "--assignment", "day1", "--out", str(out), "--only", "102"]) == 2
    assert "holds a run of project 'project1', not notebook 'day1'" in capsys.readouterr().err
