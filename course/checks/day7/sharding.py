"""Question 5, a sharded hot counter: no object over its limit, and the total exact.

The learner's ``ShardedCounter(peak_rps)`` plays the router and its shards (sans-I/O: each
shard is the state one Durable Object would keep): ``shard_count()`` shards, ``route(
request_id)`` the shard an increment goes to, ``apply(shard, request_id)`` what that shard
does with it, ``total()`` the count. A case is a seeded load on a virtual clock: increments
arrive at up to ``peak_rps`` per second; the checker routes each delivery, applies it to the
shard the router chose, and counts every shard's requests in every second. The properties:

- no shard ever receives more than :data:`~.types.PER_OBJECT_LIMIT` requests in one second,
  and there are at most twice the planned shards (``peak_rps / (PER_OBJECT_LIMIT *
  TARGET_UTILISATION)``, rounded up): sharding is planned, not guessed;
- ``total()`` equals the number of distinct increments, exactly, whatever was redelivered.

Fault kinds (:data:`FAULTS`): ``burst`` (the load jumps to its peak), ``retry`` (some increments
are delivered again: at-least-once), ``sequential`` (request ids that differ only in their last
digits). A failing case shrinks to fewer seconds of load.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day7.types import PER_OBJECT_LIMIT, TARGET_UTILISATION
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the sharding scenarios; the visible test runs every one of them.
FAULTS = ("burst", "retry", "sequential")
#: The load's shape: the share of the peak in each second.
SHAPE = (0.4, 1.0, 1.0, 0.7)


def planned_shards(peak_rps: float) -> int:
    return math.ceil(peak_rps / (PER_OBJECT_LIMIT * TARGET_UTILISATION))


@dataclass(frozen=True)
class ShardCase(Case):
    fault: str
    peak_rps: int
    seconds: int
    retry_share: float
    id_seed: int

    def describe(self) -> str:
        retry = f", {self.retry_share:.0%} delivered twice" if self.retry_share else ""
        return f"{self.fault}: peak {self.peak_rps} req/s, {self.seconds} s of load{retry}"

    def deliveries(self) -> list[tuple[float, str]]:
        rng = random_stream("day7", "sharding-load", self.id_seed)
        out, n = [], 0
        for second in range(self.seconds):
            count = round(self.peak_rps * SHAPE[second])
            for k in range(count):
                n += 1
                rid = f"order-{n:07d}" if self.fault == "sequential" else f"req-{rng.randrange(16 ** 12):012x}"
                t = second + k / count
                out.append((t, rid))
                if rng.random() < self.retry_share:
                    out.append((min(t + rng.uniform(0.05, 0.5), self.seconds - 1e-6), rid))
        return sorted(out)

    def check(self, counter_cls: Any, log: MessageLog) -> str:
        counter = counter_cls(self.peak_rps)
        shards = counter.shard_count()
        planned = planned_shards(self.peak_rps)
        if not isinstance(shards, int) or not 1 <= shards <= 2 * planned:
            raise CaseFailed(f"shard_count() is {shards!r} for {self.peak_rps} req/s; plan about {planned} "
                             f"(peak / ({PER_OBJECT_LIMIT} x {TARGET_UTILISATION})), at most {2 * planned}")
        load: dict[tuple[int, int], int] = {}
        distinct = set()
        for t, rid in self.deliveries():
            shard = counter.route(rid)
            if not isinstance(shard, int) or not 0 <= shard < shards:
                raise CaseFailed(f"route({rid!r}) returned {shard!r}; expected a shard number 0..{shards - 1}")
            counter.apply(shard, rid)
            distinct.add(rid)
            load[(int(t), shard)] = load.get((int(t), shard), 0) + 1
        (second, shard), worst = max(load.items(), key=lambda kv: kv[1])
        for s in range(shards):
            n = load.get((second, s), 0)
            log.record(second + 1.0, "router", f"shard-{s}", "increments", f"{n} in second {second}",
                       "over the limit" if n > PER_OBJECT_LIMIT else "")
        if worst > PER_OBJECT_LIMIT:
            raise CaseFailed(f"shard {shard} received {worst} requests in second {second}, over the "
                             f"~{PER_OBJECT_LIMIT} req/s one object serves ({shards} shards for {self.peak_rps} req/s)")
        total = counter.total()
        log.record(self.seconds + 0.5, "client", "router", "total", f"{total}")
        if total != len(distinct):
            raise CaseFailed(f"total() is {total}, but {len(distinct)} distinct increments were made"
                             + (" (some were delivered twice)" if self.retry_share else ""))
        return f"{shards} shards, busiest {worst} req/s, total {total}"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, self.seconds).map(lambda n: replace(self, seconds=n))


def shard_case(seed: int, kind: str) -> ShardCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day7", "sharding", seed, kind)
    peak = rng.randint(3, 5) * PER_OBJECT_LIMIT - rng.randrange(0, 50, 10)  # just under a whole number of objects
    retry = rng.uniform(0.05, 0.1) if kind == "retry" else 0.0
    return ShardCase(kind, peak, len(SHAPE), round(retry, 3), rng.randrange(10 ** 6))


class ShardingScenario(Scenario):
    default_target = "ShardedCounter"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        call = f"day7.sharding_scenario(seed={seed})" if faults is None else \
            f"day7.sharding_scenario(seed={seed}, faults={list(self.kinds)!r})"
        super().__init__("sharding", seed, call)

    def cases(self) -> Sequence[Case]:
        return [shard_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"every shard under {PER_OBJECT_LIMIT} req/s, exact totals ({', '.join(self.kinds)})"


def sharding_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> ShardingScenario:
    """Seeded loads on a hot counter, one per fault kind."""
    return ShardingScenario(seed, faults)


def grade_sharding(counter_cls: Any, seed: int = 0) -> CheckResult:
    return sharding_scenario(seed).run(counter_cls).assert_ok()


__all__ = ["FAULTS", "ShardCase", "ShardingScenario", "grade_sharding", "planned_shards", "shard_case",
           "sharding_scenario"]
