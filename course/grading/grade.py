"""``course grade``: autograde a whole class in parallel, one nbgrader run per student.

The assignment is generated once into a master course directory (source + gradebook with the
grade cells' checksums); each student is then graded by a process of its own, in a private
copy of it, so students share no kernel, no files and no database. One bad submission gets a
verdict and never stops the class: a grading process that outlives its deadline is killed with
its kernel, and so is everything still running when the instructor presses Ctrl-C.

The class's files are written to a staging folder next to ``--out`` and swapped in when
complete, so ``--out`` holds either the previous complete report or the new one, never a mix.
An interrupted run writes what it has to ``<out>.partial/`` (with PARTIAL.txt saying so).
Scores depend only on the submissions (the checks are seeded) and on the class's
``--partial-credit`` policy (``course.grading.partial_credit``).

``only`` regrades some students into the report already in ``--out``: the staging folder starts
as a copy of it, those students are graded and their rows, pages and plots merged in, and the
other students' feedback pages and CSV rows come out byte for byte as they were. The
instructor's overrides and hand grades kept in the report (``course.grading.instructor_grades``)
are applied again after every run, a whole-class one included.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

import nbformat

from course.grading.autograde import KERNEL_TAG_ENV, GradeJob, QuestionResult, StudentResult, grade_student
from course.grading.boundary import boundary_status
from course.grading.config import CELL_TIMEOUT, KERNEL_STARTUP_TIMEOUT, REPO_ROOT, SOURCE_DIRECTORY, STUDENT_OVERHEAD
from course.grading import class_report
from course.grading.course_dir import generate
from course.grading.feedback import render
from course.grading.lateness import LatePolicy
from course.grading.partial_credit import DEFAULT_POLICY, POLICIES
from course.grading.progress import ProgressLine
from course.grading.report import load_plotting
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
from course.grading.submissions import Submission, SubmissionError, find_class


#: Ceiling of the default --jobs (each job holds a kernel: about 100 MB).
MAX_DEFAULT_JOBS = 32


#: Name of the note an interrupted run leaves in its partial report.
PARTIAL_NOTE = "PARTIAL.txt"


@dataclass
class ClassReport:
    results: list[StudentResult]
    grades_csv: Path
    questions_csv: Path
    results_json: Path
    feedback: list[Path]
    plots: list[Path]
    out_dir: Path | None = None
    notes: list[str] = field(default_factory=list)  # about the submissions folder (stray files...)
    summary: Path | None = None
    partial: bool = False
    missing: list[str] = field(default_factory=list)  # students not graded (an interrupted run)
    boundary: bool = False  # the code graded ran inside the OS boundary


class SandboxUnavailable(RuntimeError):
    """``require_sandbox`` was asked for and this machine cannot start kernels inside the OS boundary."""


#: What ``course grade`` prints when kernels run with the in-process guard alone.
NO_BOUNDARY_WARNING = ("course grade: WARNING: grading kernels run WITHOUT the OS boundary ({reason}). Only the "
                       "in-process guard fences submissions in, and it can be bypassed: a submission could read "
                       "the solutions or change grades. Grade on Linux with bubblewrap, or pass --require-sandbox "
                       "to refuse to grade without it.")


class GradingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``course grade``: every grading process and kernel was stopped first."""

    def __init__(self, report: ClassReport) -> None:
        super().__init__(f"interrupted: {len(report.results)} students graded, {len(report.missing)} not")
        self.report = report


def default_jobs() -> int:
    """Two students per core: a starting kernel spends much of its time waiting, not computing."""
    return min(2 * (os.cpu_count() or 1), MAX_DEFAULT_JOBS)


