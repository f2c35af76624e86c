"""Project 3, a production agent system: the harness that grades a submitted Worker project.

The learner builds a system of agents on Workers (an intake, regional planners, queue-driven
workers, analysts on Workers AI, a notifier feed) with monitoring, error handling, a region plan,
signed calls and a load test (the contract: ``solutions/project3``'s brief). The harness loads
the submitted folder on the emulator and, Jepsen-style, plays a seeded simulated hour of traffic
and faults against it (:mod:`.schedule`, :mod:`.hour`), then checks invariants and budgets on what
it saw (:mod:`.invariants`); the contract, throughput and load-test items have their own stories
(:mod:`.contract_items`, :mod:`.load`); :mod:`.cost` prices the hour; :mod:`.rubric` holds
:data:`RUBRIC`.

``check(folder)`` runs the rubric in this process; ``course check <folder>`` and
``course grade --project project3`` run it in a process of their own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from course.checks.project3.rubric import HOUR_SEED, RUBRIC
from course.checks.project3.schedule import Schedule, draw_schedule
from course.checks.projects import ProjectReport


def check(folder: Path | str, *, only: Iterable[str] | None = None, seed: int | None = None,
          shown_as: str | None = None) -> ProjectReport:
    """Run Project 3's rubric (or the items in ``only``) against the Worker project in ``folder``."""
    return RUBRIC.check(folder, only=only, seed=seed, shown_as=shown_as or str(folder))


__all__ = ["HOUR_SEED", "RUBRIC", "Schedule", "check", "draw_schedule"]
