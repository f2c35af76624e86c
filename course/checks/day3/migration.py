"""Question 6, a SQL-backed memory agent whose schema migration survives evictions and crashes.

Historical memory agents stored their memories under schema v1 (``PRAGMA user_version = 1``)::

    CREATE TABLE memories (id INTEGER PRIMARY KEY, text TEXT NOT NULL, created_at REAL NOT NULL)

The learner's ``MemoryAgent`` runs schema v2: two more columns, ``topic`` (``topic_of(text)``)
and ``words`` (``count_words(text)``), ``PRAGMA user_version = 2``. Its constructor migrates the
schema (inside ``blockConcurrencyWhile``); the old rows are backfilled by an alarm, at most
:data:`~.types.BACKFILL_BATCH` rows per run, so the agent keeps serving meanwhile; ``recall``
is right for every row, backfilled or not.

A case writes N v1 rows with the old code (the checks' own v1 agent, on a state folder), then
"deploys" the learner's class on the same storage and, for a few seconds of virtual time,
recalls by topic and remembers new texts while the backfill runs. Then the clock runs on and
the checks read the database: schema v2, every row (old and new) with its topic and word
count, nothing lost or duplicated.

Fault kinds (:data:`FAULTS`): ``none``; ``evict`` (evicted after every call and alarm);
``crash`` (crashed right after each storage operation in turn, an exhaustive search as in
question 3, over the constructor's migration and every alarm run; a call cut off is retried once).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from course.checks.day3.emulate import ObjectRaised, OpCounter, call, emulated, follow_platform, instrumented, move_to
from course.checks.day3.types import BACKFILL_BATCH, count_words, topic_of
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream
from course.workers import DurableObject

FAULTS = ("none", "evict", "crash")
BINDING, AGENT = "MEMORY", "memory"
#: Seconds of calls while the backfill runs, then seconds the clock runs before the final check.
ACTIVE, SETTLE = 6, 200.0
TOPICS = ("travel", "prices", "report", "general")
WORDS = ("book", "flight", "vendor", "due", "friday", "lyon", "window", "seat", "quote", "draft", "call")


def _v1_agent(name: str, texts: Sequence[str]) -> type:
    """The old code: schema v1, and a method that writes ``texts`` (the historical rows)."""

    def __init__(self: Any, ctx: Any, env: Any) -> None:
        DurableObject.__init__(self, ctx, env)
        ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS memories (id INTEGER PRIMARY KEY, text TEXT NOT NULL, "
                             "created_at REAL NOT NULL)")
        ctx.storage.sql.exec("PRAGMA user_version = 1")

    async def seed(self: Any) -> int:
        for i, text in enumerate(texts):
            self.ctx.storage.sql.exec("INSERT INTO memories (text, created_at) VALUES (?, ?)", text, float(i))
        return len(texts)

    return type(name, (DurableObject,), {"__init__": __init__, "seed": seed})


@dataclass(frozen=True)
class MigrationCase(Case):
    seed: int
    kind: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    fault_at: int | None = None
    #: a state folder holding ``template_old`` as v1 rows, written once per scenario run and copied
    template: str = field(default="", compare=False, repr=False)
    template_old: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def describe(self) -> str:
        fault = {"none": "no fault", "evict": "evicted after every call and alarm",
                 "crash": f"crashed right after storage operation {self.fault_at}"}[self.kind]
        return f"{len(self.old)} v1 rows {list(self.old)}; then {len(self.new)} new texts {list(self.new)}; {fault}"

    def check(self, agent_cls: Any, log: MessageLog) -> str:
        return _Run(self, agent_cls, log).go()[0]

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        top = self.fault_at or 1
        return st.tuples(st.integers(1, len(self.old)), st.integers(0, len(self.new)), st.integers(1, top)).map(
            lambda t: replace(self, old=self.old[:t[0]], new=self.new[:t[1]],
                              fault_at=t[2] if self.fault_at is not None else None))


def _scratch() -> str | None:
    """Where the runs' state folders go: memory-backed /dev/shm when there is one (faster)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


