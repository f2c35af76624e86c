"""The Day 6 class: the solution, the release and one submission per mistake, graded for real.

The fixed class (tests/grading/day6_class.py) is graded with real nbgrader kernels; its
grades.csv and every question's score must equal the saved ones: the solution scores 27 of 27,
the release scores 0, and each mistake loses exactly the points of its question. A failing
question's feedback names the scenario and seed, shows the smallest failing case and the
messages it exchanged (with a sequence diagram on the page) and a reproduce line, never the
hidden tests.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from day6_class import CLASS_DIR, EDITS, EXPECTED_GRADES, EXPECTED_QUESTIONS, class_notebooks

ROOT = Path(__file__).resolve().parents[2]
CELL_TIMEOUT = 60
TOTAL = 27.0
#: The question each mistake breaks, and its points.
BROKEN = {"schema-future-is-invalid": ("q1_schemas_tests", 4), "store-retry-conflicts": ("q2_store_tests", 5),
          "replay-tail-off-by-one": ("q3_replay_tests", 5), "consumer-dedupe-by-message-id": ("q4_consumer_tests", 4),
          "hub-resume-repeats-last": ("q5_resume_tests", 4), "lease-complete-ignores-lease": ("q6_leases_tests", 5),
          "claim-unconditional-update": ("q6_leases_tests", 5)}


def _question_scores(text: str) -> list[list[str]]:
    return [row[:-1] for row in csv.reader(io.StringIO(text))]  # every column but the verdicts


def test_the_committed_class_is_the_solution_with_one_edit_each() -> None:
    assert set(BROKEN) == set(EDITS)
    committed = {p.name.removesuffix("_day6_exercises.ipynb"): p.read_text() for p in CLASS_DIR.glob("*.ipynb")}
    assert committed == class_notebooks(), "tests/grading/fixtures/day6_class is stale: run tests/grading/day6_class.py"


def test_the_expected_grades_lose_exactly_the_broken_questions_points() -> None:
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(EXPECTED_QUESTIONS.read_text()))}
    assert float(rows["correct"]["score"]) == TOTAL and float(rows["blank"]["score"]) == 0.0
    assert all(float(r["max_score"]) == TOTAL for r in rows.values())
    for student, (question, points) in BROKEN.items():
        assert float(rows[student][question]) == 0.0, student
        assert float(rows[student]["score"]) == TOTAL - points, student


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("day6-class") / "out"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(CLASS_DIR), "--assignment", "day6",
                           "--out", str(out), "--timeout", str(CELL_TIMEOUT)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_day6_class_scores_exactly_the_expected_grades(graded: Path) -> None:
    got, want = (graded / "grades.csv").read_text(), EXPECTED_GRADES.read_text()
    details = (graded / "questions.csv").read_text()
    assert got == want, f"rows that differ: {sorted(set(got.splitlines()) ^ set(want.splitlines()))}\n{details}"
    assert _question_scores(details) == _question_scores(EXPECTED_QUESTIONS.read_text()), details


@pytest.mark.slow
def test_a_slow_workers_late_complete_gets_its_smallest_case_messages_and_diagram(graded: Path) -> None:
    results = {r["student_id"]: r for r in json.loads((graded / "results.json").read_text())}
    q6 = next(q for q in results["lease-complete-ignores-lease"]["questions"] if q["grade_id"] == "q6_leases_tests")
    assert q6["status"] == "fail" and "[lease seed=0] FAILED" in q6["reason"]
    assert "smallest failing case: 1 tasks (slow)" in q6["reason"] and "holds it now" in q6["reason"]
    assert "w1 -> d1  execute  UPDATE" in q6["reason"]
    assert "reproduce: day6.lease_scenario(seed=0).run((claim, complete))" in q6["reason"]
    page = (graded / "feedback" / "lease-complete-ignores-lease.html").read_text()
    assert "data:image/png;base64," in page and "HIDDEN TESTS" not in page and "(61, 62, 63)" not in page


def test_exercises_day6_is_what_course_release_generates_from_the_solutions() -> None:
    from course.grading.release import render_release

    released = render_release("day6", ROOT / "solutions")
    committed = {p.relative_to(ROOT / "exercises" / "day6").as_posix(): p.read_bytes()
                 for p in (ROOT / "exercises" / "day6").rglob("*") if p.is_file()}
    assert committed == released, "exercises/day6 is stale: run `course release day6`"
    text = released["day6_exercises.ipynb"].decode()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "lease_until > ?" not in text
    assert "(11, 12, 13)" not in text


@pytest.mark.slow
@pytest.mark.parametrize("student, expected", [
    ("blank", ["TODO"] * 6),
    ("correct", ["PASS"] * 6),
    ("hub-resume-repeats-last", ["PASS"] * 4 + ["FAIL", "PASS"]),
])
def test_course_check_reports_pass_fail_todo_per_question(student: str, expected: list[str]) -> None:
    path = CLASS_DIR / f"{student}_day6_exercises.ipynb"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "check", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    marks = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("  ") and line.split()
             and line.split()[0] in ("PASS", "FAIL", "TODO", "HAND", "TIME", "MISS")]
    assert marks == expected, proc.stdout
