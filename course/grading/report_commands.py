"""``course grade override`` and ``course grade manual``: the instructor's commands on a graded report.

Both work on the report folder a ``course grade`` run wrote (``--out``), notebooks or projects:
they read its ``results.json`` and ``run.json``, validate what the instructor gives against
them (the student and question must exist, the points lie in 0..max, a hand grade goes to a
question graded by hand), keep it in the report's ``overrides.csv`` / ``manual_grades.csv``
(``course.grading.instructor_grades``) and write the report again through a staging copy that
is swapped in whole, like every other write of the report. Nothing is regraded.

- ``course grade override DIR STUDENT QUESTION POINTS --reason TEXT``
- ``course grade manual DIR`` writes ``DIR/manual_todo.csv`` (or ``--template FILE``): one row
  per question graded by hand that has no grade yet, to fill in;
- ``course grade manual DIR --import FILE.csv`` merges the filled rows;
  ``--import gradebook.db`` reads the hand grades and comments entered in nbgrader's formgrader.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from course.grading import class_report, instructor_grades
from course.grading.instructor_grades import BY_OVERRIDE, InstructorGrade, InstructorGradeError
from course.grading.autograde import StudentResult
from course.grading.report_dir import (
    PreviousRunError,
    RunRecord,
    load_record,
    load_results,
    recover_swap,
    staged_copy,
    swap_in,
)

#: The first bytes of every SQLite database file (https://www.sqlite.org/fileformat.html, "The Database Header").
SQLITE_HEADER = b"SQLite format 3\x00"


def _report(folder: Path) -> tuple[Path, list[StudentResult], RunRecord]:
    folder = folder.resolve()
    recover_swap(folder)
    if not folder.is_dir():
        raise PreviousRunError(f"{folder} is not a report folder (give the --out of a `course grade` run)")
    results = load_results(folder)
    return folder, results, load_record(folder, results)


def _rewrite(folder: Path, results: list[StudentResult], record: RunRecord, hand: list[InstructorGrade] | None = None,
             overrides: list[InstructorGrade] | None = None) -> class_report.ReportFiles:
    """Keep the new grades in a staging copy of the report, write the report there, swap it in."""
    staging = staged_copy(folder)
    try:
        kept_hand, kept_overrides, unreadable = instructor_grades.kept(staging)
        if unreadable:  # rewriting the file would drop the rows it cannot read: the instructor fixes them first
            raise InstructorGradeError(f"fix or delete these rows in {folder} first: " + "; ".join(unreadable))
        if hand:
            instructor_grades.write(staging / instructor_grades.MANUAL_CSV, instructor_grades.merge(kept_hand, hand),
                                    "comment")
        if overrides:
            instructor_grades.write(staging / instructor_grades.OVERRIDES_CSV,
                                    instructor_grades.merge(kept_overrides, overrides), "reason")
        files = class_report.write(results, staging, record)
        swap_in(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return files


def run_override(args: argparse.Namespace) -> int:
    if len(args.report_args) != 4:
        print("course grade override: expected DIR STUDENT QUESTION POINTS --reason TEXT", file=sys.stderr)
        return 2
    folder, student, question, points = args.report_args
    folder, results, record = _report(Path(folder))
    grade = InstructorGrade(student, question, instructor_grades.parse_points(points, "POINTS"), args.reason or "")
    grade = instructor_grades.validate(results, grade, BY_OVERRIDE)
    result, q = instructor_grades.find_question(results, grade.student, grade.question)
    before = q.auto_score if q.graded_by else q.score
    _rewrite(folder, results, record, overrides=[grade])
    result, q = instructor_grades.find_question(results, grade.student, grade.question)
    print(f"{result.student_id} {q.grade_id}: {before:g} -> {q.score:g} / {q.max_score:g} points ({grade.note}); "
          f"total now {result.score:g}/{result.max_score:g}; kept in {folder / instructor_grades.OVERRIDES_CSV}")
    return 0


def _is_gradebook(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def run_manual(args: argparse.Namespace) -> int:
    if len(args.report_args) != 1:
        print("course grade manual: expected DIR [--import FILE.csv|gradebook.db] [--template FILE]", file=sys.stderr)
        return 2
    folder, results, record = _report(Path(args.report_args[0]))
    if args.import_file is None:
        template = args.template or folder / instructor_grades.TEMPLATE_NAME
        count = instructor_grades.write_template(results, template)
        if count:
            print(f"wrote {template}: {count} question(s) to grade by hand; fill in points (and a comment), then run "
                  f"course grade manual {folder} --import {template}")
        else:
            print(f"wrote {template}: no question is left to grade by hand")
        return 0
    path: Path = args.import_file
    overrides: list[InstructorGrade] = []
    notes: list[str] = []
    if _is_gradebook(path):
        hand, overrides, notes = instructor_grades.from_gradebook(path, results)
    else:
        hand = instructor_grades.read_import(path, results)
    for note in notes:
        print(f"note: {note}")
    if not hand and not overrides:
        print(f"course grade manual: {path} has no grades to import (no row with points)", file=sys.stderr)
        return 1
    files = _rewrite(folder, results, record, hand=hand, overrides=overrides)
    for note in files.notes:
        print(f"note: {note}")
    print(f"imported {len(hand)} hand grade(s)" + (f" and {len(overrides)} formgrader override(s)" if overrides else "")
          + f" into {folder}; {len(instructor_grades.ungraded_manual(results))} question(s) still to grade by hand")
    return 0


def run_report_command(name: str, args: argparse.Namespace) -> int:
    """``course grade override ...`` or ``course grade manual ...``; 2 and a message for bad input."""
    try:
        return run_override(args) if name == "override" else run_manual(args)
    except (InstructorGradeError, PreviousRunError) as exc:
        print(f"course grade {name}: {exc}", file=sys.stderr)
        return 2


__all__ = ["run_manual", "run_override", "run_report_command"]