class _Run:
    def __init__(self, case: MigrationCase, agent_cls: Any, log: MessageLog) -> None:
        self.case, self.cls, self.log = case, agent_cls, log
        self.counter = OpCounter(None, BINDING, fault_at=case.fault_at, kind="crash",
                                 on_fault=lambda kind, what: log.record(self.rt.clock.now(), "platform", "memory",
                                                                        kind, f"right after {what}", "fault"))
        self.rt: Any = None

    def history(self, folder: Path) -> None:
        rt = emulated({BINDING: _v1_agent(self.cls.__name__, self.case.old)}, seed=self.case.seed, persist_to=folder)
        try:
            call(rt, lambda: rt.env[BINDING].getByName(AGENT).seed())
        finally:
            rt.close()
        self.log.record(0.0, "old-code", "memory", "v1-rows", f"{len(self.case.old)} rows written, user_version 1")

    def view(self, query: str) -> list[dict[str, Any]]:
        return self.rt.storage(BINDING, AGENT).sql(query)

    def pending(self) -> int | None:
        try:
            return int(self.view("SELECT COUNT(*) AS n FROM memories WHERE words IS NULL")[0]["n"])
        except Exception:  # noqa: BLE001 - no words column yet
            return None

    def ask(self, what: str, make: Any, *, retry: bool, count: bool = False) -> Any:
        t = self.rt.clock.now()
        self.log.record(t, "client", "memory", what.split("(")[0], what)
        # The search crashes the migration (the first call constructs the object) and the alarms, not reads.
        counting, self.counter.active = self.counter.active, self.counter.active and count
        try:
            got = call(self.rt, make, on_reply=lambda value: self.log.record(
                self.rt.clock.now(), "memory", "client", "reply", repr(value)[:70]))
        except ObjectRaised as exc:
            self.log.record(self.rt.clock.now(), "memory", "client", "error", str(exc)[:60])
            if not retry:
                raise CaseFailed(f"at t={t:g}s {what} raised {exc}") from None
            move_to(self.rt, self.rt.clock.now() + 0.25)
            return self.ask(what, make, retry=False, count=count)
        finally:
            self.counter.active = counting
        return got

    def go(self) -> tuple[str, OpCounter]:
        case = self.case
        with tempfile.TemporaryDirectory(prefix="day3-migration-", dir=_scratch()) as tmp:
            if case.template and case.template_old == case.old and Path(case.template).is_dir():
                shutil.copytree(case.template, tmp, dirs_exist_ok=True)  # the same v1 rows, written once
                self.log.record(0.0, "old-code", "memory", "v1-rows", f"{len(case.old)} rows written, user_version 1")
            else:
                self.history(Path(tmp))
            self.rt = rt = emulated({BINDING: instrumented(self.cls, self.counter)}, seed=case.seed, persist_to=tmp)
            self.counter.rt = rt
            follow_platform(rt, self.log, {BINDING: "memory"})
            try:
                return self.drive(), self.counter
            finally:
                rt.close()

    def drive(self) -> str:
        case, rt = self.case, self.rt
        stub = lambda: rt.env[BINDING].getByName(AGENT)  # noqa: E731
        retry = case.kind == "crash"
        rows = list(case.old)
        stats = self.ask("stats()", lambda: stub().stats(), retry=retry, count=True)
        if not isinstance(stats, dict) or stats.get("schema") != 2 or stats.get("memories") != len(rows):
            raise CaseFailed(f"right after the deploy, stats() returned {stats!r}, expected schema 2 and "
                             f"{len(rows)} memories (the constructor migrates the schema before any call)")
        last_pending, last_runs = self.pending(), 0
        if last_pending is not None and last_pending < len(rows) - 2 * BACKFILL_BATCH:
            raise CaseFailed(f"right after the deploy only {last_pending} of {len(rows)} rows wait for the backfill: "
                             f"backfill at most {BACKFILL_BATCH} rows per alarm, so the object keeps serving")
        rng = random_stream("day3", "migration-calls", case.seed)
        new = list(case.new)
        for step in range(1, ACTIVE + 1):
            move_to(rt, float(step))
            if case.kind == "evict":
                self.log.record(rt.clock.now(), "platform", "memory", "evict", "memory lost, storage kept", "fault")
                rt.evict(BINDING, AGENT)
            runs = rt.trace.count("do_alarm", phase="run", binding=BINDING)
            pending = self.pending()
            if pending is not None and last_pending is not None and runs > last_runs \
                    and last_pending - pending > BACKFILL_BATCH * (runs - last_runs):
                raise CaseFailed(f"{last_pending - pending} rows were backfilled by {runs - last_runs} alarm run(s) "
                                 f"before t={rt.clock.now():g}s: at most {BACKFILL_BATCH} rows per run")
            last_pending, last_runs = pending, runs
            if new and step % 2 == 0:
                text = new.pop(0)
                self.ask(f"remember({text!r})", lambda: stub().remember(text), retry=retry)
                rows.append(text)
            topic = rng.choice(TOPICS)
            want = [r for r in rows if topic_of(r) == topic]
            got = self.ask(f"recall({topic!r})", lambda: stub().recall(topic), retry=retry)
            if got != want:
                raise CaseFailed(f"at t={rt.clock.now():g}s, with {pending} rows not backfilled yet, recall({topic!r}) "
                                 f"returned {got!r}, expected {want!r} (in id order; a row not backfilled yet still "
                                 f"has a topic: topic_of(text))")
        move_to(rt, SETTLE)
        self.counter.active = False
        return self.verify(rows)

    def verify(self, rows: list[str]) -> str:
        version = self.view("PRAGMA user_version")[0]["user_version"]
        if version != 2:
            raise CaseFailed(f"after the migration, PRAGMA user_version is {version}, expected 2")
        stored = self.view("SELECT * FROM memories ORDER BY id")
        texts = [r.get("text") for r in stored]
        if texts != rows:
            lost = [t for t in rows if t not in texts]
            twice = sorted({t for t in texts if texts.count(t) > 1})
            raise CaseFailed(f"the memories table holds {texts}, expected {rows}"
                             + (f": lost {lost}" if lost else "") + (f": {twice} twice" if twice else ""))
        for r in stored:
            if r.get("topic") != topic_of(r["text"]) or r.get("words") != count_words(r["text"]):
                raise CaseFailed(f"{SETTLE:g}s after the deploy, row {r} is not backfilled: expected topic "
                                 f"{topic_of(r['text'])!r} and words {count_words(r['text'])} (the alarm must re-arm "
                                 f"until no row is left, and resume after an eviction or a crash)")
        return f"{len(rows)} rows migrated and backfilled"


