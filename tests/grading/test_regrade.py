"""``course grade ... --only STUDENT`` regrades some students into the report already in ``--out``.

A class of three (the solution, a coordinator that never retries, the blank release) is graded
once with real nbgrader and kernels; then the blank student hands in the solution and is
regraded alone. Their row, page and the class's summary change; everything of the two others
comes out byte for byte as it was, and an instructor's override survives the regrade.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from day1_class import CLASS_DIR

from course.cli import main
from course.cli.grading import JOBS_HELP

ROOT = Path(__file__).resolve().parents[2]
STUDENTS = ("correct", "no-retry", "blank")


def _course(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def _class(folder: Path, blank_hands_in_the_solution: bool = False) -> Path:
    folder.mkdir(parents=True)
    for student in STUDENTS:
        source = "correct" if (student == "blank" and blank_hands_in_the_solution) else student
        shutil.copy(CLASS_DIR / f"{source}_day1_exercises.ipynb", folder / f"{student}_day1_exercises.ipynb")
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regrade")
    out = root / "out"
    proc = _course("grade", str(_class(root / "first")), "--assignment", "day1", "--out", str(out), "--timeout", "30")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _rows(text: str) -> dict[str, str]:
    return {line.split(",")[3] if line.startswith("day1,") else line.split(",")[0]: line for line in text.splitlines()}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_only_one_student_is_regraded_and_the_others_stay_byte_for_byte(graded, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    assert main(["grade", "override", str(out), "no-retry", "q5_coordinator_tests", "3",
                 "--reason", "retries after a restart"]) == 0
    before = _files(out)
    second = _class(tmp_path / "second", blank_hands_in_the_solution=True)
    proc = _course("grade", str(second), "--assignment", "day1", "--out", str(out), "--timeout", "30", "--only", "blank")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "blank: 24/26 graded" in proc.stdout and "correct:" not in proc.stdout
    assert "regraded 1 student(s) into the report of 3" in proc.stdout
    after = _files(out)
    grades_before, grades_after = _rows(before["grades.csv"].decode()), _rows(after["grades.csv"].decode())
    assert grades_after["blank"] == "day1,,,blank,,,,24.0,0.0,24.0,26.0"
    assert grades_before["blank"] == "day1,,,blank,,,,0.0,0.0,0.0,26.0"
    for student in ("correct", "no-retry"):
        assert grades_after[student] == grades_before[student]
        assert after[f"feedback/{student}.html"] == before[f"feedback/{student}.html"]
    assert grades_after["no-retry"] == "day1,,,no-retry,,,,21.0,0.0,21.0,26.0"  # the override (+3) kept
    questions = {r[0]: r for r in csv.reader(io.StringIO(after["questions.csv"].decode()))}
    old_questions = {r[0]: r for r in csv.reader(io.StringIO(before["questions.csv"].decode()))}
    assert questions["correct"] == old_questions["correct"] and questions["no-retry"] == old_questions["no-retry"]
    results = {r["student_id"]: r for r in json.loads(after["results.json"])}
    old_results = {r["student_id"]: r for r in json.loads(before["results.json"])}
    assert results["correct"] == old_results["correct"] and results["no-retry"] == old_results["no-retry"]
    assert after["feedback/blank.html"] != before["feedback/blank.html"]
    assert after["overrides.csv"] == before["overrides.csv"]
    assert after["summary.csv"] != before["summary.csv"] and after["plots/total.png"] != before["plots/total.png"]
    assert not list(tmp_path.glob(".out.*")), "the staging folder was left behind"


def test_a_regrade_needs_a_previous_run_of_the_same_assignment_and_known_students(graded, tmp_path, capsys):
    folder = _class(tmp_path / "class")
    before = _files(graded)

    def refused(*args: str) -> str:
        assert main(["grade", str(folder), *args]) == 2
        return capsys.readouterr().err

    assert "does not exist: --only regrades students into an existing report" in refused(
        "--assignment", "day1", "--out", str(tmp_path / "nowhere"), "--only", "blank")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no graded class (results.json is missing)" in refused(
        "--assignment", "day1", "--out", str(empty), "--only", "blank")
    assert f"{graded} holds a run of notebook 'day1', not notebook 'day2'" in refused(
        "--assignment", "day2", "--out", str(graded), "--only", "blank")
    assert f"{graded} holds a run of notebook 'day1', not project 'project1'" in refused(
        "--project", "project1", "--out", str(graded), "--only", "blank")
    err = refused("--assignment", "day1", "--out", str(graded), "--only", "blank,zed")
    assert f"--only: no submission from zed in {folder} (students there: blank, correct, no-retry)" in err
    assert "--partial-credit all-or-nothing" in refused(
        "--assignment", "day1", "--out", str(graded), "--only", "blank", "--partial-credit", "scenario")
    assert "--only names no student" in refused("--assignment", "day1", "--out", str(graded), "--only", ",")
    assert _files(graded) == before


def test_the_jobs_help_and_the_grader_readme_say_the_same():
    readme = " ".join((ROOT / "grader" / "README.md").read_text().split())
    assert JOBS_HELP in readme


@pytest.mark.slow
def test_a_whole_class_regrade_into_the_same_out_keeps_the_overrides_and_gives_the_same_report(graded, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    assert main(["grade", "override", str(out), "blank", "q1_envelope_tests", "1",
                 "--reason", "the envelope was right in the markdown"]) == 0
    before = _files(out)
    proc = _course("grade", str(_class(tmp_path / "again")), "--assignment", "day1", "--out", str(out),
                   "--timeout", "30")
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = _files(out)
    assert _rows(after["grades.csv"].decode())["blank"] == "day1,,,blank,,,,1.0,0.0,1.0,26.0"
    assert sorted(after) == sorted(before)
    changed = [name for name in before if after[name] != before[name]]
    assert changed == [], f"a rerun of the same submissions changed {changed}"
