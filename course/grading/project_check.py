"""``course check <project folder>`` and ``course grade --project``: the command-line side of project grading.

``course check`` runs the rubric of the folder's project (its ``[tool.course] project``, or
``--project``) on the learner's Worker, each item in a child process with a real-time limit
(``course.grading.project_run``), and prints PASS / FAIL / TIME per item with the failing
scenario's story; it exits 0 only when every item passes. Like the notebook check, it runs on
the learner's own machine without the grading boundary. ``--only`` and ``--seed`` rerun one
item as a failure's ``reproduce:`` line says.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from course.checks.projects import SubmissionDoesNotLoad, project_name
from course.grading.project_run import RUBRICS, run_rubric


def run_project_check(args: argparse.Namespace) -> int:
    folder: Path = args.notebook
    try:
        project = args.project or project_name(folder)
    except SubmissionDoesNotLoad as exc:
        print(f"course check: {exc}", file=sys.stderr)
        return 2
    if project not in RUBRICS:
        known = ", ".join(sorted(RUBRICS))
        what = project or "no [tool.course] project in its pyproject.toml"
        print(f"course check: {folder} is not a known project ({what}); pass --project ({known})", file=sys.stderr)
        return 2
    only = [k.strip() for k in args.only.split(",") if k.strip()] if args.only else None
    unknown = [k for k in only or [] if k not in RUBRICS[project].keys()]
    if unknown:
        print(f"course check: {project} has no rubric item {', '.join(unknown)} (items: "
              f"{', '.join(RUBRICS[project].keys())})", file=sys.stderr)
        return 2
    if args.timeout < 1:
        print("course check: --timeout must be at least 1 second", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="course-check-project-") as tmp:
        report = run_rubric(folder, project, work_dir=Path(tmp), only=only, seed=args.seed, shown_as=str(folder),
                            item_timeout=args.timeout)
    print(report.format())
    # An item graded by hand (HAND) cannot fail here: exit 0 when every automatic item passes.
    return 0 if report.items and all(i.status in ("pass", "manual") for i in report.items) else 1


def run_project_grade(args: argparse.Namespace) -> int:
    from course.grading.grade import SandboxUnavailable
    from course.grading.lateness import LatePolicy
    from course.grading.project_grade import grade_project_class
    from course.grading.report_dir import PreviousRunError
    from course.grading.submissions import SubmissionError

    if args.project not in RUBRICS:
        print(f"course grade: no project {args.project!r} (projects: {', '.join(sorted(RUBRICS))})", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("course grade: --jobs must be at least 1", file=sys.stderr)
        return 2
    if args.timeout < 1:
        print("course grade: --timeout must be at least 1 second", file=sys.stderr)
        return 2
    if getattr(args, "partial_credit", None):
        print("course grade: --partial-credit applies to notebooks; a project's rubric items score as the rubric says",
              file=sys.stderr)
        return 2
    only = None
    if getattr(args, "only", None) is not None:
        only = [s.strip() for s in args.only.split(",") if s.strip()]
    try:
        late = LatePolicy.parse(args.due, args.late_penalty)
        report = grade_project_class(args.submissions, args.project, args.out, jobs=args.jobs,
                                     item_timeout=args.timeout, require_sandbox=args.require_sandbox, late=late,
                                     only=only)
    except (ValueError, SubmissionError, FileNotFoundError, SandboxUnavailable, PreviousRunError) as exc:
        print(f"course grade: {exc}", file=sys.stderr)
        return 2
    for note in report.notes:
        print(f"note: {note}")
    for r in report.results:
        if only and not ({r.student_id, r.key} & set(only)):
            continue
        note = f"  ({'; '.join(r.verdicts)})" if r.verdicts else ""
        penalty = f" (late: -{r.late_penalty:g})" if r.late_penalty else ""
        print(f"{r.student_id}: {r.score:g}/{r.max_score:g}{penalty} {r.status}{note}")
    print(f"wrote {report.grades_csv}, {report.questions_csv}, {report.summary}, {len(report.feedback)} feedback "
          f"pages in {report.out_dir / 'feedback'}, {len(report.plots)} plots in {report.out_dir / 'plots'}")
    return 0


__all__ = ["run_project_check", "run_project_grade"]