def migration_case(seed: int, kind: str, fault_at: int | None = None) -> MigrationCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day3", "migration", seed)

    def text() -> str:
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
        tag = rng.choice(TOPICS)
        if tag != "general":
            words.insert(rng.randrange(len(words) + 1), f"#{tag.title() if rng.random() < 0.3 else tag}")
        return " ".join(words)

    old = tuple(text() for _ in range(rng.randint(2 * BACKFILL_BATCH + 1, 2 * BACKFILL_BATCH + 4)))
    new = tuple(text() for _ in range(3))
    return MigrationCase(seed, kind, old, new, fault_at)


class MigrationScenario(Scenario):
    default_target = "MemoryAgent"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("sql-migration" if faults is None else f"sql-migration/{'+'.join(self.kinds)}", seed,
                         f"day3.migration_scenario(seed={seed}{extra})")
        self._points = 0

    def run(self, target: Any) -> CheckResult:
        self._points = 0
        with tempfile.TemporaryDirectory(prefix="day3-history-", dir=_scratch()) as template:
            base = migration_case(self.seed, "none")
            run = _Run(base, target, MessageLog())
            run.history(Path(template))
            self._template = (template, base.old)
            if "crash" in self.kinds:
                run = _Run(replace(base, template=template, template_old=base.old), target, MessageLog())
                try:
                    run.go()
                except NotImplementedError:
                    raise
                except Exception:  # noqa: BLE001 - the run without faults reports its own failure
                    pass
                self._points = len(run.counter.ops)
            return super().run(target)

    def cases(self) -> Sequence[Case]:
        template, old = getattr(self, "_template", ("", ()))
        out: list[MigrationCase] = []
        for kind in self.kinds:
            if kind == "crash":
                out += [migration_case(self.seed, kind, k) for k in range(1, self._points + 1)]
            else:
                out.append(migration_case(self.seed, kind))
        return [replace(c, template=template, template_old=old) for c in out]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        crash = f", a crash right after each of its {self._points} storage operations" if "crash" in self.kinds else ""
        return f"{len(cases)} runs (faults {list(self.kinds)}{crash}): every row migrated and backfilled, none lost"


def migration_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> MigrationScenario:
    """v1 rows written by old code, then your MemoryAgent deployed on them, with faults."""
    return MigrationScenario(seed, faults)


def grade_migration(agent_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return migration_scenario(seed, faults).run(agent_cls).assert_ok()


__all__ = ["FAULTS", "MigrationCase", "MigrationScenario", "grade_migration", "migration_case", "migration_scenario"]
