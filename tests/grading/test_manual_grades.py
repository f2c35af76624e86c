"""Hand-graded questions: ``course grade manual DIR`` (template), ``--import FILE.csv`` and ``--import gradebook.db``.

The report comes from the grader's report writer (see test_override.py); the gradebook is a real
nbgrader gradebook, filled through nbgrader's own ``Gradebook`` API the way formgrader fills it.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from test_override import _files, _grades, make_report

from course.cli import main
from course.grading.autograde import StudentResult
from course.grading.course_dir import ensure_tools_on_path
from course.grading.project_grade import ProjectSubmission, _result
from course.grading.report_dir import load_results
from course.checks.projects.rubric import ItemResult


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_the_template_lists_every_hand_graded_question_not_yet_graded(tmp_path, capsys):
    out = make_report(tmp_path / "out")
    assert main(["grade", "manual", str(out)]) == 0
    assert "3 question(s) to grade by hand" in capsys.readouterr().out
    rows = _rows(out / "manual_todo.csv")
    assert list(rows[0]) == ["student", "question", "max_points", "points", "comment"]
    assert [(r["student"], r["question"], r["max_points"], r["points"]) for r in rows] == [
        ("ana", "q7_rationale", "2", ""), ("ben", "q7_rationale", "2", ""), ("cy", "q7_rationale", "2", "")]


def test_imported_hand_grades_count_and_the_page_shows_the_comment(tmp_path, capsys):
    out = make_report(tmp_path / "out")
    filled = tmp_path / "filled.csv"
    filled.write_text("student,question,max_points,points,comment\n"
                      "ana,q7_rationale,2,2,names the owner of every decision\n"
                      "ben,q7_rationale,2,1.5,\n"
                      "cy,q7_rationale,2,,\n")  # not graded yet: skipped
    before = _files(out)
    assert main(["grade", "manual", str(out), "--import", str(filled)]) == 0
    assert "imported 2 hand grade(s)" in capsys.readouterr().out
    assert _grades(out)["ana"]["score"] == "12.0" and _grades(out)["ben"]["score"] == "5.5"
    assert _files(out)["feedback/cy.html"] == before["feedback/cy.html"]
    page = (out / "feedback" / "ana.html").read_text()
    assert "Hand grade</b>: 2 / 2 points. Comment: names the owner of every decision" in page
    assert "graded by hand by your instructor</p>" in page
    assert (out / "manual_grades.csv").read_text() == ("student,question,points,comment\n"
                                                      "ana,q7_rationale,2,names the owner of every decision\n"
                                                      "ben,q7_rationale,1.5,\n")
    assert main(["grade", "manual", str(out)]) == 0
    assert [r["student"] for r in _rows(out / "manual_todo.csv")] == ["cy"]


def test_an_override_wins_over_a_hand_grade_of_the_same_question(tmp_path):
    out = make_report(tmp_path / "out")
    filled = tmp_path / "filled.csv"
    filled.write_text("student,question,max_points,points,comment\nben,q7_rationale,2,1,short\n")
    assert main(["grade", "manual", str(out), "--import", str(filled)]) == 0
    assert main(["grade", "override", str(out), "ben", "q7_rationale", "2", "--reason", "appeal accepted"]) == 0
    ben = next(r for r in load_results(out) if r.student_id == "ben")
    q7 = next(q for q in ben.questions if q.grade_id == "q7_rationale")
    assert (q7.score, q7.graded_by, q7.comment, q7.auto_score) == (2.0, "override", "appeal accepted", 0.0)


def test_a_bad_import_names_every_bad_line_and_imports_nothing(tmp_path, capsys):
    out = make_report(tmp_path / "out")
    filled = tmp_path / "filled.csv"
    filled.write_text("student,question,max_points,points,comment\n"
                      "ana,q7_rationale,2,2,fine\n"
                      "ana,q1_envelope_tests,4,4,not a hand-graded question\n"
                      "ben,q7_rationale,2,2.5,too many\n"
                      "zed,q7_rationale,2,1,unknown\n")
    before = _files(out)
    assert main(["grade", "manual", str(out), "--import", str(filled)]) == 2
    err = capsys.readouterr().err
    assert "nothing was imported" in err
    assert "filled.csv line 3: ana q1_envelope_tests is autograded (pass), not graded by hand" in err
    assert "filled.csv line 4: ben q7_rationale: 2.5 points is outside 0..2" in err
    assert "filled.csv line 5: no student 'zed'" in err
    assert _files(out) == before
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,score\nana,2\n")
    assert main(["grade", "manual", str(out), "--import", str(wrong)]) == 2
    assert "has no column points, question, student" in capsys.readouterr().err


def _formgrader_gradebook(path: Path) -> None:
    """A gradebook as nbgrader leaves it after autograde + formgrader: hand scores and comments entered."""
    from nbgrader.api import Gradebook

    ensure_tools_on_path()
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("day1")
        gb.add_notebook("day1_exercises", "day1")
        gb.add_grade_cell("q1_envelope_tests", "day1_exercises", "day1", max_score=4, cell_type="code")
        gb.add_grade_cell("q7_rationale", "day1_exercises", "day1", max_score=2, cell_type="markdown")
        gb.add_solution_cell("q7_rationale", "day1_exercises", "day1")
        for student in ("ana", "ben"):
            gb.add_student(student)
            gb.add_submission("day1", student)
        grade = gb.find_grade("q7_rationale", "day1_exercises", "day1", "ana")
        grade.manual_score = 1.0
        gb.find_comment("q7_rationale", "day1_exercises", "day1", "ana").manual_comment = "memory part missing"
        gb.find_grade("q1_envelope_tests", "day1_exercises", "day1", "ben").manual_score = 3.0
        gb.db.commit()


# nbgrader's own Gradebook code trips SQLAlchemy's "not in session" warnings (course grade filters them too).
@pytest.mark.filterwarnings("ignore:Object of type:sqlalchemy.exc.SAWarning")
def test_hand_grades_and_formgrader_changes_come_in_from_an_nbgrader_gradebook(tmp_path, capsys):
    out = make_report(tmp_path / "out")
    db = tmp_path / "gradebook.db"
    _formgrader_gradebook(db)
    assert main(["grade", "manual", str(out), "--import", str(db)]) == 0
    printed = capsys.readouterr().out
    assert "note: cy: not in the gradebook" in printed
    assert "imported 1 hand grade(s) and 1 formgrader override(s)" in printed
    results = {r.student_id: r for r in load_results(out)}
    q7 = next(q for q in results["ana"].questions if q.grade_id == "q7_rationale")
    assert (q7.score, q7.graded_by, q7.comment) == (1.0, "hand", "memory part missing")
    q1 = next(q for q in results["ben"].questions if q.grade_id == "q1_envelope_tests")
    assert (q1.score, q1.graded_by, q1.auto_score) == (3.0, "override", 4.0)
    assert "from 4 to 3 points. Reason: set in nbgrader&#x27;s formgrader" in (out / "feedback" / "ben.html").read_text()
    assert _grades(out)["ana"]["score"] == "11.0" and _grades(out)["ben"]["score"] == "3.0"


def test_a_gradebook_without_the_assignment_is_refused(tmp_path, capsys):
    from nbgrader.api import Gradebook

    ensure_tools_on_path()
    out = make_report(tmp_path / "out")
    db = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.add_assignment("day2")
    assert main(["grade", "manual", str(out), "--import", str(db)]) == 2
    assert "has no assignment 'day1'" in capsys.readouterr().err


def test_a_project_rubric_item_graded_by_hand_reads_as_a_manual_question(tmp_path):
    sub = ProjectSubmission("ana", tmp_path, key="ana")
    items = [ItemResult("api", "the API", 5, 5, "pass"), ItemResult("writeup", "design write-up", 0, 3, "manual")]
    result: StudentResult = _result(sub, "project1", items, [])
    assert [(q.grade_id, q.status, q.score) for q in result.questions] == [("api", "pass", 5), ("writeup", "manual", 0)]
