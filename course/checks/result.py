"""The outcome of one seeded scenario check, and the assertion message a failing test shows."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """One scenario run against a learner's code.

    ``reproduce`` is a line the learner can paste into a cell to rerun exactly this scenario;
    it names the public scenario, never the hidden test that called it.
    """

    scenario: str
    seed: int
    passed: bool
    reason: str
    reproduce: str

    def message(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return f"[{self.scenario} seed={self.seed}] {verdict}: {self.reason}\n  reproduce: {self.reproduce}"

    def assert_ok(self) -> "CheckResult":
        """Raise ``AssertionError`` carrying :meth:`message` unless the scenario passed."""
        if not self.passed:
            raise AssertionError(self.message())
        return self

    def __str__(self) -> str:
        return self.message()
