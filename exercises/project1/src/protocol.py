"""Project 1's contract as pydantic models: what a client sends, what the agents send each other.

A client POSTs a :class:`TaskRequest` to a coordinator. The coordinator splits the items into
subtasks (:func:`split`), sends each to a worker as an :class:`Assignment`, and the worker
answers with a :class:`WorkerReport`. The coordinator keeps a :class:`TaskRecord` per task in
its storage and answers the client with a :class:`TaskReport`.

This file is given to you whole: the contract is fixed, the agents are yours to write.
"""
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Operation = Literal["word_count", "sum", "max", "uppercase"]

#: Most items one task may carry.
MAX_ITEMS = 1000
#: Most workers (and so subtasks) one task may fan out to.
MAX_WORKERS = 8
#: Most attempts per subtask a client may ask for.
MAX_ATTEMPTS = 5
#: The contract's upper bound on how long a coordinator waits for one attempt (seconds).
ATTEMPT_TIMEOUT_SECONDS = 10.0
#: What a task id looks like (it is also the idempotency key of a submission).
TASK_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskRequest(_Model):
    """``POST /coordinators/{name}/tasks``: a task for the coordinator named ``name``."""

    task_id: str = Field(pattern=TASK_ID_PATTERN)
    operation: Operation
    items: list[Any] = Field(min_length=1, max_length=MAX_ITEMS)
    workers: int = Field(default=3, ge=1, le=MAX_WORKERS)
    max_attempts: int = Field(default=3, ge=1, le=MAX_ATTEMPTS)

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


class Assignment(_Model):
    """Coordinator -> worker, over RPC: ``WorkerAgent.process(assignment)``."""

    task_id: str
    subtask_id: str  # "<task_id>.<index>"
    worker: str  # the name the coordinator addressed: "<coordinator>-w<k>"
    attempt: int = Field(ge=1)
    operation: Operation
    items: list[Any]


class WorkerReport(_Model):
    """Worker -> coordinator: the answer to one assignment."""

    task_id: str
    subtask_id: str
    worker: str
    value: Any


class SubtaskRecord(_Model):
    subtask_id: str
    items: list[Any]
    status: Literal["pending", "running", "done", "failed"] = "pending"
    worker: str | None = None
    attempts: int = 0
    value: Any = None
    error: str | None = None


class TaskRecord(_Model):
    """What the coordinator stores per task; ``GET /coordinators/{name}/tasks/{task_id}``."""

    task_id: str
    operation: Operation
    status: Literal["running", "done", "failed"] = "running"
    workers: int
    max_attempts: int
    subtasks: list[SubtaskRecord]
    result: Any = None


class TaskReport(_Model):
    """The coordinator's answer to a submission."""

    task_id: str
    status: Literal["done", "failed"]
    result: Any = None
    subtasks: int
    reassignments: int
    failed_subtasks: list[str] = Field(default_factory=list)


class WorkerStats(_Model):
    """``GET /workers/{name}``: how many distinct subtasks this worker has processed."""

    name: str
    processed: int


def split(items: list[Any], parts: int) -> list[list[Any]]:
    """``items`` in at most ``parts`` contiguous, non-empty slices whose sizes differ by at most one."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    slices, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        slices.append(items[start:end])
        start = end
    return slices


def apply_operation(operation: str, items: list[Any]) -> Any:
    """What a worker computes for one subtask."""
    if operation == "word_count":
        return sum(len(text.split()) for text in items)
    if operation == "sum":
        return sum(items)
    if operation == "max":
        return max(items)
    if operation == "uppercase":
        return [text.upper() for text in items]
    raise ValueError(f"unknown operation {operation!r}")


def aggregate(operation: str, values: list[Any]) -> Any:
    """The task's result from its subtasks' values, in subtask order."""
    if operation in ("word_count", "sum"):
        return sum(values)
    if operation == "max":
        return max(values)
    if operation == "uppercase":
        return [text for part in values for text in part]
    raise ValueError(f"unknown operation {operation!r}")


def worker_name(coordinator: str, subtask_index: int, attempt: int, workers: int) -> str:
    """The worker that gets attempt ``attempt`` (1, 2, ...) of subtask ``subtask_index``.

    The first attempt goes to worker ``index``; each retry moves to the next worker, so a retry
    never lands on the worker that just failed (unless there is only one).
    """
    return f"{coordinator}-w{(subtask_index + attempt - 1) % workers}"
