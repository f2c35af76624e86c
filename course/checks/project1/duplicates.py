"""Rubric item ``duplicates``: at-least-once delivery, from the client and between the agents.

A client that did not see an answer sends the same task again; a platform that lost a reply
delivers the same assignment again. Both must be harmless: the resubmitted task is answered
with the same report and no new assignment, and a worker that gets an assignment it already
did answers with the same value without counting the work twice, also after it restarted
(its memory of done work is in its storage).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.harness.streams import Streams
from course.checks.project1.contract import (
    WORKER,
    TaskSpec,
    check_report,
    compute,
    draw_task,
    submit_path,
    worker_name,
    worker_path,
)
from course.checks.projects import ProjectCase, ProjectScenario, ProjectSession


def processed(session: ProjectSession, worker: str) -> int:
    reply = session.get(worker_path(worker))
    if reply.status != 200 or not isinstance(reply.json, dict) or not isinstance(reply.json.get("processed"), int):
        raise CaseFailed(f"GET {worker_path(worker)} answered {reply.brief()}; expected 200 with "
                         '{"name": ..., "processed": <int>}')
    return reply.json["processed"]


@dataclass(frozen=True)
class DuplicateCase(ProjectCase):
    spec: TaskSpec
    redeliver: int  # the subtask whose assignment is delivered again
    restart_worker: bool  # crash that worker before the second redelivery
    runtime_seed: int = 0

    def describe(self) -> str:
        restart = ", then again after that worker restarted" if self.restart_worker else ""
        return (f"{self.spec.describe()}; submitted twice; the assignment of subtask {self.spec.task_id}."
                f"{self.redeliver} delivered again{restart}")

    def assignment(self) -> dict[str, Any]:
        spec = self.spec
        return {"task_id": spec.task_id, "subtask_id": f"{spec.task_id}.{self.redeliver}",
                "worker": worker_name(spec.coordinator, self.redeliver, 1, spec.workers), "attempt": 1,
                "operation": spec.operation, "items": spec.subtask_items(self.redeliver)}

    def play(self, session: ProjectSession) -> str:
        spec = self.spec
        path = submit_path(spec.coordinator)
        first = check_report(session.post(path, spec.body()), spec)
        mark = session.mark()
        second = check_report(session.post(path, spec.body()), spec)
        if second != first:
            raise CaseFailed(f"the same task submitted again answered {second}, the first time {first}")
        again = session.calls(WORKER, since=mark, method="process")
        if again:
            raise CaseFailed(f"submitting {spec.task_id} again sent {again} new assignments; a finished task must be "
                             "answered from what the coordinator stored")
        job = self.assignment()
        worker = job["worker"]
        before = processed(session, worker)
        if before < 1:
            raise CaseFailed(f"{worker} did subtask {job['subtask_id']} but GET {worker_path(worker)} says it "
                             f"processed {before}")
        rounds = ("again", "again, after the worker restarted") if self.restart_worker else ("again",)
        for when in rounds:
            if "restarted" in when:
                session.rt.crash(WORKER, worker)
            report = session.call(WORKER, worker, "process", job)
            value = report.get("value") if isinstance(report, dict) else None
            wanted = compute(spec.operation, job["items"])
            if value != wanted:
                raise CaseFailed(f"the assignment of {job['subtask_id']} delivered {when} got {report!r}; the same "
                                 f"report (value {wanted!r}) was expected")
            after = processed(session, worker)
            if after != before:
                raise CaseFailed(f"the assignment of {job['subtask_id']} delivered {when}: {worker} counts "
                                 f"{after} processed subtasks, {before} before; a duplicate must not count as work")
        return f"resubmission and {len(rounds)} redeliveries were harmless"

    def candidates(self) -> Sequence[ProjectCase]:
        out: list[ProjectCase] = []
        if self.restart_worker:
            out.append(replace(self, restart_worker=False))
        out += [replace(self, spec=s) for s in self.spec.smaller(min_workers=self.redeliver + 1)]
        return out


class DuplicateScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, restart in enumerate((False, True, True)):
            rng = streams("duplicates", n)
            spec = draw_task(rng, "pair", f"dup-{n}")
            out.append(DuplicateCase(spec, rng.randrange(spec.subtasks), restart, runtime_seed=self.seed * 100 + n))
        return out


__all__ = ["DuplicateCase", "DuplicateScenario", "processed"]
