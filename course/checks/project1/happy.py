"""Rubric items ``happy-path`` and ``concurrent``: right answers, within budgets, with no faults.

``happy-path`` submits tasks one after the other (every operation, one to four workers) and
measures each against its budgets: one assignment per subtask, a bounded number of RPC
messages, under a virtual second. It then reads each task back and counts the workers' work.
``concurrent`` submits several tasks at the same instant, to one coordinator and to two, and
checks that no task's state leaks into another's.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.harness.streams import Streams
from course.checks.project1.contract import (
    OPERATIONS,
    WORKER,
    TaskSpec,
    check_report,
    draw_task,
    slices,
    submit_path,
    task_path,
    worker_path,
)
from course.checks.projects import Budget, ProjectCase, ProjectScenario, ProjectSession

ASSIGNMENTS = Budget("assignments per subtask", 1, "assignments")
RPC_MESSAGES = Budget("RPC messages per subtask (calls and replies, beyond the entry's call to the coordinator)",
                      4, "messages")
LATENCY = Budget("virtual time per task", 1.0, "s")
HAPPY_BUDGETS = (ASSIGNMENTS, RPC_MESSAGES, LATENCY)


def check_record(session: ProjectSession, spec: TaskSpec) -> None:
    """``GET`` the task's record: it exists, is done, and holds the result."""
    reply = session.get(task_path(spec.coordinator, spec.task_id))
    if reply.status != 200 or not isinstance(reply.json, dict):
        raise CaseFailed(f"GET {task_path(spec.coordinator, spec.task_id)} answered {reply.brief()}; expected 200 "
                         "with the task's record")
    if reply.json.get("status") != "done" or reply.json.get("result") != spec.expected:
        raise CaseFailed(f"GET {task_path(spec.coordinator, spec.task_id)}: status {reply.json.get('status')!r}, "
                         f"result {reply.json.get('result')!r}; expected 'done' and {spec.expected!r}")


@dataclass(frozen=True)
class HappyCase(ProjectCase):
    tasks: tuple[TaskSpec, ...]
    runtime_seed: int = 0

    def describe(self) -> str:
        return "; ".join(t.describe() for t in self.tasks)

    def play(self, session: ProjectSession) -> str:
        used: set[str] = set()
        for spec in self.tasks:
            mark = session.mark()
            reply = session.post(submit_path(spec.coordinator), spec.body())
            report = check_report(reply, spec)
            if report["reassignments"] != 0:
                raise CaseFailed(f"task {spec.task_id}: {report['reassignments']} reassignments with no fault at all")
            k = spec.subtasks
            problems = [ASSIGNMENTS.check(session.calls(WORKER, since=mark, method="process") / k, spec.task_id),
                        RPC_MESSAGES.check((session.rpc_messages(since=mark) - 2) / k, spec.task_id),
                        LATENCY.check(reply.seconds, spec.task_id)]
            for problem in problems:
                if problem:
                    raise CaseFailed(problem)
            check_record(session, spec)
            used.update(f"{spec.coordinator}-w{i}" for i in range(k))
        processed = 0
        for worker in sorted(used):
            reply = session.get(worker_path(worker))
            if reply.status != 200 or not isinstance(reply.json, dict) or not isinstance(reply.json.get("processed"), int):
                raise CaseFailed(f"GET {worker_path(worker)} answered {reply.brief()}; expected 200 with "
                                 '{"name": ..., "processed": <int>}')
            processed += reply.json["processed"]
        total = sum(t.subtasks for t in self.tasks)
        if processed != total:
            raise CaseFailed(f"the workers say they processed {processed} subtasks in all; the tasks had {total}")
        return f"{len(self.tasks)} tasks, {total} subtasks, all within budget"

    def candidates(self) -> Sequence[ProjectCase]:
        out: list[ProjectCase] = []
        if len(self.tasks) > 1:
            out += [replace(self, tasks=(t,)) for t in self.tasks]
        else:
            out += [replace(self, tasks=(smaller,)) for smaller in self.tasks[0].smaller()]
        return out


class HappyScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n in range(3):
            rng = streams("happy", n)
            tasks = tuple(draw_task(rng, f"pair{n}", f"t{n}-{i}", operation=op)
                          for i, op in enumerate(rng.sample(OPERATIONS, len(OPERATIONS))))
            out.append(HappyCase(tasks, runtime_seed=self.seed * 100 + n))
        return out


@dataclass(frozen=True)
class ConcurrentCase(ProjectCase):
    tasks: tuple[TaskSpec, ...]
    runtime_seed: int = 0

    def describe(self) -> str:
        return "at once: " + "; ".join(t.describe() for t in self.tasks)

    def play(self, session: ProjectSession) -> str:
        replies = session.concurrently(("POST", submit_path(t.coordinator), t.body()) for t in self.tasks)
        for spec, reply in zip(self.tasks, replies):
            check_report(reply, spec)
        for spec in self.tasks:
            check_record(session, spec)
        return f"{len(self.tasks)} tasks at once, each with its own result"

    def candidates(self) -> Sequence[ProjectCase]:
        if len(self.tasks) <= 2:
            return []
        return [replace(self, tasks=self.tasks[:2]), replace(self, tasks=(self.tasks[0], self.tasks[-1]))]


class ConcurrentScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, coordinators in enumerate((("busy",), ("busy", "other"), ("busy",))):
            rng = streams("concurrent", n)
            count = rng.randint(3, 5)
            tasks = tuple(draw_task(rng, coordinators[i % len(coordinators)], f"c{n}-{i}", min_workers=2,
                                    operation=OPERATIONS[(n + i) % len(OPERATIONS)]) for i in range(count))
            out.append(ConcurrentCase(tasks, runtime_seed=self.seed * 100 + n))
        return out


def total_subtasks(tasks: Sequence[TaskSpec]) -> int:
    return sum(len(slices(list(t.items), t.workers)) for t in tasks)


__all__ = ["ASSIGNMENTS", "HAPPY_BUDGETS", "LATENCY", "RPC_MESSAGES", "ConcurrentCase", "ConcurrentScenario",
           "HappyCase", "HappyScenario", "check_record", "total_subtasks"]
