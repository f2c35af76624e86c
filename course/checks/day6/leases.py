"""Question 6, D1 work claiming with leases: no task processed twice while a lease holds.

The learner writes two functions over a D1-style SQLite database with the table
:data:`~.types.TASKS_SCHEMA`: ``claim(db, worker, now)`` takes one task that is ``queued``, or
``claimed`` with an expired lease (``lease_until <= now``), for ``worker`` until ``now +
LEASE_SECONDS`` (``attempts + 1``), and returns its id, or None when there is none;
``complete(db, task_id, worker, now)`` marks it ``done`` and returns True only while
``worker``'s lease holds (it still owns the task and ``now < lease_until``), else changes
nothing and returns False. ``db.execute(sql, params)`` returns a cursor, as ``sqlite3`` does;
the database autocommits.

Each case runs four workers on the virtual clock over real SQLite. Another worker may run
between any two of your statements (claims race, as on D1, where a read and a later write are
separate requests). Fault kinds (:data:`FAULTS`): ``race`` (a rival claims between your
statements), ``slow`` (a worker works past its lease: the task is reclaimed and its late
``complete`` must fail), ``crash`` (a worker dies holding a lease: the task is reclaimed once
it expires), ``duplicate`` (a ``complete`` delivered twice). At every step no two workers hold
a live lease on one task, and at the end every task is done exactly once (one ``complete``
returned True). A failure shrinks to the fewest tasks.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from course.checks.day6.types import LEASE_SECONDS, TASKS_SCHEMA
from course.checks.day6.common import KindScenario
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, random_stream

FAULTS = ("race", "slow", "crash", "duplicate")
WORKERS = ("w1", "w2", "w3", "w4")
RIVAL = "rival"


def _rival_claim(raw: sqlite3.Connection, now: float) -> str | None:
    row = raw.execute("SELECT id FROM tasks WHERE status = 'queued' OR (status = 'claimed' AND lease_until <= ?) "
                      "ORDER BY id LIMIT 1", (now,)).fetchone()
    if row is None:
        return None
    raw.execute("UPDATE tasks SET status = 'done', owner = ?, lease_until = ?, attempts = attempts + 1 "
                "WHERE id = ?", (RIVAL, now + LEASE_SECONDS, row[0]))
    return row[0]


class RacingDb:
    """The learner's database handle: after a SELECT, a rival worker may claim a task (the ``race`` fault)."""

    def __init__(self, raw: sqlite3.Connection, log: MessageLog, worker: str, now: float, race: bool) -> None:
        self._raw, self._log, self._worker, self._now, self._race = raw, log, worker, now, race
        self.rival: str | None = None
        self.lines: list[tuple[Any, ...]] = []  # logged by flush(): an idle poll that found nothing stays quiet

    def flush(self) -> None:
        for line in self.lines:
            self._log.record(*line)
        self.lines = []

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.lines.append((self._now, self._worker, "d1", "execute", " ".join(str(sql).split())[:110] + f" {tuple(params)}"))
        cursor = self._raw.execute(sql, params)
        if self._race and self.rival is None and str(sql).lstrip().upper().startswith("SELECT"):
            rows = cursor.fetchall()
            self.rival = _rival_claim(self._raw, self._now) or ""
            self.lines.append((self._now, RIVAL, "d1", "claim", f"took {self.rival or 'nothing'} (between your "
                               f"statements) and finished it at once", "race"))
            return _Rows(rows)
        return cursor

    def executemany(self, sql: str, rows: Any) -> Any:
        return self._raw.executemany(sql, rows)

    def commit(self) -> None:
        pass


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self._rows, self.rowcount = rows, -1

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Any:
        return iter(self.fetchall())


