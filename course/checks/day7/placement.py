"""Question 4, location hints: place an object so its traffic meets a p99 latency budget.

The learner's ``choose_location(traffic, budget_ms)`` gets the share of an object's requests
from each caller region (``{"weur": 0.6, "apac": 0.4}``) and answers the location hint (one of
:data:`~.types.REGIONS`) whose p99 latency meets ``budget_ms``, or ``None`` when no region can.
A request from region ``r`` to an object in ``loc`` takes :func:`~.types.round_trip_ms` (the
region latency model, ``ONE_WAY_LATENCY_MS``, there and back, plus service time); the p99 of a
location is the smallest latency ``L`` such that at least 99 % of the traffic takes ``<= L``.

The checker computes every region's p99 and checks the answer's: within budget if any region
is, ``None`` if none is. Fault kinds (:data:`FAULTS`): ``tail`` (almost all traffic in one
region, a little over 1 % far away: the busiest region, and the one with the lowest mean,
miss the p99), ``spread`` (four to six regions), ``exact`` (the budget equals the best p99:
"meets" includes equal), ``infeasible`` (no region meets it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from course.checks.day7.types import REGIONS, round_trip_ms
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the placement scenarios; the visible test runs every one of them.
FAULTS = ("tail", "spread", "exact", "infeasible")


def p99_ms(traffic: Mapping[str, float], location: str) -> float:
    """The p99 latency of ``traffic`` (shares by caller region) to an object in ``location``."""
    total = sum(traffic.values())
    done = 0.0
    for latency, share in sorted((round_trip_ms(r, location), s) for r, s in traffic.items()):
        done += share
        if done >= 0.99 * total - 1e-9:
            return latency
    return max(round_trip_ms(r, location) for r in traffic)


@dataclass(frozen=True)
class PlacementCase(Case):
    fault: str
    traffic: tuple[tuple[str, float], ...]
    budget_ms: float

    def describe(self) -> str:
        shares = ", ".join(f"{r} {s:.1%}" for r, s in self.traffic)
        return f"{self.fault}: traffic {{{shares}}}, p99 budget {self.budget_ms:g} ms"

    def check(self, choose: Any, log: MessageLog) -> str:
        traffic = dict(self.traffic)
        p99 = {loc: p99_ms(traffic, loc) for loc in REGIONS}
        best = min(p99, key=p99.__getitem__)
        got = choose(dict(traffic), self.budget_ms)
        for t, (region, share) in enumerate(self.traffic):
            if got in REGIONS:
                log.record(t * 0.001, f"clients-{region}", f"object@{got}", "request",
                           f"{share:.1%} of traffic, {round_trip_ms(region, got):g} ms")
        if got is not None and got not in REGIONS:
            raise CaseFailed(f"you chose {got!r}, which is not a location hint; expected one of {REGIONS} or None")
        if p99[best] > self.budget_ms:
            if got is not None:
                raise CaseFailed(f"you chose {got!r} (p99 {p99[got]:g} ms) but no region meets {self.budget_ms:g} ms "
                                 f"(the best, {best!r}, has p99 {p99[best]:g} ms): answer None")
            return "no region meets the budget: None"
        if got is None:
            raise CaseFailed(f"you answered None, but {best!r} meets the budget: p99 {p99[best]:g} ms <= {self.budget_ms:g} ms")
        if p99[got] > self.budget_ms:
            raise CaseFailed(f"you chose {got!r}, whose p99 is {p99[got]:g} ms, over the {self.budget_ms:g} ms budget; "
                             f"{best!r} has p99 {p99[best]:g} ms (the p99 counts the farthest 1 % of traffic)")
        return f"{got}: p99 {p99[got]:g} ms"


def placement_case(seed: int, kind: str) -> PlacementCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day7", "placement", seed, kind)
    while True:
        if kind == "tail":
            near, far = rng.sample(REGIONS, 2)
            tail = round(rng.uniform(0.012, 0.03), 3)
            traffic = {near: 1 - tail, far: tail}
        else:
            regions = rng.sample(REGIONS, rng.randint(4, 6) if kind != "exact" else rng.randint(2, 4))
            weights = [rng.uniform(0.05, 1) for _ in regions]
            traffic = {r: round(w / sum(weights), 3) for r, w in zip(regions, weights)}
        p99 = sorted(p99_ms(traffic, loc) for loc in REGIONS)
        best, second = p99[0], next((p for p in p99 if p > p99[0]), p99[0] + 10)
        if kind == "tail":
            near_p99 = p99_ms(traffic, near)
            if near_p99 - best < 10:
                continue  # the busiest region must miss a budget some other region meets
            budget = best + rng.randint(0, int(near_p99 - best) - 5)
        elif kind == "spread":
            budget = best + rng.randint(0, max(0, int(second - best) - 1))
        elif kind == "exact":
            budget = best
        else:
            budget = best - rng.randint(1, 20)
        return PlacementCase(kind, tuple(sorted(traffic.items(), key=lambda kv: -kv[1])), float(budget))


class PlacementScenario(Scenario):
    default_target = "choose_location"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        call = f"day7.placement_scenario(seed={seed})" if faults is None else \
            f"day7.placement_scenario(seed={seed}, faults={list(self.kinds)!r})"
        super().__init__("placement", seed, call)

    def cases(self) -> Sequence[Case]:
        return [placement_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"every budget met or honestly refused ({', '.join(self.kinds)})"


def placement_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> PlacementScenario:
    """Seeded traffic mixes and budgets, one per fault kind."""
    return PlacementScenario(seed, faults)


def grade_placement(choose: Any, seed: int = 0) -> CheckResult:
    return placement_scenario(seed).run(choose).assert_ok()


__all__ = ["FAULTS", "PlacementCase", "PlacementScenario", "grade_placement", "p99_ms", "placement_case",
           "placement_scenario"]
