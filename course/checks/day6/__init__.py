"""Seeded scenario checks for Day 6: event-driven coordination, one module per question.

- :mod:`.replay` (the event replay question: a replayer and a live projection under duplicates, reordering, a
  partition and a crash: rebuild, snapshot plus tail, time travel);
- :mod:`.types`: the constants and helpers the exercises and the checks share.

``<name>_scenario(seed=N).run(answer)`` returns a :class:`~course.checks.harness.CheckResult`;
``grade_<name>(..., seed=N)`` raises ``AssertionError`` with its story when it fails. The
exercise notebook imports this package as ``day6``, so a reproduce line such as
``day6.replay_scenario(seed=0).run((replay, LiveBoard))`` runs as pasted there.
"""
from course.checks.day6.replay import FAULTS as REPLAY_FAULTS
from course.checks.day6.replay import ReplayScenario, grade_replay, replay_case, replay_scenario
from course.checks.day6.types import (
    BOARD_RULES,
    CURRENT_VERSIONS,
    DEFAULT_PRIORITY,
    EVENT_TYPES,
    MAX_TITLE,
    UnknownEventVersion,
    empty_board,
)
from course.checks.harness import CheckResult

__all__ = [
    "ReplayScenario", "replay_scenario", "replay_case", "grade_replay", "REPLAY_FAULTS",
    "BOARD_RULES", "CURRENT_VERSIONS", "DEFAULT_PRIORITY", "EVENT_TYPES", "MAX_TITLE", "UnknownEventVersion",
    "empty_board", "CheckResult",
]
