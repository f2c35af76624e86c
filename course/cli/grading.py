"""The grading subcommands of ``course``: ``check``, ``grade`` and ``release``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.grading.config import CELL_TIMEOUT
from course.grading.partial_credit import DEFAULT_POLICY, POLICIES


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


#: What ``--jobs`` means and defaults to; grader/README.md quotes this sentence (a test keeps them the same).
JOBS_HELP = ("students graded at once (a notebook student: one process and one kernel, about 100 MB; a project: one "
             "rubric process at a time); default: twice the CPU count, at most 32, never more than the class")
#: The instructor's commands on a graded report: ``course grade override DIR ...``, ``course grade manual DIR``.
REPORT_COMMANDS = ("override", "manual")


def add_grade_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="autograde a class's submissions with nbgrader, in parallel",
                       description="Grade a class: course grade SUBMISSIONS (--assignment A | --project P) --out DIR. "
                                   "Then, on the graded report: course grade override DIR STUDENT QUESTION POINTS "
                                   "--reason TEXT, and course grade manual DIR [--import FILE.csv|gradebook.db]. "
                                   "(A submissions folder named override or manual: write ./override.)")
    p.add_argument("submissions",  # a str until run_grade tells a report command from a folder ("./override")
                   help="<student>/<assignment>/<notebook>.ipynb folders, or a flat folder of <student>_*.ipynb; "
                        "or override / manual followed by the report folder (see above)")
    p.add_argument("report_args", nargs="*", metavar="ARG",
                   help="for override: DIR STUDENT QUESTION POINTS; for manual: DIR")
    p.add_argument("--assignment", default=None, help="assignment name, a folder of solutions/ (e.g. day1)")
    p.add_argument("--project", default=None, help="grade Worker projects (folders or zips) against this project's "
                                                    "rubric instead (e.g. project1)")
    p.add_argument("--out", type=Path, help="where grades.csv, feedback/ and plots/ go (required to grade)")
    p.add_argument("--jobs", type=int, default=None, help=JOBS_HELP)
    p.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell (default %(default)s)")
    p.add_argument("--solutions", type=Path, default=None, help="the source folder (default: the repo's solutions/)")
    p.add_argument("--due", default=None, help="due date and time, ISO (e.g. 2026-03-01T23:59; UTC unless it says)")
    p.add_argument("--late-penalty", default="none",
                   help="none, zero (a late submission scores 0) or per-hour:POINTS (default %(default)s)")
    p.add_argument("--require-sandbox", action="store_true",
                   help="refuse to grade unless every kernel can run inside the OS boundary (Linux + bubblewrap)")
    p.add_argument("--only", default=None, metavar="STUDENT[,STUDENT...]",
                   help="regrade only these students and merge them into the report already in --out")
    p.add_argument("--partial-credit", choices=POLICIES, default=None,
                   help=f"notebooks: 'scenario' gives a question points x (hidden scenarios passed / run); "
                        f"'all-or-nothing' is nbgrader's rule (default: {DEFAULT_POLICY}, or the policy --out was "
                        "graded with when --only is given)")
    adjust = p.add_argument_group("on a graded report (override, manual)")
    adjust.add_argument("--reason", default=None, help="override: why the score changes (shown on the feedback page)")
    adjust.add_argument("--import", dest="import_file", type=Path, default=None, metavar="FILE",
                        help="manual: merge hand grades from the filled template CSV, or from an nbgrader gradebook.db "
                             "graded in formgrader")
    adjust.add_argument("--template", type=Path, default=None, metavar="FILE",
                        help="manual: where to write the template of questions still to grade by hand "
                             "(default: DIR/manual_todo.csv)")
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


def only_students(args: argparse.Namespace) -> list[str] | None:
    """``--only a,b`` as a list (None without ``--only``)."""
    if args.only is None:
        return None
    return [s.strip() for s in args.only.split(",") if s.strip()]


def run_grade(args: argparse.Namespace) -> int:
    from course.grading.grade import GradingInterrupted, SandboxUnavailable, grade_class
    from course.grading.report_dir import PreviousRunError
    from course.grading.submissions import SubmissionError

    if args.submissions in REPORT_COMMANDS:
        from course.grading.report_commands import run_report_command

        return run_report_command(args.submissions, args)
    args.submissions = Path(args.submissions)
    if args.report_args:
        print(f"course grade: unexpected arguments {' '.join(args.report_args)} (one SUBMISSIONS folder is graded "
              f"at a time; the report commands are {' and '.join(REPORT_COMMANDS)})", file=sys.stderr)
        return 2
    if args.out is None:
        print("course grade: give --out DIR, where the report goes", file=sys.stderr)
        return 2
    if args.only is not None and not only_students(args):
        print("course grade: --only names no student (give STUDENT[,STUDENT...])", file=sys.stderr)
        return 2
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
                             solutions_dir=args.solutions, require_sandbox=args.require_sandbox, late=late,
                             only=only_students(args), partial_credit=args.partial_credit)
    except (SubmissionError, FileNotFoundError, SandboxUnavailable, PreviousRunError) as exc:
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
    regraded = set(only_students(args) or [])
    for r in report.results:
        if regraded and not ({r.student_id, r.key} & regraded):
            continue
        note = f"  ({'; '.join(r.verdicts)})" if r.verdicts else ""
        penalty = f" (late: -{r.late_penalty:g})" if r.late_penalty else ""
        print(f"{r.student_id}: {r.score:g}/{r.max_score:g}{penalty} {r.status}{note}")
    if regraded:
        print(f"regraded {len(regraded)} student(s) into the report of {len(report.results)}")
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
