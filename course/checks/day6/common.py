"""What Day 6's scenario modules share: a scenario of one case per fault kind, and short JSON text.

:class:`KindScenario` draws one case per fault kind from its seed (the visible seed runs every
kind the hidden seeds run) with partial credit per kind, and a reproduce line
``day6.<name>_scenario(seed=N[, faults=[...]])`` that runs as pasted into the exercise notebook.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Sequence

from course.checks.harness import Case, Scenario


def short(value: Any, limit: int = 120) -> str:
    """``value`` as compact JSON, cut to ``limit`` characters."""
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class KindScenario(Scenario):
    """One case per fault kind, drawn by ``make(seed, kind)``; every case runs (partial credit)."""

    partial_credit = True
    #: The scenario's name (``day6.<name>_scenario``) and its fault kinds; set by subclasses.
    name_root = ""
    faults: tuple[str, ...] = ()
    make: Callable[[int, str], Case]
    what = "cases"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else self.faults
        for kind in self.kinds:
            if kind not in self.faults:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {self.faults}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        name = self.name_root if faults is None else f"{self.name_root}/{'+'.join(self.kinds)}"
        super().__init__(name, seed, f"day6.{self.name_root}_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [type(self).make(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"{len(cases)} {self.what} ({', '.join(self.kinds)}) all hold"


__all__ = ["KindScenario", "short"]
