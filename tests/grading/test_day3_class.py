"""The Day 3 class: the solution, the release and one submission per mistake, graded for real.

The fixed class (tests/grading/day3_class.py) is graded with real nbgrader kernels; its
grades.csv and every question's score must equal the saved ones: the solution scores every
automatic point (27 of 27), the release scores 0, and each
mistake loses exactly the points of its question. A failing question's feedback names the
scenario and seed, shows the smallest failing case and its messages (with a sequence diagram
on the page) and a reproduce line, never the hidden tests.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from day3_class import CLASS_DIR, EDITS, EXPECTED_GRADES, class_notebooks

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_QUESTIONS = EXPECTED_GRADES.with_name("day3_class_questions.csv")
#: Seconds per cell: the class has no infinite loop, so this only bounds a regression.
CELL_TIMEOUT = 60
#: The question each mistake breaks, and its points.
BROKEN = {"schema-no-rules": ("q1_schemas_tests", 4), "upcast-accepts-future": ("q2_upcasters_tests", 4),
          "crash-key-per-attempt": ("q3_runner_tests", 6), "crash-task-in-memory": ("q3_runner_tests", 6),
          "quota-unfixed": ("q4_quota_tests", 3), "cas-no-recheck": ("q5_cas_tests", 5),
          "migration-unguarded": ("q6_memory_tests", 5)}


def _question_scores(text: str) -> list[list[str]]:
    return [row[:-1] for row in csv.reader(io.StringIO(text))]  # every column but the verdicts


def test_the_committed_class_is_the_solution_with_one_edit_each() -> None:
    assert set(BROKEN) == set(EDITS)
    committed = {p.name.removesuffix("_day3_exercises.ipynb"): p.read_text() for p in CLASS_DIR.glob("*.ipynb")}
    assert committed == class_notebooks(), "tests/grading/fixtures/day3_class is stale: run tests/grading/day3_class.py"


def test_the_expected_grades_lose_exactly_the_broken_questions_points() -> None:
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(EXPECTED_QUESTIONS.read_text()))}
    auto = 27.0
    assert float(rows["correct"]["score"]) == auto and float(rows["blank"]["score"]) == 0.0
    assert all(float(r["max_score"]) == 27.0 for r in rows.values())
    for student, (question, points) in BROKEN.items():
        assert float(rows[student][question]) == 0.0, student
        assert float(rows[student]["score"]) == auto - points, student


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("day3-class") / "out"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(CLASS_DIR), "--assignment", "day3",
                           "--out", str(out), "--timeout", str(CELL_TIMEOUT)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_day3_class_scores_exactly_the_expected_grades(graded: Path) -> None:
    got, want = (graded / "grades.csv").read_text(), EXPECTED_GRADES.read_text()
    details = (graded / "questions.csv").read_text()
    assert got == want, f"rows that differ: {sorted(set(got.splitlines()) ^ set(want.splitlines()))}\n{details}"
    assert _question_scores(details) == _question_scores(EXPECTED_QUESTIONS.read_text()), details


@pytest.mark.slow
def test_a_tool_key_per_attempt_gets_the_crash_point_its_messages_and_a_reproduce_line(graded: Path) -> None:
    results = {r["student_id"]: r for r in json.loads((graded / "results.json").read_text())}
    q3 = next(q for q in results["crash-key-per-attempt"]["questions"] if q["grade_id"] == "q3_runner_tests")
    assert q3["status"] == "fail" and "[crash-safe seed=0] FAILED" in q3["reason"]
    assert "crash the agent right after operation" in q3["reason"]
    assert "right after tools.run(step 0) effect applied  [fault]" in q3["reason"]
    assert "reproduce: day3.crash_safe_scenario(seed=0).run(TaskRunner)" in q3["reason"]
    page = (graded / "feedback" / "crash-key-per-attempt.html").read_text()
    assert "data:image/png;base64," in page and "HIDDEN TESTS" not in page and "(31, 32)" not in page


def test_exercises_day3_is_what_course_release_generates_from_the_solutions() -> None:
    from course.grading.release import render_release

    released = render_release("day3", ROOT / "solutions")
    committed = {p.relative_to(ROOT / "exercises" / "day3").as_posix(): p.read_bytes()
                 for p in (ROOT / "exercises" / "day3").rglob("*") if p.is_file()}
    assert committed == released, "exercises/day3 is stale: run `course release day3`"
    text = released["day3_exercises.ipynb"].decode()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "RETURNING id" not in text


@pytest.mark.slow
@pytest.mark.parametrize("student, expected", [
    ("blank", ["TODO"] * 6),
    ("quota-unfixed", ["PASS", "PASS", "PASS", "FAIL", "PASS", "PASS"]),
])
def test_course_check_reports_pass_fail_todo_per_question(student: str, expected: list[str]) -> None:
    path = CLASS_DIR / f"{student}_day3_exercises.ipynb"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "check", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    marks = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("  ") and line.split()
             and line.split()[0] in ("PASS", "FAIL", "TODO", "HAND", "TIME", "MISS")]
    assert marks == expected, proc.stdout
