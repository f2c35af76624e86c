"""The data types, constants and helpers Day 6's exercises share with their checks (given to learners).

- the task events: :data:`EVENT_TYPES`, :data:`CURRENT_VERSIONS`, :data:`DEFAULT_PRIORITY`
  and :class:`UnknownEventVersion`, the error for an event written by newer code;
- the replayer: a stored record is ``{"seq": int, "at": float, "event": {...}}``; the read
  model is the board :func:`empty_board` returns, and :data:`BOARD_RULES` says how each event
  changes it.
"""
from __future__ import annotations

import copy
from typing import Any

#: The task events' types, and the version of each that the current code writes.
EVENT_TYPES = ("task_created", "task_claimed", "task_completed")
CURRENT_VERSIONS = {"task_created": 2, "task_claimed": 1, "task_completed": 1}
#: The priority a v1 ``task_created`` (which had none) gets when it is upcast.
DEFAULT_PRIORITY = 3
#: Longest task title.
MAX_TITLE = 200

BOARD_RULES = """\
task_created   -> tasks[task_id] = {"title": title, "status": "open", "worker": None}
task_claimed   -> tasks[task_id]["status"] = "claimed"; tasks[task_id]["worker"] = worker
task_completed -> tasks[task_id]["status"] = "done"; tasks[task_id]["worker"] = worker;
                  completed_by[worker] += 1 (from 0)
every event    -> last_seq = its seq"""


class UnknownEventVersion(ValueError):
    """A stored event has a version this code does not know (newer code wrote it): refuse it."""


def empty_board() -> dict[str, Any]:
    """The read model before any event: ``{"last_seq": 0, "tasks": {}, "completed_by": {}}``."""
    return {"last_seq": 0, "tasks": {}, "completed_by": {}}


__all__ = ["BOARD_RULES", "CURRENT_VERSIONS", "DEFAULT_PRIORITY", "EVENT_TYPES", "MAX_TITLE", "UnknownEventVersion",
           "empty_board"]
