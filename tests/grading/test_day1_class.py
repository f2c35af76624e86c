"""The Day 1 class scores exactly its saved grades, and failures teach.

The fixed class (tests/grading/day1_class.py: the solution, the release, and one submission
per kind of mistake) is graded with real nbgrader and kernels; its grades.csv must equal the
saved one, and so must every question's score: each mistake costs exactly the question it
targets. A failing coordinator's feedback page shows the smallest failing case, its messages
and their sequence diagram; question 7 (the rationale) waits for the instructor's hand grade.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from day1_class import CLASS_DIR, EXPECTED_GRADES

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_QUESTIONS = EXPECTED_GRADES.with_name("day1_class_questions.csv")
#: Seconds per cell: the class has no infinite loop, so this only bounds a regression.
CELL_TIMEOUT = 30


def _question_scores(text: str) -> list[list[str]]:
    return [row[:-1] for row in csv.reader(io.StringIO(text))]  # every column but the verdicts


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("day1-class") / "out"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(CLASS_DIR), "--assignment", "day1",
                           "--out", str(out), "--timeout", str(CELL_TIMEOUT)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_day1_class_scores_exactly_what_it_scored_before_the_move(graded: Path) -> None:
    got, want = (graded / "grades.csv").read_text(), EXPECTED_GRADES.read_text()
    changed = sorted(set(got.splitlines()) ^ set(want.splitlines()))
    details = (graded / "questions.csv").read_text()
    assert got == want, f"rows that differ: {changed}\nper question now:\n{details}"
    assert _question_scores(details) == _question_scores(EXPECTED_QUESTIONS.read_text()), details
    scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(io.StringIO(EXPECTED_GRADES.read_text()))}
    # 24 of 26: every automatic point; question 7's 2 points are graded by hand, later.
    assert scores["correct"] == 24.0 and scores["blank"] == 0.0 and len(scores) >= 10
    assert all(0 < s < 24 for student, s in scores.items() if student not in ("correct", "blank"))


@pytest.mark.slow
def test_a_failing_coordinator_gets_its_smallest_case_messages_and_diagram_on_its_page(graded: Path) -> None:
    results = {r["student_id"]: r for r in json.loads((graded / "results.json").read_text())}
    q5 = next(q for q in results["no-retry"]["questions"] if q["grade_id"] == "q5_coordinator_tests")
    assert q5["status"] == "fail" and "[coordinator/crash seed=1] FAILED" in q5["reason"]
    assert "smallest failing case: 1 item" in q5["reason"]
    assert "[lost: worker:w1 has crashed]" in q5["reason"]
    assert "reproduce: day1.coordinator_scenario(seed=1, faults={'worker:w1': 'crash'}).run(run_coordinator)" in q5["reason"]
    page = (graded / "feedback" / "no-retry.html").read_text()
    assert "smallest failing case" in page and "data:image/png;base64," in page
    assert "HIDDEN TESTS" not in page and "range(50, 56)" not in page
    q7 = next(q for q in results["correct"]["questions"] if q["grade_id"] == "q7_rationale")
    assert q7["status"] == "manual" and q7["score"] == 0.0 and q7["max_score"] == 2.0
    assert "data:image/png" not in (graded / "feedback" / "correct.html").read_text()
