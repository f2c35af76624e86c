"""Scenario checkers that the exercise notebooks' visible and hidden tests call.

``harness/`` is the framework (scenarios, seeded streams, the virtual-clock runner, emulated
peers with faults, shrinking, the result a learner sees); each day (``day1/``...) and, later,
each project (``project1/``...) is a package of checks built on it, one module per question.
Hidden tests reach them through :mod:`course.checks.sealed`.

Every check is seeded and deterministic: ``<name>_scenario(seed=N).run(thing)`` returns a
:class:`~course.checks.harness.CheckResult` (scenario, seed, passed, reason, the smallest
failing case, its messages, how to reproduce it), and ``grade_<name>(thing, seed=N)`` raises
``AssertionError`` with that story when it fails. A ``NotImplementedError`` from the learner's
code is never caught, so the grader can tell "not attempted" from "wrong".
"""
from course.checks.harness.result import CheckResult

__all__ = ["CheckResult"]
