"""Faults for Workflows: make step attempts fail or time out, crash the engine at a step boundary.

Rules are matched per step attempt (``fail``, ``timeout``) or per step boundary (``crash``:
``"before"`` a step's first attempt starts, ``"during"`` an attempt, or ``"after"`` its result
is stored), optionally narrowed to one Workflow, one instance and one step name. A rule fires
``times`` times (None: every time) with probability ``rate``, drawn from the runtime's seeded
stream ``workflows.faults``, so the same seed injects the same faults. Every injected fault is
traced as ``workflow_fault``::

    wf = workflows(rt)
    wf.faults.fail(step="charge card", times=2)          # two failed attempts, then real ones
    wf.faults.timeout(step="call model")                  # one attempt times out
    wf.faults.crash(step="ship", when="after")            # the engine dies once "ship" is stored
    wf.faults.fail(rate=0.2, times=None)                  # every attempt fails with p = 0.2
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Where a crash may happen relative to one step.
CRASH_POINTS = ("before", "during", "after")


@dataclass
class FaultRule:
    kind: str  # "fail", "timeout" or "crash"
    step: str | None
    when: str | None
    workflow: str | None
    instance: str | None
    times: int | None
    rate: float
    message: str
    fired: int = 0

    def matches(self, kind: str, workflow: str, instance: str, step: str, when: str | None) -> bool:
        return (self.kind == kind and (self.times is None or self.fired < self.times)
                and self.step in (None, step) and self.workflow in (None, workflow)
                and self.instance in (None, instance) and (self.when is None or self.when == when))


class WorkflowFaults:
    """The fault rules of one runtime's Workflows (``workflows(rt).faults``)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.rules: list[FaultRule] = []
        self._rng = runtime.rng("workflows.faults")

    def _add(self, kind: str, step: str | None, when: str | None, workflow: str | None, instance: str | None,
             times: int | None, rate: float, message: str) -> FaultRule:
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError(f"times must be a positive int or None (every time), got {times!r}")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 < rate <= 1.0:
            raise ValueError(f"rate must be a probability in (0, 1], got {rate!r}")
        rule = FaultRule(kind, step, when, workflow, instance, times, float(rate), message)
        self.rules.append(rule)
        self.runtime.trace.record("fault", fault=f"workflow_{kind}", step=step, when=when, workflow=workflow,
                                  instance=instance, times=times, rate=rate)
        return rule

    def fail(self, step: str | None = None, *, times: int | None = 1, rate: float = 1.0, workflow: str | None = None,
             instance: str | None = None, message: str = "injected step failure") -> FaultRule:
        """Attempts of ``step`` (any step: None) raise ``Error(message)`` instead of running."""
        return self._add("fail", step, None, workflow, instance, times, rate, message)

    def timeout(self, step: str | None = None, *, times: int | None = 1, rate: float = 1.0,
                workflow: str | None = None, instance: str | None = None) -> FaultRule:
        """Attempts of ``step`` time out at once (``WorkflowTimeoutError``), without running."""
        return self._add("timeout", step, None, workflow, instance, times, rate, "")

    def crash(self, step: str | None = None, *, when: str = "after", times: int | None = 1, rate: float = 1.0,
              workflow: str | None = None, instance: str | None = None) -> FaultRule:
        """The engine crashes at a boundary of ``step``: ``when`` is "before", "during" or "after".

        The instance keeps what was stored and resumes at once (a new engine replays ``run``); a
        crash "during" an attempt loses that attempt, which then runs again.
        """
        if when not in CRASH_POINTS:
            raise ValueError(f"when must be one of {', '.join(CRASH_POINTS)}, got {when!r}")
        return self._add("crash", step, when, workflow, instance, times, rate, "")

    def clear(self) -> None:
        self.rules.clear()

    def take(self, kind: str, workflow: str, instance: str, step: str, when: str | None = None) -> FaultRule | None:
        """The first rule that fires now for this attempt or boundary (counted), or None."""
        for rule in self.rules:
            if rule.matches(kind, workflow, instance, step, when):
                if rule.rate < 1.0 and self._rng.random() >= rule.rate:
                    continue
                rule.fired += 1
                self.runtime.trace.record("workflow_fault", fault=kind, workflow=workflow, instance=instance,
                                          step=step, when=when)
                return rule
        return None
