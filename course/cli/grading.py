"""The grading subcommands of ``course``: ``check``, ``grade`` and ``release``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.grading.config import CELL_TIMEOUT


def add_check_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="run an exercise notebook's visible tests, or a project's rubric on its Worker folder")
    p.add_argument("notebook", type=Path, help="the exercise notebook, e.g. exercises/day1/day1_exercises.ipynb, "
                                               "or a project folder, e.g. exercises/project1")
    p.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                   help="seconds per cell, or per rubric item of a project (default %(default)s)")
    p.add_argument("--project", default=None, help="a project folder's rubric (default: its [tool.course] project)")
    p.add_argument("--only", default=None, help="a project's rubric items to run, comma-separated")
    p.add_argument("--seed", type=int, default=None, help="a project item's seed (a failure's reproduce line says it)")
    p.set_defaults(func=run_check)


def add_grade_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="autograde a class's submissions with nbgrader, in parallel")
    p.add_argument("submissions", type=Path,
                   help="<student>/<assignment>/<notebook>.ipynb folders, or a flat folder of <student>_*.ipynb")
    p.add_argument("--assignment", default=None, help="assignment name, a folder of solutions/ (e.g. day1)")
    p.add_argument("--project", default=None, help="grade Worker projects (folders or zips) against this project's "
                                                    "rubric instead (e.g. project1)")
    p.add_argument("--out", required=True, type=Path, help="where grades.csv, feedback/ and plots/ go")
    p.add_argument("--jobs", type=int, default=None,
                   help="students graded at once (default: twice the CPU count, at most 32)")
    p.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell (default %(default)s)")
    p.add_argument("--solutions", type=Path, default=None, help="the source folder (default: the repo's solutions/)")
    p.add_argument("--due", default=None, help="due date and time, ISO (e.g. 2026-03-01T23:59; UTC unless it says)")
    p.add_argument("--late-penalty", default="none",
                   help="none, zero (a late submission scores 0) or per-hour:POINTS (default %(default)s)")
    p.add_argument("--require-sandbox", action="store_true",
                   help="refuse to grade unless every kernel can run inside the OS boundary (Linux + bubblewrap)")
    p.set_defaults(func=run_grade)


def add_release_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("release", help="regenerate exercises/ from solutions/ with nbgrader")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all of solutions/)")
    p.add_argument("--solutions", type=Path, default=None, help="source folder (default: the repo's solutions/)")
    p.add_argument("--exercises", type=Path, default=None, help="release folder (default: the repo's exercises/)")
    p.set_defaults(func=run_release)


def run_check(args: argparse.Namespace) -> int:
    from course.grading.check import NotebookUnreadable, check_notebook, format_report

    if args.notebook.is_dir():
        from course.grading.project_check import run_project_check

        return run_project_check(args)
    if not args.notebook.is_file():
        print(f"course check: {args.notebook} is not a file", file=sys.stderr)
        return 2
    try:
        checks = check_notebook(args.notebook, args.timeout)
    except NotebookUnreadable as exc:
        print(f"course check: {exc}", file=sys.stderr)
        return 2
    print(format_report(args.notebook, checks))
    return 0 if checks and all(c.status in ("pass", "manual") for c in checks) else 1


def run_grade(args: argparse.Namespace) -> int:
    from course.grading.grade import GradingInterrupted, SandboxUnavailable, grade_class
    from course.grading.submissions import SubmissionError

    if args.project:
        from course.grading.project_check import run_project_grade

        return run_project_grade(args)
    if not args.assignment:
        print("course grade: give --assignment (notebooks) or --project (Worker projects)", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("course grade: --jobs must be at least 1", file=sys.stderr)
        return 2
    if args.timeout < 1:
        print("course grade: --timeout must be at least 1 second", file=sys.stderr)
        return 2
    from course.grading.lateness import LatePolicy

    try:
        late = LatePolicy.parse(args.due, args.late_penalty)
    except ValueError as exc:
        print(f"course grade: {exc}", file=sys.stderr)
        return 2
    try:
        report = grade_class(args.submissions, args.assignment, args.out, jobs=args.jobs, cell_timeout=args.timeout,
                             solutions_dir=args.solutions, require_sandbox=args.require_sandbox, late=late)
    except (SubmissionError, FileNotFoundError, SandboxUnavailable) as exc:
        print(f"course grade: {exc}", file=sys.stderr)
        return 2
    except GradingInterrupted as stop:
        partial = stop.report
        print(f"\ncourse grade: interrupted; every grading process and kernel was stopped. Partial report "
              f"({len(partial.results)} graded, {len(partial.missing)} not) in {partial.out_dir}; "
              f"{args.out} was left as it was.", file=sys.stderr)
        return 130
    for note in report.notes:
        print(f"note: {note}")
    for r in report.results:
        note = f"  ({'; '.join(r.verdicts)})" if r.verdicts else ""
        penalty = f" (late: -{r.late_penalty:g})" if r.late_penalty else ""
        print(f"{r.student_id}: {r.score:g}/{r.max_score:g}{penalty} {r.status}{note}")
    print(f"wrote {report.grades_csv}, {report.questions_csv}, {report.summary}, {len(report.feedback)} feedback "
          f"pages in {args.out / 'feedback'}, {len(report.plots)} plots in {args.out / 'plots'}")
    return 0


def run_release(args: argparse.Namespace) -> int:
    from course.grading.release import release

    try:
        written = release(args.assignments or None, solutions_dir=args.solutions, exercises_dir=args.exercises)
    except FileNotFoundError as exc:
        print(f"course release: {exc}", file=sys.stderr)
        return 2
    for name, paths in written.items():
        for path in paths:
            print(f"{name}: wrote {path}")
    return 0
