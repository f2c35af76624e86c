"""Question 2, the task lifecycle: the learner's state machine against the course's table.

The cases are every (state, event) pair of :data:`course.protocol.lifecycle.LIFECYCLE` from a
fresh task driven to that state, the attempt limit, and seeded random walks of 25 events
compared step by step with the table (history and attempts included). A failing walk shrinks
to the fewest events (and the lowest ``max_attempts``) that still diverge from the table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day1.corpus import day1_stream
from course.checks.day1.types import LIFECYCLE, TASK_EVENTS, IllegalTransition, TaskState
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario

#: The question's transition table (the course's one lifecycle).
LIFECYCLE_TABLE = LIFECYCLE
LIFECYCLE_EVENTS = TASK_EVENTS
#: A legal path from CREATED to each state.
PATH_TO: dict[TaskState, tuple[str, ...]] = {
    TaskState.CREATED: (),
    TaskState.ASSIGNED: ("assign",),
    TaskState.RUNNING: ("assign", "start"),
    TaskState.DONE: ("assign", "start", "complete"),
    TaskState.FAILED: ("assign", "fail"),
}
#: How many random walks a scenario takes, and how many events each.
WALKS, WALK_LENGTH = 5, 25
#: The attempt limit every table case's task is created with.
TABLE_MAX_ATTEMPTS = 3


def _apply(task: Any, event: str, worker: str) -> None:
    if event == "assign":
        task.assign(worker)
    elif event == "fail":
        task.fail("boom")
    else:
        getattr(task, event)()


def _value(state: Any) -> Any:
    return state.value if isinstance(state, TaskState) else state


def _state(task: Any) -> str:
    return _value(task.state)


def _fmt_history(history: list[tuple[TaskState, str, TaskState]]) -> str:
    return "[" + ", ".join(e for _, e, _ in history) + "]"


@dataclass(frozen=True)
class TableCase(Case):
    """One (state, event) pair of the table, from a task driven to ``state`` by a legal path."""

    task_id: str
    state: TaskState
    event: str

    def describe(self) -> str:
        path = ", ".join(PATH_TO[self.state]) or "no events"
        return f"TaskLifecycle({self.task_id!r}, max_attempts={TABLE_MAX_ATTEMPTS}), then {path}, then {self.event!r}"

    def check(self, cls: Any, log: MessageLog) -> str:
        state, event, path = self.state, self.event, list(PATH_TO[self.state])
        task = cls(self.task_id, max_attempts=TABLE_MAX_ATTEMPTS)
        for step in path:
            _apply(task, step, "w1")
        if _state(task) != state:
            raise CaseFailed(f"after events {path} the state is {_state(task)!r}, expected {state.value!r}")
        history_before = list(task.history)
        expected = LIFECYCLE_TABLE.get((state, event))
        try:
            _apply(task, event, "w2")
        except IllegalTransition:
            if expected is not None:
                raise CaseFailed(f"{event!r} from {state.value!r} must go to {expected.value!r}, but raised IllegalTransition") from None
            if _state(task) != state or list(task.history) != history_before:
                raise CaseFailed(f"an illegal {event!r} from {state.value!r} changed the task (state or history)") from None
            return "illegal, refused"
        if expected is None:
            raise CaseFailed(f"{event!r} from {state.value!r} is illegal and must raise IllegalTransition, but it was accepted")
        if _state(task) != expected:
            raise CaseFailed(f"{event!r} from {state.value!r} must go to {expected.value!r}, got {_state(task)!r}")
        return "legal, followed"


@dataclass(frozen=True)
class AttemptsCase(Case):
    """``max_attempts`` assignments, each failed; one more assignment is illegal."""

    task_id: str
    max_attempts: int

    def describe(self) -> str:
        return f"TaskLifecycle({self.task_id!r}, max_attempts={self.max_attempts}): assign and fail {self.max_attempts} times, then assign"

    def check(self, cls: Any, log: MessageLog) -> str:
        max_attempts = self.max_attempts
        task = cls(self.task_id, max_attempts=max_attempts)
        for attempt in range(1, max_attempts + 1):
            _apply(task, "assign", f"w{attempt}")
            if task.attempts != attempt or task.worker != f"w{attempt}":
                raise CaseFailed(f"after assignment #{attempt} to 'w{attempt}' expected attempts={attempt}, worker='w{attempt}'; "
                                 f"got attempts={task.attempts!r}, worker={task.worker!r}")
            _apply(task, "fail", "")
        try:
            _apply(task, "assign", "w-last")
        except IllegalTransition:
            return "attempt limit enforced"
        raise CaseFailed(f"with max_attempts={max_attempts}, assignment #{max_attempts + 1} after a failure must raise IllegalTransition")

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, self.max_attempts).map(lambda n: AttemptsCase(self.task_id, n))


@dataclass(frozen=True)
class WalkCase(Case):
    """A walk of events (each with the worker an ``assign`` names), compared with the table."""

    task_id: str
    walk: int
    limit: int
    steps: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        events = ", ".join(e if e != "assign" else f"assign({w!r})" for e, w in self.steps)
        return f"TaskLifecycle({self.task_id!r}, max_attempts={self.limit}), then {events or 'no events'}"

    def check(self, cls: Any, log: MessageLog) -> str:
        walk, limit = self.walk, self.limit
        task = cls(self.task_id, max_attempts=limit)
        state, attempts, history = TaskState.CREATED, 0, []
        for event, worker in self.steps:
            nxt = LIFECYCLE_TABLE.get((state, event))
            if event == "assign" and state is TaskState.FAILED and attempts >= limit:
                nxt = None
            try:
                _apply(task, event, worker)
                accepted = True
            except IllegalTransition:
                accepted = False
            if accepted != (nxt is not None):
                raise CaseFailed(f"walk {walk} (max_attempts={limit}): after history {_fmt_history(history)}, "
                                 f"{event!r} from {state.value!r} should be {'legal' if nxt else 'illegal'}")
            if nxt is not None:
                history.append((state, event, nxt))
                attempts += event == "assign"
                state = nxt
            if _state(task) != state or task.attempts != attempts:
                raise CaseFailed(f"walk {walk}: after {_fmt_history(history)} expected state {state.value!r} and "
                                 f"attempts={attempts}, got {_state(task)!r} and attempts={task.attempts!r}")
        got = [(_value(a), e, _value(b)) for a, e, b in task.history]
        want = [(a.value, e, b.value) for a, e, b in history]
        if got != want:
            raise CaseFailed(f"walk {walk}: history should be {want}, got {got}")
        return "matches the table"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.steps)
        return st.tuples(st.integers(1, self.limit), st.lists(st.booleans(), min_size=n, max_size=n)).map(
            lambda t: WalkCase(self.task_id, self.walk, t[0], tuple(s for s, keep in zip(self.steps, t[1]) if keep)))


class LifecycleScenario(Scenario):
    """Every (state, event) pair of the lifecycle table, the attempt limit, seeded random walks."""

    default_target = "TaskLifecycle"

    def __init__(self, seed: int = 0) -> None:
        super().__init__("lifecycle", seed, f"day1.lifecycle_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        rng = day1_stream("lifecycle", self.seed)
        task_id = f"t{rng.randrange(1000)}"
        cases: list[Case] = [TableCase(task_id, state, event) for state in PATH_TO for event in LIFECYCLE_EVENTS]
        cases.append(AttemptsCase(task_id, rng.randint(1, 4)))
        for walk in range(WALKS):
            limit = rng.randint(1, 4)
            steps = []
            for _ in range(WALK_LENGTH):
                event = rng.choice(LIFECYCLE_EVENTS)
                steps.append((event, f"w{rng.randrange(3)}"))
            cases.append(WalkCase(task_id, walk, limit, tuple(steps)))
        return cases

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"transition table, attempt limit and {WALKS} random walks all match"


def lifecycle_scenario(seed: int = 0) -> LifecycleScenario:
    """Every (state, event) pair of the lifecycle table, then seeded random event walks."""
    return LifecycleScenario(seed)


def grade_lifecycle(lifecycle_cls: Any, seed: int = 0) -> CheckResult:
    return lifecycle_scenario(seed).run(lifecycle_cls).assert_ok()


__all__ = ["LIFECYCLE_EVENTS", "LIFECYCLE_TABLE", "LifecycleScenario", "grade_lifecycle", "lifecycle_scenario"]
