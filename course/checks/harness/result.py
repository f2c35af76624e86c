"""What a learner sees of one scenario: the verdict, the smallest failing case, the messages.

A :class:`CheckResult` is plain data (frozen, comparable), so "same seed, same result" is an
equality a test can assert. :meth:`CheckResult.message` is the text a failing test shows and
the grader records: the scenario and seed, why it failed, the smallest failing case the
shrinker found, the messages exchanged in that case, and a line that reruns the scenario when
pasted into the exercise notebook. It never contains the hidden test's code.
"""
from __future__ import annotations

from dataclasses import dataclass

from course.checks.harness.messages import Arrow


@dataclass(frozen=True)
class CheckResult:
    """One scenario run against a learner's code.

    ``reproduce`` is a line the learner can paste into a cell of the exercise notebook (after
    its import cell) to rerun exactly this scenario; it names the public scenario, never the
    hidden test that called it. ``smallest_case`` and ``message_log`` describe the smallest
    failing case (empty when the scenario passed), ``diagram`` is that case's messages as
    sequence-diagram arrows, and ``cases_passed / cases_total`` is the partial credit.
    """

    scenario: str
    seed: int
    passed: bool
    reason: str
    reproduce: str
    smallest_case: str = ""
    smallest_reason: str = ""
    message_log: str = ""
    diagram: tuple[Arrow, ...] = ()
    cases_passed: int = 0
    cases_total: int = 0

    @property
    def credit(self) -> float:
        """The share of this scenario's cases that passed (1.0 for a scenario without cases that passed)."""
        if self.cases_total == 0:
            return 1.0 if self.passed else 0.0
        return self.cases_passed / self.cases_total

    def message(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"[{self.scenario} seed={self.seed}] {verdict}: {self.reason}"]
        if self.smallest_case:
            lines.append(f"  smallest failing case: {self.smallest_case}")
            if self.smallest_reason and self.smallest_reason != self.reason:
                lines.append(f"    which fails with: {self.smallest_reason}")
        if self.message_log:
            lines += ["  " + line for line in self.message_log.splitlines()]
        lines.append(f"  reproduce: {self.reproduce}")
        return "\n".join(lines)

    def assert_ok(self) -> "CheckResult":
        """Raise ``AssertionError`` carrying :meth:`message` unless the scenario passed."""
        if not self.passed:
            raise AssertionError(self.message())
        return self

    def __str__(self) -> str:
        return self.message()


__all__ = ["CheckResult"]
