"""Question 3, the pool dispatcher: least-loaded dispatch, a bounded queue, 429 when full, no task lost.

The learner's ``PoolDispatcher`` is sans-I/O (a plain class the checker drives): ``submit``
answers :class:`~.types.Assigned`, :class:`~.types.Queued` or :class:`~.types.Rejected` (the
HTTP 429 with ``Retry-After``); ``finished`` and ``worker_crashed`` answer the queued tasks that
start because of them. A case is a seeded simulation on a virtual clock: tasks arrive, each
assigned worker takes a seeded time to finish, and the question's rule gives exactly one right
answer to every call, which the checker compares with the learner's:

- a task goes to the live worker with the fewest tasks in flight (ties: the first in the
  ``workers`` list), if that worker has fewer than ``capacity``;
- else it waits in the queue if fewer than ``max_queue`` tasks wait, else it is rejected with
  ``retry_after`` (never queued without bound, never rejected while there is room);
- when a worker finishes, queued tasks start in arrival order while a live worker has room;
- when a worker crashes, its tasks in flight go to the front of the queue (in the order they
  were submitted) and start again on live workers: an accepted task is never lost;
- a completion the dispatcher does not expect (a duplicate, or a late one from a crashed
  worker) changes nothing.

Fault kinds (:data:`FAULTS`): ``crash`` (a worker dies mid-run: its completions never come),
``slow`` (a worker takes five times as long), ``duplicate`` (completions arrive twice),
``burst`` (many tasks at once: the queue fills and the pool answers 429).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day2.types import Assigned, Queued, Rejected
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the pool scenarios; the visible test runs every one of them.
FAULTS = ("none", "crash", "slow", "duplicate", "burst")
#: A slow worker takes this many times longer.
SLOW_FACTOR = 5.0
#: A duplicated completion arrives this many seconds after the first copy.
DUPLICATE_GAP = 0.25
POOL = "pool"


@dataclass(frozen=True)
class PoolCase(Case):
    """The pool's configuration, the arrivals, every task's duration, and the fault."""

    seed: int
    kind: str
    workers: tuple[str, ...]
    capacity: int
    max_queue: int
    retry_after: float
    arrivals: tuple[tuple[float, str], ...]  # (time, task_id), in time order
    durations: tuple[float, ...]  # durations[i]: how long the i-th assignment takes (a cycle)
    crash: tuple[str, float] | None = None
    slow: str | None = None
    duplicate: bool = False

    def describe(self) -> str:
        faults = []
        if self.crash:
            faults.append(f"{self.crash[0]} crashes at {self.crash[1]:g}s")
        if self.slow:
            faults.append(f"{self.slow} is {SLOW_FACTOR:g}x slower")
        if self.duplicate:
            faults.append("every completion arrives twice")
        arrivals = ", ".join(f"{task}@{t:g}s" for t, task in self.arrivals)
        return (f"PoolDispatcher({list(self.workers)}, capacity={self.capacity}, max_queue={self.max_queue}, "
                f"retry_after={self.retry_after:g}); tasks {arrivals}; durations {list(self.durations)}; "
                f"faults: {', '.join(faults) or 'none'}")

    def check(self, dispatcher_cls: Any, log: MessageLog) -> str:
        return _Simulation(self, log).run(dispatcher_cls)

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.arrivals)

        def build(t: tuple[int, int, int, bool, bool, bool]) -> "PoolCase":
            count, workers, queue, crash, slow, dup = t
            names = self.workers[:workers]
            return replace(self, arrivals=self.arrivals[:count], workers=names, max_queue=queue,
                           crash=self.crash if crash and self.crash and self.crash[0] in names else None,
                           slow=self.slow if slow and self.slow in names else None,
                           duplicate=self.duplicate and dup)

        return st.tuples(st.integers(1, n), st.integers(1, len(self.workers)), st.integers(0, self.max_queue),
                         st.booleans(), st.booleans(), st.booleans()).map(build)


def _name(answer: Any) -> str:
    if isinstance(answer, Assigned):
        return f"Assigned({answer.task_id!r}, {answer.worker!r})"
    if isinstance(answer, Queued):
        return f"Queued({answer.task_id!r})"
    if isinstance(answer, Rejected):
        return f"Rejected({answer.task_id!r}, retry_after={answer.retry_after:g})"
    return repr(answer)


class _Simulation:
    """The clock, the workers, and the one right answer to every call, kept as the model's state."""

    def __init__(self, case: PoolCase, log: MessageLog) -> None:
        self.case, self.log = case, log
        self.live = list(case.workers)
        self.inflight: dict[str, list[str]] = {w: [] for w in case.workers}
        self.queue: list[str] = []
        self.order: dict[str, int] = {}  # task -> submission index
        self.accepted: set[str] = set()
        self.done: set[str] = set()
        self.events: list[tuple[float, int, str, str, str]] = []  # (time, seq, kind, worker, task)
        self.seq = 0
        self.assignments = 0
        self.now = 0.0

    def push(self, t: float, kind: str, worker: str = "", task: str = "") -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, worker, task))

    # -- the rule -------------------------------------------------------------------------
    def least_loaded(self) -> str | None:
        room = [w for w in self.live if len(self.inflight[w]) < self.case.capacity]
        return min(room, key=lambda w: (len(self.inflight[w]), self.live.index(w))) if room else None

    def start(self, task: str, worker: str, *, log: bool = True) -> None:
        self.inflight[worker].append(task)
        duration = self.case.durations[self.assignments % len(self.case.durations)]
        self.assignments += 1
        if worker == self.case.slow:
            duration *= SLOW_FACTOR
        if log:
            self.log.record(self.now, POOL, worker, "task.assign", task)
        self.push(self.now + duration, "finish", worker, task)

    def drain(self) -> list[Assigned]:
        started = []
        while self.queue and (worker := self.least_loaded()) is not None:
            task = self.queue.pop(0)
            self.start(task, worker, log=False)  # logged once the learner's answer matched
            started.append(Assigned(task, worker))
        return started

    def loads(self) -> str:
        return ", ".join(f"{w}: {len(self.inflight[w])}" for w in self.live) + f"; queue {len(self.queue)}/{self.case.max_queue}"

    # -- comparing --------------------------------------------------------------------------
    def compare(self, call: str, got: Any, want: Any, state: str) -> None:
        self._compare(call, got, want, state)
        for a in want if isinstance(want, list) else ():
            self.log.record(self.now, POOL, a.worker, "task.assign", a.task_id)

    def _compare(self, call: str, got: Any, want: Any, state: str) -> None:
        if isinstance(want, list):
            same = isinstance(got, (list, tuple)) and [(type(g), g.task_id, getattr(g, "worker", None)) for g in got] == \
                [(type(w), w.task_id, w.worker) for w in want]
            shown_got = "[" + ", ".join(map(_name, got)) + "]" if isinstance(got, (list, tuple)) else repr(got)
            shown_want = "[" + ", ".join(map(_name, want)) + "]"
        else:
            same = type(got) is type(want) and getattr(got, "task_id", None) == want.task_id and (
                not isinstance(want, Assigned) or got.worker == want.worker) and (
                not isinstance(want, Rejected) or got.retry_after == want.retry_after)
            shown_got, shown_want = _name(got), _name(want)
        if not same:
            raise CaseFailed(f"at t={self.now:g}s {call} returned {shown_got}, expected {shown_want} "
                             f"(in flight before the call: {state})")

    def run(self, cls: Any) -> str:
        case = self.case
        pool = cls(list(case.workers), capacity=case.capacity, max_queue=case.max_queue, retry_after=case.retry_after)
        for t, task in case.arrivals:
            self.push(t, "submit", "", task)
        if case.crash:
            self.push(case.crash[1], "crash", case.crash[0])
        rejected = 0
        while self.events:
            self.now, _, kind, worker, task = heapq.heappop(self.events)
            state = self.loads()
            if kind == "submit":
                self.order[task] = len(self.order)
                self.log.record(self.now, "client", POOL, "submit", task)
                got = pool.submit(task)
                target = self.least_loaded()
                if target is not None:
                    want: Any = Assigned(task, target)
                elif len(self.queue) < case.max_queue:
                    want = Queued(task)
                else:
                    want = Rejected(task, case.retry_after)
                self.compare(f"submit({task!r})", got, want, state)
                status = "429 Retry-After: " + f"{case.retry_after:g}" if isinstance(want, Rejected) else "202"
                self.log.record(self.now, POOL, "client", "submit.reply", f"{task} {status}")
                if isinstance(want, Rejected):
                    rejected += 1
                    continue
                self.accepted.add(task)
                if isinstance(want, Assigned):
                    self.start(task, target)  # type: ignore[arg-type]
                else:
                    self.queue.append(task)
            elif kind == "finish":
                if worker not in self.live:
                    continue  # a crashed worker finishes nothing
                duplicate = task not in self.inflight[worker]
                self.log.record(self.now, worker, POOL, "task.done", task, "duplicate" if duplicate else "")
                got = pool.finished(worker, task)
                if not duplicate:
                    self.inflight[worker].remove(task)
                    self.done.add(task)
                    if case.duplicate:
                        self.push(self.now + DUPLICATE_GAP, "finish", worker, task)
                want_list = [] if duplicate else self.drain()
                self.compare(f"finished({worker!r}, {task!r})" + (" (a duplicate)" if duplicate else ""), got,
                             want_list, state)
            elif kind == "crash":
                self.log.record(self.now, "platform", worker, "crash", f"{len(self.inflight[worker])} in flight", "fault")
                lost = sorted(self.inflight[worker], key=self.order.__getitem__)
                self.live.remove(worker)
                self.inflight[worker] = []
                self.queue[:0] = lost
                got = pool.worker_crashed(worker)
                want_list = self.drain()
                self.compare(f"worker_crashed({worker!r})", got, want_list, state)
        lost_tasks = sorted(self.accepted - self.done, key=self.order.__getitem__)
        if lost_tasks:
            raise CaseFailed(f"tasks {lost_tasks} were accepted but never finished")
        return f"{len(self.done)} tasks done, {rejected} rejected with Retry-After"


