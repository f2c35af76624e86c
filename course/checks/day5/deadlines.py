"""Question 6, deadline propagation: no agent keeps working on a request whose deadline has passed.

The learner's ``run_chain(task, deadline, hops, call, now)`` is an agent in the middle of a
chain: it calls each downstream agent in ``hops`` in turn (``await call(hop, task, deadline)``),
passing the *same* absolute ``deadline`` it was given (never a later one), never starting a
call once the deadline has passed, and never waiting for one past it (the call is cancelled at
the deadline, so the downstream agent stops too). It answers ``ChainResult(200, results)`` or,
when the deadline cuts the chain, ``ChainResult(504, the results it got)`` by the deadline.

The checker's downstream agents run on the virtual clock and report what they saw: when they
were called, with which deadline, and whether they were still working after it passed.

Fault kinds (:data:`FAULTS`): ``ample`` (every hop fits), ``tight`` (the deadline falls inside
a hop), ``slow_hop`` (one hop would take minutes), ``expired`` (the request arrives with its
deadline already gone).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day5.types import ChainResult
from course.checks.harness import (Case, CaseFailed, CheckResult, MessageLog, Scenario, describe_exception,
                                   random_stream, run_on_virtual_clock)

#: The fault kinds of the deadline scenarios; the visible test runs every one of them.
FAULTS = ("ample", "tight", "slow_hop", "expired")
#: Virtual seconds by which an answer may come after the deadline (scheduling, not work).
TOLERANCE = 0.001


@dataclass(frozen=True)
class DeadlineCase(Case):
    seed: int
    kind: str
    arrives: float
    deadline: float
    hops: tuple[tuple[str, float], ...]  # (agent, seconds of work)

    def describe(self) -> str:
        hops = ", ".join(f"{h} {d:g}s" for h, d in self.hops)
        return f"arrives at {self.arrives:g}s with deadline {self.deadline:g}s; hops: {hops}"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.hops)
        return st.integers(1, n).map(lambda k: DeadlineCase(self.seed, self.kind, self.arrives, self.deadline,
                                                            self.hops[:k]))

    def check(self, run_chain: Any, log: MessageLog) -> str:
        try:
            return run_on_virtual_clock(lambda: self._run(run_chain, log), deadline=3600, real_timeout=30)[0]
        except (CaseFailed, NotImplementedError):
            raise
        except Exception as exc:
            if type(exc).__name__ in ("VirtualDeadlineExceeded", "RealTimeExceeded"):
                raise CaseFailed(f"run_chain {exc}") from None
            raise

    async def _run(self, run_chain: Any, log: MessageLog) -> str:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.arrives)
        late: list[str] = []
        done: list[str] = []
        work = dict(self.hops)

        async def call(hop: str, task: Any, deadline: Any) -> str:
            t = loop.time()
            log.record(t, "agent", hop, "call", f"deadline={deadline}")
            if hop not in work:
                raise CaseFailed(f"call() was asked for {hop!r}, which is not one of the hops {list(work)}")
            if deadline != self.deadline:
                raise CaseFailed(f"at t={t:g}s {hop} was called with deadline {deadline!r}, expected {self.deadline:g}: "
                                 "pass the deadline you were given, unchanged (never a later one, never a fresh timeout)")
            if t >= self.deadline:
                late.append(f"{hop} was called at t={t:g}s, after the deadline {self.deadline:g}s had passed")
            try:
                await asyncio.sleep(work[hop])
            except asyncio.CancelledError:
                log.record(loop.time(), hop, "agent", "canceled", "stopped working", "fault: deadline")
                raise
            if loop.time() > self.deadline + TOLERANCE:
                late.append(f"{hop} kept working until t={loop.time():g}s, after the deadline {self.deadline:g}s: "
                            "the call was not cancelled when the deadline passed")
            done.append(hop)
            log.record(loop.time(), hop, "agent", "call.reply", f"{hop}:{task}")
            return f"{hop}:{task}"

        log.record(loop.time(), "caller", "agent", "request", f"deadline={self.deadline:g}")
        got = await run_chain("t1", self.deadline, [h for h, _ in self.hops], call, loop.time)
        answered = loop.time()
        log.record(answered, "agent", "caller", "request.reply", repr(got))
        await asyncio.sleep(max([d for _, d in self.hops] + [0]) + 1)  # anything left running shows itself now
        if late:
            raise CaseFailed(late[0])
        if answered > max(self.deadline, self.arrives) + TOLERANCE:
            raise CaseFailed(f"run_chain answered at t={answered:g}s, after the deadline {self.deadline:g}s: "
                             "stop waiting when the deadline passes and answer 504")
        fits, t = [], self.arrives
        for hop, d in self.hops:
            if t + d > self.deadline or t >= self.deadline:
                break
            fits.append(f"{hop}:t1")
            t += d
        want = ChainResult(200 if len(fits) == len(self.hops) else 504, tuple(fits))
        if not isinstance(got, ChainResult) or got.status != want.status or tuple(got.results) != want.results:
            shown = describe_exception(got) if isinstance(got, Exception) else repr(got)
            raise CaseFailed(f"run_chain returned {shown}, expected {want!r}"
                             + ("" if want.status == 200 else ": the deadline cut the chain, so 504 with the results "
                                "of the hops that finished in time"))
        return f"answered {want.status} by the deadline"


def deadline_case(seed: int, kind: str) -> DeadlineCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day5", "deadlines", seed, kind)
    names = [f"{n}-agent" for n in rng.sample(["data", "analysis", "notify", "search", "rank"], 3)]
    hops = tuple((n, float(rng.randint(1, 4))) for n in names)
    total = sum(d for _, d in hops)
    arrives = float(rng.randint(1, 5))
    if kind == "ample":
        deadline = arrives + total + rng.randint(2, 10)
    elif kind == "tight":
        deadline = arrives + hops[0][1] + hops[1][1] / 2
    elif kind == "slow_hop":
        hops = (hops[0], (hops[1][0], 600.0), hops[2])
        deadline = arrives + hops[0][1] + 5
    else:
        deadline = arrives - rng.randint(1, 3)
    return DeadlineCase(seed, kind, arrives, float(deadline), hops)


class DeadlineScenario(Scenario):
    default_target = "run_chain"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("deadlines" if faults is None else f"deadlines/{'+'.join(self.kinds)}", seed,
                         f"day5.deadline_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [deadline_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"no agent worked past the deadline under {list(self.kinds)}"


def deadline_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> DeadlineScenario:
    """Ample, tight, slow and already-expired deadlines along a chain of agents."""
    return DeadlineScenario(seed, faults)


def grade_deadlines(run_chain: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return deadline_scenario(seed, faults).run(run_chain).assert_ok()


__all__ = ["FAULTS", "DeadlineCase", "DeadlineScenario", "deadline_case", "deadline_scenario", "grade_deadlines"]
