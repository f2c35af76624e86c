"""A case: one concrete input and fault schedule, checked against the learner's code.

:class:`Case` is what a scenario draws and what the shrinker (:mod:`.shrink`) makes smaller;
:func:`run_case` runs one with the two grading rules of :mod:`.scenario` (a
``NotImplementedError`` propagates; any other exception from the learner's code fails the case).
"""
from __future__ import annotations

from typing import Any

from course.checks.harness.messages import MessageLog


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


__all__ = ["Case", "CaseFailed", "describe_exception", "run_case"]
