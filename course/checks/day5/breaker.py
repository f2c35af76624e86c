"""Question 4, the circuit breaker: its state timeline under a failure schedule, on the virtual clock.

The learner's ``CircuitBreaker(clock)`` (``clock()`` returns the virtual time) guards calls to
one downstream agent: ``allow()`` before a call, ``record_success()`` or ``record_failure()``
after it, ``state`` in between. The rules: a closed breaker opens after
:data:`~.types.FAILURE_THRESHOLD` *consecutive* failures; an open one refuses every call until
:data:`~.types.OPEN_SECONDS` have passed since it opened, then the next ``allow()`` turns it
half-open and lets exactly one trial call through (every other ``allow()`` while the trial is
out is refused); the trial's success closes it, its failure opens it again for another
:data:`~.types.OPEN_SECONDS`.

The checker drives calls at scheduled times against a downstream that is down in some windows,
with calls that take time (so several are in flight), and compares every ``allow()`` answer and
every state with the rules: the state timeline, transition by transition.

Fault kinds (:data:`FAULTS`): ``outage`` (down, then back), ``intermittent`` (failures that are
never consecutive enough), ``flapping`` (trials that fail again and again), ``concurrent`` (slow
calls: several in flight when the breaker turns half-open).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day5.types import CLOSED, FAILURE_THRESHOLD, HALF_OPEN, OPEN, OPEN_SECONDS
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the breaker scenarios; the visible test runs every one of them.
FAULTS = ("outage", "intermittent", "flapping", "concurrent")


class _Model:
    """The rules, as the checker applies them."""

    def __init__(self) -> None:
        self.state, self.failures, self.opened, self.trial = CLOSED, 0, 0.0, False

    def allow(self, now: float) -> bool:
        if self.state == OPEN and now - self.opened >= OPEN_SECONDS:
            self.state, self.trial = HALF_OPEN, False
        if self.state == CLOSED:
            return True
        if self.state == HALF_OPEN and not self.trial:
            self.trial = True
            return True
        return False

    def record(self, ok: bool, now: float) -> None:
        if ok:
            if self.state != OPEN:  # a late success from before the breaker opened changes nothing
                self.state, self.failures = CLOSED, 0
            return
        if self.state == HALF_OPEN:
            self.state, self.opened, self.trial = OPEN, now, False
        elif self.state == CLOSED:
            self.failures += 1
            if self.failures >= FAILURE_THRESHOLD:
                self.state, self.opened = OPEN, now


@dataclass(frozen=True)
class Planned:
    t: float
    duration: float

    def describe(self) -> str:
        return f"{self.t:g}s" + (f"(+{self.duration:g}s)" if self.duration else "")


@dataclass(frozen=True)
class BreakerCase(Case):
    seed: int
    kind: str
    calls: tuple[Planned, ...]
    down: tuple[tuple[float, float], ...]  # windows in which a call that *ends* there fails

    def describe(self) -> str:
        windows = ", ".join(f"{a:g}s-{b:g}s" for a, b in self.down) or "never"
        return f"downstream down {windows}; calls at {', '.join(c.describe() for c in self.calls)}"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.calls)
        return st.integers(1, n).map(lambda k: BreakerCase(self.seed, self.kind, self.calls[:k], self.down))

    def fails_at(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.down)

    def timeline(self, breaker_cls: Any) -> list[tuple[float, str]]:
        """``[(time, state)]`` of the learner's breaker at every transition (for a figure)."""
        return _drive(self, breaker_cls, MessageLog(), check=False)

    def check(self, breaker_cls: Any, log: MessageLog) -> str:
        timeline = _drive(self, breaker_cls, log, check=True)
        return f"{len(self.calls)} calls, {len(timeline) - 1} transitions as the rules say"


