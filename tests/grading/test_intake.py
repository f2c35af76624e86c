"""A class's odd folders and an instructor's workflow: each oddity a note, never an abort or a silent skip.

The fast tests read folders and compute lateness and summaries without nbgrader; the slow one
grades a small class of odd submissions (tiny assignment of tests/grading/test_boundary.py)
end to end with a due date and a late penalty.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from course.grading.autograde import QuestionResult, StudentResult
from course.grading.lateness import LatePolicy
from course.grading.report import write_grades_csv
from course.grading.submissions import find_class, parse_lms_name, student_key
from course.grading.summary import reason_key, summarise
from test_boundary import RIGHT, WRONG, submission, tiny_assignment

ROOT = Path(__file__).resolve().parents[2]


def test_lms_file_names_keep_the_lms_id_and_the_name() -> None:
    canvas = parse_lms_name("janesmith_LATE_123456_7890123_day1_exercises.ipynb")
    assert (canvas.student_id, canvas.name, canvas.lms, canvas.late) == ("123456", "janesmith", "canvas", True)
    moodle = parse_lms_name("Jane Smith_123456_assignsubmission_file_day1_exercises.ipynb")
    assert (moodle.student_id, moodle.name, moodle.lms) == ("123456", "Jane Smith", "moodle")
    board = parse_lms_name("Day 1_jsmith_attempt_2026-03-02-10-30-00_day1_exercises.ipynb")
    assert (board.student_id, board.lms) == ("jsmith", "blackboard")
    assert board.submitted_at == datetime(2026, 3, 2, 10, 30, tzinfo=timezone.utc)
    assert parse_lms_name("bo_whatever.ipynb").student_id == "bo"


def test_student_keys_are_short_safe_and_unique() -> None:
    taken: set[str] = set()
    long_id = "x" * 240
    keys = [student_key(s, taken) for s in (long_id, "[x]", "ann", "a n n", "a-n-n")]
    assert all(len(k) <= 48 and all(c.isalnum() or c in ".@-" for c in k) for k in keys), keys
    assert len(set(keys)) == 5 and keys[2] == "ann"


def test_odd_folders_become_notes(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "Jane Smith_111_assignsubmission_file_tiny.ipynb").write_text("{}")
    (flat / "stray").mkdir()
    (flat / "readme.txt").write_text("from the LMS")
    (flat / "Bob Lee_222_assignsubmission_file_").mkdir()  # Moodle's "submissions in folders"
    (flat / "Bob Lee_222_assignsubmission_file_" / "tiny.ipynb").write_text("{}")
    first, second = flat / "cat_1.ipynb", flat / "cat_2.ipynb"
    first.write_text("{}")
    second.write_text("{}")
    os.utime(first, (2_000_000_100, 2_000_000_100))  # the first name is the later upload
    os.utime(second, (2_000_000_000, 2_000_000_000))
    intake = find_class(flat, "tiny", ["tiny"])
    subs = {s.student_id: s for s in intake.submissions}
    assert sorted(subs) == ["111", "222", "cat"]
    assert subs["111"].name == "Jane Smith" and subs["222"].name == "Bob Lee"
    assert subs["cat"].notebooks["tiny"] == first and "graded cat_1.ipynb (the latest)" in subs["cat"].notes[0]
    assert intake.notes == ["readme.txt: not a notebook; skipped",
                            "stray/: a folder with no notebook in a flat download; skipped"]


def test_nested_layout_keeps_odd_names_and_reads_nbgraders_timestamp(tmp_path: Path) -> None:
    for student in ("[x]", "y" * 240):
        folder = tmp_path / "sub" / student / "tiny"
        folder.mkdir(parents=True)
        (folder / "tiny.ipynb").write_text("{}")
    (tmp_path / "sub" / "[x]" / "tiny" / "timestamp.txt").write_text("2026-03-01 12:00:00")
    (tmp_path / "sub" / "notes").mkdir()
    intake = find_class(tmp_path / "sub", "tiny", ["tiny"])
    subs = {s.student_id: s for s in intake.submissions}
    assert subs["[x]"].submitted_at == datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    assert subs["[x]"].key != "[x]" and len(subs["y" * 240].key) <= 48
    assert intake.notes == ["notes/: not a <student>/tiny/ folder; skipped"]


def test_late_penalties_follow_nbgraders_semantics() -> None:
    due = "2026-03-01T23:59"
    on_time, late = datetime(2026, 3, 1, 23, 0, tzinfo=timezone.utc), datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)
    assert LatePolicy.parse(due, "none").penalty(10, late) == 0
    assert LatePolicy.parse(due, "zero").penalty(10, late) == 10 and LatePolicy.parse(due, "zero").penalty(10, on_time) == 0
    assert LatePolicy.parse(due, "per-hour:2").penalty(10, late) == 4  # 1 h 31 min: two started hours
    assert LatePolicy.parse(due, "per-hour:20").penalty(10, late) == 10  # never below 0
    assert "not checked for lateness" in LatePolicy.parse(due).note(None)
    with pytest.raises(ValueError, match="per-hour:POINTS"):
        LatePolicy.parse(due, "half")


def test_grades_csv_carries_names_times_and_penalties(tmp_path: Path) -> None:
    r = StudentResult("123456", "tiny", 8.0, 10.0, "graded", name="Jane van Smith", timestamp="2026-03-02 01:30:00",
                      late_penalty=2.0, duedate="2026-03-01 23:59:00")
    rows = list(csv.DictReader(io.StringIO(write_grades_csv([r], tmp_path / "g.csv").read_text())))
    assert rows == [{"assignment": "tiny", "duedate": "2026-03-01 23:59:00", "timestamp": "2026-03-02 01:30:00",
                     "student_id": "123456", "last_name": "Smith", "first_name": "Jane van", "email": "",
                     "raw_score": "8.0", "late_submission_penalty": "2.0", "score": "6.0", "max_score": "10.0"}]


def test_the_summary_groups_failures_by_scenario_and_reason() -> None:
    def student(score: float, reason: str) -> StudentResult:
        q = QuestionResult("q5", "Coordinator", score, 6.0, "pass" if score == 6 else "fail", reason)
        return StudentResult("s", "day1", score, 6.0, "graded", questions=[q])

    class_ = [student(6, ""), student(0, "[coordinator/crash seed=2] FAILED: 3 of 14 items lost"),
              student(0, "[coordinator/crash seed=5] FAILED: 4 of 14 items lost\nmore"),
              student(0, "[split seed=1] FAILED: wrong sizes")]
    (q5,) = summarise(class_)
    assert q5.mean == 1.5 and q5.pass_rate == 0.25
    assert q5.reasons[0] == ("[coordinator/crash] FAILED: N of N items lost", 2)
    assert reason_key("[a seed=3] FAILED: x") == "[a] FAILED: x"


@pytest.mark.slow
def test_an_odd_class_is_graded_whole_with_a_note_for_each_oddity(tmp_path: Path) -> None:
    tiny_assignment(tmp_path / "sol")
    lms = tmp_path / "lms"
    lms.mkdir()
    (lms / ("L" * 200 + "_tiny.ipynb")).write_text(submission(RIGHT))  # an id too long for a file name
    (lms / "Jane Smith_123456_assignsubmission_file_tiny.ipynb").write_text(submission(RIGHT))
    (lms / "Day 1_late_attempt_2026-03-02-01-30-00_tiny.ipynb").write_text(submission(RIGHT))
    (lms / "Day 1_late_attempt_2026-03-01-10-00-00_tiny.ipynb").write_text(submission(WRONG))
    (lms / "[x]_tiny.ipynb").write_text(submission(RIGHT))
    (lms / "stray").mkdir()
    proc = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(lms), "--assignment", "tiny",
                           "--solutions", str(tmp_path / "sol"), "--out", str(tmp_path / "out"), "--timeout", "20",
                           "--due", "2026-03-01T23:59", "--late-penalty", "per-hour:2"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "note: stray/: a folder with no notebook in a flat download; skipped" in proc.stdout
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text()))}
    assert sorted(rows) == ["123456", "L" * 200, "late", "x"]
    assert rows["L" * 200]["score"] == "10.0" and rows["x"]["score"] == "10.0"
    assert (rows["123456"]["first_name"], rows["123456"]["last_name"]) == ("Jane", "Smith")
    late = rows["late"]
    assert (late["raw_score"], late["late_submission_penalty"], late["score"]) == ("10.0", "4.0", "6.0")
    assert late["timestamp"].startswith("2026-03-02 01:30") and late["duedate"] == "2026-03-01 23:59:00"
    results = {r["student_id"]: r for r in json.loads((tmp_path / "out" / "results.json").read_text())}
    notes = " ".join(results["late"]["verdicts"])
    assert "submitted more than once" in notes and "late penalty (per-hour): -4" in notes
    assert "no submission time is known" in " ".join(results["123456"]["verdicts"])
    assert len(list((tmp_path / "out" / "feedback").glob("*.html"))) == 4
    assert "most common failure reasons" in (tmp_path / "out" / "summary.html").read_text()
