"""The grading pipeline end to end: release, check and grade with real nbgrader and real kernels.

Kernel start-up dominates, so the class below is graded twice in one test (flat LMS folder,
then nbgrader's layout) and every verdict is asserted on those two runs.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from course.grading.release import render_release
from course.grading.report import NBGRADER_CSV_COLUMNS
from course.grading.submissions import SubmissionError, find_submissions

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
SOLUTION_NB = SOLUTIONS / "day1" / "day1_exercises.ipynb"
EXERCISE_NB = ROOT / "exercises" / "day1" / "day1_exercises.ipynb"
#: Seconds per cell in these tests: the infinite loop costs this much (twice: q3 and q5 use it).
CELL_TIMEOUT = 10


def _course(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def _answered(overrides: dict[str, str] | None = None, drop: str | None = None) -> dict[str, Any]:
    """The released notebook with the solution's code typed into its answer cells, as a learner would."""
    solution = json.loads(SOLUTION_NB.read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in solution["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    answers.update(overrides or {})
    nb = json.loads(EXERCISE_NB.read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    nb["cells"] = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") != drop]
    return nb


WRONG_AGGREGATE = '''
def aggregate(task_id, n_subtasks, results):
    by_index = {}
    for r in results:  # forgets to drop results of other tasks and out-of-range indices
        by_index.setdefault(r.index, r)
    counts = {}
    for r in by_index.values():
        for word, n in r.counts.items():
            counts[word] = counts.get(word, 0) + n
    done = tuple(sorted(i for i in by_index if 0 <= i < n_subtasks))
    return Aggregate(task_id, counts, done, tuple(i for i in range(n_subtasks) if i not in by_index))
'''
INFINITE_SPLIT = "def split_task(task_id, items, max_per_subtask):\n    while True:\n        pass\n"


@pytest.fixture(scope="module")
def class_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """{student: notebook text} for a class with one of every kind of submission."""
    truncated = json.dumps(_answered(), indent=1)
    return {
        "alice": json.dumps(_answered()),                              # correct
        "bob": EXERCISE_NB.read_text(),                                # the release, untouched
        "carol": truncated[: len(truncated) // 2],                     # truncated JSON
        "dave": json.dumps(_answered({"q3_split": INFINITE_SPLIT})),   # infinite loop
        "erin": json.dumps(_answered(drop="q2_lifecycle_tests")),      # deleted grade cell
        "frank": json.dumps(_answered({"q4_aggregate": WRONG_AGGREGATE})),  # a wrong answer
        "instructor": SOLUTION_NB.read_text(),                         # the solution itself
    }


def test_exercises_match_what_course_release_generates_byte_for_byte() -> None:
    first = render_release("day1", SOLUTIONS)
    assert first == render_release("day1", SOLUTIONS), "course release is not deterministic"
    committed = {p.relative_to(ROOT / "exercises" / "day1").as_posix(): p.read_bytes()
                 for p in (ROOT / "exercises" / "day1").rglob("*") if p.is_file()}
    assert committed == first, "exercises/day1 is stale: run `course release day1`"
    released = json.loads(first["day1_exercises.ipynb"])
    text = json.dumps(released)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text
    assert all(c.get("outputs", []) == [] for c in released["cells"])


@pytest.mark.slow
def test_class_is_graded_completely_with_a_verdict_each_and_identically_twice(
        class_files: dict[str, str], tmp_path: Path) -> None:
    flat = tmp_path / "lms"
    flat.mkdir()
    for student, text in class_files.items():
        (flat / f"{student}_day1_exercises.ipynb").write_text(text)
    nested = tmp_path / "submitted"
    for student, text in class_files.items():
        (nested / student / "day1").mkdir(parents=True)
        (nested / student / "day1" / "day1_exercises.ipynb").write_text(text)

    runs = []
    for source, out in ((flat, tmp_path / "out1"), (nested, tmp_path / "out2")):
        proc = _course("grade", str(source), "--assignment", "day1", "--out", str(out), "--jobs", "2",
                       "--timeout", str(CELL_TIMEOUT))
        assert proc.returncode == 0, proc.stderr
        assert "7/7 students graded" in proc.stderr and "ETA" in proc.stderr  # the progress line
        runs.append(out)

    grades = [list(csv.DictReader(io.StringIO((out / "grades.csv").read_text()))) for out in runs]
    assert tuple(grades[0][0]) == NBGRADER_CSV_COLUMNS
    assert [(r["student_id"], r["score"]) for r in grades[0]] == [(r["student_id"], r["score"]) for r in grades[1]]
    scores = {r["student_id"]: float(r["score"]) for r in grades[0]}
    # 24 of 26: question 7 (2 points) is graded by hand, after the autograder. dave loses 3 and 6:
    # his infinite split_task also hangs the coordinator, which calls it.
    assert scores == {"alice": 24.0, "bob": 0.0, "carol": 0.0, "dave": 15.0, "erin": 20.0, "frank": 21.0,
                      "instructor": 24.0}
    assert all(r["max_score"] == "26.0" for r in grades[0])

    results = {r["student_id"]: r for r in json.loads((runs[0] / "results.json").read_text())}
    statuses = {s: {q["grade_id"]: q["status"] for q in r["questions"]} for s, r in results.items()}
    assert set(statuses["bob"].values()) == {"not attempted", "manual"}
    assert statuses["alice"]["q7_rationale"] == "manual"
    assert results["alice"]["verdicts"] == [] and results["instructor"]["verdicts"] == []
    assert "not valid JSON" in results["carol"]["verdicts"][0] and results["carol"]["status"] == "not graded"
    assert statuses["dave"]["q3_split_tests"] == "timeout"
    assert any(f"{CELL_TIMEOUT} s cell timeout" in v for v in results["dave"]["verdicts"])
    assert any("'q2_lifecycle_tests' was deleted" in v for v in results["erin"]["verdicts"])
    frank_q4 = next(q for q in results["frank"]["questions"] if q["grade_id"] == "q4_aggregate_tests")
    assert frank_q4["status"] == "fail" and "[aggregate seed=0]" in frank_q4["reason"]

    feedback = (runs[0] / "feedback" / "frank.html").read_text()
    assert "[aggregate seed=0]" in feedback and "aggregate_scenario(seed=0).run(aggregate)" in feedback
    assert "b-fail'>FAIL</span> 4. Aggregating results" in feedback and "paste the <code>reproduce:</code>" in feedback
    assert "Your code (q4_aggregate), as graded" in feedback and "forgets to drop results" in feedback
    for page in (runs[0] / "feedback").glob("*.html"):
        html = page.read_text()
        assert "HIDDEN TESTS" not in html and "range(50, 56)" not in html, page.name
    plots = sorted(p.name for p in (runs[0] / "plots").glob("*.png"))
    assert plots == sorted([f"{q['grade_id']}.png" for q in results["alice"]["questions"]] + ["total.png"])
    assert "q5_coordinator_tests.png" in plots


@pytest.mark.slow
def test_course_check_reports_each_question_for_a_solution_a_blank_and_a_wrong_answer(
        class_files: dict[str, str], tmp_path: Path) -> None:
    solved = _course("check", str(SOLUTION_NB))
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert solved.stdout.count("PASS") == 6 and "6/6 questions pass" in solved.stdout
    assert "HAND  7. Why this design? (2 pts): graded by hand" in solved.stdout
    assert "5. The coordinator, under crash, slow, duplicate, wrong-correlation and error faults" in solved.stdout

    blank = _course("check", str(EXERCISE_NB))
    assert blank.returncode == 1
    assert blank.stdout.count("not attempted") == 6 and "0/6 questions pass" in blank.stdout

    wrong = tmp_path / "frank.ipynb"
    wrong.write_text(class_files["frank"])
    report = _course("check", str(wrong))
    assert report.returncode == 1
    assert "FAIL  4. Aggregating results" in report.stdout and "[aggregate seed=0] FAILED" in report.stdout
    assert "reproduce: day1.aggregate_scenario(seed=0).run(aggregate)" in report.stdout

    broken = tmp_path / "broken.ipynb"
    broken.write_text(class_files["carol"])
    unreadable = _course("check", str(broken))
    assert unreadable.returncode == 2 and "not valid JSON" in unreadable.stderr


def test_submission_folders_are_read_in_both_layouts_and_a_resubmission_is_a_note(tmp_path: Path) -> None:
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "Ann_Lee_123_day1.ipynb").write_text("{}")
    (tmp_path / "flat" / "bo_1.ipynb").write_text("{}")
    subs = find_submissions(tmp_path / "flat", "day1", ["day1_exercises"])
    assert [(s.student_id, list(s.notebooks)) for s in subs] == [("Ann", ["day1_exercises"]), ("bo", ["day1_exercises"])]
    later = tmp_path / "flat" / "bo_2.ipynb"
    later.write_text("{}")
    os.utime(later, (2_000_000_000, 2_000_000_000))
    bo = find_submissions(tmp_path / "flat", "day1", ["day1_exercises"])[1]
    assert bo.notebooks["day1_exercises"] == later
    assert bo.notes == ["day1_exercises.ipynb submitted more than once: graded bo_2.ipynb (the latest), not bo_1.ipynb"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SubmissionError, match="no submissions"):
        find_submissions(tmp_path / "empty", "day1", ["day1_exercises"])


def test_kernels_graded_side_by_side_talk_over_private_unix_sockets(tmp_path: Path) -> None:
    # Over TCP, kernels starting at once could race for a port and one died: a student graded 0 by chance.
    from traitlets.config import Config

    from course.grading.config import apply_settings

    c = apply_settings(Config(), root=tmp_path, kernel_dir=tmp_path / "k" / "0")
    assert c.KernelManager.connection_file == str(tmp_path / "k" / "0" / "kernel.json")
    assert c.KernelManager.transport == ("ipc" if sys.platform != "win32" else "tcp")
    too_long = apply_settings(Config(), root=tmp_path, kernel_dir=tmp_path / ("d" * 120))
    assert "transport" not in too_long.KernelManager, "a socket path that long cannot be bound: stay on TCP"


def test_the_master_gradebook_is_the_one_nbgrader_creates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # course grade makes it in-process; nbgrader runs `alembic heads` in a new process (about 2 s)
    import os
    import sqlite3

    from nbgrader.api import Gradebook

    from course.grading.course_dir import create_gradebook

    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    create_gradebook(tmp_path / "ours.db")
    for name in ("ours.db", "nbgrader.db"):
        Gradebook(f"sqlite:///{tmp_path / name}").close()
    dump = lambda name: list(sqlite3.connect(tmp_path / name).iterdump())  # noqa: E731
    assert dump("ours.db") == dump("nbgrader.db")
