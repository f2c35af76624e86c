"""Question 2, the ephemeral task agent: one Durable Object per task that leaves nothing behind.

The learner's ``TaskAgent`` class runs on the emulator (:mod:`.emulate`). A case spawns N task
agents the way a Worker does (``env.TASKS.newUniqueId()``, one object per task, a few seconds
apart), runs one task on each, reads each result back before its time-to-live ends, and then
lets the virtual clock run past the last :data:`~.types.RESULT_TTL`. The checks:

- ``run(task)`` returns ``{"task_id": ..., "words": count_words(items)}``, and ``result()``
  returns the same dict until the time-to-live ends, through evictions and crashes;
- once the time-to-live has passed, every object is empty: no key, no SQL row, no pending alarm,
  without anybody calling it (only an alarm can do that);
- ``result()`` of an expired agent returns None and leaves nothing behind either (a read that
  writes, or a constructor that sets an alarm, would bring the object back to life).

Fault kinds (:data:`FAULTS`): ``evict`` and ``crash`` reset some agents after their task ran
(memory is gone: a time-to-live kept in a Python timer dies with it; storage and alarms stay);
``duplicate`` delivers some tasks twice (a retried request), a second later.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day2.emulate import ObjectRaised, call, emulated, leftovers, plain
from course.checks.day2.types import RESULT_TTL, count_words
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the task-agent scenarios; the visible test runs every one of them.
FAULTS = ("none", "evict", "crash", "duplicate")
#: The binding the task agents run under.
BINDING = "TASKS"
#: Seconds between two spawns.
SPAWN_GAP = 5.0
#: Seconds after a task ran when its result is read back (well inside the time-to-live).
READ_AFTER = RESULT_TTL / 2
#: Seconds past the last time-to-live the checker waits (room for an alarm's retries: 2, 4, 8 s...).
GRACE = 30.0
#: Words the tasks' items are made of.
WORDS = ("agent", "spawn", "alarm", "storage", "ttl", "queue", "edge", "task")


@dataclass(frozen=True)
class TaskPlan:
    """One task: its id, its items, and what happens to its agent after it ran."""

    task_id: str
    items: tuple[str, ...]
    fault: str = "none"  # "none", "evict", "crash" or "duplicate"

    @property
    def expected(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "words": count_words(list(self.items))}

    def describe(self) -> str:
        fault = "" if self.fault == "none" else f" ({self.fault})"
        return f"{self.task_id} {list(self.items)}{fault}"


@dataclass(frozen=True)
class EphemeralCase(Case):
    """Tasks spawned ``SPAWN_GAP`` seconds apart, each with its fault."""

    seed: int
    kind: str
    tasks: tuple[TaskPlan, ...]

    def describe(self) -> str:
        return f"{len(self.tasks)} task{'s' if len(self.tasks) != 1 else ''}: " + "; ".join(t.describe() for t in self.tasks)

    def check(self, agent_cls: Any, log: MessageLog) -> str:
        rt = emulated(agent_cls, BINDING, seed=self.seed)
        try:
            return _Run(self, rt, log).go()
        finally:
            rt.close()

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.tasks)

        def build(t: tuple[list[bool], bool, list[bool]]) -> "EphemeralCase":
            keep, short, faults = t
            tasks = [replace(p, items=p.items[:1] if short else p.items, fault=p.fault if f else "none")
                     for p, k, f in zip(self.tasks, keep, faults) if k]
            return replace(self, tasks=tuple(tasks) or self.tasks[:1])

        return st.tuples(st.lists(st.booleans(), min_size=n, max_size=n), st.booleans(),
                         st.lists(st.booleans(), min_size=n, max_size=n)).map(build)


class _Run:
    def __init__(self, case: EphemeralCase, rt: Any, log: MessageLog) -> None:
        self.case, self.rt, self.log = case, rt, log
        self.ns = rt.env[BINDING]
        self.ids: dict[str, Any] = {}  # task_id -> its object's id

    def move_to(self, t: float) -> None:
        if t > self.rt.clock.now():
            self.rt.clock.advance(t - self.rt.clock.now())

    def rpc(self, what: str, make: Any) -> Any:
        try:
            return plain(call(self.rt, make))
        except ObjectRaised as exc:
            raise CaseFailed(f"at t={self.rt.clock.now():g}s {what} raised {exc}") from None

    def name(self, plan: TaskPlan) -> str:
        return f"task-agent({plan.task_id})"

    def run(self, plan: TaskPlan, note: str = "") -> None:
        t = self.rt.clock.now()
        task = {"task_id": plan.task_id, "items": list(plan.items)}
        stub = self.ns.get(self.ids[plan.task_id])
        self.log.record(t, "spawner", self.name(plan), "task.run", f"items={len(plan.items)}", note)
        got = self.rpc(f"run({task})", lambda: stub.run(task))
        self.log.record(t, self.name(plan), "spawner", "task.result", repr(got))
        if got != plan.expected:
            raise CaseFailed(f"run({task}) returned {got!r}, expected {plan.expected!r}")
        alarm = self.rt.storage(BINDING, self.ids[plan.task_id]).alarm()
        due = None if alarm is None else alarm / 1000 - self.rt.clock.wall() + t
        if due is None or not t < due <= t + RESULT_TTL + 1e-3 + (1.0 if note else 0.0):
            found = "no alarm" if due is None else f"an alarm for t={due:g}s"
            raise CaseFailed(f"at t={t:g}s, after run() of {plan.task_id}, its agent has {found}: the time-to-live "
                             f"must be an alarm at most {RESULT_TTL:g}s ahead (a timer in memory dies with the "
                             f"object when it is evicted or crashes)")

    def read(self, plan: TaskPlan, expected: Any, when: str) -> None:
        t = self.rt.clock.now()
        stub = self.ns.get(self.ids[plan.task_id])
        got = self.rpc("result()", lambda: stub.result())
        self.log.record(t, "spawner", self.name(plan), "result", when)
        self.log.record(t, self.name(plan), "spawner", "result.reply", repr(got))
        if got != expected:
            raise CaseFailed(f"at t={t:g}s ({when}) result() of {plan.task_id} returned {got!r}, expected {expected!r}")

    def nothing_left(self, when: str) -> None:
        for plan in self.case.tasks:
            left = leftovers(self.rt, BINDING, self.ids[plan.task_id].toString())
            if left:
                raise CaseFailed(f"at t={self.rt.clock.now():g}s ({when}) the agent of {plan.task_id} still has "
                                 f"{', '.join(left)}: an ephemeral agent must delete all its storage and leave "
                                 f"no alarm once its time-to-live ends")

    def go(self) -> str:
        case = self.case
        timeline: list[tuple[float, int, str, TaskPlan]] = []
        for i, plan in enumerate(case.tasks):
            start = i * SPAWN_GAP
            timeline.append((start, 0, "spawn", plan))
            if plan.fault == "duplicate":
                timeline.append((start + 1.0, 1, "duplicate", plan))
            elif plan.fault in ("evict", "crash"):
                timeline.append((start + 1.0, 1, plan.fault, plan))
            timeline.append((start + READ_AFTER, 2, "read", plan))
        for t, _, action, plan in sorted(timeline, key=lambda e: e[:2]):
            self.move_to(t)
            if action == "spawn":
                self.ids[plan.task_id] = self.ns.newUniqueId()
                self.run(plan)
            elif action == "duplicate":
                self.run(plan, "duplicate delivery")
            elif action in ("evict", "crash"):
                getattr(self.rt, action)(BINDING, self.ids[plan.task_id])
                self.log.record(t, "platform", self.name(plan), action, "memory lost, storage kept", "fault")
            else:
                self.read(plan, plan.expected, "inside its time-to-live")
        last = (len(case.tasks) - 1) * SPAWN_GAP
        self.move_to(last + RESULT_TTL + GRACE)
        self.nothing_left(f"{GRACE:g}s after the last time-to-live ended, nobody calling")
        for plan in case.tasks:
            self.read(plan, None, "after its time-to-live")
        self.nothing_left("after result() was called on expired agents")
        return f"{len(case.tasks)} tasks ran and left nothing behind"


def ephemeral_case(seed: int, kind: str) -> EphemeralCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day2", "ephemeral", seed, kind)
    tasks = []
    for i in range(rng.randint(3, 6)):
        items = tuple(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 4)))
        fault = kind if kind != "none" and (i == 0 or rng.random() < 0.5) else "none"
        tasks.append(TaskPlan(f"task-{rng.randrange(100, 999)}{'abcdef'[i]}", items, fault))
    return EphemeralCase(seed, kind, tuple(tasks))


class EphemeralScenario(Scenario):
    """One case per fault kind (or only ``faults``), each drawn from the seed."""

    default_target = "TaskAgent"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        name = "task-agent" if faults is None else f"task-agent/{'+'.join(self.kinds)}"
        super().__init__(name, seed, f"day2.task_agent_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [ephemeral_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        n = sum(len(c.tasks) for c in cases if isinstance(c, EphemeralCase))
        return f"{n} task agents under faults {list(self.kinds)} answered and left nothing behind"


def task_agent_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> EphemeralScenario:
    """Task agents spawned with ``newUniqueId``, faults injected, checked empty after their time-to-live."""
    return EphemeralScenario(seed, faults)


def grade_task_agent(agent_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return task_agent_scenario(seed, faults).run(agent_cls).assert_ok()


__all__ = ["FAULTS", "EphemeralCase", "EphemeralScenario", "TaskPlan", "ephemeral_case", "grade_task_agent",
           "task_agent_scenario"]
