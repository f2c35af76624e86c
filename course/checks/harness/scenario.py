"""A seeded scenario: a name, a seed, the cases drawn from it, and the run that checks them.

A :class:`Scenario` draws its :class:`Case` s from its seed alone (never from the learner's
answers), checks each against the learner's code, and reports a :class:`~.result.CheckResult`.
A case checks *properties* the question states, never a hidden reference answer, and fails by
raising :class:`CaseFailed` with a reason a learner can act on. When a case fails, the
shrinker (:mod:`.shrink`) looks for the smallest case that still fails, and the report shows
that one with the messages it exchanged.

Two rules keep grading honest: a ``NotImplementedError`` from the learner's code is never
caught (so the grader can tell "not attempted" from "wrong"), and any other exception the
learner's code raises fails the case with "your code raised ...".

``partial_credit``: when True, every case runs and ``cases_passed / cases_total`` is the
credit; when False (the default, and Day 1's contract), the run stops at the first failing
case, since later cases can only cost time.
"""
from __future__ import annotations

from typing import Any, Sequence

from course.checks.harness.cases import Case, CaseFailed, describe_exception, run_case
from course.checks.harness.messages import MessageLog
from course.checks.harness.result import CheckResult
from course.checks.harness.shrink import smallest_failing


class Scenario:
    """Cases drawn from ``seed``, checked against a learner's code by :meth:`run`.

    ``reproduce_call`` is the call that rebuilds this scenario in the exercise notebook, e.g.
    ``"day1.coordinator_scenario(seed=7)"``; the report appends ``.run(<target name>)``.
    """

    partial_credit = False
    #: What the learner's code is called when it has no ``__name__``.
    default_target = "answer"

    def __init__(self, name: str, seed: int, reproduce_call: str) -> None:
        self.name = name
        self.seed = seed
        self.reproduce_call = reproduce_call

    def cases(self) -> Sequence[Case]:
        """Every case of this scenario, drawn from the seed (same seed, same cases)."""
        raise NotImplementedError

    def summary(self, cases: Sequence[Case], last: str) -> str:
        """What a passing run says (``last`` is the last case's own summary)."""
        return f"{len(cases)} cases passed"

    def run(self, target: Any) -> CheckResult:
        cases = list(self.cases())
        reproduce = f"{self.reproduce_call}.run({getattr(target, '__name__', self.default_target)})"
        passed, failure, last = 0, None, ""
        for case in cases:
            reason, summary = run_case(case, target, MessageLog())
            if reason is None:
                passed, last = passed + 1, summary
                continue
            failure = failure or (case, reason)
            if not self.partial_credit:
                break
        if failure is None:
            return CheckResult(self.name, self.seed, True, self.summary(cases, last), reproduce,
                               cases_passed=passed, cases_total=len(cases))
        case, reason = failure
        smallest = smallest_failing(case, target)
        return CheckResult(self.name, self.seed, False, reason, reproduce,
                           smallest_case=smallest.case.describe(), smallest_reason=smallest.reason,
                           message_log=smallest.log.text(), diagram=smallest.log.arrows(),
                           cases_passed=passed, cases_total=len(cases))


__all__ = ["Case", "CaseFailed", "Scenario", "describe_exception", "run_case"]
