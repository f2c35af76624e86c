"""The Day 5 class: the solution, the release and one submission per mistake, graded for real.

The fixed class (tests/grading/day5_class.py) is graded with real nbgrader kernels; its
grades.csv and every question's score must equal the saved ones: the solution scores 28 of 28,
the release scores 0, and each mistake loses exactly the points of its question. A failing
question's feedback names the scenario and seed, shows the smallest failing case and the
messages it exchanged (with a sequence diagram on the page) and a reproduce line,
never the hidden tests.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from day5_class import CLASS_DIR, EDITS, EXPECTED_GRADES, class_notebooks

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_QUESTIONS = EXPECTED_GRADES.with_name("day5_class_questions.csv")
#: Seconds per cell: the class has no infinite loop that the checks do not stop, so this only bounds a regression.
CELL_TIMEOUT = 60
#: The question each mistake breaks, and its points.
BROKEN = {"task-cancel-after-end": ("q1_task_api_tests", 5), "idempotency-ignores-body": ("q2_idempotency_tests", 5),
          "retries-no-jitter": ("q3_retries_tests", 5), "breaker-many-trials": ("q4_breaker_tests", 4),
          "discovery-no-health-timeout": ("q5_discovery_tests", 5), "deadline-waits-for-hops": ("q6_deadlines_tests", 4)}


def _question_scores(text: str) -> list[list[str]]:
    return [row[:-1] for row in csv.reader(io.StringIO(text))]  # every column but the verdicts


def test_the_committed_class_is_the_solution_with_one_edit_each() -> None:
    assert set(BROKEN) == set(EDITS)
    committed = {p.name.removesuffix("_day5_exercises.ipynb"): p.read_text() for p in CLASS_DIR.glob("*.ipynb")}
    assert committed == class_notebooks(), "tests/grading/fixtures/day5_class is stale: run tests/grading/day5_class.py"


def test_the_expected_grades_lose_exactly_the_broken_questions_points() -> None:
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(EXPECTED_QUESTIONS.read_text()))}
    assert float(rows["correct"]["score"]) == 28.0 and float(rows["blank"]["score"]) == 0.0
    assert all(float(r["max_score"]) == 28.0 for r in rows.values())
    for student, (question, points) in BROKEN.items():
        assert float(rows[student][question]) == 0.0, student
        assert float(rows[student]["score"]) == 28.0 - points, student


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("day5-class") / "out"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(CLASS_DIR), "--assignment", "day5",
                           "--out", str(out), "--timeout", str(CELL_TIMEOUT)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_day5_class_scores_exactly_the_expected_grades(graded: Path) -> None:
    got, want = (graded / "grades.csv").read_text(), EXPECTED_GRADES.read_text()
    details = (graded / "questions.csv").read_text()
    assert got == want, f"rows that differ: {sorted(set(got.splitlines()) ^ set(want.splitlines()))}\n{details}"
    assert _question_scores(details) == _question_scores(EXPECTED_QUESTIONS.read_text()), details


@pytest.mark.slow
def test_backoff_without_jitter_gets_its_smallest_case_messages_and_diagram(graded: Path) -> None:
    results = {r["student_id"]: r for r in json.loads((graded / "results.json").read_text())}
    q3 = next(q for q in results["retries-no-jitter"]["questions"] if q["grade_id"] == "q3_retries_tests")
    assert q3["status"] == "fail" and "[retries seed=0] FAILED" in q3["reason"]
    assert "smallest failing case: budget 20; GET" in q3["reason"] and "full jitter: wait rng.uniform(0, 0.5)" in q3["reason"]
    assert "client -> agent  http.GET" in q3["reason"] and "(attempt 2)" in q3["reason"]
    assert "reproduce: day5.retry_scenario(seed=0).run(call_with_retries)" in q3["reason"]
    page = (graded / "feedback" / "retries-no-jitter.html").read_text()
    assert "data:image/png;base64," in page and "HIDDEN TESTS" not in page and "(31, 32, 33)" not in page


def test_exercises_day5_is_what_course_release_generates_from_the_solutions() -> None:
    from course.grading.release import render_release

    released = render_release("day5", ROOT / "solutions")
    committed = {p.relative_to(ROOT / "exercises" / "day5").as_posix(): p.read_bytes()
                 for p in (ROOT / "exercises" / "day5").rglob("*") if p.is_file()}
    assert committed == released, "exercises/day5 is stale: run `course release day5`"
    text = released["day5_exercises.ipynb"].decode()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "await asyncio.sleep(reply.retry_after)" not in text


@pytest.mark.slow
@pytest.mark.parametrize("student, expected", [
    ("blank", ["TODO"] * 6),
    ("correct", ["PASS"] * 6),
    ("deadline-waits-for-hops", ["PASS"] * 5 + ["FAIL"]),
])
def test_course_check_reports_pass_fail_todo_per_question(student: str, expected: list[str]) -> None:
    path = CLASS_DIR / f"{student}_day5_exercises.ipynb"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "check", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    marks = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("  ") and line.split()
             and line.split()[0] in ("PASS", "FAIL", "TODO", "HAND", "TIME", "MISS")]
    assert marks == expected, proc.stdout
