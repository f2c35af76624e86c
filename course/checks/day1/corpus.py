"""The seeded test data Day 1's scenarios are made of: short documents and timestamps.

Day 1's random streams predate the harness and keep their historical keys (purpose first,
then the seed: ``random_stream("envelope", seed)``), so every seed published in a notebook or
a feedback page still means the same case.
"""
from __future__ import annotations

import datetime as _dt
import random

from course.checks.harness.streams import random_stream

#: Words the seeded documents are made of (small, so counts collide across subtasks).
VOCABULARY = ("agent", "task", "queue", "worker", "retry", "alarm", "state", "reply", "edge", "durable")
#: The instant seeded timestamps count from.
EPOCH = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)


def day1_stream(purpose: str, seed: int, *more: object) -> random.Random:
    """The random stream of one Day 1 purpose (historical key order: purpose, seed, ...)."""
    return random_stream(purpose, seed, *more)


def documents(rng: random.Random, n: int) -> list[str]:
    """``n`` documents of one to six words from :data:`VOCABULARY`."""
    return [" ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 6))) for _ in range(n)]


def iso(seconds: float, *, aware: bool = True) -> str:
    """An ISO 8601 timestamp ``seconds`` after :data:`EPOCH` (``Z``-suffixed, or naive)."""
    base = EPOCH + _dt.timedelta(seconds=seconds)
    return base.isoformat().replace("+00:00", "Z") if aware else base.replace(tzinfo=None).isoformat()


__all__ = ["EPOCH", "VOCABULARY", "day1_stream", "documents", "iso"]
