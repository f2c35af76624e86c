"""The task lifecycle every agent in the course shares: the states, the events, the legal moves.

One state machine for the Day 1 exercise (``TaskLifecycle`` in the learner's notebook), its
checks, and the lab Worker's coordinator (Project 1), so a learner who writes it once meets the
same table everywhere::

    created --assign--> assigned --start--> running --complete--> done
                           |                   |
                           +------fail---------+--> failed --assign--> assigned   (a retry)

:data:`LIFECYCLE` is the table as (state, event) -> next state; :data:`TRANSITIONS` is the same
table without the event names (state -> states it may move to), which is what a coordinator
that only records states needs. ``done`` is final. How many times ``failed -> assigned`` may
happen is the owner's policy (``max_attempts``), not the table's.

This module imports nothing but the standard library: the lab Worker deploys it as is.
"""
from __future__ import annotations

from enum import Enum
from types import MappingProxyType
from typing import Mapping


class TaskState(str, Enum):
    """Where a task (or a subtask) is in its life."""

    CREATED = "created"
    ASSIGNED = "assigned"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class IllegalTransition(ValueError):
    """An event that the task's current state does not allow."""


#: What can happen to a task, in the order the happy path meets them (``fail`` last).
TASK_EVENTS: tuple[str, ...] = ("assign", "start", "complete", "fail")

#: The lifecycle as (state, event) -> next state. Any pair not in it is illegal.
LIFECYCLE: Mapping[tuple[TaskState, str], TaskState] = MappingProxyType({
    (TaskState.CREATED, "assign"): TaskState.ASSIGNED,
    (TaskState.ASSIGNED, "start"): TaskState.RUNNING,
    (TaskState.ASSIGNED, "fail"): TaskState.FAILED,
    (TaskState.RUNNING, "complete"): TaskState.DONE,
    (TaskState.RUNNING, "fail"): TaskState.FAILED,
    (TaskState.FAILED, "assign"): TaskState.ASSIGNED,
})

#: The same moves without event names: state -> the states it may move to.
TRANSITIONS: Mapping[TaskState, frozenset[TaskState]] = MappingProxyType({
    state: frozenset(dst for (src, _), dst in LIFECYCLE.items() if src is state) for state in TaskState
})


def next_state(state: TaskState | str, event: str) -> TaskState:
    """The state ``event`` moves a task in ``state`` to; :class:`IllegalTransition` if it may not."""
    current = TaskState(state)
    try:
        return LIFECYCLE[(current, event)]
    except KeyError:
        raise IllegalTransition(f"{event!r} is not allowed from {current.value!r}") from None


def can_transition(src: TaskState | str, dst: TaskState | str) -> bool:
    """Whether some event moves a task from ``src`` to ``dst``."""
    return TaskState(dst) in TRANSITIONS[TaskState(src)]


__all__ = ["IllegalTransition", "LIFECYCLE", "TASK_EVENTS", "TRANSITIONS", "TaskState", "can_transition",
           "next_state"]
