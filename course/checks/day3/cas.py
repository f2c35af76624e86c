"""Question 5, compare-and-set between agents: two planners add items to one shared plan.

The learner writes the plan's owner, ``PlanStore`` (a Durable Object holding a version and a
list of items: ``read()`` and ``compare_and_set(expected_version, items)``), and the update
every agent runs, ``add_item(store, item)``: read, append, compare-and-set, and on a conflict
or a network error try again (at most :data:`~.types.MAX_CAS_ATTEMPTS` times).

The checks run two planner agents (their own Durable Objects, ``PLANNER:a`` and
``PLANNER:b``) that each add their items one after the other, at the same time, through the
learner's ``add_item``, with latency on the links, and then check the plan: every item exactly
once, each planner's items in its order, and a version that counts the changes (one per
item). A stale compare-and-set is then refused and changes nothing.

Fault kinds (:data:`FAULTS`): ``concurrent`` (two writers, jittered latency); ``partition``
(planner a cut off from the plan for a while, and some of the plan's *replies* to it lost
after the change was made, so a retry must notice its item is already there); ``crash`` (the
plan's object reset mid-run: in-flight calls fail); ``evict`` (the plan's object evicted
between calls).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day3.emulate import ObjectRaised, call, emulated, move_to, plain
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream
from course.workers import DurableObject

FAULTS = ("concurrent", "partition", "crash", "evict")
BINDING, PLAN = "PLAN", "plan"
#: One-way latency planner <-> plan, and its jitter (ms).
LATENCY_MS, JITTER_MS = 20.0, 30.0
#: Share of the plan's replies to planner a lost in the partition cases (the change was made).
REPLY_LOSS = 0.3
#: Seconds the checks wait for both planners.
DEADLINE = 600.0
VERBS = ("fetch", "rank", "summarise", "check", "notify", "compare", "draft", "review")
NOUNS = ("prices", "sources", "owner", "stock", "reviews", "weather", "report", "alerts")


@dataclass(frozen=True)
class CasCase(Case):
    seed: int
    kind: str
    items_a: tuple[str, ...]
    items_b: tuple[str, ...]
    fault_at: float = 0.0
    fault_for: float = 0.0

    def describe(self) -> str:
        fault = {"concurrent": "no fault but latency",
                 "partition": f"planner a cut off from the plan from {self.fault_at:g}s to "
                              f"{self.fault_at + self.fault_for:g}s, and {REPLY_LOSS:.0%} of the replies to it lost",
                 "crash": f"the plan's object reset at {self.fault_at:g}s",
                 "evict": f"the plan's object evicted every {self.fault_for:g}s"}[self.kind]
        return f"planner a adds {list(self.items_a)}, planner b adds {list(self.items_b)}, at once; {fault}"

    def check(self, answer: Any, log: MessageLog) -> str:
        store_cls, add_item = _unpack(answer)
        return _Run(self, store_cls, add_item, log).go()

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        a, b = len(self.items_a), len(self.items_b)
        return st.tuples(st.integers(1, a), st.integers(0, b)).map(
            lambda t: replace(self, items_a=self.items_a[:t[0]], items_b=self.items_b[:t[1]]))


def _unpack(answer: Any) -> tuple[type, Any]:
    try:
        store_cls, add_item = answer
    except (TypeError, ValueError):
        raise CaseFailed(f"run the scenario on (PlanStore, add_item), got {answer!r}") from None
    return store_cls, add_item


class _Run:
    def __init__(self, case: CasCase, store_cls: type, add_item: Any, log: MessageLog) -> None:
        self.case, self.log = case, log
        self.reply_loss = random_stream("day3", "cas-reply-loss", case.seed)
        world = self

        class Planner(DurableObject):
            async def add_all(self, who: Any, items: Any) -> Any:
                store = self.env.PLAN.getByName(PLAN)
                for item in plain(items):
                    world.log.record(round(world.rt.clock.now(), 3), f"planner-{who}", "plan", "add_item", repr(item))
                    await add_item(store, item)
                    world.log.record(round(world.rt.clock.now(), 3), f"planner-{who}", "planner", "added", repr(item))
                return len(plain(items))

        self.rt = emulated({BINDING: _logged(store_cls, self), "PLANNER": Planner}, seed=case.seed)
        faults = self.rt.faults
        faults.latency(LATENCY_MS, jitter_ms=JITTER_MS, between=("PLANNER:*", f"{BINDING}:{PLAN}"))
        if case.kind == "partition":
            faults.partition("PLANNER:a", f"{BINDING}:{PLAN}", during=(case.fault_at, case.fault_at + case.fault_for))
            self.log.record(case.fault_at, "platform", "plan", "partition",
                            f"planner-a cut off for {case.fault_for:g}s", "fault")
        elif case.kind == "crash":
            faults.crash(BINDING, PLAN, at=case.fault_at)
            self.log.record(case.fault_at, "platform", "plan", "crash", "in-flight calls fail", "fault")

    def go(self) -> str:
        case, rt = self.case, self.rt
        try:
            async def planner(who: str, items: tuple[str, ...]) -> Any:
                try:
                    return ("ok", await rt.env["PLANNER"].getByName(who).add_all(who, list(items)))
                except asyncio.CancelledError:
                    return ("error", "cut off")
                except Exception as exc:  # noqa: BLE001 - reported as the planner's failure
                    return ("error", str(exc))

            async def evictions() -> None:
                while True:
                    await asyncio.sleep(case.fault_for)
                    self.log.record(round(rt.clock.now(), 3), "platform", "plan", "evict", "memory lost, storage kept", "fault")
                    rt.evict(BINDING, PLAN)

            async def both() -> Any:
                extra = asyncio.ensure_future(evictions()) if case.kind == "evict" else None
                try:
                    return await asyncio.wait_for(asyncio.gather(planner("a", case.items_a), planner("b", case.items_b)),
                                                  DEADLINE)
                finally:
                    if extra is not None:
                        extra.cancel()

            results = rt.call(both())
            for who, (status, value) in zip("ab", results):
                if status != "ok":
                    if "NotImplementedError" in str(value):
                        raise NotImplementedError(str(value))
                    raise CaseFailed(f"planner {who}'s add_item raised {str(value)[:160]}")
            rt.faults.clear()
            move_to(rt, rt.clock.now() + 1)
            t = rt.clock.now()
            try:
                state = call(rt, lambda: rt.env[BINDING].getByName(PLAN).read())
            except ObjectRaised as exc:
                raise CaseFailed(f"read() raised {exc}") from None
            self.log.record(round(t, 3), "checker", "plan", "read")
            self.log.record(round(t, 3), "plan", "checker", "read.reply", repr(state)[:100])
            self.verify(state)
            stale = call(rt, lambda: rt.env[BINDING].getByName(PLAN).compare_and_set(state["version"] - 1, ["stale"]))
            after = call(rt, lambda: rt.env[BINDING].getByName(PLAN).read())
            if not isinstance(stale, dict) or stale.get("ok") is not False or after != state:
                raise CaseFailed(f"compare_and_set({state['version'] - 1}, ['stale']) on version {state['version']} "
                                 f"answered {stale!r} and left {after!r}: a stale version must be refused "
                                 f"({{'ok': False, ...}}) and change nothing")
            return f"{len(state['items'])} items, version {state['version']}"
        finally:
            rt.close()

    def verify(self, state: Any) -> None:
        case = self.case
        if not isinstance(state, dict) or set(state) < {"version", "items"}:
            raise CaseFailed(f"read() returned {state!r}, expected {{'version': int, 'items': [str]}}")
        items = list(state["items"])
        wanted = list(case.items_a) + list(case.items_b)
        lost = [i for i in wanted if i not in items]
        twice = sorted({i for i in items if items.count(i) > 1})
        if lost:
            raise CaseFailed(f"the plan {items} lost {lost}, yet every add_item returned: either a write based on an "
                             f"old version overwrote another agent's (compare-and-set must refuse a stale version, "
                             f"and the loser must re-read and try again), or add_item gave up without saying so "
                             f"(it returns only once its item is in the plan, else it raises)")
        if twice:
            raise CaseFailed(f"the plan {items} has {twice} twice: a retry after a lost reply must notice its item is "
                             f"already there (the change was made; only the answer was lost)")
        for who, mine in (("a", case.items_a), ("b", case.items_b)):
            order = [i for i in items if i in mine]
            if order != list(mine):
                raise CaseFailed(f"planner {who}'s items are in the plan as {order}, expected {list(mine)} (its order)")
        if state["version"] != len(wanted):
            raise CaseFailed(f"the plan's version is {state['version']} after {len(wanted)} items were added: each "
                             f"successful compare-and-set adds exactly 1 (and only a successful one)")


def _logged(cls: type, run: "_Run") -> type:
    """``cls`` whose ``read`` and ``compare_and_set`` calls go into the message log (same name, same behaviour)."""
    import inspect

    async def answer(value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    def caller() -> str:
        started = run.rt.trace.last("do_event", phase="start", binding=BINDING)
        actor = str(started.get("caller") if started is not None else "client")
        return "planner-" + actor.split(":", 1)[1] if actor.startswith("PLANNER:") else "checker"

    async def read(self: Any) -> Any:
        who = caller()
        got = await answer(cls.read(self))
        if who == "checker" or getattr(self, "_day3_in_cas", False):
            return got
        run.log.record(round(run.rt.clock.now(), 3), who, "plan", "read")
        run.log.record(round(run.rt.clock.now(), 3), "plan", who, "read.reply", repr(plain(got))[:90])
        return got

    async def compare_and_set(self: Any, expected_version: Any, items: Any) -> Any:
        who = caller()
        self._day3_in_cas = True
        try:
            got = await answer(cls.compare_and_set(self, expected_version, items))
        finally:
            self._day3_in_cas = False
        if who == "checker":
            return got
        run.log.record(round(run.rt.clock.now(), 3), who, "plan", "compare_and_set", f"v{expected_version} +{len(plain(items))} items")
        lost = run.case.kind == "partition" and who == "planner-a" and run.reply_loss.random() < REPLY_LOSS
        run.log.record(round(run.rt.clock.now(), 3), "plan", who, "compare_and_set.reply", repr(plain(got))[:90],
                       "lost: the partition dropped the reply" if lost else "")
        if lost:  # the change is made (the event's writes commit); only the answer never arrives
            raise RuntimeError("Network connection lost.")
        return got

    methods = {name: fn for name, fn in (("read", read), ("compare_and_set", compare_and_set)) if hasattr(cls, name)}
    return type(cls.__name__, (cls,), {**methods, "__qualname__": cls.__qualname__, "__module__": cls.__module__})


def cas_case(seed: int, kind: str) -> CasCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day3", "cas", seed, kind)

    def items(who: str, n: int) -> tuple[str, ...]:
        return tuple(f"{who}{i}: {rng.choice(VERBS)} {rng.choice(NOUNS)}" for i in range(n))

    a, b = items("a", rng.randint(3, 5)), items("b", rng.randint(3, 5))
    at, span = 0.0, 0.0
    if kind == "partition":
        at, span = round(rng.uniform(0.02, 0.1), 3), round(rng.uniform(0.5, 2.0), 2)
    elif kind == "crash":
        at = round(rng.uniform(0.05, 0.2), 3)
    elif kind == "evict":
        span = round(rng.uniform(0.05, 0.15), 3)
    return CasCase(seed, kind, a, b, at, span)


class CasScenario(Scenario):
    default_target = "(PlanStore, add_item)"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("compare-and-set" if faults is None else f"compare-and-set/{'+'.join(self.kinds)}", seed,
                         f"day3.cas_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [cas_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"two planners under faults {list(self.kinds)}: every item once, in order, one version per change"


def cas_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> CasScenario:
    """Two planner agents add items to one plan through your compare-and-set, with faults."""
    return CasScenario(seed, faults)


def grade_cas(store_cls: Any, add_item: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return cas_scenario(seed, faults).run((store_cls, add_item)).assert_ok()


__all__ = ["FAULTS", "CasCase", "CasScenario", "cas_case", "cas_scenario", "grade_cas"]
