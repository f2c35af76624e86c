"""Project 1, the agent pair: the harness that grades a submitted Worker project.

The learner builds a Worker (``wrangler.toml`` + ``src/``) whose CoordinatorAgent receives tasks
over HTTP and delegates them to WorkerAgents over RPC (the contract: ``solutions/project1``'s
brief, and :mod:`.contract` here). The harness loads the submitted folder on the emulator
(``course.checks.projects``) and tells it seeded stories, one module per group of rubric items:

- :mod:`.happy`: ``happy-path`` (with the message and latency budgets) and ``concurrent``;
- :mod:`.faults`: ``worker-crash``, ``slow-worker``, ``coordinator-restart``;
- :mod:`.duplicates`: ``duplicates`` (resubmitted tasks, redelivered assignments);
- :mod:`.bad_input`: ``bad-input``;
- :mod:`.rubric`: :data:`RUBRIC`, the items with their points, seeds and budgets.

``check(folder)`` runs the rubric in this process and returns a
:class:`~course.checks.projects.ProjectReport`; ``course check <folder>`` and
``course grade --project project1`` run it in a process of their own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from course.checks.project1.contract import ATTEMPT_TIMEOUT, TaskSpec, check_report, worker_name
from course.checks.project1.rubric import RUBRIC
from course.checks.projects import ProjectReport


def check(folder: Path | str, *, only: Iterable[str] | None = None, seed: int | None = None,
          shown_as: str | None = None) -> ProjectReport:
    """Run Project 1's rubric (or the items in ``only``) against the Worker project in ``folder``."""
    return RUBRIC.check(folder, only=only, seed=seed, shown_as=shown_as or str(folder))


__all__ = ["ATTEMPT_TIMEOUT", "RUBRIC", "TaskSpec", "check", "check_report", "worker_name"]
