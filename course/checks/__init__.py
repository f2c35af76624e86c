"""Scenario checkers that the exercise notebooks' visible and hidden tests call.

Every check is seeded and deterministic: ``<name>_scenario(seed=N).run(thing)`` returns a
:class:`~course.checks.result.CheckResult` (scenario, seed, passed, reason, how to reproduce),
and ``grade_<name>(thing, seed=N)`` raises ``AssertionError`` with that story when it fails.
A ``NotImplementedError`` from the learner's code is never caught, so the grader can tell
"not attempted" from "wrong".
"""
from course.checks.result import CheckResult

__all__ = ["CheckResult"]
