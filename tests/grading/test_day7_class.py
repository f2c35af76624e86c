"""The Day 7 class: the solution, the release and one submission per mistake, graded for real.

The fixed class (tests/grading/day7_class.py) is graded with real nbgrader kernels; its
grades.csv and every question's score must equal the saved ones: the solution scores all 26
points (every question is graded automatically), the release scores 0, and each
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

from day7_class import CLASS_DIR, EDITS, EXPECTED_GRADES, class_notebooks

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_QUESTIONS = EXPECTED_GRADES.with_name("questions.csv")
#: Seconds per cell: the class has no infinite loop, so this only bounds a regression.
CELL_TIMEOUT = 60
#: The question each mistake breaks, and its points.
BROKEN = {"trace-forwards-inbound": ("q1_trace_tests", 5), "signing-burns-nonce": ("q2_signing_tests", 5),
          "signing-no-replay-memory": ("q2_signing_tests", 5), "alert-last-sample": ("q3_alert_tests", 4),
          "placement-busiest-region": ("q4_placement_tests", 4), "sharding-no-headroom": ("q5_sharding_tests", 4),
          "shedding-liveness-fails": ("q6_shedding_tests", 4)}


def _question_scores(text: str) -> list[list[str]]:
    return [row[:-1] for row in csv.reader(io.StringIO(text))]  # every column but the verdicts


def test_the_committed_class_is_the_solution_with_one_edit_each() -> None:
    assert set(BROKEN) == set(EDITS)
    committed = {p.name.removesuffix("_day7_exercises.ipynb"): p.read_text() for p in CLASS_DIR.glob("*.ipynb")}
    assert committed == class_notebooks(), "tests/grading/fixtures/day7_class is stale: run tests/grading/day7_class.py"


def test_the_expected_grades_lose_exactly_the_broken_questions_points() -> None:
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(EXPECTED_QUESTIONS.read_text()))}
    auto = 26.0
    assert float(rows["correct"]["score"]) == auto and float(rows["blank"]["score"]) == 0.0
    assert all(float(r["max_score"]) == 26.0 for r in rows.values())
    for student, (question, points) in BROKEN.items():
        assert float(rows[student][question]) == 0.0, student
        assert float(rows[student]["score"]) == auto - points, student


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("day7-class") / "out"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(CLASS_DIR), "--assignment", "day7",
                           "--out", str(out), "--timeout", str(CELL_TIMEOUT)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_day7_class_scores_exactly_the_expected_grades(graded: Path) -> None:
    got, want = (graded / "grades.csv").read_text(), EXPECTED_GRADES.read_text()
    details = (graded / "questions.csv").read_text()
    assert got == want, f"rows that differ: {sorted(set(got.splitlines()) ^ set(want.splitlines()))}\n{details}"
    assert _question_scores(details) == _question_scores(EXPECTED_QUESTIONS.read_text()), details


@pytest.mark.slow
def test_an_alert_on_the_last_sample_gets_its_smallest_case_messages_and_diagram(graded: Path) -> None:
    results = {r["student_id"]: r for r in json.loads((graded / "results.json").read_text())}
    q3 = next(q for q in results["alert-last-sample"]["questions"] if q["grade_id"] == "q3_alert_tests")
    assert q3["status"] == "fail" and "[alert seed=0] FAILED" in q3["reason"], q3["reason"]
    assert "smallest failing case: blip:" in q3["reason"] and "metrics -> alert  sample" in q3["reason"]
    assert "reproduce: day7.alert_scenario(seed=0).run(ErrorRateAlert)" in q3["reason"]
    page = (graded / "feedback" / "alert-last-sample.html").read_text()
    assert "data:image/png;base64," in page and "HIDDEN TESTS" not in page and "(31, 32, 33)" not in page


def test_exercises_day7_is_what_course_release_generates_from_the_solutions() -> None:
    from course.grading.release import render_release

    released = render_release("day7", ROOT / "solutions")
    committed = {p.relative_to(ROOT / "exercises" / "day7").as_posix(): p.read_bytes()
                 for p in (ROOT / "exercises" / "day7").rglob("*") if p.is_file()}
    assert committed == released, "exercises/day7 is stale: run `course release day7`"
    text = released["day7_exercises.ipynb"].decode()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "stable_hash(request_id)" not in text


@pytest.mark.slow
@pytest.mark.parametrize("student, expected", [
    ("blank", ["TODO"] * 6),
    ("placement-busiest-region", ["PASS", "PASS", "PASS", "FAIL", "PASS", "PASS"]),
])
def test_course_check_reports_pass_fail_todo_per_question(student: str, expected: list[str]) -> None:
    path = CLASS_DIR / f"{student}_day7_exercises.ipynb"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "check", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    marks = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("  ") and line.split()
             and line.split()[0] in ("PASS", "FAIL", "TODO", "HAND", "TIME", "MISS")]
    assert marks == expected, proc.stdout
