"""``course grade override DIR STUDENT QUESTION POINTS --reason TEXT`` on a graded report.

The report is written by the grader's own report writer (``course.grading.class_report``) from
results shaped like a graded Day 1 class, so these tests need no kernel; the command itself runs
as the instructor runs it, through ``course.cli``.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from course.cli import main
from course.grading import class_report
from course.grading.autograde import QuestionResult, StudentResult
from course.grading.report_dir import RunRecord, load_results

QUESTIONS = (("q1_envelope_tests", 4.0), ("q5_coordinator_tests", 6.0), ("q7_rationale", 2.0))


def _student(sid: str, scores: dict[str, float], status: dict[str, str] | None = None) -> StudentResult:
    status = status or {}
    qs = [QuestionResult(g, g, scores.get(g, 0.0), m,
                         "manual" if g == "q7_rationale" else status.get(g, "pass" if scores.get(g) == m else "fail"),
                         "" if scores.get(g) == m else "[coordinator seed=54] FAILED: a subtask was lost")
          for g, m in QUESTIONS]
    return StudentResult(sid, "day1", sum(q.score for q in qs), sum(m for _, m in QUESTIONS), "graded",
                         questions=qs, key=sid)


def make_report(folder: Path, record: RunRecord | None = None) -> Path:
    results = [_student("ana", {"q1_envelope_tests": 4, "q5_coordinator_tests": 6}),
               _student("ben", {"q1_envelope_tests": 4, "q5_coordinator_tests": 0}),
               _student("cy", {"q1_envelope_tests": 0, "q5_coordinator_tests": 0})]
    folder.mkdir(parents=True)
    class_report.write(results, folder, record or RunRecord("notebook", "day1"))
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _grades(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "grades.csv").open() as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


def test_an_override_changes_the_score_everywhere_and_the_page_gives_the_reason(tmp_path, capsys):
    out = make_report(tmp_path / "out")
    before = _files(out)
    assert main(["grade", "override", str(out), "ben", "q5_coordinator_tests", "4.5",
                 "--reason", "lost subtask came from a grader bug"]) == 0
    assert "ben q5_coordinator_tests: 0 -> 4.5 / 6 points" in capsys.readouterr().out
    assert _grades(out)["ben"]["raw_score"] == "8.5" and _grades(out)["ben"]["score"] == "8.5"
    with (out / "questions.csv").open() as fh:
        row = next(r for r in csv.DictReader(fh) if r["student_id"] == "ben")
    assert row["q5_coordinator_tests"] == "4.5" and row["score"] == "8.5"
    page = (out / "feedback" / "ben.html").read_text()
    assert "Score changed by your instructor</b> from 0 to 4.5 points" in page
    assert "lost subtask came from a grader bug" in page
    ben = next(r for r in load_results(out) if r.student_id == "ben")
    q5 = next(q for q in ben.questions if q.grade_id == "q5_coordinator_tests")
    assert (q5.score, q5.auto_score, q5.graded_by) == (4.5, 0.0, "override")
    assert (out / "overrides.csv").read_text() == (
        "student,question,points,reason\nben,q5_coordinator_tests,4.5,lost subtask came from a grader bug\n")
    after = _files(out)
    for name in ("feedback/ana.html", "feedback/cy.html"):
        assert after[name] == before[name], f"{name} changed although its student was not overridden"
    old_rows = {line for line in before["grades.csv"].decode().splitlines() if not line.startswith("day1,,,ben,")}
    assert old_rows <= set(after["grades.csv"].decode().splitlines())


def test_a_second_override_of_the_same_question_replaces_the_first_and_keeps_the_autograders_score(tmp_path):
    out = make_report(tmp_path / "out")
    assert main(["grade", "override", str(out), "ben", "q5_coordinator_tests", "3", "--reason", "first look"]) == 0
    assert main(["grade", "override", str(out), "ben", "q5_coordinator_tests", "6", "--reason", "second look"]) == 0
    ben = next(r for r in load_results(out) if r.student_id == "ben")
    q5 = next(q for q in ben.questions if q.grade_id == "q5_coordinator_tests")
    assert (q5.score, q5.auto_score, q5.comment) == (6.0, 0.0, "second look")
    assert ben.score == 10.0
    assert (out / "overrides.csv").read_text().count("\n") == 2


def test_applying_the_kept_grades_again_writes_the_same_report(tmp_path):
    out = make_report(tmp_path / "out")
    assert main(["grade", "override", str(out), "cy", "q1_envelope_tests", "2", "--reason", "partly right"]) == 0
    once = _files(out)
    class_report.write(load_results(out), out, RunRecord("notebook", "day1"))
    assert _files(out) == once


@pytest.mark.parametrize("args, message", [
    (["nobody", "q1_envelope_tests", "1"], "no student 'nobody' in this report (students: ana, ben, cy)"),
    (["ben", "q9_missing", "1"], "ben has no question 'q9_missing' in day1"),
    (["ben", "q5_coordinator_tests", "7"], "ben q5_coordinator_tests: 7 points is outside 0..6"),
    (["ben", "q5_coordinator_tests", "-1"], "ben q5_coordinator_tests: -1 points is outside 0..6"),
    (["ben", "q5_coordinator_tests", "five"], "points 'five' is not a number"),
    (["ben", "q5_coordinator_tests", "nan"], "points 'nan' is not a number"),
])
def test_a_bad_override_is_refused_with_what_is_wrong_and_the_report_is_untouched(tmp_path, capsys, args, message):
    out = make_report(tmp_path / "out")
    before = _files(out)
    assert main(["grade", "override", str(out), *args, "--reason", "r"]) == 2
    assert message in capsys.readouterr().err
    assert _files(out) == before


def test_an_override_needs_a_reason_and_a_graded_report(tmp_path, capsys):
    out = make_report(tmp_path / "out")
    assert main(["grade", "override", str(out), "ben", "q5_coordinator_tests", "3"]) == 2
    assert "an override needs a reason" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["grade", "override", str(empty), "ben", "q5_coordinator_tests", "3", "--reason", "r"]) == 2
    assert "holds no graded class (results.json is missing)" in capsys.readouterr().err
    assert main(["grade", "override", str(out), "ben"]) == 2
    assert "expected DIR STUDENT QUESTION POINTS --reason TEXT" in capsys.readouterr().err


def test_an_override_recomputes_the_late_penalty_by_the_runs_policy(tmp_path):
    record = RunRecord("notebook", "day1", due="2026-03-01T23:59:00+00:00", late_penalty="per-hour:1",
                       submitted={"ben": "2026-03-02T02:30:00+00:00"})  # 3 started hours late
    out = make_report(tmp_path / "out", record)
    assert main(["grade", "override", str(out), "ben", "q5_coordinator_tests", "6", "--reason", "regraded"]) == 0
    row = _grades(out)["ben"]
    assert (row["raw_score"], row["late_submission_penalty"], row["score"]) == ("10.0", "3.0", "7.0")
    ben = next(r for r in load_results(out) if r.student_id == "ben")
    assert ben.verdicts == ["late penalty (per-hour): -3 points"]
    assert json.loads((out / "run.json").read_text())["late_penalty"] == "per-hour:1"


def test_a_hand_edited_row_that_does_not_parse_is_noted_and_blocks_new_overrides_until_fixed(tmp_path, capsys):
    out = make_report(tmp_path / "out")
    assert main(["grade", "override", str(out), "ben", "q5_coordinator_tests", "3", "--reason", "first"]) == 0
    with (out / "overrides.csv").open("a") as fh:
        fh.write("cy,q1_envelope_tests,three,typed by hand\n")
    files = class_report.write(load_results(out), out, RunRecord("notebook", "day1"))
    assert files.notes == ["overrides.csv line 3: points 'three' is not a number; that row was not applied"]
    assert "points &#x27;three&#x27; is not a number" in (out / "summary.html").read_text()
    assert _grades(out)["ben"]["score"] == "7.0"  # the readable override still counts
    before = _files(out)
    assert main(["grade", "override", str(out), "ana", "q1_envelope_tests", "2", "--reason", "second"]) == 2
    assert "fix or delete these rows" in capsys.readouterr().err
    assert _files(out) == before


def test_a_submissions_folder_named_override_is_graded_when_written_as_a_path(tmp_path, monkeypatch, capsys):
    (tmp_path / "override").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["grade", "./override", "--assignment", "day1", "--out", str(tmp_path / "out")]) == 2
    assert "no submissions in override" in capsys.readouterr().err  # read as a folder, not the command
    assert main(["grade", "override", str(tmp_path / "override")]) == 2
    assert "expected DIR STUDENT QUESTION POINTS --reason TEXT" in capsys.readouterr().err
