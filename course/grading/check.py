"""``course check NOTEBOOK``: run an exercise notebook in a fresh kernel and report each question.

The learner's file is never modified: it is executed in memory with nbclient (a real kernel,
every cell run even after errors) from the notebook's own folder, and each question is then
reported as passed, failed (with the assertion message, which names the scenario and seed),
not attempted (its code still raises ``NotImplementedError``) or timed out.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from course.grading.autograde import read_submission
from course.grading.config import CELL_TIMEOUT, KERNEL_ARGUMENTS, KERNEL_STARTUP_TIMEOUT
from course.grading.notebook_cells import Question, outcomes, question_status, questions

MARK = {"pass": "PASS", "fail": "FAIL", "not attempted": "TODO", "timeout": "TIME", "not run": "MISS", "manual": "HAND"}


class NotebookUnreadable(ValueError):
    """The file is not a notebook that can be checked."""


@dataclass
class QuestionCheck:
    question: Question
    status: str
    reason: str


def run_notebook(path: Path, timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Execute a copy of the notebook in a fresh kernel; errors stay in the outputs."""
    from nbclient import NotebookClient

    nb, problem = read_submission(path)
    if nb is None:
        raise NotebookUnreadable(problem or f"{path} cannot be read")
    client = NotebookClient(nb, timeout=timeout, startup_timeout=KERNEL_STARTUP_TIMEOUT, allow_errors=True,
                            interrupt_on_timeout=True, kernel_name="python3", extra_arguments=list(KERNEL_ARGUMENTS),
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    client.execute()
    return nb


def check_notebook(path: Path, timeout: int = CELL_TIMEOUT) -> list[QuestionCheck]:
    nb = run_notebook(path, timeout)
    seen = outcomes(nb)
    return [QuestionCheck(q, *question_status(q, seen)) for q in questions(nb)]


def format_report(path: Path, checks: list[QuestionCheck]) -> str:
    lines = [f"{path}:"]
    for n, c in enumerate(checks, 1):
        q = c.question
        status = "graded by hand" if c.status == "manual" else c.status
        lines.append(f"  {MARK.get(c.status, c.status.upper())}  {q.title or q.grade_id} ({q.points:g} pts): {status}")
        if c.reason and c.status not in ("pass", "manual"):
            lines += [f"        {line}" for line in c.reason.splitlines()]
    auto = [c for c in checks if not c.question.manual]
    by_hand = [c for c in checks if c.question.manual]
    passed = [c for c in auto if c.status == "pass"]
    points = sum(c.question.points for c in passed)
    total = sum(c.question.points for c in auto)
    lines.append(f"{len(passed)}/{len(auto)} questions pass their visible tests ({points:g}/{total:g} points); "
                 f"hidden scenarios run when your work is graded.")
    if by_hand:
        hand_points = sum(c.question.points for c in by_hand)
        lines.append(f"{len(by_hand)} question{'s' if len(by_hand) != 1 else ''} ({hand_points:g} points) "
                     f"{'are' if len(by_hand) != 1 else 'is'} graded by hand by your instructor.")
    return "\n".join(lines)
