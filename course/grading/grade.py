"""``course grade``: autograde a whole class in parallel, one nbgrader run per student.

The assignment is generated once into a master course directory (source + gradebook with the
grade cells' checksums); each worker process then grades one student in a private copy of it,
so students share no kernel, no files and no database. One bad submission gets a verdict and
never stops the class. Scores depend only on the submissions: the checks are seeded.
"""
from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

from .autograde import GradeJob, QuestionResult, StudentResult, grade_student
from .config import CELL_TIMEOUT, REPO_ROOT, SOURCE_DIRECTORY
from .course_dir import generate
from .feedback import write_feedback
from .progress import ProgressLine
from .report import plot_distributions, write_details, write_grades_csv
from .submissions import Submission, find_submissions


#: Ceiling of the default --jobs (each job holds a kernel: about 100 MB).
MAX_DEFAULT_JOBS = 32


@dataclass
class ClassReport:
    results: list[StudentResult]
    grades_csv: Path
    questions_csv: Path
    results_json: Path
    feedback: list[Path]
    plots: list[Path]


def default_jobs() -> int:
    """Two students per core: a starting kernel spends much of its time waiting, not computing."""
    return min(2 * (os.cpu_count() or 1), MAX_DEFAULT_JOBS)


def _grade_and_write(job: GradeJob, feedback_dir: str) -> StudentResult:
    """Worker-process entry point: grade one student and write their feedback page."""
    try:
        result = grade_student(job)
    except Exception as exc:  # a grading bug must not cost the rest of the class
        result = _crashed(job, f"grading failed unexpectedly: {type(exc).__name__}: {exc}")
    write_feedback(result, Path(feedback_dir))
    return result


def _crashed(job: GradeJob, verdict: str) -> StudentResult:
    from .notebook_cells import questions
    import nbformat

    release = Path(job.master) / "release" / job.assignment
    qs = [q for nb in sorted(release.glob("*.ipynb")) for q in questions(nbformat.read(nb, as_version=4))]
    return StudentResult(job.student_id, job.assignment, 0.0, sum(q.points for q in qs), "not graded", [verdict],
                         [QuestionResult(q.grade_id, q.title, 0.0, q.points, "not run", verdict) for q in qs])


def grade_class(submissions_dir: Path, assignment: str, out_dir: Path, *, jobs: int | None = None,
                cell_timeout: int = CELL_TIMEOUT, solutions_dir: Path | None = None,
                progress: TextIO | None = None, on_result: Callable[[StudentResult], None] | None = None) -> ClassReport:
    """Grade every submission in ``submissions_dir`` and write the class's files to ``out_dir``."""
    solutions_dir = solutions_dir or REPO_ROOT / SOURCE_DIRECTORY
    notebook_names = sorted(p.stem for p in (solutions_dir / assignment).glob("*.ipynb"))
    if not notebook_names:
        raise FileNotFoundError(f"no notebooks for assignment {assignment!r} in {solutions_dir / assignment}")
    subs = find_submissions(submissions_dir, assignment, notebook_names)
    out_dir.mkdir(parents=True, exist_ok=True)
    feedback_dir = out_dir / "feedback"
    jobs = max(1, min(jobs or default_jobs(), len(subs)))
    with tempfile.TemporaryDirectory(prefix="course-grade-master-") as tmp:
        master = Path(tmp)
        generate(master, assignment, solutions_dir)
        work = [GradeJob(s.student_id, assignment, {k: str(v) for k, v in s.notebooks.items()}, str(master), cell_timeout)
                for s in subs]
        results = _run(work, jobs, str(feedback_dir), progress, on_result)
    results.sort(key=lambda r: r.student_id)
    grades_csv = write_grades_csv(results, out_dir / "grades.csv")
    questions_csv, results_json = write_details(results, out_dir)
    plots = plot_distributions(results, out_dir / "plots")
    return ClassReport(results, grades_csv, questions_csv, results_json,
                       [feedback_dir / f"{r.student_id}.html" for r in results], plots)


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork when it is safe, because the parent has already imported nbgrader (seconds per worker).

    Forking a process that runs other threads (a Jupyter kernel, some test runners) can
    deadlock a child on a lock held by a thread that does not exist there: spawn then.
    """
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _run(work: list[GradeJob], jobs: int, feedback_dir: str, progress: TextIO | None,
         on_result: Callable[[StudentResult], None] | None) -> list[StudentResult]:
    bar = ProgressLine(len(work), "students graded", progress)
    results: list[StudentResult] = []

    def record(result: StudentResult) -> None:
        results.append(result)
        bar.advance(f"{result.student_id}: {result.score:g}/{result.max_score:g}")
        if on_result:
            on_result(result)

    if jobs == 1:
        for job in work:
            record(_grade_and_write(job, feedback_dir))
        return results
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context()) as pool:
        futures = {pool.submit(_grade_and_write, job, feedback_dir): job for job in work}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # the worker process itself died
                result = _crashed(job, f"the grading process died: {type(exc).__name__}: {exc}")
                write_feedback(result, Path(feedback_dir))
            record(result)
    return results


__all__ = ["ClassReport", "Submission", "grade_class"]
