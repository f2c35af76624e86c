"""The data types Day 1's exercises share with their checks (given to learners, not graded).

The coordinator splits a document batch into :class:`Subtask` s, workers answer each with a
:class:`WorkResult` (word counts), and the coordinator folds them into an :class:`Aggregate`.
Messages travel in the course's one envelope (``course.protocol.envelope``) and a task moves
through the course's one lifecycle: :class:`TaskState` and
:class:`IllegalTransition` are ``course.protocol``'s, the same the lab Worker uses.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from typing import get_args

from course.protocol.envelope import ADDRESS_PATTERN, SCHEMA_VERSION, MessageType
from course.protocol.lifecycle import LIFECYCLE, TASK_EVENTS, IllegalTransition, TaskState

#: Message types of the course's one envelope (``course.protocol.envelope``: lesson, lab, exercises).
MESSAGE_TYPES: tuple[str, ...] = get_args(MessageType)
#: Message types that answer another message: they name it in ``causation_id``.
REPLY_TYPES = ("task.result", "task.failed", "task.report")
#: What an agent address looks like (``role:name``, e.g. ``worker:w1``): course.protocol's pattern.
AGENT_NAME_PATTERN = ADDRESS_PATTERN
#: Longest message id (and correlation or causation id) accepted: ids end up as storage keys.
MAX_ID_LENGTH = 64
#: The coordinator's address in the Day 1 exercises.
COORDINATOR = "coordinator:main"


@dataclass(frozen=True)
class Subtask:
    """A slice of a task's items that one worker handles."""

    task_id: str
    index: int
    items: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.task_id}/{self.index}"


@dataclass(frozen=True)
class WorkResult:
    """A worker's answer for one subtask: how often each word occurs in its items."""

    task_id: str
    index: int
    worker: str
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Aggregate:
    """All results of one task folded together."""

    task_id: str
    counts: dict[str, int]
    done: tuple[int, ...]
    missing: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def word_counts(items: Iterable[str]) -> dict[str, int]:
    """The worker's job: lower-cased, whitespace-separated word counts over ``items``."""
    counter: Counter[str] = Counter()
    for item in items:
        counter.update(item.lower().split())
    return dict(sorted(counter.items()))


__all__ = ["ADDRESS_PATTERN", "AGENT_NAME_PATTERN", "COORDINATOR", "Aggregate", "IllegalTransition", "LIFECYCLE", "MAX_ID_LENGTH", "MESSAGE_TYPES",
           "REPLY_TYPES", "SCHEMA_VERSION", "Subtask", "TASK_EVENTS", "TaskState", "WorkResult", "word_counts"]
