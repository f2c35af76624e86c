"""Question 4, aggregating results: idempotent, order-independent, strict about what it counts.

Each case is one result stream (answers for some subtasks, duplicates from another worker,
strays from another task and out-of-range indices) in one seeded delivery order; the fourth
order delivers everything twice. The stream is handed over as an iterator, so it can be read
only once. A failing stream shrinks to the fewest results that still give a wrong aggregate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from course.checks.day1.corpus import day1_stream, documents
from course.checks.day1.types import WorkResult, word_counts
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario

#: Result streams per scenario, and delivery orders per stream (the last one doubled).
STREAMS, ORDERS = 6, 4


def expected_aggregate(task_id: str, n_subtasks: int, results: Sequence[WorkResult]) -> tuple[dict[str, int], tuple[int, ...], tuple[int, ...]]:
    """(counts, done, missing) the question specifies for ``results``: one result per subtask in range."""
    first: dict[int, WorkResult] = {}
    for r in results:
        if r.task_id == task_id and 0 <= r.index < n_subtasks:
            first.setdefault(r.index, r)
    counts: dict[str, int] = {}
    for index in sorted(first):
        for word, c in first[index].counts.items():
            counts[word] = counts.get(word, 0) + c
    done = tuple(sorted(first))
    return counts, done, tuple(i for i in range(n_subtasks) if i not in first)


@dataclass(frozen=True)
class StreamCase(Case):
    """``aggregate(task_id, n_subtasks, iter(results))`` in one delivery order."""

    label: str
    task_id: str
    n_subtasks: int
    results: tuple[WorkResult, ...]

    def describe(self) -> str:
        shown = ", ".join(f"({r.task_id!r}, {r.index}, {r.worker!r}, {dict(r.counts)})" for r in self.results)
        return f"aggregate({self.task_id!r}, {self.n_subtasks}, [{shown}]) (results as (task_id, index, worker, counts))"

    def check(self, aggregate: Callable[..., Any], log: MessageLog) -> str:
        counts, done, missing = expected_aggregate(self.task_id, self.n_subtasks, self.results)
        got = aggregate(self.task_id, self.n_subtasks, iter(self.results))  # an iterator: it can be read only once
        label = self.label
        if getattr(got, "task_id", None) != self.task_id:
            raise CaseFailed(f"{label}: aggregate.task_id should be {self.task_id!r}, got {getattr(got, 'task_id', None)!r}")
        if dict(getattr(got, "counts", {}) or {}) != counts:
            raise CaseFailed(f"{label}: counts should be {counts}, got {dict(getattr(got, 'counts', {}) or {})}")
        if tuple(getattr(got, "done", ())) != done or tuple(getattr(got, "missing", ())) != missing:
            raise CaseFailed(f"{label}: expected done={done}, missing={missing}; got done={tuple(got.done)}, missing={tuple(got.missing)}")
        return "aggregated correctly"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.results)
        return st.lists(st.booleans(), min_size=n, max_size=n).map(
            lambda keep: StreamCase(f"{self.task_id}: {self.n_subtasks} subtasks", self.task_id, self.n_subtasks,
                                    tuple(r for r, k in zip(self.results, keep) if k)))


class AggregateScenario(Scenario):
    """Seeded result streams with duplicates, strays from other tasks, gaps and shuffles."""

    default_target = "aggregate"

    def __init__(self, seed: int = 0) -> None:
        super().__init__("aggregate", seed, f"day1.aggregate_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        rng = day1_stream("aggregate", self.seed)
        cases: list[Case] = []
        for case in range(STREAMS):
            task_id = f"task-{rng.randrange(1000)}"
            n = rng.randint(0, 8) if case else 0
            per_index = {i: word_counts(documents(rng, rng.randint(1, 4))) for i in range(n)}
            answered = sorted(rng.sample(range(n), rng.randint(0, n))) if case % 3 == 2 else list(range(n))
            results = [WorkResult(task_id, i, f"w{rng.randrange(3)}", per_index[i]) for i in answered]
            results += [WorkResult(task_id, i, "w9", per_index[i]) for i in rng.sample(answered, min(len(answered), 3))]
            results += [WorkResult("other-task", rng.randrange(max(n, 1)), "w1", {"stray": 5}),
                        WorkResult(task_id, n + rng.randrange(3), "w1", {"out-of-range": 7}),
                        WorkResult(task_id, -1, "w1", {"negative": 1})]
            label = f"case {case}: {n} subtasks, answered {answered}, with duplicates and strays"
            for attempt in range(ORDERS):
                shuffled = list(results)
                rng.shuffle(shuffled)
                if attempt == ORDERS - 1:
                    shuffled = shuffled + shuffled  # everything delivered twice
                cases.append(StreamCase(label, task_id, n, tuple(shuffled)))
        return cases

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"{STREAMS} result streams aggregated correctly in {ORDERS} orders each, duplicates and strays ignored"


def aggregate_scenario(seed: int = 0) -> AggregateScenario:
    """Seeded result streams with duplicates, strays from other tasks, gaps and shuffles."""
    return AggregateScenario(seed)


def grade_aggregate(aggregate: Callable[..., Any], seed: int = 0) -> CheckResult:
    return aggregate_scenario(seed).run(aggregate).assert_ok()


__all__ = ["AggregateScenario", "aggregate_scenario", "expected_aggregate", "grade_aggregate"]