@dataclass(frozen=True)
class LeaseCase(Case):
    seed: int
    kind: str
    tasks: int
    plan: tuple[tuple[float, str, str, float], ...]  # (at, worker, fate: ok/slow/crash/twice, work seconds)

    def describe(self) -> str:
        return (f"{self.tasks} tasks ({self.kind}); workers " +
                ", ".join(f"{w} at {at:g}s ({fate}, works {work:g}s)" for at, w, fate, work in self.plan))

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, self.tasks).map(lambda n: lease_case(self.seed, self.kind, n))

    def check(self, answer: Any, log: MessageLog) -> str:
        try:
            claim, complete = answer
        except (TypeError, ValueError):
            raise CaseFailed(f"run the scenario on (claim, complete), got {answer!r}") from None
        raw = sqlite3.connect(":memory:", isolation_level=None)
        raw.execute(TASKS_SCHEMA)
        raw.executemany("INSERT INTO tasks (id) VALUES (?)", [(f"task-{i + 1}",) for i in range(self.tasks)])
        holds: dict[str, tuple[str, float]] = {}  # task -> (worker, lease until), the leases the rules grant
        done: dict[str, str] = {}
        mine: dict[tuple[str, str], float] = {}  # (worker, task) -> when the lease that worker got ends
        agenda = sorted(self.plan)
        races = 2 if self.kind == "race" else 0
        while agenda:
            at, worker, fate, work = agenda.pop(0)
            if at > 600:
                break
            if fate.startswith("finish:"):
                task = fate.split(":", 1)[1]
                self._finish(complete, raw, log, at, worker, task, holds, done, mine[(worker, task)],
                             twice=self.kind == "duplicate")
                agenda.append((at + 0.5, worker, "ok", min(work, 10.0)))  # and the next task
                agenda.sort()
                continue
            db = RacingDb(raw, log, worker, at, race=races > 0)
            task = claim(db, worker, at)
            db.lines.append((at, "d1", worker, "claimed", repr(task)))
            if task is not None or db.rival is not None or at == self.plan[WORKERS.index(worker)][0]:
                db.flush()
            if db.rival is not None:
                races -= 1
            if db.rival:
                done[db.rival] = RIVAL
            if task is None:
                free = [t for t in self._all() if t not in done and (t not in holds or holds[t][1] <= at)]
                if free:
                    db.flush()
                    raise CaseFailed(f"claim(db, {worker!r}, now={at:g}) returned None, but {free[0]} is claimable "
                                     f"(queued, or its lease expired)")
                if any(t not in done for t in self._all()):
                    agenda.append((at + 2.0, worker, "ok", work))  # some are leased: look again later
                    agenda.sort()
                continue
            if task in done or (task in holds and holds[task][1] > at and holds[task][0] != worker):
                owner = "done already" if task in done else f"leased to {holds[task][0]} until {holds[task][1]:g}s"
                raise CaseFailed(f"claim(db, {worker!r}, now={at:g}) returned {task!r}, which is {owner}: two workers "
                                 f"would process it (claim with one conditional UPDATE, and check what it changed)")
            holds[task] = (worker, at + LEASE_SECONDS)
            mine[(worker, task)] = at + LEASE_SECONDS
            if fate == "crash":
                log.record(at + 0.1, "platform", worker, "crash", f"dies holding {task}", "fault")
                continue
            agenda.append((at + work, worker, f"finish:{task}", work))
            agenda.sort()
        missing = [t for t in self._all() if t not in done]
        if missing:
            raise CaseFailed(f"{missing} never got done: a task whose worker crashed is claimable once its lease expires")
        return f"{self.tasks} tasks, each done once"

    def _all(self) -> list[str]:
        return [f"task-{i + 1}" for i in range(self.tasks)]

    @staticmethod
    def _finish(complete: Any, raw: Any, log: MessageLog, at: float, worker: str, task: str,
                holds: dict[str, tuple[str, float]], done: dict[str, str], lease_end: float, twice: bool) -> None:
        for attempt in range(2 if twice else 1):
            holder, until = holds.get(task, ("", 0.0))
            allowed = task not in done and holder == worker and at < until
            db = RacingDb(raw, log, worker, at, race=False)
            got = complete(db, task, worker, at)
            db.flush()
            note = " (delivered again)" if attempt else ""
            log.record(at, "d1", worker, "completed", f"{task} -> {got!r}{note}")
            if got is True and not allowed:
                why = ("it is done already" if task in done else f"its lease ended at {until:g}s" if holder == worker
                       else f"{holder} holds it now ({worker}'s lease ended at {lease_end:g}s and it was reclaimed)")
                raise CaseFailed(f"complete(db, {task!r}, {worker!r}, now={at:g}){note} returned True, but {why}: "
                                 f"the task would be processed twice; complete only while your lease holds")
            if got is not True and allowed:
                raise CaseFailed(f"complete(db, {task!r}, {worker!r}, now={at:g}) returned {got!r}; {worker}'s lease "
                                 f"holds until {until:g}s, so the task is done: return True")
            if got is True:
                done[task] = worker


def lease_case(seed: int, kind: str, n: int | None = None) -> LeaseCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day6", "leases", seed, kind)
    tasks = rng.randint(3, 5)
    plan = []
    for i, worker in enumerate(WORKERS):
        at = round(1.0 + i * rng.choice((0.5, 1.0, 2.0)), 1)
        fate, work = "ok", float(rng.randint(8, 10) if kind == "slow" else rng.randint(2, 10))
        if kind == "slow" and i == 0:
            fate, work = "slow", LEASE_SECONDS + rng.randint(4, 8)  # finishes while another worker holds it
        if kind == "crash" and i == 0:
            fate = "crash"
        plan.append((at, worker, fate, work))
    return LeaseCase(seed, kind, n or tasks, tuple(plan))


class LeaseScenario(KindScenario):
    name_root, faults, default_target, what = "lease", FAULTS, "(claim, complete)", "worker schedules"
    make = staticmethod(lease_case)


def lease_scenario(seed: int = 0, faults: Any = None) -> LeaseScenario:
    """Four workers claiming tasks from D1 with leases: racing claims, slow workers, crashes, repeated completes."""
    return LeaseScenario(seed, faults)


def grade_leases(claim: Any, complete: Any, seed: int = 0, faults: Any = None) -> CheckResult:
    return lease_scenario(seed, faults).run((claim, complete)).assert_ok()


__all__ = ["FAULTS", "LeaseCase", "LeaseScenario", "RacingDb", "grade_leases", "lease_case", "lease_scenario"]