def pool_case(seed: int, kind: str) -> PoolCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day2", "pool", seed, kind)
    workers = tuple(f"w{i}" for i in range(1, rng.randint(2, 4) + 1))
    capacity, max_queue = rng.randint(1, 3), rng.randint(1, 4)
    retry_after = float(rng.choice((1, 2, 5)))
    n = rng.randint(10, 20)
    burst = n // 3  # a burst: after this many arrivals, more tasks than the pool and its queue hold, at once
    if kind == "burst":
        n = burst + len(workers) * capacity + max_queue + rng.randint(1, 4)
    arrivals, t = [], 0.0
    for i in range(n):
        if not (kind == "burst" and i > burst):
            t = round(t + rng.uniform(0.1, 1.2), 2)
        arrivals.append((t, f"t{i + 1}"))
    durations = tuple(round(rng.uniform(1.0, 4.0), 2) for _ in range(7))
    crash = (rng.choice(workers), round(rng.uniform(1.0, arrivals[-1][0] + 1.0), 2) + 0.005) if kind == "crash" else None
    slow = rng.choice(workers) if kind == "slow" else None
    return PoolCase(seed, kind, workers, capacity, max_queue, retry_after, tuple(arrivals), durations,
                    crash, slow, kind == "duplicate")


class PoolScenario(Scenario):
    """One simulation per fault kind (or only ``faults``), each drawn from the seed."""

    default_target = "PoolDispatcher"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        name = "pool" if faults is None else f"pool/{'+'.join(self.kinds)}"
        super().__init__(name, seed, f"day2.pool_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [pool_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"every dispatch decision right under faults {list(self.kinds)}, no accepted task lost"


def pool_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> PoolScenario:
    """Seeded arrivals and durations through the learner's dispatcher, with ``faults``."""
    return PoolScenario(seed, faults)


def grade_pool(dispatcher_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return pool_scenario(seed, faults).run(dispatcher_cls).assert_ok()


__all__ = ["FAULTS", "PoolCase", "PoolScenario", "grade_pool", "pool_case", "pool_scenario"]