def write_feedback(result: StudentResult, folder: Path) -> Path:
    """The student's feedback page, named by its safe key (an LMS id can be long or odd)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.key or result.student_id}.html"
    path.write_text(render(result), encoding="utf-8")
    return path


def _grade_and_write(job: GradeJob, feedback_dir: str) -> StudentResult:
    """Grade one student and write their feedback page; never raises for a bad submission."""
    try:
        result = grade_student(job)
    except Exception as exc:  # a grading bug must not cost the rest of the class
        result = _crashed(job, f"grading failed unexpectedly: {type(exc).__name__}: {exc}")
    write_feedback(result, Path(feedback_dir))
    return result


def _worker_main(job: GradeJob, feedback_dir: str, conn: Any) -> None:
    """A student's grading process: its own process group, so the grader can kill it whole."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle, not ours
    conn.send(_grade_and_write(job, feedback_dir))
    conn.close()


def _questions_of(job: GradeJob) -> list[Any]:
    from course.grading.notebook_cells import questions

    release = Path(job.master) / "release" / job.assignment
    return [q for nb in sorted(release.glob("*.ipynb")) for q in questions(nbformat.read(nb, as_version=4))]


def _crashed(job: GradeJob, verdict: str) -> StudentResult:
    qs = _questions_of(job)
    return StudentResult(job.student_id, job.assignment, 0.0, sum(q.points for q in qs), "not graded",
                         [*job.notes, verdict],
                         [QuestionResult(q.grade_id, q.title, 0.0, q.points, "not run", verdict) for q in qs],
                         name=job.name, key=job.key or job.student_id)


