"""Grading one student with nbgrader's Autograde, in a private course directory and gradebook.

Runs in a worker process of ``course grade``. Everything that can go wrong with one submission
(not JSON, not a notebook, a deleted or edited grade cell, a cell that never ends, a kernel that
dies) becomes a verdict on that student's result instead of an exception.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import nbformat

from course.grading.boundary import KernelBoundary, KernelLimits, course_package_dir, kernel_uid, python_paths
from course.grading import partial_credit
from course.grading.config import KERNEL_MEMORY_LIMIT, REPO_ROOT
from course.grading.kernel import KERNEL_TAG_ENV
from course.grading.notebook_cells import CELL_TIMEOUT_ERROR, Question, outcomes, question_status, questions
from course.grading.review import review_verdicts
from course.grading.sandbox import SANDBOX_ENV, SandboxPolicy
#: The verdict for a submission that changed the grading code (the guard's evidence follows it).
TAMPERED = "the grading code was modified"


@dataclass
class QuestionResult:
    grade_id: str
    title: str
    score: float
    max_score: float
    status: str  # pass | fail | not attempted | timeout | not run
    reason: str = ""
    solution_ids: list[str] = field(default_factory=list)  # the answer cells this question grades
    # Set by the instructor (course.grading.instructor_grades): "override" or "hand" ("" = the autograder's score),
    # the score the autograder gave before that, and the override's reason or the hand grade's comment.
    graded_by: str = ""
    auto_score: float | None = None
    comment: str = ""


@dataclass
class StudentResult:
    student_id: str
    assignment: str
    score: float
    max_score: float
    status: str  # graded | graded with problems | not graded
    verdicts: list[str] = field(default_factory=list)
    questions: list[QuestionResult] = field(default_factory=list)
    timestamp: str = ""
    solution_sources: dict[str, str] = field(default_factory=dict)  # the learner's own code, for feedback
    name: str = ""  # the student's name from the LMS download ("" if unknown)
    key: str = ""  # safe file name for this student (course.grading.submissions.student_key)
    late_penalty: float = 0.0  # points taken off for lateness (course.grading.lateness)
    duedate: str = ""


@dataclass
class GradeJob:
    student_id: str
    assignment: str
    notebooks: dict[str, str]  # notebook name -> submitted path
    master: str  # course dir with source/<assignment> and gradebook.db, made by course_dir.generate
    cell_timeout: int
    work_dir: str = ""  # where this student's private course dir goes ("" = a new temp dir)
    private: list[str] = field(default_factory=list)  # folders the kernel may not read (hidden tests, solutions)
    kernel_tag: str = ""  # value of KERNEL_TAG_ENV for this student's kernel
    sandbox: bool = True  # run the kernel behind course.grading.sandbox
    kernel_dir: str = ""  # a short private folder for the kernel's connection file and sockets ("" = in the student's course dir)
    key: str = ""  # safe, unique, short: the student's folder names and nbgrader's student id ("" = student_id)
    submitted_at: str = ""  # ISO time of the submission, if known (nbgrader's timestamp.txt)
    notes: list[str] = field(default_factory=list)  # what the intake decided about these files
    name: str = ""
    boundary: bool = False  # start the kernel inside the OS boundary (course.grading.boundary)
    cpu_seconds: int = 0  # CPU time the kernel may use in all (0 = no limit)
    partial_credit_tag: str = ""  # the run's tally tag when questions earn credit per scenario ("" = all or nothing)


def source_grade_cells(*notebooks: nbformat.NotebookNode) -> dict[str, set[str]]:
    """{grade_id: accepted checksums} of the grade cells, by nbgrader's own cell checksum.

    Pass the released notebook (what learners get) and the source (an instructor may submit
    the solution itself, hidden tests included).
    """
    from nbgrader.utils import compute_checksum

    accepted: dict[str, set[str]] = {}
    for nb in notebooks:
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                accepted.setdefault(meta["grade_id"], set()).add(compute_checksum(cell))
    return accepted


#: Largest notebook read from a submission (a notebook with outputs cleared is a few hundred kB).
MAX_NOTEBOOK_BYTES = 64 * 1024**2


def read_submission(path: Path) -> tuple[nbformat.NotebookNode | None, str | None]:
    """(notebook, None) or (None, what is wrong with the file); a symbolic link is never followed."""
    import errno

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, f"{path.name} is a symbolic link, not a file; submissions are read as files only"
        return None, f"{path.name} cannot be read: {exc.strerror}"
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, f"{path.name} is not a regular file"
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        return None, f"{path.name} cannot be read: {exc.strerror}"
    finally:
        os.close(fd)
    if len(raw) > MAX_NOTEBOOK_BYTES:
        return None, f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 1024**2} MB; is it a notebook?"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, f"{path.name} is not a notebook: not UTF-8 text"
    except json.JSONDecodeError as exc:
        return None, f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); was it truncated?"
    if not isinstance(data, dict) or "cells" not in data:
        return None, f"{path.name} is JSON but not a notebook (no 'cells')"
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several kinds for a malformed notebook
        return None, f"{path.name} is not a valid notebook: {str(exc).splitlines()[0]}"
    return nb, None


def compare_grade_cells(nb: nbformat.NotebookNode, expected: dict[str, set[str]], name: str) -> list[str]:
    """Verdicts for grade cells deleted or edited, judged by nbgrader's own cell checksum."""
    from nbgrader.utils import compute_checksum

    present = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") in expected and meta.get("grade"):
            present[meta["grade_id"]] = cell
    verdicts = []
    for grade_id, checksums in expected.items():
        cell = present.get(grade_id)
        if cell is None:
            verdicts.append(f"{name}: grade cell {grade_id!r} was deleted, so its question scores 0")
        elif compute_checksum(cell) not in checksums:
            verdicts.append(f"{name}: grade cell {grade_id!r} was edited; it was graded with the original tests")
    return verdicts


