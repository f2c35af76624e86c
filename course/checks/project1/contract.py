"""Project 1's contract as the checks see it: names, routes, the timeout bound, what a task must give.

The brief states it for the learner; this module is the checks' own reading of it (it never
imports the reference solution). The pieces a case needs:

- :class:`TaskSpec`: one task a case submits (drawn from a seeded stream), its request body, its
  subtasks' slices and the result it must produce;
- :func:`check_report`: the properties every TaskReport must have;
- :func:`worker_name`: which worker gets which attempt of which subtask (how a case knows
  which worker to slow down or cut off).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from course.checks.harness.cases import CaseFailed
from course.checks.projects.session import Reply

COORDINATOR = "COORDINATOR"
WORKER = "WORKER"
OPERATIONS = ("word_count", "sum", "max", "uppercase")
#: The contract's bound on how long a coordinator waits for one attempt, in virtual seconds.
ATTEMPT_TIMEOUT = 10.0
#: Words the ``word_count`` and ``uppercase`` items are made of.
WORDS = ("agent", "worker", "task", "edge", "durable", "object", "queue", "alarm", "region", "retry")


def submit_path(coordinator: str) -> str:
    return f"/coordinators/{coordinator}/tasks"


def task_path(coordinator: str, task_id: str) -> str:
    return f"/coordinators/{coordinator}/tasks/{task_id}"


def worker_path(worker: str) -> str:
    return f"/workers/{worker}"


def slices(items: list[Any], workers: int) -> list[list[Any]]:
    """The contract's split: at most ``workers`` contiguous non-empty slices, sizes within one."""
    parts = max(1, min(workers, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out


def compute(operation: str, items: list[Any]) -> Any:
    if operation == "word_count":
        return sum(len(text.split()) for text in items)
    if operation == "sum":
        return sum(items)
    if operation == "max":
        return max(items)
    return [text.upper() for text in items]


def worker_name(coordinator: str, index: int, attempt: int, workers: int) -> str:
    """Attempt ``attempt`` (1, 2, ...) of subtask ``index`` goes to this worker."""
    return f"{coordinator}-w{(index + attempt - 1) % workers}"


@dataclass(frozen=True)
class TaskSpec:
    """One task a case submits to coordinator ``coordinator``."""

    coordinator: str
    task_id: str
    operation: str
    items: tuple[Any, ...]
    workers: int
    max_attempts: int = 3

    def body(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "operation": self.operation, "items": list(self.items),
                "workers": self.workers, "max_attempts": self.max_attempts}

    @property
    def subtasks(self) -> int:
        return len(slices(list(self.items), self.workers))

    def subtask_items(self, index: int) -> list[Any]:
        return slices(list(self.items), self.workers)[index]

    @property
    def expected(self) -> Any:
        return compute(self.operation, list(self.items))

    def describe(self) -> str:
        shown = list(self.items) if len(self.items) <= 6 else [*self.items[:5], f"... {len(self.items)} items"]
        return (f"{self.task_id} on {self.coordinator}: {self.operation} of {shown}, workers={self.workers}, "
                f"max_attempts={self.max_attempts}")

    def smaller(self, min_workers: int = 1) -> list["TaskSpec"]:
        """Fewer items, then fewer workers (at least ``min_workers`` subtasks stay possible)."""
        out = []
        keep = max(min_workers, 1)
        for n in sorted({keep, len(self.items) // 2}):
            if keep <= n < len(self.items):
                out.append(replace(self, items=self.items[:n]))
        if self.workers > min_workers:
            out.append(replace(self, workers=max(min_workers, 1)))
        return out


def draw_task(rng: random.Random, coordinator: str, task_id: str, *, min_workers: int = 1,
              max_workers: int = 4, operation: str | None = None) -> TaskSpec:
    operation = operation or rng.choice(OPERATIONS)
    workers = rng.randint(min_workers, max_workers)
    n = rng.randint(workers, workers * 3)
    if operation in ("sum", "max"):
        items = tuple(rng.randint(-50, 500) for _ in range(n))
    else:
        items = tuple(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) for _ in range(n))
    return TaskSpec(coordinator, task_id, operation, items, workers, rng.randint(max(2, min_workers), 4))


def check_report(reply: Reply, spec: TaskSpec, *, status: str = "done") -> dict[str, Any]:
    """The TaskReport in ``reply`` has the contract's shape and says what ``spec`` must give."""
    if reply.status != 200:
        raise CaseFailed(f"POST {submit_path(spec.coordinator)} ({spec.task_id}) answered {reply.brief()}; "
                         "expected 200 with a TaskReport")
    report = reply.json
    if not isinstance(report, dict):
        raise CaseFailed(f"task {spec.task_id}: the answer is not a JSON object: {reply.brief()}")
    missing = [k for k in ("task_id", "status", "result", "subtasks", "reassignments", "failed_subtasks")
               if k not in report]
    if missing:
        raise CaseFailed(f"task {spec.task_id}: the TaskReport has no {', '.join(missing)}: {reply.brief()}")
    if report["task_id"] != spec.task_id:
        raise CaseFailed(f"task {spec.task_id}: the report is about task {report['task_id']!r}")
    if report["status"] != status:
        raise CaseFailed(f"task {spec.task_id}: status {report['status']!r}, expected {status!r} "
                         f"(failed_subtasks={report.get('failed_subtasks')})")
    if report["subtasks"] != spec.subtasks:
        raise CaseFailed(f"task {spec.task_id}: {report['subtasks']} subtasks, the contract's split gives {spec.subtasks}")
    if status == "done":
        if report["result"] != spec.expected:
            raise CaseFailed(f"task {spec.task_id}: result {report['result']!r}, expected {spec.expected!r}")
        if report["failed_subtasks"]:
            raise CaseFailed(f"task {spec.task_id} is done but lists failed subtasks {report['failed_subtasks']}")
    return report


__all__ = ["ATTEMPT_TIMEOUT", "COORDINATOR", "OPERATIONS", "WORKER", "TaskSpec", "check_report", "compute",
           "draw_task", "slices", "submit_path", "task_path", "worker_name", "worker_path"]