def student_deadline(master: Path, assignment: str, cell_timeout: int) -> float:
    """Seconds one student may take: every code cell at its timeout, a kernel start and some slack."""
    cells = sum(1 for nb in (master / "release" / assignment).glob("*.ipynb")
                for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code")
    return KERNEL_STARTUP_TIMEOUT + cells * (cell_timeout + 2) + STUDENT_OVERHEAD


def grade_class(submissions_dir: Path, assignment: str, out_dir: Path, *, jobs: int | None = None,
                cell_timeout: int = CELL_TIMEOUT, solutions_dir: Path | None = None,
                progress: TextIO | None = None, on_result: Callable[[StudentResult], None] | None = None,
                student_timeout: float | None = None, require_sandbox: bool = False,
                warnings: TextIO | None = None, late: LatePolicy | None = None, only: list[str] | None = None,
                partial_credit: str | None = None) -> ClassReport:
    """Grade every submission in ``submissions_dir`` and write the class's files to ``out_dir``.

    ``only``: grade just these students (ids, or the keys their files are named after) and merge
    them into the report already in ``out_dir`` (:class:`PreviousRunError` if there is none, or it
    is another assignment's; :class:`SubmissionError` if one is not in ``submissions_dir``). The
    late and partial-credit policies default to the ones that report was graded with.

    Kernels run inside the OS boundary (``course.grading.boundary``) when this machine allows
    it; otherwise a warning goes to ``warnings`` (stderr), or, with ``require_sandbox``,
    :class:`SandboxUnavailable` is raised before anything is graded.

    Raises :class:`GradingInterrupted` (a KeyboardInterrupt) on Ctrl-C, after stopping every
    grading process and kernel and writing the partial report to ``<out_dir>.partial``.
    """
    solutions_dir = solutions_dir or REPO_ROOT / SOURCE_DIRECTORY
    notebook_names = sorted(p.stem for p in (solutions_dir / assignment).glob("*.ipynb"))
    if not notebook_names:
        raise FileNotFoundError(f"no notebooks for assignment {assignment!r} in {solutions_dir / assignment}")
    fenced, why_not = boundary_status()
    if not fenced:
        if require_sandbox:
            raise SandboxUnavailable(f"refusing to grade without the OS boundary: {why_not}")
        print(NO_BOUNDARY_WARNING.format(reason=why_not), file=warnings or sys.stderr)
    if partial_credit is not None and partial_credit not in POLICIES:
        raise ValueError(f"partial credit {partial_credit!r}: expected one of {', '.join(POLICIES)}")
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_swap(out_dir)
    previous: list[StudentResult] = []
    if only is not None:  # the report to merge into is checked before the submissions are read
        record, previous = previous_run(out_dir, "notebook", assignment)
    intake = find_class(submissions_dir, assignment, notebook_names)
    subs = intake.submissions
    if only is not None:
        subs = select_students(subs, only, submissions_dir)
        late, partial_credit = same_policies(record, late, partial_credit, out_dir)
        staging = staged_copy(out_dir)
    else:
        late, partial_credit = late or LatePolicy(), partial_credit or DEFAULT_POLICY
        due, penalty = policy_spec(late)
        record = RunRecord("notebook", assignment, list(intake.notes), due, penalty, partial_credit=partial_credit)
        staging = staging_for(out_dir)
        if _same_run(out_dir, "notebook", assignment):
            class_report.carry_kept_files(out_dir, staging)
    record.submitted.update({s.student_id: s.submitted_at.isoformat() for s in subs if s.submitted_at})
    jobs = max(1, min(jobs or default_jobs(), len(subs)))
    run_tag = f"course-grade-{secrets.token_hex(6)}"
    # Partial credit's tally carries a tag made for this run (course.grading.partial_credit).
    tally_tag = secrets.token_hex(8) if partial_credit == "scenario" else ""
    feedback_dir = staging / "feedback"
    feedback_dir.mkdir(exist_ok=True)
    results: list[StudentResult] = []
    interrupted = False
    try:
        with tempfile.TemporaryDirectory(prefix="course-grade-run-") as tmp:
            run_root = Path(tmp)
            master = run_root / "master"
            generate(master, assignment, solutions_dir, partial_credit_tag=tally_tag)
            private = sorted({str(solutions_dir.resolve()), str((REPO_ROOT / SOURCE_DIRECTORY).resolve())})
            work = [GradeJob(s.student_id, assignment, {k: str(v) for k, v in s.notebooks.items()}, str(master),
                             cell_timeout, work_dir=str(run_root / "students" / str(i)),
                             private=[str(run_root), *private], kernel_tag=f"{run_tag}/{s.key}",
                             kernel_dir=str(run_root / "k" / str(i)),  # short: socket paths are limited
                             key=s.key, name=s.name, notes=list(s.notes),
                             submitted_at=s.submitted_at.isoformat() if s.submitted_at else "",
                             partial_credit_tag=tally_tag)
                    for i, s in enumerate(subs)]
            deadline = student_timeout or student_deadline(master, assignment, cell_timeout)
            for job in work:
                job.boundary, job.cpu_seconds = fenced, int(deadline) + 1
            try:
                _run(work, jobs, str(feedback_dir), progress, on_result, results, deadline, when_idle=[load_plotting])
            except KeyboardInterrupt:
                interrupted = True
            finally:
                stop_kernels(run_tag)
        results.sort(key=lambda r: r.student_id)
        _apply_late_policy(results, subs, late)
        missing = sorted({s.student_id for s in subs} - {r.student_id for r in results})
        graded = {r.student_id for r in results}
        merged = sorted([r for r in previous if r.student_id not in graded] + results, key=lambda r: r.student_id)
        report = write_report(merged, staging, record, boundary=fenced)
        if interrupted:
            note = (f"PARTIAL REPORT: `course grade` was interrupted after grading {len(results)} of {len(subs)} "
                    f"students.\nNot graded: {', '.join(missing) or '(none)'}\n{out_dir} was left as it was; "
                    f"run the same command again to grade the whole class.\n")
            (staging / PARTIAL_NOTE).write_text(note)
            target = out_dir.with_name(out_dir.name + ".partial")
        else:
            target = out_dir
        swap_in(staging, target)
        report = relocate(report, staging, target)
        report.partial, report.missing = interrupted, missing
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if interrupted:
        raise GradingInterrupted(report)
    return report


def _apply_late_policy(results: list[StudentResult], subs: list[Submission], late: LatePolicy) -> None:
    """Due date, lateness notes and penalties (nbgrader's semantics: taken off the total, never below 0)."""
    when = {s.student_id: s.submitted_at for s in subs}
    lms_late = {s.student_id for s in subs if s.lms_late}
    for r in results:
        submitted = when.get(r.student_id)
        r.duedate = late.due.strftime("%Y-%m-%d %H:%M:%S") if late.due else ""
        note = late.note(submitted)
        if not note and r.student_id in lms_late:
            note = "the LMS marked this submission late (no submission time in its file name, so no penalty)"
        if note:
            r.verdicts.append(note)
        r.late_penalty = late.penalty(r.score, submitted)
        if r.late_penalty:
            r.verdicts.append(f"late penalty ({late.method}): -{r.late_penalty:g} points")


def select_students(subs: list[Submission], only: list[str], submissions_dir: Path) -> list[Submission]:
    """The submissions of the students named in ``only`` (by id or key); an unknown name is an error."""
    wanted = set(only)
    if not wanted:
        raise SubmissionError("--only names no student")
    known = {s.student_id for s in subs} | {s.key for s in subs}
    unknown = sorted(wanted - known)
    if unknown:
        ids = sorted(s.student_id for s in subs)
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise SubmissionError(f"--only: no submission from {', '.join(unknown)} in {submissions_dir} "
                              f"(students there: {shown})")
    return [s for s in subs if s.student_id in wanted or s.key in wanted]


def same_policies(record: RunRecord, late: LatePolicy | None, partial_credit: str | None,
                  out_dir: Path) -> tuple[LatePolicy, str]:
    """The late and partial-credit policies of a regrade: the report's own, and an error if asked for others."""
    kept_late = record.late_policy()
    if late is not None and late != LatePolicy() and late != kept_late:
        due, penalty = policy_spec(kept_late)
        raise PreviousRunError(f"{out_dir} was graded with --due {due or '(none)'} --late-penalty {penalty}; a regrade "
                               "of some students must use the same (leave both out), or regrade the whole class")
    kept_partial = record.partial_credit or DEFAULT_POLICY
    if partial_credit is not None and partial_credit != kept_partial:
        raise PreviousRunError(f"{out_dir} was graded with --partial-credit {kept_partial}; a regrade of some students "
                               "must use the same (leave it out), or regrade the whole class")
    return kept_late, kept_partial


def _same_run(out_dir: Path, kind: str, assignment: str) -> bool:
    try:
        previous_run(out_dir, kind, assignment)
    except PreviousRunError:
        return False
    return True


def write_report(results: list[StudentResult], folder: Path, record: RunRecord, *, boundary: bool,
                 render_for: Iterable[str] = ()) -> ClassReport:
    """Write the class's report files into ``folder`` (notebooks and projects alike)."""
    files = class_report.write(results, folder, record, render_for=render_for)
    return ClassReport(results, files.grades_csv, files.questions_csv, files.results_json, files.feedback, files.plots,
                       notes=[*record.notes, *files.notes], summary=files.summary, boundary=boundary)


def relocate(report: ClassReport, old: Path, new: Path) -> ClassReport:
    """``report`` with its files' paths moved from folder ``old`` to ``new`` (after the swap)."""
    move = lambda p: new / p.relative_to(old)  # noqa: E731
    return replace(report, grades_csv=move(report.grades_csv), questions_csv=move(report.questions_csv),
                   results_json=move(report.results_json), feedback=[move(p) for p in report.feedback],
                   plots=[move(p) for p in report.plots], out_dir=new,
                   summary=move(report.summary) if report.summary else None)


#: Kept for callers of the old names: the report folder's atomic swap lives in course.grading.report_dir.
_swap_in, _recover_swap = swap_in, recover_swap


def stop_kernels(tag_prefix: str) -> list[int]:
    """Kill every process whose environment carries a kernel tag starting with ``tag_prefix``.

    A grading process killed at its deadline (or by Ctrl-C) cannot shut its kernel down, and
    kernels run in their own session, out of reach of the grading process's group. Linux only
    (reads /proc); elsewhere the kernels notice their parent is gone and exit on their own.
    """
    needle = f"{KERNEL_TAG_ENV}={tag_prefix}".encode()
    killed = []
    proc = Path("/proc")
    if not proc.is_dir():
        return killed
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(var.startswith(needle) for var in environ.split(b"\0")):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
            except OSError:
                pass
    return killed


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork when it is safe, because the parent has already imported nbgrader (seconds per worker).

    Forking a process that runs other threads (a Jupyter kernel, some test runners) can
    deadlock a child on a lock held by a thread that does not exist there: spawn then.
    """
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@dataclass
class _Running:
    job: GradeJob
    process: Any
    conn: Any
    started: float


def held_back_ctrl_c(fn: Callable[[], Any]) -> Any:
    """``fn()`` with Ctrl-C held back until it returns, then raised as usual.

    The report's set-up imports matplotlib while students are graded; a KeyboardInterrupt in the
    middle of an import leaves the package half set up (``matplotlib`` without ``get_data_path``),
    and the partial report that Ctrl-C asks for then fails to draw its figures. Meanwhile a
    handler only notes the SIGINT (Python runs handlers in the main thread whichever thread the
    signal reached, so blocking it there would not do); the previous handler gets it afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        return fn()
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        return fn()
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt
        elif caught and previous == signal.SIG_DFL:
            raise KeyboardInterrupt


def _kill(running: _Running) -> None:
    try:
        os.killpg(running.process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    stop_kernels(running.job.kernel_tag)
    running.process.join(5)
    running.conn.close()


def _run(work: list[GradeJob], jobs: int, feedback_dir: str, progress: TextIO | None,
         on_result: Callable[[StudentResult], None] | None, results: list[StudentResult], deadline: float,
         when_idle: list[Callable[[], object]] | None = None) -> None:
    """Grade ``work`` with at most ``jobs`` processes at once, appending to ``results`` as they finish.

    ``when_idle``: set-up for the report (importing matplotlib...), run here once every student
    has a process and a core is free: work taken off the end of the run, where it would be serial.
    Nothing is forked after it, so it may leave threads behind.
    """
    when_idle = list(when_idle or [])
    cores = os.cpu_count() or 1
    bar = ProgressLine(len(work), "students graded", progress)
    context = _pool_context()
    pending = list(work)
    running: dict[Any, _Running] = {}

    def record(result: StudentResult) -> None:
        results.append(result)
        bar.advance(f"{result.student_id}: {result.score:g}/{result.max_score:g}")
        if on_result:
            on_result(result)

    def finish(r: _Running, result: StudentResult) -> None:
        del running[r.conn]
        record(result)

    try:
        while pending or running:
            while pending and len(running) < jobs:
                job = pending.pop(0)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_worker_main, args=(job, feedback_dir, send),
                                          name=f"grade-{job.key or job.student_id}")
                process.start()
                send.close()
                running[receive] = _Running(job, process, receive, time.monotonic())
            if not pending and when_idle and len(running) < cores:
                held_back_ctrl_c(when_idle.pop(0))
                continue
            now = time.monotonic()
            wait = max(0.05, min(r.started + deadline - now for r in running.values()))
            for conn in multiprocessing.connection.wait(list(running), timeout=min(wait, 1.0)):
                r = running[conn]
                try:
                    result = conn.recv()
                except (EOFError, OSError):  # the process died before answering
                    r.process.join(5)
                    code = r.process.exitcode
                    result = _crashed(r.job, f"the grading process died (exit code {code}), so this student "
                                             "could not be graded; it scores 0")
                    write_feedback(result, Path(feedback_dir))
                r.process.join(5)
                stop_kernels(r.job.kernel_tag)
                conn.close()
                finish(r, result)
            now = time.monotonic()
            for r in [r for r in running.values() if now - r.started > deadline]:
                _kill(r)
                result = _crashed(r.job, f"grading this student took longer than {deadline:.0f} s in all and was "
                                         "stopped (a cell that ignores interrupts, or floods its output?); it scores 0")
                write_feedback(result, Path(feedback_dir))
                finish(r, result)
    except BaseException:
        for r in list(running.values()):
            _kill(r)
        raise


__all__ = ["ClassReport", "GradingInterrupted", "PreviousRunError", "SandboxUnavailable", "Submission", "grade_class",
           "select_students", "stop_kernels"]
