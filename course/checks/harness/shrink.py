"""Shrinking: from a failing case to the smallest case that still fails, the same every run.

A case that fails is usually bigger than the bug: sixteen documents, four workers and three
faults when one crashed worker and one document show the same mistake. :func:`smallest_failing` asks
Hypothesis to search the case's :meth:`~.scenario.Case.smaller` space (cases no bigger than
the failing one, simplest first) for the simplest case that still fails. Hypothesis runs
derandomized, without an example database, without the phases that trace or explain, with no
deadline and a fixed budget, so the same failing case and the same learner code give the same
smallest case in every run and every process. If the search finds nothing smaller (or the
learner's code behaves differently on the same input), the original case is the answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from course.checks.harness.messages import MessageLog
from course.checks.harness.cases import Case, run_case

#: Candidate cases Hypothesis may try while looking for a failing one (then it shrinks it).
SHRINK_EXAMPLES = 150


@dataclass(frozen=True)
class Shrunk:
    """The smallest failing case found, why it fails, and the messages it exchanged."""

    case: Case
    reason: str
    log: MessageLog


def _settings() -> Any:
    # Hypothesis is imported only when a case fails: it costs ~0.3 s at import, and most
    # checks (and every grading kernel with a correct answer) never shrink anything.
    from hypothesis import HealthCheck, Phase, Verbosity, settings

    return settings(database=None, derandomize=True, deadline=None, print_blob=False,
                    max_examples=SHRINK_EXAMPLES, phases=(Phase.generate, Phase.shrink),
                    suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                    report_multiple_bugs=False)


def prepare_search() -> None:
    """Run one trivial search, so Hypothesis sets up its per-thread random generator now.

    The first search in a thread registers that generator with a ``gc.get_referrers`` call,
    which the grading kernel's guard refuses once installed; the guard calls this first.
    """
    from hypothesis import find, strategies

    find(strategies.just(None), lambda _: True, settings=_settings())


def _size(case: Case) -> int:
    """How big a case reads to a learner: the length of its description."""
    return len(case.describe())


def smallest_failing(case: Case, target: Any) -> Shrunk:
    """The smallest case in ``case.smaller()`` that fails against ``target`` (else ``case``)."""
    original = _replay(case, target)
    space = case.smaller()
    if space is None:
        return original

    def fails(candidate: Case) -> bool:
        try:
            return run_case(candidate, target, MessageLog())[0] is not None
        except NotImplementedError:
            return False

    from hypothesis import find
    from hypothesis.errors import HypothesisException

    try:
        found = find(space, fails, settings=_settings())
    except (HypothesisException, Exception):  # noqa: BLE001 - nothing smaller fails, or the code is flaky
        return original
    smallest = _replay(found, target)
    if not smallest.reason or _size(smallest.case) > _size(case):
        return original
    return smallest


def _replay(case: Case, target: Any) -> Shrunk:
    log = MessageLog()
    try:
        reason = run_case(case, target, log)[0] or ""
    except NotImplementedError:
        reason = ""
    return Shrunk(case, reason, log)


__all__ = ["SHRINK_EXAMPLES", "Shrunk", "prepare_search", "smallest_failing"]
