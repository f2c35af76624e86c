"""Question 3, an alert rule: fires on every incident, never on a quiet stream.

The learner's ``ErrorRateAlert()`` is fed one metric sample a minute, ``observe(t, requests,
errors)``, and answers whether the alert fires now. The rule (given in the question, its
constants in :mod:`.types`): the samples of the last :data:`~.types.WINDOW_SECONDS` hold at
least :data:`~.types.MIN_REQUESTS` requests, more than :data:`~.types.ERROR_RATIO_THRESHOLD` of
them failed, and that has been so at every sample for at least :data:`~.types.FOR_SECONDS`.
A case is one seeded hour of samples; the properties, checked at every sample:

- an **incident** stream: the alert never fires before the incident starts, and fires at
  least once while it lasts;
- a **quiet** stream: the alert never fires.

Fault kinds (:data:`FAULTS`): ``step`` (the error ratio jumps to 10-40 %), ``ramp`` (it climbs
for ten minutes), ``blip`` (three bad minutes that the window absorbs: a rule on the
last sample alone pages someone for nothing), ``low-traffic`` (a quiet night, where two errors
out of ten requests are no incident). A quiet stream that fails shrinks to its shortest prefix.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day7.types import ERROR_RATIO_THRESHOLD, FOR_SECONDS, MIN_REQUESTS, WINDOW_SECONDS
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the alert scenarios; the visible test runs every one of them.
FAULTS = ("step", "ramp", "blip", "low-traffic")
#: Seconds between samples, and samples per stream.
STEP, SAMPLES = 60.0, 60
#: Samples shown before a failure.
SHOWN = 8

Sample = tuple[float, int, int]


@dataclass(frozen=True)
class AlertCase(Case):
    fault: str
    samples: tuple[Sample, ...]
    incident: tuple[float, float] | None  # [start, end) of the incident, None for a quiet stream

    def describe(self) -> str:
        what = (f"incident from t={self.incident[0]:g}s to t={self.incident[1]:g}s" if self.incident
                else "a quiet stream (no incident)")
        return f"{self.fault}: {len(self.samples)} samples a minute apart, {what}"

    def check(self, alert_cls: Any, log: MessageLog) -> str:
        alert = alert_cls()
        fired_at = None
        for i, (t, requests, errors) in enumerate(self.samples):
            firing = alert.observe(t, requests, errors)
            if not isinstance(firing, bool):
                raise CaseFailed(f"observe({t:g}, {requests}, {errors}) returned {firing!r}; expected True or False")
            if firing and (self.incident is None or t < self.incident[0]):
                self._show(log, i, "alert.fire")
                when = "on a quiet stream" if self.incident is None else f"before the incident (it starts at t={self.incident[0]:g}s)"
                ratio = _window(self.samples[:i + 1])
                raise CaseFailed(f"the alert fired at t={t:g}s {when}: the last {WINDOW_SECONDS:g} s held "
                                 f"{ratio[0]} requests, {ratio[1]} errors; page someone only for a sustained error "
                                 f"ratio above {ERROR_RATIO_THRESHOLD:.0%} over at least {MIN_REQUESTS} requests")
            if firing and fired_at is None:
                fired_at = t
        if self.incident is not None and fired_at is None:
            end = next(i for i, s in enumerate(self.samples) if s[0] >= self.incident[1])
            self._show(log, end - 1, "alert.silent")
            raise CaseFailed(f"the incident from t={self.incident[0]:g}s to t={self.incident[1]:g}s never fired the alert")
        return f"fired at t={fired_at:g}s" if fired_at is not None else "stayed quiet"

    def _show(self, log: MessageLog, last: int, what: str) -> None:
        for t, requests, errors in self.samples[max(0, last - SHOWN + 1):last + 1]:
            fate = "incident" if self.incident and self.incident[0] <= t < self.incident[1] else ""
            log.record(t, "metrics", "alert", "sample", f"requests={requests} errors={errors}", fate)
        log.record(self.samples[last][0], "alert", "oncall", what, self.fault)

    def smaller(self) -> Any:
        if self.incident is not None:
            return None
        from hypothesis import strategies as st

        return st.integers(1, len(self.samples)).map(lambda n: replace(self, samples=self.samples[:n]))


def _window(samples: Sequence[Sample]) -> tuple[int, int]:
    t = samples[-1][0]
    inside = [s for s in samples if t - WINDOW_SECONDS < s[0] <= t]
    return sum(s[1] for s in inside), sum(s[2] for s in inside)


def _bad(samples: Sequence[Sample]) -> bool:
    requests, errors = _window(samples)
    return requests >= MIN_REQUESTS and errors > ERROR_RATIO_THRESHOLD * requests


def _fires(samples: Sequence[Sample]) -> list[float]:
    """When the question's rule fires (used only to make sure a drawn stream is fair)."""
    since, out = None, []
    for i in range(len(samples)):
        if not _bad(samples[:i + 1]):
            since = None
            continue
        since = samples[i][0] if since is None else since
        if samples[i][0] - since >= FOR_SECONDS:
            out.append(samples[i][0])
    return out


