"""Scores the instructor sets on a graded class: score overrides and hand grades.

Two kinds, each kept in a CSV file of the report folder so that they survive regrades
(``course grade --only`` and a whole-class rerun into the same ``--out`` both apply them again):

- an **override** (``overrides.csv``: student, question, points, reason) replaces the score of any
  question, autograded or not; the feedback page shows the autograder's score, the new one and
  the reason;
- a **hand grade** (``manual_grades.csv``: student, question, points, comment) gives its points to
  a question graded by hand (status ``manual``: an nbgrader markdown answer cell, or a project
  rubric item marked manual), which the autograder scores 0; the feedback page shows the comment.

An override wins over a hand grade of the same question. Both are applied to the results read
back from ``results.json`` (:func:`apply`): first every question is put back to what the
autograder gave it (``auto_score``), then the hand grades, then the overrides, then the total
and the late penalty are recomputed with the run's late policy (nbgrader's semantics: the penalty
comes off the new raw score). Applying the same files twice gives the same report.

Hand grades can also come from nbgrader's formgrader: :func:`from_gradebook` reads the
``manual_score`` and comments an instructor entered there through nbgrader's ``Gradebook`` API.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from course.grading.autograde import QuestionResult, StudentResult
from course.grading.report_dir import RunRecord, submitted_time

#: Overrides kept in the report folder.
OVERRIDES_CSV = "overrides.csv"
#: Hand grades kept in the report folder.
MANUAL_CSV = "manual_grades.csv"
#: Columns of the template ``course grade manual DIR`` writes and ``--import`` reads.
TEMPLATE_COLUMNS = ("student", "question", "max_points", "points", "comment")
#: Where ``course grade manual DIR`` writes the template unless told otherwise (a worksheet, not part of the report).
TEMPLATE_NAME = "manual_todo.csv"
#: ``QuestionResult.graded_by`` values.
BY_OVERRIDE, BY_HAND = "override", "hand"
#: Start of the verdict that states a late penalty (course.grading.grade._apply_late_policy writes it).
LATE_VERDICT = "late penalty ("


class InstructorGradeError(ValueError):
    """An override or hand grade that cannot apply (the message names the student, question or points)."""


@dataclass(frozen=True)
class InstructorGrade:
    student: str
    question: str
    points: float
    note: str  # the override's reason, or the hand grade's comment


def parse_points(text: str, where: str) -> float:
    try:
        points = float(text)
    except ValueError:
        raise InstructorGradeError(f"{where}: points {text!r} is not a number") from None
    if not math.isfinite(points):
        raise InstructorGradeError(f"{where}: points {text!r} is not a number")
    return points


def find_question(results: list[StudentResult], student: str, question: str) -> tuple[StudentResult, QuestionResult]:
    """The student (by id, or by the key their files are named after) and their question, or a clear error."""
    by_id = {r.student_id: r for r in results}
    result = by_id.get(student) or next((r for r in results if r.key == student), None)
    if result is None:
        known = sorted(by_id)
        shown = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
        raise InstructorGradeError(f"no student {student!r} in this report (students: {shown or 'none'})")
    for q in result.questions:
        if q.grade_id == question:
            return result, q
    raise InstructorGradeError(f"{result.student_id} has no question {question!r} in {result.assignment} (questions: "
                               f"{', '.join(q.grade_id for q in result.questions)})")


def validate(results: list[StudentResult], grade: InstructorGrade, kind: str) -> InstructorGrade:
    """``grade`` with the student's id as the report spells it; raises :class:`InstructorGradeError` if it cannot apply."""
    result, q = find_question(results, grade.student, grade.question)
    if not 0 <= grade.points <= q.max_score:
        raise InstructorGradeError(f"{result.student_id} {q.grade_id}: {grade.points:g} points is outside 0..{q.max_score:g}")
    if kind == BY_HAND and q.status != "manual":
        raise InstructorGradeError(f"{result.student_id} {q.grade_id} is autograded ({q.status}), not graded by hand; "
                                   "change its score with `course grade override` instead")
    if kind == BY_OVERRIDE and not grade.note.strip():
        raise InstructorGradeError(f"{result.student_id} {q.grade_id}: an override needs a reason (--reason TEXT), "
                                   "which the student's feedback page shows")
    return InstructorGrade(result.student_id, q.grade_id, grade.points, grade.note.strip())