def _drive(case: BreakerCase, breaker_cls: Any, log: MessageLog, *, check: bool) -> list[tuple[float, str]]:
    now = [0.0]
    breaker = breaker_cls(lambda: now[0])
    model = _Model()
    timeline = [(0.0, str(breaker.state))]
    if check and breaker.state != CLOSED:
        raise CaseFailed(f"a new breaker is {breaker.state!r}, expected {CLOSED!r}")
    pending: list[tuple[float, int]] = []
    order = sorted(range(len(case.calls)), key=lambda i: case.calls[i].t)
    queue = [(case.calls[i].t, 1, i) for i in order]
    while queue or pending:
        # outcomes that are due come before a new call at the same instant
        if pending and (not queue or pending[0][0] <= queue[0][0]):
            t, i = pending.pop(0)
            now[0] = t
            ok = not case.fails_at(t)
            before = breaker.state
            (breaker.record_success if ok else breaker.record_failure)()
            model.record(ok, t)
            log.record(t, "downstream", "breaker", "call.reply" if ok else "call.error", f"call {i + 1}",
                       "" if ok else "fault: downstream down")
            _compare(check, breaker, model, t, f"after record_{'success' if ok else 'failure'}() of call {i + 1} "
                     f"(it was {before!r})", case)
        else:
            t, _, i = queue.pop(0)
            now[0] = t
            allowed = breaker.allow()
            want = model.allow(t)
            log.record(t, "client", "breaker", "allow", f"call {i + 1}", "" if allowed else "refused")
            if check and bool(allowed) != want:
                raise CaseFailed(f"at t={t:g}s allow() for call {i + 1} returned {allowed!r}, expected {want!r}: "
                                 + _rule(model, t, want))
            _compare(check, breaker, model, t, f"after allow() of call {i + 1}", case)
            if allowed:
                log.record(t, "breaker", "downstream", "call", f"call {i + 1}")
                pending.append((t + case.calls[i].duration, i))
                pending.sort()
        if str(breaker.state) != timeline[-1][1]:
            timeline.append((now[0], str(breaker.state)))
            log.record(now[0], "breaker", "breaker", f"state.{breaker.state}", "")
    return timeline


def _compare(check: bool, breaker: Any, model: _Model, t: float, when: str, case: BreakerCase) -> None:
    if check and breaker.state != model.state:
        raise CaseFailed(f"at t={t:g}s {when} the breaker is {breaker.state!r}, expected {model.state!r}: "
                         + _rule(model, t, None))


def _rule(model: _Model, t: float, allowed: bool | None) -> str:
    if model.state == OPEN:
        return (f"it opened at {model.opened:g}s and refuses calls for OPEN_SECONDS={OPEN_SECONDS:g}s, "
                f"until {model.opened + OPEN_SECONDS:g}s")
    if model.state == HALF_OPEN:
        return ("half-open lets exactly one trial call through; its success closes the breaker, its failure "
                "opens it again" if allowed is not False else "one trial call is already out: refuse the others")
    return (f"a closed breaker opens after FAILURE_THRESHOLD={FAILURE_THRESHOLD} consecutive failures "
            f"({model.failures} so far); a success resets the count")


def breaker_case(seed: int, kind: str) -> BreakerCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day5", "breaker", seed, kind)
    start = rng.randrange(3, 8) + 0.5
    if kind == "outage":
        calls = [Planned(float(t) + 0.25, 0.0) for t in range(0, 60, 2)]
        down = ((start, start + rng.randrange(15, 30)),)
    elif kind == "intermittent":
        calls = [Planned(float(t) + 0.25, 0.0) for t in range(0, 30)]
        fails = [t for t in range(0, 30) if t % 3 != 2 and rng.random() < 0.8]
        down = tuple((t + 0.25, t + 0.5) for t in fails)  # every third call succeeds: never 3 failures in a row
    elif kind == "flapping":
        calls = [Planned(float(t) + 0.25, 0.0) for t in range(0, 80, 3)]
        down = ((start, start + 45 + rng.randrange(0, 10)),)
    else:
        calls = [Planned(float(t) + 0.25, 1.5) for t in range(0, 50)]
        down = ((start, start + rng.randrange(12, 25)),)
    return BreakerCase(seed, kind, tuple(calls), down)


class BreakerScenario(Scenario):
    default_target = "CircuitBreaker"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("breaker" if faults is None else f"breaker/{'+'.join(self.kinds)}", seed,
                         f"day5.breaker_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [breaker_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"the state timeline follows the rules under {list(self.kinds)}"


def breaker_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> BreakerScenario:
    """Outages, intermittent failures, flapping recoveries and slow concurrent calls against the breaker."""
    return BreakerScenario(seed, faults)


def grade_breaker(breaker_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return breaker_scenario(seed, faults).run(breaker_cls).assert_ok()


def breaker_timeline(breaker_cls: Any, seed: int = 0, kind: str = "flapping") -> tuple[list[tuple[float, str]],
                                                                                     tuple[tuple[float, float], ...]]:
    """``(timeline, down windows)`` of ``breaker_cls`` in the ``kind`` case of ``seed`` (for ``viz.breaker_timeline``)."""
    case = breaker_case(seed, kind)
    return case.timeline(breaker_cls), case.down


__all__ = ["FAULTS", "BreakerCase", "BreakerScenario", "breaker_case", "breaker_scenario", "breaker_timeline",
           "grade_breaker"]
