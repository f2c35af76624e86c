"""Question 6, health checks and load shedding: keep answering under overload.

The learner's ``LoadShedder(capacity)`` guards a Worker's slots: ``admit(request_id, kind,
now)`` says whether a request (``kind`` "critical" or "batch") runs now or is shed (a fast
503 with ``Retry-After`` instead of a timeout), ``release(request_id, now)`` frees its slot,
``ready(now)`` is the readiness probe (``/readyz``) and ``alive(now)`` the liveness probe
(``/healthz``). A case is a seeded stream of requests on a virtual clock; the question's rule
gives exactly one right answer to every call:

- a request is *in flight* from its admission until its release, or until it has held its
  slot for :data:`~.types.REQUEST_TIMEOUT` seconds (its Worker died: the slot is reclaimed);
- a critical request is admitted iff fewer than ``capacity`` are in flight; a batch request iff
  fewer than ``int(capacity * BATCH_SHARE)`` are (batch is shed first);
- ``ready(now)`` iff a critical request would be admitted now; ``alive(now)`` always (an
  overloaded Worker is busy, not dead: failing liveness would restart it and make things worse);
- a release of a request not in flight (a duplicate, a late one) changes nothing.

Fault kinds (:data:`FAULTS`): ``overload`` (arrivals at two to four times what the slots
serve), ``stuck`` (some admitted requests never release), ``duplicate`` (releases delivered
twice), ``recovery`` (an overload, then a quiet spell in which readiness must come back).
A failing case shrinks to a shorter stream.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day7.types import BATCH_SHARE, REQUEST_TIMEOUT
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the shedding scenarios; the visible test runs every one of them.
FAULTS = ("overload", "stuck", "duplicate", "recovery")
#: Messages shown before a failure.
SHOWN = 12

# An arrival: (time, request id, kind, service seconds or None if it never releases)
Arrival = tuple[float, str, str, float | None]


@dataclass(frozen=True)
class ShedCase(Case):
    fault: str
    capacity: int
    arrivals: tuple[Arrival, ...]
    duplicate_releases: bool

    def describe(self) -> str:
        stuck = sum(1 for a in self.arrivals if a[3] is None)
        extra = (f", {stuck} never release" if stuck else "") + (", releases delivered twice" if self.duplicate_releases else "")
        return f"{self.fault}: capacity {self.capacity}, {len(self.arrivals)} requests over {self.arrivals[-1][0]:.1f} s{extra}"

    def check(self, shedder_cls: Any, log: MessageLog) -> str:
        shedder = shedder_cls(self.capacity)
        batch_limit = int(self.capacity * BATCH_SHARE)
        inflight: dict[str, float] = {}  # request id -> admitted at
        events: list[tuple[float, int, str, str]] = []  # (time, order, what, request id)
        for i, (t, rid, kind, service) in enumerate(self.arrivals):
            heapq.heappush(events, (t, i, "arrive", rid))
        info = {a[1]: a for a in self.arrivals}
        shown: list[tuple[float, str, str, str, str, str]] = []
        shed = order = 0

        def fail(reason: str) -> None:
            for entry in shown[-SHOWN:]:
                log.record(*entry)
            raise CaseFailed(reason)

        while events:
            now, _, what, rid = heapq.heappop(events)
            for other in [r for r, at in inflight.items() if now - at >= REQUEST_TIMEOUT]:
                del inflight[other]  # its Worker is gone: the slot is reclaimed
            if what == "release":
                shown.append((now, "worker", "shedder", "release", rid, ""))
                shedder.release(rid, now)
                inflight.pop(rid, None)
                continue
            _, _, kind, service = info[rid]
            limit = self.capacity if kind == "critical" else batch_limit
            want = len(inflight) < limit
            got = shedder.admit(rid, kind, now)
            shown.append((now, "client", "shedder", f"{kind}", rid, "" if got else "shed: 503"))
            if got is not want:
                fail(f"admit({rid!r}, {kind!r}, {now:.3f}) returned {got!r}, expected {want}: {len(inflight)} in "
                     f"flight, limit {limit} for {kind} (capacity {self.capacity}, requests older than "
                     f"{REQUEST_TIMEOUT:g} s no longer count)")
            ready = shedder.ready(now)
            if ready is not (len(inflight) + want < self.capacity):
                fail(f"ready({now:.3f}) returned {ready!r} with {len(inflight) + want} of {self.capacity} slots busy: "
                     f"ready means a critical request would be admitted now")
            if shedder.alive(now) is not True:
                fail(f"alive({now:.3f}) returned False under load: liveness failing restarts a Worker that is only busy")
            if not want:
                shed += 1
                continue
            inflight[rid] = now
            if service is not None:
                order += 1
                heapq.heappush(events, (now + service, len(self.arrivals) + order, "release", rid))
                if self.duplicate_releases:
                    order += 1
                    heapq.heappush(events, (now + service + 0.05, len(self.arrivals) + order, "release", rid))
        end = self.arrivals[-1][0] + 2 * REQUEST_TIMEOUT
        if self.fault == "recovery" and shedder.ready(end) is not True:
            fail(f"ready({end:g}) is still False after the overload ended and every slot was freed or reclaimed")
        return f"{shed} shed, every probe answered"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, len(self.arrivals)).map(lambda n: replace(self, arrivals=self.arrivals[:n]))


def shed_case(seed: int, kind: str) -> ShedCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day7", "shedding", seed, kind)
    capacity = rng.randint(4, 8)
    service = rng.uniform(0.5, 2.0)
    load = rng.uniform(2.0, 4.0)  # times what the slots serve
    arrivals: list[Arrival] = []
    t = 0.0
    count = 60 if kind != "recovery" else 40
    for n in range(count):
        t += rng.expovariate(load * capacity / service)
        stuck = kind == "stuck" and rng.random() < 0.15
        arrivals.append((round(t, 3), f"r{n}", rng.choice(("critical", "critical", "batch")),
                         None if stuck else round(rng.uniform(0.5, 1.5) * service, 3)))
    if kind == "stuck":  # requests keep coming after the stuck ones time out
        for n in range(count, count + 15):
            t += rng.uniform(1.0, 4.0)
            arrivals.append((round(t + (REQUEST_TIMEOUT if n == count else 0), 3), f"r{n}", "critical",
                             round(service, 3)))
            t = arrivals[-1][0]
    return ShedCase(kind, capacity, tuple(arrivals), kind == "duplicate")


class SheddingScenario(Scenario):
    default_target = "LoadShedder"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        call = f"day7.shedding_scenario(seed={seed})" if faults is None else \
            f"day7.shedding_scenario(seed={seed}, faults={list(self.kinds)!r})"
        super().__init__("shedding", seed, call)

    def cases(self) -> Sequence[Case]:
        return [shed_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"shed exactly the excess, probes right, always alive ({', '.join(self.kinds)})"


def shedding_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> SheddingScenario:
    """Seeded request streams under overload, one per fault kind."""
    return SheddingScenario(seed, faults)


def grade_shedding(shedder_cls: Any, seed: int = 0) -> CheckResult:
    return shedding_scenario(seed).run(shedder_cls).assert_ok()


__all__ = ["FAULTS", "ShedCase", "SheddingScenario", "grade_shedding", "shed_case", "shedding_scenario"]