def read(path: Path, note_column: str) -> tuple[list[InstructorGrade], list[str]]:
    """(the grades kept in ``path``, notes on rows that cannot be read); nothing if there is no file.

    The file is the instructor's to edit by hand, so a row that does not parse is left out with
    a note instead of stopping the report that a whole grading run is about to write.
    """
    if not path.exists():
        return [], []
    grades, notes = [], []
    with path.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                points = parse_points((row.get("points") or "").strip(), f"{path.name} line {line}")
                grades.append(InstructorGrade((row.get("student") or "").strip(), (row.get("question") or "").strip(),
                                              points, row.get(note_column) or ""))
            except InstructorGradeError as exc:
                notes.append(f"{exc}; that row was not applied")
    return grades, notes


def write(path: Path, grades: list[InstructorGrade], note_column: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["student", "question", "points", note_column])
        for g in sorted(grades, key=lambda g: (g.student, g.question)):
            writer.writerow([g.student, g.question, f"{g.points:g}", g.note])
    return path


def merge(kept: list[InstructorGrade], new: list[InstructorGrade]) -> list[InstructorGrade]:
    """``kept`` with ``new`` added; a new grade replaces a kept one of the same student and question."""
    merged = {(g.student, g.question): g for g in kept}
    merged.update({(g.student, g.question): g for g in new})
    return sorted(merged.values(), key=lambda g: (g.student, g.question))


def read_import(path: Path, results: list[StudentResult]) -> list[InstructorGrade]:
    """The hand grades an instructor filled into a template CSV, each validated; empty ``points`` are skipped."""
    try:
        fh = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InstructorGradeError(f"{path} cannot be read: {exc.strerror}") from None
    with fh:
        reader = csv.DictReader(fh)
        missing = {"student", "question", "points"} - set(reader.fieldnames or [])
        if missing:
            raise InstructorGradeError(f"{path} has no column {', '.join(sorted(missing))} (expected the columns "
                                       f"{', '.join(TEMPLATE_COLUMNS)}, as `course grade manual DIR` writes them)")
        grades, problems = [], []
        for line, row in enumerate(reader, start=2):
            if not (row.get("points") or "").strip():
                continue
            where = f"{path.name} line {line}"
            try:
                points = parse_points(row["points"].strip(), where)
                grade = InstructorGrade((row["student"] or "").strip(), (row["question"] or "").strip(), points,
                                        (row.get("comment") or "").strip())
                grades.append(validate(results, grade, BY_HAND))
            except InstructorGradeError as exc:
                problems.append(str(exc) if str(exc).startswith(where) else f"{where}: {exc}")
    if problems:
        raise InstructorGradeError("nothing was imported:\n  " + "\n  ".join(problems))
    return grades