def grade_student(job: GradeJob) -> StudentResult:
    """Autograde one student; never raises for a bad submission."""
    import warnings

    from course.grading.course_dir import api_for

    # nbgrader's gradebook code trips SQLAlchemy warnings that mean nothing to an instructor.
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")

    master = Path(job.master)
    source_dir = master / "source" / job.assignment
    release_dir = master / "release" / job.assignment
    names = sorted(p.stem for p in source_dir.glob("*.ipynb"))
    release_nbs = {n: nbformat.read(release_dir / f"{n}.ipynb", as_version=4) for n in names}
    source_nbs = {n: nbformat.read(source_dir / f"{n}.ipynb", as_version=4) for n in names}
    all_questions = {n: questions(release_nbs[n]) for n in names}
    result = StudentResult(job.student_id, job.assignment, 0.0,
                           sum(q.points for qs in all_questions.values() for q in qs), "graded",
                           verdicts=list(job.notes), name=job.name, key=job.key or job.student_id)
    nb_id = job.key or job.student_id  # what nbgrader sees: safe in paths and in its globs
    if job.work_dir:
        Path(job.work_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-grade-", dir=job.work_dir or None) as tmp:
        root = Path(tmp)
        shutil.copytree(master / "source", root / "source")
        shutil.copy2(master / "gradebook.db", root / "gradebook.db")
        submitted = root / "submitted" / nb_id / job.assignment
        submitted.mkdir(parents=True)
        if job.submitted_at:
            (submitted / "timestamp.txt").write_text(job.submitted_at)
        usable: dict[str, nbformat.NotebookNode] = {}
        for name in names:
            path = job.notebooks.get(name)
            if path is None:
                result.verdicts.append(f"{name}.ipynb was not submitted, so its questions score 0")
                continue
            nb, problem = read_submission(Path(path))
            if problem:
                result.verdicts.append(problem + "; it scores 0")
                continue
            assert nb is not None
            result.verdicts += compare_grade_cells(nb, source_grade_cells(release_nbs[name], source_nbs[name]), f"{name}.ipynb")
            nbformat.write(nb, submitted / f"{name}.ipynb")
            usable[name] = nb
        for extra in sorted(set(job.notebooks) - set(names)):
            result.verdicts.append(f"{extra}.ipynb is not part of {job.assignment}; ignored")
        scores: dict[str, float] = {}
        evidence = root / "evidence.log"
        if usable:
            evidence_fd = os.open(evidence, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                outcome = _autograde(job, root, evidence_fd, api_for, checks_called(source_nbs.values()))
            finally:
                os.close(evidence_fd)
            if not outcome.get("success"):
                result.verdicts.append(_autograde_failure(outcome))
            else:
                scores = _scores(root, job.assignment, nb_id)
                result.timestamp = _timestamp(root, job.assignment, nb_id)
        for name in names:
            graded_path = root / "autograded" / nb_id / job.assignment / f"{name}.ipynb"
            graded = nbformat.read(graded_path, as_version=4) if graded_path.exists() and scores else None
            seen = outcomes(graded) if graded is not None else {}
            if graded is not None:
                for cell in graded.cells:
                    meta = cell.get("metadata", {}).get("nbgrader", {})
                    if meta.get("solution"):
                        result.solution_sources[meta.get("grade_id", "")] = cell.source
                    if any(out.get("ename") == CELL_TIMEOUT_ERROR for out in cell.get("outputs", [])):
                        result.verdicts.append(f"{name}.ipynb: cell {meta.get('grade_id') or '(ungraded)'!r} was "
                                               f"stopped after the {job.cell_timeout} s cell timeout")
            for q in all_questions[name]:
                result.questions.append(_question_result(q, seen, scores, graded is not None, job.partial_credit_tag))
                if result.questions[-1].status == "pass":
                    result.verdicts += _answer_errors(q, seen, name)
        tampering = [line for line in evidence.read_text(encoding="utf-8").splitlines() if line] if evidence.exists() else []
    if tampering:
        _zero_for_tampering(result, tampering)
    result.verdicts += review_verdicts(result.solution_sources)
    result.score = round(sum(q.score for q in result.questions), 6)
    if not any(q.status != "not run" for q in result.questions):
        result.status = "not graded"
    elif result.verdicts:
        result.status = "graded with problems"
    return result


def _autograde(job: GradeJob, root: Path, evidence_fd: int, api_for: Any, checks: list[str]) -> dict:
    """nbgrader's autograde of this student, each kernel in a copy of its folder (and the boundary)."""
    home = root / "home"
    kernel_dir = Path(job.kernel_dir) if job.kernel_dir else root / "kernel"
    kernel_dir.mkdir(parents=True, exist_ok=True)
    _prepare_kernel_environment(job, root, home, evidence_fd, checks)
    boundary: dict[str, Any] = {}
    if job.boundary:
        fence = KernelBoundary(home=str(home), kernel_dir=str(kernel_dir),
                               readonly=[*python_paths(), course_package_dir()], uid=kernel_uid(),
                               limits=KernelLimits(memory_bytes=KERNEL_MEMORY_LIMIT, cpu_seconds=job.cpu_seconds))
        boundary = asdict(fence)
    api = api_for(root, cell_timeout=job.cell_timeout, sandbox=job.sandbox, kernel_dir=kernel_dir,
                  kernel_home=home, evidence_fd=evidence_fd, boundary=boundary)
    return api.autograde(job.assignment, job.key or job.student_id, force=True, create=True)


#: A hidden test's way into the checkers: ``sealed("day1")`` (course.checks.sealed).
SEALED_CALL = re.compile(r"""\bsealed\(\s*["']([A-Za-z0-9_]+)["']\s*\)""")


def checks_called(notebooks: Iterable[nbformat.NotebookNode]) -> list[str]:
    """The checks the assignment's hidden tests open with ``sealed(...)``, from its source notebooks
    ([] if none is named literally: the kernel's guard then prepares every check)."""
    return sorted({name for nb in notebooks for cell in nb.cells for name in SEALED_CALL.findall(cell.source)})


def _prepare_kernel_environment(job: GradeJob, root: Path, home: Path, evidence_fd: int, checks: list[str]) -> None:
    """Tell the kernel (through the environment it inherits) its sandbox and its tag.

    This runs in the student's own grading process, so changing ``os.environ`` is private to it.
    The guard imports and compiles only the checks the hidden tests call (a kernel that
    prepared every day's and project's checks spent a second on it).
    """
    policy = SandboxPolicy(home=str(home), denied=[str(root), job.master, *job.private],
                           writable=[tempfile.gettempdir()], readonly=[str(REPO_ROOT), sys.prefix, sys.base_prefix],
                           evidence_fd=evidence_fd, memory_bytes=KERNEL_MEMORY_LIMIT,
                           checks=checks)
    os.environ[SANDBOX_ENV] = policy.to_env()
    if job.kernel_tag:
        os.environ[KERNEL_TAG_ENV] = job.kernel_tag


def _answer_errors(q: Question, seen: dict, notebook: str) -> list[str]:
    """Errors raised by the answer cells of a question whose tests passed anyway (worth knowing)."""
    notes = []
    for sid in q.solution_ids:
        cell = seen.get(sid)
        if cell is not None and cell.ename not in (None, "NotImplementedError"):
            notes.append(f"{notebook}.ipynb: answer cell {sid!r} raised {cell.ename}: {cell.evalue.strip()[:200]} "
                         "(its tests passed anyway)")
    return notes


def _zero_for_tampering(result: StudentResult, evidence: list[str]) -> None:
    shown = "; ".join(evidence[:3]) + (f" (and {len(evidence) - 3} more)" if len(evidence) > 3 else "")
    result.verdicts.append(f"{TAMPERED} ({shown}): the whole submission scores 0 and is left for an instructor "
                           "to review")
    for q in result.questions:
        if q.score or q.status == "pass":
            q.status, q.reason = "fail", f"{TAMPERED}: {shown}"
        q.score = 0.0


def _question_result(q: Question, seen: dict, scores: dict[str, float], ran: bool,
                     partial_tag: str = "") -> QuestionResult:
    if not ran:
        return QuestionResult(q.grade_id, q.title, 0.0, q.points, "not run", "the notebook could not be graded",
                              list(q.solution_ids))
    status, reason = question_status(q, seen)
    score = float(scores.get(q.grade_id, 0.0))
    test = seen.get(q.grade_id)
    if partial_tag and status == "fail" and test is not None and test.ename == "AssertionError":
        counted = partial_credit.tally(test.evalue, partial_tag)
        if counted is not None:  # nbgrader scored the failed cell 0; the hidden scenarios that passed count
            passed, total = counted
            score = partial_credit.score(q.points, passed, total)
            reason = (f"{partial_credit.without_tally(reason)}\n(partial credit: {passed} of {total} hidden scenarios "
                      f"passed, {score:g} of {q.points:g} points)")
    return QuestionResult(q.grade_id, q.title, score, q.points, status, reason, list(q.solution_ids))


def _autograde_failure(outcome: dict) -> str:
    text = (outcome.get("error") or "") + "\n" + (outcome.get("log") or "")
    if "DeadKernelError" in text or "Kernel died" in text or "kernel died" in text.lower():
        return "the kernel died while running the notebook (os._exit, a crash or out of memory?); it scores 0"
    if "Timeout" in text and "kernel" in text.lower():
        return "the kernel did not start or stopped answering; it scores 0"
    last = [line.strip() for line in (outcome.get("error") or outcome.get("log") or "").splitlines() if line.strip()]
    return f"nbgrader could not autograde the notebook ({last[-1] if last else 'no details'}); it scores 0"


def _scores(root: Path, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        return {g.name: float(g.score or 0.0) for nb in submission.notebooks for g in nb.grades}


def _timestamp(root: Path, assignment: str, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        ts = gb.find_submission(assignment, student).timestamp
        return "" if ts is None else str(ts)
