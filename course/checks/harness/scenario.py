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

from course.checks.harness.messages import MessageLog
from course.checks.harness.result import CheckResult


class CaseFailed(Exception):
    """A case failed: the message is the reason shown to the learner."""


def describe_exception(exc: BaseException) -> str:
    """``"ValueError: first line of its message"``, as a failure reason quotes it."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class Case:
    """One concrete input (and fault schedule) checked against the learner's code.

    Subclasses implement :meth:`check` and :meth:`describe`; a case that can get smaller also
    implements :meth:`smaller`, a Hypothesis strategy of cases no bigger than itself whose
    simplest example is the smallest case of that shape.
    """

    def describe(self) -> str:
        raise NotImplementedError

    def check(self, target: Any, log: MessageLog) -> str:
        """Check ``target``; return a one-line summary, or raise :class:`CaseFailed`.

        Messages the case exchanges go into ``log``.
        """
        raise NotImplementedError

    def smaller(self) -> Any:
        """A Hypothesis ``SearchStrategy`` of smaller cases, or None if this one is minimal."""
        return None


def run_case(case: Case, target: Any, log: MessageLog) -> tuple[str | None, str]:
    """``(reason it failed or None, summary if it passed)`` of ``case`` against ``target``.

    ``NotImplementedError`` propagates: the question is not attempted, not failed.
    """
    try:
        summary = case.check(target, log)
    except NotImplementedError:
        raise
    except CaseFailed as exc:
        return str(exc), ""
    except Exception as exc:  # the learner's code blew up where it should have answered
        return f"your code raised {describe_exception(exc)}", ""
    return None, summary or ""


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
        from course.checks.harness.shrink import smallest_failing

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
