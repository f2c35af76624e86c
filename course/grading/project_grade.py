"""``course grade --project``: grade a class's Worker projects, in parallel, into the same report as notebooks.

A class's submissions come as nbgrader lays them out (``<student>/<project>/`` holding the
project folder or a zip of it) or as an LMS download (``<lms name>.zip`` files, or one folder per
student as Moodle's "in folders" download writes): the student's id and name come from the LMS
name (``course.grading.submissions.parse_lms_name``), a resubmission is graded on its latest
attempt with a note, and anything that is not a submission is a note on the class. A zip is
unpacked into a private folder, member by member: absolute paths, ``..``, links and more than
:data:`MAX_UNZIPPED_BYTES` are refused with a verdict.

Each student runs in processes of their own on a copy of their folder
(``course.grading.project_run``), inside the grading OS boundary when this machine has it, at
most ``jobs`` at once. A submission that does not load, hangs, crashes or cannot be unpacked
gets a verdict and 0 for the items it did not pass; the class goes on. The results are the
notebook grader's :class:`~course.grading.autograde.StudentResult` (one question per rubric
item), so grades.csv, questions.csv, results.json, the summary, the feedback pages (with the
sequence diagram of each failing scenario) and the plots are written by the same code
(``course.grading.class_report``), into a staging folder swapped in whole at the end. ``only``
regrades some students into the report already there, as the notebook grader does; a rubric
item graded by hand (status ``manual``, 0 points) gets its points from ``course grade manual``.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from course.grading import class_report
from course.grading.autograde import QuestionResult, StudentResult
from course.grading.boundary import boundary_status
from course.grading.grade import (NO_BOUNDARY_WARNING, ClassReport, SandboxUnavailable, default_jobs, relocate,
                                  same_policies, select_students, write_report)
from course.grading.lateness import LatePolicy
from course.grading.progress import ProgressLine
from course.grading.project_run import ITEM_TIMEOUT, rubric_for, run_rubric
from course.grading.report_dir import (
    PreviousRunError,
    RunRecord,
    policy_spec,
    previous_run,
    recover_swap,
    staged_copy,
    staging_for,
    swap_in,
)
from course.grading.submissions import SubmissionError, parse_lms_name, read_timestamp, student_key

#: Most bytes a submitted zip may unpack to.
MAX_UNZIPPED_BYTES = 64 * 1024**2
#: Most members a submitted zip may hold.
MAX_ZIP_MEMBERS = 2000
#: How a rubric item's status reads as a question's status on the notebook grader's pages.
QUESTION_STATUS = {"pass": "pass", "fail": "fail", "timeout": "timeout", "crashed": "fail", "not run": "not run",
                   "manual": "manual"}


@dataclass
class ProjectSubmission:
    student_id: str
    path: Path  # a folder or a .zip
    name: str = ""
    key: str = ""
    submitted_at: object = None
    lms_late: bool = False
    notes: list[str] = field(default_factory=list)


#: A project class's report is a notebook class's report (same files, same fields).
ProjectClassReport = ClassReport


def _order(path: Path, attempt: str) -> str:
    return attempt or f"{path.stat().st_mtime_ns:020d}:{path.name}"


def find_projects(folder: Path, project: str) -> tuple[list[ProjectSubmission], list[str]]:
    """The class in ``folder`` (nbgrader or LMS layout), sorted by student id, and notes on the rest."""
    if not folder.is_dir():
        raise SubmissionError(f"{folder} is not a folder of submissions")
    notes: list[str] = []
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    nested = [p for p in entries if p.is_dir() and (p / project).exists()]
    chosen: dict[str, tuple[str, ProjectSubmission]] = {}
    if nested:
        for student_dir in nested:
            sub = ProjectSubmission(student_dir.name, student_dir / project,
                                    submitted_at=read_timestamp(student_dir / project))
            chosen[sub.student_id] = ("", sub)
        notes += [f"{p.name}{'/' if p.is_dir() else ''}: not a <student>/{project}/ folder; skipped"
                  for p in entries if p not in nested]
    else:
        for entry in entries:
            if not (entry.is_dir() or entry.suffix == ".zip"):
                notes.append(f"{entry.name}: neither a project folder nor a .zip; skipped")
                continue
            parsed = parse_lms_name(entry.stem + ".ipynb")
            sub = ProjectSubmission(parsed.student_id, entry, parsed.name, submitted_at=parsed.submitted_at,
                                    lms_late=parsed.late)
            order = _order(entry, parsed.attempt)
            previous = chosen.get(sub.student_id)
            if previous is None or order > previous[0]:
                if previous is not None:
                    sub.notes = [*previous[1].notes, f"submitted more than once: graded {entry.name} (the latest), "
                                                     f"not {previous[1].path.name}"]
                chosen[sub.student_id] = (order, sub)
            else:
                previous[1].notes.append(f"submitted more than once: graded {previous[1].path.name} (the latest), "
                                         f"not {entry.name}")
    subs = sorted((s for _, s in chosen.values()), key=lambda s: s.student_id)
    if not subs:
        raise SubmissionError(f"no submissions in {folder}: expected <student>/{project}/ folders, or one .zip or "
                              "folder per student")
    taken: set[str] = set()
    for sub in subs:
        sub.key = student_key(sub.student_id, taken)
    return subs, notes


class UnsafeZip(ValueError):
    """A submitted zip that cannot be unpacked safely (the message says why)."""


def unpack(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into ``target`` member by member, refusing anything that leaves it."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeZip(f"{archive.name} is not a zip file that can be read ({exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise UnsafeZip(f"{archive.name} holds {len(members)} files (at most {MAX_ZIP_MEMBERS})")
        total = 0
        for info in members:
            name = info.filename
            parts = Path(name).parts
            if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
                raise UnsafeZip(f"{archive.name}: the member {name!r} would be written outside its folder")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise UnsafeZip(f"{archive.name}: the member {name!r} is a symbolic link")
            total += info.file_size
            if total > MAX_UNZIPPED_BYTES:
                raise UnsafeZip(f"{archive.name} unpacks to more than {MAX_UNZIPPED_BYTES // 1024**2} MB")
            dest = target / Path(*parts) if parts else target
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)


def _result(sub: ProjectSubmission, project: str, report_items: list, verdicts: list[str]) -> StudentResult:
    questions = [QuestionResult(i.key, i.title, i.points, i.max_points, QUESTION_STATUS.get(i.status, "fail"), i.reason)
                 for i in report_items]
    score = sum(q.score for q in questions)
    status = "not graded" if any(v.startswith("not graded:") for v in verdicts) else \
        "graded with problems" if verdicts else "graded"
    return StudentResult(sub.student_id, project, score, sum(q.max_score for q in questions), status, verdicts,
                         questions, timestamp=sub.submitted_at.isoformat() if sub.submitted_at else "",
                         name=sub.name, key=sub.key)


def grade_project_student(sub: ProjectSubmission, project: str, run_dir: Path, *, item_timeout: float,
                          boundary: bool) -> StudentResult:
    """One student's rubric run; every problem with the submission becomes a verdict, never an exception."""
    rubric = rubric_for(project)
    work = run_dir / sub.key
    work.mkdir(parents=True)
    verdicts = list(sub.notes)
    if sub.path.is_symlink():
        why = f"{sub.path.name} is a symbolic link, not a submission; not followed"
        return _result(sub, project, rubric.not_run(why), [*verdicts, f"not graded: {why}"])
    folder = sub.path
    if sub.path.is_file():
        folder = work / "unzipped"
        try:
            unpack(sub.path, folder)
        except UnsafeZip as exc:
            return _result(sub, project, rubric.not_run(str(exc)), [*verdicts, f"not graded: {exc}"])
    report = run_rubric(folder, project, work_dir=work / "run", item_timeout=item_timeout, boundary=boundary)
    if report.load_error:
        verdicts.append(f"not graded: {report.load_error}")
    for item in report.items:
        if item.status == "timeout":
            verdicts.append(f"{item.key}: stopped after {item_timeout:g} s of real time; it scores 0")
        elif item.status == "crashed":
            verdicts.append(f"{item.key}: the process running it died; it scores 0")
    return _result(sub, project, report.items, verdicts)


