"""Question 6, the planner agent: plan, check the plan, execute it; graded on what it did.

The learner's ``plan_and_run(ai, task, tools)`` asks the model in JSON mode for a
:class:`~.types.Plan`, refuses a plan that is not valid (not JSON, more than
:data:`~.types.MAX_PLAN_STEPS` steps, a tool not offered, arguments that do not validate) and
asks again (at most :data:`~.types.MAX_ATTEMPTS` calls), then runs the steps in order, retrying a
step that raised :class:`~.types.TransientToolError` up to :data:`~.types.STEP_RETRIES` more
times. It returns a :class:`~.types.PlanOutcome`.

The grade is the outcome, read from the checker's warehouse (its tools record what happened):

- with a valid plan among the replies: its effects happened exactly once each, in order; nothing
  of a refused plan happened; ``PlanOutcome("done", n, results)`` with every step's result;
- with none: nothing happened, ``PlanOutcome("failed", 0, ())``;
- a step that keeps failing stops the plan: the steps before it happened once, none after it,
  ``PlanOutcome("failed", k, results of those k steps)``.

Fault kinds (:data:`FAULTS`): ``malformed`` (the emulator breaks the plan's JSON),
``unknown_tool`` (a step calls a tool nobody offered, ``delete_inventory``), ``bad_args`` (a
quantity of "five", a day that is not a weekday), ``step_fails`` (a tool fails for a passing
reason, once or until the retries run out).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

from pydantic import BaseModel, Field

from course.checks.day4.model import ScriptedAi, emulated_ai, fewer, run_learner, short
from course.checks.day4.types import MAX_ATTEMPTS, STEP_RETRIES, PlanOutcome, Tool, TransientToolError
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the planner scenarios; the visible test runs every one of them.
FAULTS = ("malformed", "unknown_tool", "bad_args", "step_fails")
ITEMS = ("widget", "gear", "bolt", "spring")


class OrderArgs(BaseModel):
    item: Literal["widget", "gear", "bolt", "spring"]
    quantity: int = Field(ge=1, le=100)


class TruckArgs(BaseModel):
    day: Literal["mon", "tue", "wed", "thu", "fri"]


class NotifyArgs(BaseModel):
    team: Literal["ops", "sales"]
    message: str = Field(min_length=1, max_length=200)


class Warehouse:
    """The checker's world: what the planner's tools did, and failures to inject."""

    def __init__(self, log: MessageLog, rt: Any, failures: dict[int, int]) -> None:
        self.log, self.rt = log, rt
        self.effects: list[tuple[str, dict[str, Any]]] = []
        self.failures = dict(failures)  # effect index -> transient failures left before it succeeds

    def _do(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        index = len(self.effects)
        if self.failures.get(index, 0) > 0:
            self.failures[index] -= 1
            self.log.record(self.rt.clock.now(), "planner", name, "tool.run", short(repr(args), 50),
                            "fault: transient failure")
            raise TransientToolError(f"{name} timed out, try again")
        self.effects.append((name, args))
        self.log.record(self.rt.clock.now(), "planner", name, "tool.run", short(repr(args), 50))
        return {"ok": True, "step": index + 1, name: args}

    def tools(self) -> list[Tool]:
        def order(item: str, quantity: int) -> dict[str, Any]:
            return self._do("order", {"item": item, "quantity": quantity})

        def reserve_truck(day: str) -> dict[str, Any]:
            return self._do("reserve_truck", {"day": day})

        def notify(team: str, message: str) -> dict[str, Any]:
            return self._do("notify", {"team": team, "message": message})

        return [Tool("order", "Order stock of an item from the supplier", OrderArgs, order),
                Tool("reserve_truck", "Book the delivery truck for a weekday", TruckArgs, reserve_truck),
                Tool("notify", "Send a message to a team", NotifyArgs, notify)]


@dataclass(frozen=True)
class Ask:
    task: str
    plan: tuple[tuple[str, Any], ...]  # the valid plan's steps (tool, args)
    bad: tuple[str, ...]  # what is wrong with each reply before the valid one ("" none)
    failures: tuple[tuple[int, int], ...] = ()  # (step index, transient failures)

    @property
    def valid_at(self) -> int | None:
        return len(self.bad) if len(self.bad) < MAX_ATTEMPTS else None

    @property
    def stops_at(self) -> int | None:
        return next((i for i, n in self.failures if n > STEP_RETRIES), None)

    def describe(self) -> str:
        fails = "".join(f", step {i + 1} fails {n}x" for i, n in self.failures)
        return f"{short(self.task, 40)!r}: replies [{', '.join([*self.bad, 'valid'][:MAX_ATTEMPTS])}]{fails}"


def _plan_json(steps: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    return {"steps": [{"tool": tool, "args": dict(args)} for tool, args in steps]}


def _damaged(ask: Ask, kind: str) -> dict[str, Any]:
    steps = [(t, dict(a)) for t, a in ask.plan]
    if kind == "unknown_tool":
        steps.insert(1, ("delete_inventory", {"item": "widget"}))
    elif kind == "bad_args":
        tool, args = steps[0]
        steps[0] = (tool, {**args, "quantity": "five"} if tool == "order" else {"day": "sunday"} if tool ==
                    "reserve_truck" else {"team": "everyone", "message": "hi"})
    return _plan_json(steps)


@dataclass(frozen=True)
class PlannerCase(Case):
    seed: int
    kind: str
    asks: tuple[Ask, ...]

    def describe(self) -> str:
        return f"{len(self.asks)} task{'s' if len(self.asks) != 1 else ''}: " + "; ".join(a.describe() for a in self.asks)

    def smaller(self) -> Any:
        return fewer(self, "asks")

    def check(self, plan_and_run: Any, log: MessageLog) -> str:
        for ask in self.asks:
            self._one(plan_and_run, ask, log)
        return f"{len(self.asks)} tasks planned and carried out"

    def _one(self, plan_and_run: Any, ask: Ask, log: MessageLog) -> None:
        rt = emulated_ai(self.seed)
        try:
            world = Warehouse(log, rt, dict(ask.failures))

            def reply(inputs: dict[str, Any], n: int) -> Any:
                if n < len(ask.bad):
                    return _damaged(ask, ask.bad[n])
                return _plan_json(ask.plan)

            faults = [b if b == "malformed" else None for b in ask.bad]
            ai = ScriptedAi(rt, log, reply, faults=faults, actor="planner")
            call = f"plan_and_run(ai, {short(ask.task, 40)!r}, tools)"
            got = run_learner(rt, lambda: plan_and_run(ai, ask.task, world.tools()))
            calls = ai.calls
        finally:
            rt.close()
        if calls > MAX_ATTEMPTS:
            raise CaseFailed(f"{call} asked for a plan {calls} times: at most MAX_ATTEMPTS={MAX_ATTEMPTS}")
        plan = [(t, dict(a)) for t, a in ask.plan]
        if ask.valid_at is None:
            if world.effects:
                raise CaseFailed(f"{call}: no plan was valid, yet the warehouse saw {world.effects[0]}: never run a "
                                 "step of a plan you refused (check every step before running any)")
            want: PlanOutcome = PlanOutcome("failed", 0, ())
        elif ask.stops_at is not None:
            k = ask.stops_at
            if world.effects != plan[:k]:
                raise CaseFailed(f"{call}: step {k + 1} failed {dict(ask.failures)[k]} times (more than STEP_RETRIES="
                                 f"{STEP_RETRIES} retries); the warehouse saw {world.effects}, expected only the steps "
                                 f"before it, once each: {plan[:k]}")
            want = PlanOutcome("failed", k, tuple(_result(i, t, a) for i, (t, a) in enumerate(plan[:k])))
        else:
            if world.effects != plan:
                extra = [e for e in world.effects if e not in plan]
                why = (f"{extra[0]} is not in the valid plan (a refused plan's step ran?)" if extra else
                       "each step of the valid plan must happen exactly once, in order")
                raise CaseFailed(f"{call}: the warehouse saw {world.effects}, expected {plan}: {why}")
            want = PlanOutcome("done", len(plan), tuple(_result(i, t, a) for i, (t, a) in enumerate(plan)))
        if got != want:
            raise CaseFailed(f"{call} returned {short(repr(got), 100)}, expected {short(repr(want), 100)}")


def _result(index: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "step": index + 1, name: args}


TASKS = (
    ("Restock 5 widgets and 3 gears, book Tuesday's truck and tell ops.",
     (("order", {"item": "widget", "quantity": 5}), ("order", {"item": "gear", "quantity": 3}),
      ("reserve_truck", {"day": "tue"}), ("notify", {"team": "ops", "message": "Widgets and gears on Tuesday's truck"}))),
    ("We are out of bolts: order 40 and let sales know.",
     (("order", {"item": "bolt", "quantity": 40}), ("notify", {"team": "sales", "message": "40 bolts ordered"}))),
    ("Book Friday's truck, order 12 springs, then notify ops.",
     (("reserve_truck", {"day": "fri"}), ("order", {"item": "spring", "quantity": 12}),
      ("notify", {"team": "ops", "message": "Springs on Friday's truck"}))),
)


def _ask(rng: Any, kind: str, recoverable: bool) -> Ask:
    task, plan = rng.choice(TASKS)
    if kind == "step_fails":
        at = rng.randrange(len(plan))
        times = rng.randint(1, STEP_RETRIES) if recoverable else STEP_RETRIES + 1
        return Ask(task, plan, (), ((at, times),))
    bad = (kind,) * (rng.randint(1, MAX_ATTEMPTS - 1) if recoverable else MAX_ATTEMPTS)
    return Ask(task, plan, bad)


def planner_case(seed: int, kind: str) -> PlannerCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day4", "planner", seed, kind)
    return PlannerCase(seed, kind, (_ask(rng, kind, True), _ask(rng, kind, False)))


class PlannerScenario(Scenario):
    default_target = "plan_and_run"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("planner" if faults is None else f"planner/{'+'.join(self.kinds)}", seed,
                         f"day4.planner_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [planner_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"tasks under {list(self.kinds)}: valid plans carried out once, refused plans never run"


def planner_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> PlannerScenario:
    """Warehouse tasks whose plans come back broken, with invented tools or bad arguments, or whose steps fail."""
    return PlannerScenario(seed, faults)


def grade_planner(plan_and_run: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return planner_scenario(seed, faults).run(plan_and_run).assert_ok()


__all__ = ["FAULTS", "PlannerCase", "PlannerScenario", "Warehouse", "grade_planner", "planner_case",
           "planner_scenario"]
