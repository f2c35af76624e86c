"""Rubric items ``worker-crash``, ``slow-worker`` and ``coordinator-restart``: faults mid-task.

- ``worker-crash``: some workers are down for the whole task (every call to them fails at once,
  as a call to a crashed Durable Object does: the runtime cuts the coordinator off from them).
  Their subtasks must be reassigned and the task still done; when every worker is down, the
  task must end ``failed`` with every subtask listed, within ``max_attempts`` per subtask,
  answered with 200 (a report), never a 5xx.
- ``slow-worker``: one worker answers after a minute. The coordinator must give up within the
  contract's bound (10 s) and reassign, so the task ends within the latency budget (the late
  reply then finds nobody waiting for it: an RPC caller that gave up has cancelled the call).
- ``coordinator-restart``: the coordinator is evicted after a task (its memory goes, its storage
  stays: the task must still be readable and a resubmission must be answered without new work),
  and crashed in the middle of one (the client's retry with the same task id must finish it,
  without redoing the subtasks that had finished).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.harness.streams import Streams
from course.checks.project1.contract import (
    ATTEMPT_TIMEOUT,
    COORDINATOR,
    WORKER,
    TaskSpec,
    check_report,
    draw_task,
    submit_path,
    task_path,
    worker_name,
)
from course.checks.projects import Budget, ProjectCase, ProjectScenario, ProjectSession

#: How late the slow worker answers (each way), in milliseconds of virtual time.
SLOW_MS = 60_000
#: How late the worker that is busy when the coordinator crashes answers (each way), in ms.
BUSY_MS = 3_000
#: When the coordinator crashes, in virtual seconds after the task was submitted.
CRASH_AFTER = 2.0
#: How long the client waits before it retries the interrupted task, in virtual seconds.
RETRY_AFTER = 2 * BUSY_MS / 1000

SLOW_LATENCY = Budget("virtual time per task with one slow worker", ATTEMPT_TIMEOUT + 2, "s")
RETRY_WORK = Budget("assignments in the retry per subtask unfinished at the crash", 1, "assignments")


def _link(spec: TaskSpec, worker: str) -> tuple[str, str]:
    return f"{COORDINATOR}:{spec.coordinator}", f"{WORKER}:{worker}"


@dataclass(frozen=True)
class WorkerDownCase(ProjectCase):
    spec: TaskSpec
    down: tuple[int, ...]  # indices of the workers that are down
    runtime_seed: int = 0

    def describe(self) -> str:
        names = [f"{self.spec.coordinator}-w{k}" for k in self.down]
        return f"{self.spec.describe()}; down: {', '.join(names)}"

    def play(self, session: ProjectSession) -> str:
        spec = self.spec
        for k in self.down:
            session.rt.faults.partition(*_link(spec, f"{spec.coordinator}-w{k}"))
        mark = session.mark()
        reply = session.post(submit_path(spec.coordinator), spec.body())
        down = {f"{spec.coordinator}-w{k}" for k in self.down}
        doomed = [f"{spec.task_id}.{i}" for i in range(spec.subtasks)
                  if all(worker_name(spec.coordinator, i, a, spec.workers) in down
                         for a in range(1, spec.max_attempts + 1))]
        if reply.status >= 500:
            raise CaseFailed(f"POST {submit_path(spec.coordinator)} answered {reply.brief()}: a worker that cannot be "
                             "reached must cost a reassignment (or a failed task), not a 5xx")
        report = check_report(reply, spec, status="failed" if doomed else "done")
        assigned = session.calls(WORKER, since=mark)
        limit = spec.subtasks * spec.max_attempts
        if assigned > limit:
            raise CaseFailed(f"over budget: {assigned} assignments for {spec.subtasks} subtasks with max_attempts="
                             f"{spec.max_attempts} (at most {limit})")
        if doomed:
            if sorted(report["failed_subtasks"]) != doomed:
                raise CaseFailed(f"every attempt of {', '.join(doomed)} went to a worker that was down, so "
                                 f"failed_subtasks should be {doomed}, not {report['failed_subtasks']}")
            return f"{len(doomed)} subtasks failed after {spec.max_attempts} attempts each, as they must"
        hit = sum(1 for i in range(spec.subtasks) if worker_name(spec.coordinator, i, 1, spec.workers) in down)
        if report["reassignments"] < hit:
            raise CaseFailed(f"{hit} subtasks went first to a worker that was down, but the report counts "
                             f"{report['reassignments']} reassignments")
        return f"{hit} subtasks reassigned away from {len(self.down)} down workers"

    def candidates(self) -> Sequence[ProjectCase]:
        out: list[ProjectCase] = []
        if len(self.down) > 1 and len(self.down) < self.spec.workers:
            out += [replace(self, down=(k,)) for k in self.down]
        out += [replace(self, spec=s) for s in self.spec.smaller(min_workers=self.spec.workers)]
        return out


class WorkerCrashScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, how_many in enumerate((1, 2, "all")):
            rng = streams("worker-crash", n)
            spec = draw_task(rng, "pair", f"down-{n}", min_workers=2 if how_many == 1 else 3)
            if how_many == "all":
                spec = replace(spec, workers=2, items=spec.items[:3], max_attempts=2)
                down = (0, 1)
            else:
                down = tuple(sorted(rng.sample(range(spec.workers), how_many)))
            out.append(WorkerDownCase(spec, down, runtime_seed=self.seed * 100 + n))
        return out


@dataclass(frozen=True)
class SlowWorkerCase(ProjectCase):
    spec: TaskSpec
    slow: int
    runtime_seed: int = 0

    def describe(self) -> str:
        return f"{self.spec.describe()}; {self.spec.coordinator}-w{self.slow} answers after {SLOW_MS / 1000:g} s"

    def play(self, session: ProjectSession) -> str:
        spec = self.spec
        session.rt.faults.latency(SLOW_MS, between=_link(spec, f"{spec.coordinator}-w{self.slow}"))
        reply = session.post(submit_path(spec.coordinator), spec.body())
        report = check_report(reply, spec)
        problem = SLOW_LATENCY.check(reply.seconds, f"{spec.task_id}: give up on an attempt within "
                                                    f"{ATTEMPT_TIMEOUT:g} s and reassign it")
        if problem:
            raise CaseFailed(problem)
        if report["reassignments"] < 1:
            raise CaseFailed(f"task {spec.task_id}: a worker never answered in time, yet the report counts no "
                             "reassignment")
        return f"done in {reply.seconds:g} virtual s despite a slow worker"

    def candidates(self) -> Sequence[ProjectCase]:
        return [replace(self, spec=s) for s in self.spec.smaller(min_workers=max(2, self.slow + 1))]


class SlowWorkerScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n in range(3):
            rng = streams("slow", n)
            spec = draw_task(rng, "pair", f"slow-{n}", min_workers=2)
            slow = rng.randrange(min(spec.workers, spec.subtasks))
            out.append(SlowWorkerCase(spec, slow, runtime_seed=self.seed * 100 + n))
        return out


@dataclass(frozen=True)
class RestartCase(ProjectCase):
    spec: TaskSpec
    how: str  # "evict" (after the task) or "crash" (in the middle of it)
    busy: int = 0  # the worker still working when the coordinator crashes
    runtime_seed: int = 0

    def describe(self) -> str:
        if self.how == "evict":
            return f"{self.spec.describe()}; the coordinator is evicted after the task"
        return (f"{self.spec.describe()}; {self.spec.coordinator}-w{self.busy} takes {2 * BUSY_MS / 1000:g} s and "
                f"the coordinator crashes {CRASH_AFTER:g} s into the task; the client retries")

    def play(self, session: ProjectSession) -> str:
        spec, rt = self.spec, session.rt
        path = submit_path(spec.coordinator)
        if self.how == "evict":
            first = check_report(session.post(path, spec.body()), spec)
            rt.evict(COORDINATOR, spec.coordinator)
            mark = session.mark()
            record = session.get(task_path(spec.coordinator, spec.task_id))
            if record.status != 200 or not isinstance(record.json, dict) or record.json.get("result") != spec.expected:
                raise CaseFailed(f"after the coordinator was evicted, GET {task_path(spec.coordinator, spec.task_id)} "
                                 f"answered {record.brief()}: the task must be in storage, not only in memory")
            again = check_report(session.post(path, spec.body()), spec)
            if again != first:
                raise CaseFailed(f"resubmitting {spec.task_id} after the eviction answered {again}, not {first}")
            redone = session.calls(WORKER, since=mark)
            if redone:
                raise CaseFailed(f"resubmitting the finished task {spec.task_id} sent {redone} new assignments; it "
                                 "must be answered from storage")
            return "the task survived the eviction"
        rt.faults.latency(BUSY_MS, between=_link(spec, f"{spec.coordinator}-w{self.busy}"))
        rt.faults.crash(COORDINATOR, spec.coordinator, at=rt.clock.now() + CRASH_AFTER)
        session.post(path, spec.body())  # interrupted by the crash: whatever it answers
        rt.clock.advance(RETRY_AFTER)  # the client backs off; the assignment still in transit arrives
        mark = session.mark()
        finished = session.replies(WORKER, until=mark, method="process")
        unfinished = max(0, spec.subtasks - finished)
        retry = session.post(path, spec.body())
        check_report(retry, spec)
        in_retry = session.calls(WORKER, since=mark, method="process")
        problem = RETRY_WORK.check(in_retry / max(unfinished, 1),
                                   f"{finished} of {spec.subtasks} subtasks had reported before the coordinator "
                                   f"crashed and the retry sent {in_retry} assignments: finished subtasks must come "
                                   "from storage, not be redone")
        if problem:
            raise CaseFailed(problem)
        return f"the retry finished the task with {in_retry} assignment(s)"

    def candidates(self) -> Sequence[ProjectCase]:
        least = 2 if self.how == "crash" else 1
        return [replace(self, spec=s) for s in self.spec.smaller(min_workers=max(least, self.busy + 1))]


class RestartScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, how in enumerate(("evict", "crash", "crash")):
            rng = streams("restart", n)
            spec = draw_task(rng, "pair", f"restart-{n}", min_workers=2)
            spec = replace(spec, max_attempts=max(spec.max_attempts, 3))
            busy = rng.randrange(spec.subtasks)
            out.append(RestartCase(spec, how, busy, runtime_seed=self.seed * 100 + n))
        return out


__all__ = ["BUSY_MS", "CRASH_AFTER", "RETRY_AFTER", "RETRY_WORK", "SLOW_LATENCY", "SLOW_MS", "RestartCase", "RestartScenario", "SlowWorkerCase",
           "SlowWorkerScenario", "WorkerCrashScenario", "WorkerDownCase"]
