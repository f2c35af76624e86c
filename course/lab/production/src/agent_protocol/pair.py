"""Messages and state of Project 1: a coordinator agent and its worker agents.

A client submits a :class:`TaskRequest`; the coordinator splits it into subtasks, assigns each
to a worker, reassigns the ones that fail, and aggregates the results into a
:class:`TaskReport`. Every subtask moves through the shared lifecycle (:mod:`.lifecycle`:
:class:`TaskState`, :data:`TRANSITIONS`); a task's record is a :class:`TaskRecord`.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

# Relative, so the lab Worker, which deploys this folder as ``agent_protocol``, imports it too.
from .lifecycle import TaskState

Operation = Literal["word_count", "sum", "max", "uppercase"]
AgentKind = Literal["coordinator", "worker"]

#: Most items one task may carry: keeps a request well under the 100 MB Workers body limit and
#: a coordinator's state small.
MAX_ITEMS = 10_000
#: Most subtasks (and so worker agents) one task may fan out to.
MAX_WORKERS = 32


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskRequest(_Model):
    """What a client asks the coordinator to do."""

    task_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    operation: Operation
    items: list[Any] = Field(min_length=1, max_length=MAX_ITEMS)
    workers: int = Field(default=3, ge=1, le=MAX_WORKERS)
    max_attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("items")
    @classmethod
    def _items_fit_operation(cls, items: list[Any], info: ValidationInfo) -> list[Any]:
        operation = info.data.get("operation")
        numeric = operation in ("sum", "max")
        for i, item in enumerate(items):
            if numeric and (isinstance(item, bool) or not isinstance(item, (int, float))):
                raise ValueError(f"item {i} is {item!r}: operation {operation!r} needs numbers")
            if not numeric and not isinstance(item, str):
                raise ValueError(f"item {i} is {item!r}: operation {operation!r} needs strings")
        return items


class SubtaskSpec(_Model):
    """One slice of a task, as sent to a worker in a ``task.assign`` envelope."""

    task_id: str
    subtask_id: str
    operation: Operation
    items: list[Any]


class SubtaskResult(_Model):
    task_id: str
    subtask_id: str
    worker: str
    value: Any


class SubtaskState(_Model):
    subtask_id: str
    status: TaskState = TaskState.CREATED
    worker: str | None = None
    attempts: int = 0
    items: list[Any]
    value: Any = None
    error: str | None = None
    history: list[TaskState] = Field(default_factory=lambda: [TaskState.CREATED])


class TaskRecord(_Model):
    """What the coordinator stores about one task (its state, its subtasks, its result)."""

    task_id: str
    operation: Operation
    status: TaskState = TaskState.CREATED
    subtasks: list[SubtaskState]
    max_attempts: int
    result: Any = None
    created_at: float
    finished_at: float | None = None


class TaskReport(_Model):
    """What the coordinator answers when a task ends."""

    task_id: str
    status: TaskState
    result: Any = None
    subtasks: int
    reassignments: int
    workers: list[str]
    failed_subtasks: list[str] = Field(default_factory=list)


class LogEntry(_Model):
    direction: Literal["in", "out"]
    envelope: dict[str, Any]


class CoordinatorState(_Model):
    name: str
    tasks: list[str]
    log: list[LogEntry]


class WorkerConfig(_Model):
    """Fault knobs of a worker agent, set over HTTP so the same lesson runs live."""

    fail_next: int = Field(default=0, ge=0, le=1000)
    delay_seconds: float = Field(default=0.0, ge=0, le=60)


class WorkerState(_Model):
    name: str
    processed: int
    failed: int
    config: WorkerConfig
    log: list[LogEntry]


def apply_operation(operation: Operation, items: list[Any]) -> Any:
    """What a worker computes for one subtask."""
    if operation == "word_count":
        return sum(len(str(text).split()) for text in items)
    if operation == "sum":
        return sum(items)
    if operation == "max":
        return max(items)
    if operation == "uppercase":
        return [str(text).upper() for text in items]
    raise ValueError(f"unknown operation {operation!r}")


def aggregate(operation: Operation, values: list[Any]) -> Any:
    """Combine subtask values (in subtask order) into the task's result."""
    if operation in ("word_count", "sum"):
        return sum(values)
    if operation == "max":
        return max(values)
    if operation == "uppercase":
        return [x for part in values for x in part]
    raise ValueError(f"unknown operation {operation!r}")


def split(items: list[Any], parts: int) -> list[list[Any]]:
    """Split ``items`` into at most ``parts`` contiguous, non-empty, nearly equal slices."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out
