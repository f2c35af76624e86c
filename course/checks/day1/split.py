"""Question 3, splitting a task: fewest balanced chunks, in order, deterministic, input untouched.

The cases are two bad limits (which must raise ``ValueError``) and thirteen seeded batches,
the empty one first. A failing batch shrinks to the fewest items, each cut to its first word,
and the smallest limit that still show the mistake.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from course.checks.day1.corpus import day1_stream, documents
from course.checks.day1.types import Subtask
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario

#: How many seeded batches a scenario splits (after the empty one).
BATCHES = 12


def expected_sizes(n_items: int, max_per_subtask: int) -> list[int]:
    """Chunk sizes the question specifies: fewest chunks, balanced, larger ones first."""
    if n_items == 0:
        return []
    k = math.ceil(n_items / max_per_subtask)
    base, extra = divmod(n_items, k)
    return [base + 1] * extra + [base] * (k - extra)


@dataclass(frozen=True)
class BadLimitCase(Case):
    """A limit below 1 must raise ``ValueError``."""

    limit: int

    def describe(self) -> str:
        return f"split_task('t', ['a'], {self.limit})"

    def check(self, split_task: Callable[..., Any], log: MessageLog) -> str:
        try:
            split_task("t", ["a"], self.limit)
        except ValueError:
            return "rejected"
        raise CaseFailed(f"max_per_subtask={self.limit} must raise ValueError")


@dataclass(frozen=True)
class BatchCase(Case):
    """One batch split with one limit, checked against every rule of the question."""

    task_id: str
    items: tuple[str, ...]
    limit: int

    def describe(self) -> str:
        return f"split_task({self.task_id!r}, {list(self.items)!r}, {self.limit})"

    def check(self, split_task: Callable[..., Any], log: MessageLog) -> str:
        task_id, limit, n = self.task_id, self.limit, len(self.items)
        items = list(self.items)
        original = list(items)
        got = split_task(task_id, items, limit)
        call = f"split_task({task_id!r}, <{n} items>, {limit})"
        if items != original:
            raise CaseFailed(f"{call} modified the items list it was given")
        if not isinstance(got, list) or not all(isinstance(s, Subtask) for s in got):
            raise CaseFailed(f"{call} must return a list of Subtask, got {type(got).__name__}")
        sizes = [len(s.items) for s in got]
        want = expected_sizes(n, limit)
        if sizes != want:
            raise CaseFailed(f"{call} gave chunk sizes {sizes}, expected {want} (fewest chunks, sizes differ by at most 1, larger first)")
        if [i for s in got for i in s.items] != original:
            raise CaseFailed(f"{call}: the chunks joined together are not the items in their original order")
        if [s.index for s in got] != list(range(len(got))) or any(s.task_id != task_id for s in got):
            raise CaseFailed(f"{call}: subtasks must carry task_id={task_id!r} and indices 0..{len(got) - 1} in order")
        if any(not isinstance(s.items, tuple) for s in got):
            raise CaseFailed(f"{call}: Subtask.items must be a tuple")
        if split_task(task_id, list(original), limit) != got:
            raise CaseFailed(f"{call} gave a different answer the second time (must be deterministic)")
        return "split correctly"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.items)
        return st.tuples(st.integers(0, n), st.integers(1, self.limit), st.booleans()).map(
            lambda t: BatchCase(self.task_id, tuple((item if t[2] else item.split()[0]) for item in self.items[:t[0]]), t[1]))


class SplitScenario(Scenario):
    """Seeded batches (empty ones included) split with several chunk limits."""

    default_target = "split_task"

    def __init__(self, seed: int = 0) -> None:
        super().__init__("split", seed, f"day1.split_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        rng = day1_stream("split", self.seed)
        cases: list[Case] = [BadLimitCase(0), BadLimitCase(-rng.randint(1, 5))]
        sizes = [(0, rng.randint(1, 5))] + [(rng.randint(1, 40), rng.randint(1, 7)) for _ in range(BATCHES)]
        for n, limit in sizes:
            task_id = f"task-{rng.randrange(1000)}"
            cases.append(BatchCase(task_id, tuple(documents(rng, n)), limit))
        return cases

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"{sum(isinstance(c, BatchCase) for c in cases)} batches split correctly; bad limits rejected"


def split_scenario(seed: int = 0) -> SplitScenario:
    """Seeded batches (empty ones included) split with several chunk limits."""
    return SplitScenario(seed)


def grade_split(split_task: Callable[..., Any], seed: int = 0) -> CheckResult:
    return split_scenario(seed).run(split_task).assert_ok()


__all__ = ["SplitScenario", "expected_sizes", "grade_split", "split_scenario"]