def _late(results: list[StudentResult], subs: list[ProjectSubmission], late: LatePolicy) -> None:
    when = {s.student_id: s.submitted_at for s in subs}
    for r in results:
        r.duedate = late.due.strftime("%Y-%m-%d %H:%M:%S") if late.due else ""
        note = late.note(when.get(r.student_id))
        if note:
            r.verdicts.append(note)
        r.late_penalty = late.penalty(r.score, when.get(r.student_id))
        if r.late_penalty:
            r.verdicts.append(f"late penalty ({late.method}): -{r.late_penalty:g} points")


def grade_project_class(submissions: Path, project: str, out_dir: Path, *, jobs: int | None = None,
                        item_timeout: float = ITEM_TIMEOUT, require_sandbox: bool = False,
                        late: LatePolicy | None = None, progress: TextIO | None = None,
                        warnings: TextIO | None = None,
                        on_result: Callable[[StudentResult], None] | None = None,
                        only: list[str] | None = None) -> ProjectClassReport:
    """Grade every project in ``submissions`` against ``project``'s rubric; write the class's files to ``out_dir``.

    ``only``: grade just these students and merge them into the report already in ``out_dir``
    (errors as for the notebook grader's ``only``).
    """
    rubric_for(project)  # an unknown project fails before anything is graded
    fenced, why_not = boundary_status()
    if not fenced:
        if require_sandbox:
            raise SandboxUnavailable(f"refusing to grade without the OS boundary: {why_not}")
        print(NO_BOUNDARY_WARNING.format(reason=why_not), file=warnings or sys.stderr)
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_swap(out_dir)
    previous: list[StudentResult] = []
    if only is not None:  # the report to merge into is checked before the submissions are read
        record, previous = previous_run(out_dir, "project", project)
    subs, notes = find_projects(submissions, project)
    if only is not None:
        subs = select_students(subs, only, submissions)  # type: ignore[arg-type]
        late, _ = same_policies(record, late, None, out_dir)
        staging = staged_copy(out_dir)
    else:
        late = late or LatePolicy()
        due, penalty = policy_spec(late)
        record = RunRecord("project", project, list(notes), due, penalty)
        staging = staging_for(out_dir)
        try:
            previous_run(out_dir, "project", project)
            class_report.carry_kept_files(out_dir, staging)
        except PreviousRunError:
            pass
    record.submitted.update({s.student_id: s.submitted_at.isoformat() for s in subs  # type: ignore[attr-defined]
                             if s.submitted_at})
    bar = ProgressLine(len(subs), "projects graded", progress)
    results: list[StudentResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="course-grade-project-") as tmp:
            def one(sub: ProjectSubmission) -> StudentResult:
                try:
                    return grade_project_student(sub, project, Path(tmp), item_timeout=item_timeout, boundary=fenced)
                except Exception as exc:  # a grading bug must not cost the rest of the class
                    why = f"grading failed unexpectedly: {type(exc).__name__}: {exc}"
                    return _result(sub, project, rubric_for(project).not_run(why), [f"not graded: {why}"])

            with ThreadPoolExecutor(max_workers=max(1, min(jobs or default_jobs(), len(subs)))) as pool:
                for result in pool.map(one, subs):
                    results.append(result)
                    bar.advance(f"{result.student_id}: {result.score:g}/{result.max_score:g}")
                    if on_result:
                        on_result(result)
        _late(results, subs, late)
        graded = {r.student_id for r in results}
        merged = sorted([r for r in previous if r.student_id not in graded] + results, key=lambda r: r.student_id)
        report = write_report(merged, staging, record, boundary=fenced, render_for=graded)
        swap_in(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return relocate(report, staging, out_dir)


__all__ = ["MAX_UNZIPPED_BYTES", "ProjectClassReport", "ProjectSubmission", "UnsafeZip", "find_projects",
           "grade_project_class", "grade_project_student", "unpack"]