def from_gradebook(path: Path, results: list[StudentResult]) -> tuple[list[InstructorGrade], list[InstructorGrade], list[str]]:
    """(hand grades, overrides, notes) from an nbgrader gradebook the instructor graded in formgrader.

    A question graded by hand takes the gradebook's ``manual_score`` and the cell's manual
    comment; an autograded question whose ``manual_score`` was set in formgrader becomes an
    override ("set in nbgrader's formgrader"). A student the gradebook does not know is a note.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from course.grading.course_dir import ensure_tools_on_path

    ensure_tools_on_path()  # nbgrader runs `alembic` when it opens a gradebook
    if not path.is_file():
        raise InstructorGradeError(f"{path} is not a file")
    hand: list[InstructorGrade] = []
    overrides: list[InstructorGrade] = []
    notes: list[str] = []
    assignment = results[0].assignment if results else ""
    try:
        gb = Gradebook(f"sqlite:///{path.resolve()}")
    except Exception as exc:  # nbgrader raises several kinds for a file that is not its database
        raise InstructorGradeError(f"{path} is not an nbgrader gradebook ({type(exc).__name__}: {exc})") from None
    with gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise InstructorGradeError(f"the gradebook {path} has no assignment {assignment!r}") from None
        for r in results:
            submission = None
            for sid in dict.fromkeys([r.student_id, r.key]):
                try:
                    submission = gb.find_submission(assignment, sid)
                    break
                except MissingEntry:
                    continue
            if submission is None:
                notes.append(f"{r.student_id}: not in the gradebook; nothing imported for this student")
                continue
            questions = {q.grade_id: q for q in r.questions}
            for nb in submission.notebooks:
                comments = {c.name: (c.manual_comment or "") for c in nb.comments}
                for g in nb.grades:
                    q = questions.get(g.name)
                    if q is None or g.manual_score is None:
                        continue
                    grade = InstructorGrade(r.student_id, g.name, float(g.manual_score), comments.get(g.name, "").strip())
                    try:
                        if q.status == "manual":
                            hand.append(validate(results, grade, BY_HAND))
                        else:
                            reason = "set in nbgrader's formgrader" + (f": {grade.note}" if grade.note else "")
                            overrides.append(validate(results, InstructorGrade(grade.student, grade.question,
                                                                               grade.points, reason), BY_OVERRIDE))
                    except InstructorGradeError as exc:
                        raise InstructorGradeError(f"the gradebook {path}: {exc}; nothing was imported") from None
    return hand, overrides, notes


def ungraded_manual(results: list[StudentResult]) -> list[tuple[StudentResult, QuestionResult]]:
    """Every question graded by hand that has no hand grade (nor override) yet, by student."""
    return [(r, q) for r in sorted(results, key=lambda r: r.student_id) for q in r.questions
            if q.status == "manual" and not q.graded_by]


def write_template(results: list[StudentResult], path: Path) -> int:
    """The CSV an instructor fills in: one row per ungraded hand-graded question. Returns the row count."""
    rows = ungraded_manual(results)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(TEMPLATE_COLUMNS)
        for r, q in rows:
            writer.writerow([r.student_id, q.grade_id, f"{q.max_score:g}", "", ""])
    return len(rows)


def _reset(q: QuestionResult) -> None:
    if q.graded_by:
        q.score = q.auto_score if q.auto_score is not None else 0.0
    q.graded_by, q.comment, q.auto_score = "", "", None


def _set(q: QuestionResult, points: float, by: str, note: str) -> None:
    if q.auto_score is None:
        q.auto_score = q.score
    q.score, q.graded_by, q.comment = float(points), by, note


def apply(results: list[StudentResult], record: RunRecord, hand: list[InstructorGrade],
          overrides: list[InstructorGrade]) -> tuple[set[str], list[str]]:
    """Put every instructor grade on ``results`` (in place); returns (students changed, notes on grades skipped).

    A kept grade that no longer applies (the question is gone, or is autograded now) is skipped
    with a note rather than stopping the report.
    """
    notes: list[str] = []
    wanted: dict[tuple[str, str], tuple[str, InstructorGrade]] = {}
    for kind, grades in ((BY_HAND, hand), (BY_OVERRIDE, overrides)):
        for g in grades:
            try:
                validate(results, g, kind)
            except InstructorGradeError as exc:
                notes.append(f"{'hand grade' if kind == BY_HAND else 'override'} not applied: {exc}")
                continue
            wanted[(g.student, g.question)] = (kind, g)  # an override replaces a hand grade
    late = record.late_policy()
    changed: set[str] = set()
    for r in results:
        touched = any(q.graded_by for q in r.questions) or any(s == r.student_id for s, _ in wanted)
        if not touched:
            continue
        changed.add(r.student_id)
        for q in r.questions:
            _reset(q)
            found = wanted.get((r.student_id, q.grade_id))
            if found:
                _set(q, found[1].points, found[0], found[1].note)
        r.score = round(sum(q.score for q in r.questions), 6)
        r.late_penalty = late.penalty(r.score, submitted_time(record, r.student_id))
        r.verdicts = [v for v in r.verdicts if not v.startswith(LATE_VERDICT)]
        if r.late_penalty:
            r.verdicts.append(f"{LATE_VERDICT}{late.method}): -{r.late_penalty:g} points")
    return changed, notes


def kept(folder: Path) -> tuple[list[InstructorGrade], list[InstructorGrade], list[str]]:
    """(hand grades, overrides, notes on unreadable rows) kept in the report folder ``folder``."""
    hand, hand_notes = read(folder / MANUAL_CSV, "comment")
    overrides, override_notes = read(folder / OVERRIDES_CSV, "reason")
    return hand, overrides, hand_notes + override_notes


__all__ = ["BY_HAND", "BY_OVERRIDE", "InstructorGrade", "InstructorGradeError", "MANUAL_CSV", "OVERRIDES_CSV",
           "TEMPLATE_COLUMNS", "apply", "find_question", "from_gradebook", "kept", "merge", "parse_points",
           "read", "read_import", "ungraded_manual", "validate", "write", "write_template"]
