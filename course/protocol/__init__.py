"""Typed messages and state shared by the lab Worker, the notebooks and the checks.

Every message between agents travels in an :class:`Envelope`; the payload types and the agent
state types of the coordinator + worker pair (Project 1) live in :mod:`course.protocol.pair`.
"""
from course.protocol.envelope import SCHEMA_VERSION, Envelope, new_envelope
from course.protocol.pair import (
    AgentKind,
    CoordinatorState,
    LogEntry,
    Operation,
    SubtaskResult,
    SubtaskSpec,
    SubtaskState,
    TaskReport,
    TaskRequest,
    TaskState,
    TaskStatus,
    WorkerConfig,
    WorkerState,
    apply_operation,
    can_transition,
    TRANSITIONS,
)

__all__ = [
    "SCHEMA_VERSION", "Envelope", "new_envelope", "AgentKind", "CoordinatorState", "LogEntry",
    "Operation", "SubtaskResult", "SubtaskSpec", "SubtaskState", "TaskReport", "TaskRequest",
    "TaskState", "TaskStatus", "WorkerConfig", "WorkerState", "apply_operation", "can_transition",
    "TRANSITIONS",
]
