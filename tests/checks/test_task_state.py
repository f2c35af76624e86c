"""One TaskState: the learners' exercise, the checks and the lab Worker's protocol share the lifecycle."""
from __future__ import annotations

import pytest

import course.protocol as protocol
from course.checks import day1


def test_learners_checks_and_protocol_share_one_task_state_and_one_table() -> None:
    assert day1.TaskState is protocol.TaskState and day1.IllegalTransition is protocol.IllegalTransition
    assert day1.LIFECYCLE_TABLE is protocol.LIFECYCLE
    assert protocol.TaskState.DONE == "done" and issubclass(protocol.IllegalTransition, ValueError)


def test_the_state_table_and_the_event_table_agree() -> None:
    for (src, _event), dst in protocol.LIFECYCLE.items():
        assert protocol.can_transition(src, dst)
    assert set(protocol.TRANSITIONS) == set(protocol.TaskState)
    assert protocol.TRANSITIONS[protocol.TaskState.DONE] == frozenset()
    assert not protocol.can_transition("created", "failed")  # a task fails only once it is assigned


def test_next_state_follows_the_table_and_refuses_the_rest() -> None:
    assert protocol.next_state("failed", "assign") is protocol.TaskState.ASSIGNED
    with pytest.raises(protocol.IllegalTransition, match="'complete' is not allowed from 'assigned'"):
        protocol.next_state(protocol.TaskState.ASSIGNED, "complete")
