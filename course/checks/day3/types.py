"""The data types, constants and helpers Day 3's exercises share with their checks (given to learners).

- state schemas (Q1): the limits :data:`MAX_TASK_ID_LENGTH`, :data:`MAX_WORKER_CAPACITY`,
  :data:`MAX_ENTRY_CHARS` and :data:`MEMORY_BUDGET_CHARS`, and :data:`TASK_STATUSES`;
- upcasters (Q2): :data:`CURRENT_VERSION` and :class:`UnknownSchemaVersion`, the error for a
  document written by newer code;
- the crash-safe agent (Q3): :func:`tool_result`, what the checks' tool answers for a step;
- the lost update (Q4): :data:`INITIAL_QUOTA` and :data:`PRICE_PER_TOKEN`;
- compare-and-set (Q5): :data:`MAX_CAS_ATTEMPTS`;
- the SQL memory agent (Q6): :data:`BACKFILL_BATCH`, :func:`topic_of` and :func:`count_words`.
"""
from __future__ import annotations

import re
from typing import Literal

#: Longest task id a coordinator accepts.
MAX_TASK_ID_LENGTH = 64
#: Most tasks one worker agent runs at once.
MAX_WORKER_CAPACITY = 16
#: Longest text of one memory entry (characters).
MAX_ENTRY_CHARS = 2_000
#: Most characters a memory agent keeps in its entries altogether (its memory budget).
MEMORY_BUDGET_CHARS = 20_000
#: A coordinator's task statuses.
TASK_STATUSES = ("pending", "assigned", "done", "failed")
TaskStatus = Literal["pending", "assigned", "done", "failed"]

#: The memory agent's state document version the current code writes.
CURRENT_VERSION = 3

#: Tokens a tenant's quota agent starts with.
INITIAL_QUOTA = 1_000
#: What the pricing agent charges per token.
PRICE_PER_TOKEN = 1

#: Attempts an ``add_item`` makes before it gives up (conflicts and network errors together).
MAX_CAS_ATTEMPTS = 12

#: Most rows one run of the memory agent's backfill may migrate (one alarm = one batch).
BACKFILL_BATCH = 5

_HASHTAG = re.compile(r"#([a-z][a-z0-9-]*)")


class UnknownSchemaVersion(ValueError):
    """A stored document has a version this code does not know (newer code wrote it): refuse it."""


def tool_result(task_id: str, step: int, payload: str) -> str:
    """What the checks' tool answers for step ``step`` of ``task_id`` (deterministic)."""
    return f"{task_id}/{step}:{len(payload.split())} words"


def topic_of(text: str) -> str:
    """A memory's topic: its first ``#hashtag`` in lower case, or ``"general"``."""
    found = _HASHTAG.search(text.lower())
    return found.group(1) if found else "general"


def count_words(text: str) -> int:
    """Whitespace-separated words in ``text``."""
    return len(text.split())


__all__ = ["BACKFILL_BATCH", "CURRENT_VERSION", "INITIAL_QUOTA", "MAX_CAS_ATTEMPTS", "MAX_ENTRY_CHARS",
           "MAX_TASK_ID_LENGTH", "MAX_WORKER_CAPACITY", "MEMORY_BUDGET_CHARS", "PRICE_PER_TOKEN", "TASK_STATUSES",
           "TaskStatus", "UnknownSchemaVersion", "count_words", "tool_result", "topic_of"]
