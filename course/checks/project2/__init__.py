"""Project 2, the agent mesh: the harness that grades a submitted Worker project.

The learner builds a Worker (``wrangler.toml`` + ``src/``) with three Durable Object agents per
feed: a DataAgent that fetches readings from an upstream API (timeouts, retries, a KV cache), an
AnalysisAgent that reads them with Workers AI (JSON mode, validation, a rule-based fallback) and
a NotificationAgent that pushes each update to its subscribers over hibernating WebSockets
(resume from an offset), wired by a queue (the contract: ``solutions/project2``'s brief, and
:mod:`.contract` here). The harness loads the submitted folder on the emulator
(``course.checks.projects``), serves the upstream on the runtime's network, and tells it seeded
stories, one module per group of rubric items:

- :mod:`.pipeline`: ``happy-path`` and ``burst`` (messages per update, end-to-end latency);
- :mod:`.faults`: ``upstream-faults``, ``ai-faults``, ``agent-crash``;
- :mod:`.subscribers`: ``resume``;
- :mod:`.duplicates`: ``duplicates`` (queue redeliveries, client resends);
- :mod:`.rubric`: :data:`RUBRIC`, the items with their points, seeds and budgets.

``check(folder)`` runs the rubric in this process and returns a
:class:`~course.checks.projects.ProjectReport`; ``course check <folder>`` and
``course grade --project project2`` run it in a process of their own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from course.checks.project2.contract import UPSTREAM_URL, UpdateSpec, Upstream, check_notification
from course.checks.project2.rubric import RUBRIC
from course.checks.projects import ProjectReport


def check(folder: Path | str, *, only: Iterable[str] | None = None, seed: int | None = None,
          shown_as: str | None = None) -> ProjectReport:
    """Run Project 2's rubric (or the items in ``only``) against the Worker project in ``folder``."""
    return RUBRIC.check(folder, only=only, seed=seed, shown_as=shown_as or str(folder))


__all__ = ["RUBRIC", "UPSTREAM_URL", "UpdateSpec", "Upstream", "check", "check_notification"]