def alert_case(seed: int, kind: str) -> AlertCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day7", "alert", seed, kind)
    traffic = rng.randint(300, 900) if kind != "low-traffic" else rng.randint(4, 12)
    base = rng.uniform(0.0, 0.012)
    ratios = [base] * SAMPLES
    incident = None
    if kind in ("step", "ramp"):
        start, length = rng.randint(15, 30), rng.randint(14, 20)
        peak = rng.uniform(0.10, 0.40) if kind == "step" else rng.uniform(0.2, 0.3)
        for m in range(start, start + length):
            ratios[m] = peak if kind == "step" else base + (peak - base) * min(1.0, (m - start + 1) / 10)
        incident = (start * STEP, (start + length) * STEP)
    elif kind == "blip":
        for first in rng.sample(range(5, SAMPLES - 5, 10), 3):
            for m in range(first, first + 3):
                ratios[m] = rng.uniform(0.07, 0.12)
    samples: list[Sample] = []
    for m in range(SAMPLES):
        requests = max(1, round(traffic * rng.uniform(0.95, 1.05)))
        if kind == "low-traffic":
            errors = rng.choice((0, 0, 1, 2)) if m % 7 == 3 else 0
        else:
            errors = min(requests, round(requests * ratios[m] * rng.uniform(0.9, 1.1)))
        samples.append((m * STEP, requests, errors))
    if kind == "blip":  # the window must absorb every blip: lower it until the rule stays quiet
        while _fires(samples) or any(_bad(samples[:i + 1]) for i in range(len(samples))):
            samples = [(t, r, e if e <= r * ERROR_RATIO_THRESHOLD else int(e * 0.8)) for t, r, e in samples]
    if incident is not None:
        fired = _fires(samples)
        assert fired and incident[0] <= fired[0] < incident[1], (seed, kind)  # a fair stream: the rule detects it
    return AlertCase(kind, tuple(samples), incident)


class AlertScenario(Scenario):
    default_target = "ErrorRateAlert"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        call = f"day7.alert_scenario(seed={seed})" if faults is None else \
            f"day7.alert_scenario(seed={seed}, faults={list(self.kinds)!r})"
        super().__init__("alert", seed, call)

    def cases(self) -> Sequence[Case]:
        return [alert_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"fired on every incident, never on a quiet stream ({', '.join(self.kinds)})"


def alert_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> AlertScenario:
    """Seeded metric streams, one per fault kind."""
    return AlertScenario(seed, faults)


def grade_alert(alert_cls: Any, seed: int = 0) -> CheckResult:
    return alert_scenario(seed).run(alert_cls).assert_ok()


__all__ = ["FAULTS", "AlertCase", "AlertScenario", "alert_case", "alert_scenario", "grade_alert"]
