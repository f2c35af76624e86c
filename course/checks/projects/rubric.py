"""A project's rubric: items worth points, each a seeded scenario with its budgets, and the score.

Maelstrom-style, every item states one measurable criterion: the behaviour the scenario tells
a story about and the budgets it must stay within (:class:`Budget`: messages per task, virtual
seconds per task...). An item scores all its points when every case of its scenario passes
and none otherwise, so a submission that lacks one behaviour loses exactly that item.
:meth:`Rubric.check` runs the items against a folder in this process (``course check`` and
``course grade --project`` run it in a process of their own, see ``course.grading``); a
submission that does not load scores nothing and says why once.

An item may instead be graded by hand (``manual=True``, nbgrader's manual grading for a
project): no scenario runs, the item ends with the status ``manual`` and no points, and its
reason says whether the file it reads (``evidence``, e.g. ``DESIGN.md``) is in the submission
and how long it is. The instructor's points are merged into the report afterwards
(``course grade manual``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from course.checks.projects.scenario import ProjectScenario
from course.checks.projects.submission import SubmissionDoesNotLoad, load_submission

#: Statuses an item can end with (``timeout`` and ``crashed`` come from the grader's process).
STATUSES = ("pass", "fail", "timeout", "crashed", "not run", "manual")
#: How each status is printed by ``course check``.
MARK = {"pass": "PASS", "fail": "FAIL", "timeout": "TIME", "crashed": "FAIL", "not run": "MISS", "manual": "HAND"}


@dataclass(frozen=True)
class Budget:
    """One measurable limit of an item: ``<= limit unit``, e.g. 1 assignment per subtask."""

    what: str
    limit: float
    unit: str

    def text(self) -> str:
        return f"{self.what} <= {self.limit:g} {self.unit}"

    def check(self, measured: float, context: str = "") -> str | None:
        """None within budget, else the sentence a failure reports."""
        if measured <= self.limit:
            return None
        where = f" ({context})" if context else ""
        return f"over budget: {self.what} was {measured:g} {self.unit}, the budget is {self.limit:g}{where}"


@dataclass(frozen=True)
class RubricItem:
    """One line of the rubric: ``key`` (what ``--only`` takes), points, the criterion, the budgets."""

    key: str
    title: str
    points: float
    criterion: str
    scenario: Callable[[str, int, str], ProjectScenario] | None  # (name, seed, reproduce line) -> scenario
    seed: int = 0
    budgets: tuple[Budget, ...] = ()
    manual: bool = False  # graded by hand: no scenario, status "manual"
    evidence: str = ""  # for a manual item: the submission's file the instructor reads (e.g. "DESIGN.md")

    def __post_init__(self) -> None:
        if self.manual == (self.scenario is not None):
            raise ValueError(f"rubric item {self.key!r}: give a scenario, or manual=True, not both or neither")


def hand_graded(item: RubricItem, folder: Path) -> "ItemResult":
    """A manual item's result: no points yet, and what the instructor will find to read."""
    note = "graded by hand by your instructor: its points are added when they have read it"
    if item.evidence:
        path = Path(folder) / item.evidence
        if path.is_file():
            words = len(path.read_text(errors="replace").split())
            note += f" ({item.evidence}: {words} words)"
        else:
            note += f"; {item.evidence} is missing from the submission, so there is nothing to read yet"
    return ItemResult(item.key, item.title, 0.0, item.points, "manual", note)


@dataclass
class ItemResult:
    """How a submission did on one item (plain data: it crosses process boundaries as JSON)."""

    key: str
    title: str
    points: float
    max_points: float
    status: str
    reason: str = ""  # the scenario's message: scenario, seed, smallest case, messages, reproduce
    cases_passed: int = 0
    cases_total: int = 0


@dataclass
class ProjectReport:
    project: str
    folder: str
    items: list[ItemResult] = field(default_factory=list)
    load_error: str = ""  # why the submission does not load ("" if it does)

    @property
    def score(self) -> float:
        return sum(i.points for i in self.items)

    @property
    def max_score(self) -> float:
        return sum(i.max_points for i in self.items)

    def format(self) -> str:
        lines = [f"{self.folder} ({self.project}):"]
        if self.load_error:
            lines.append(f"  {self.load_error}")
        for item in self.items:
            cases = f", {item.cases_passed}/{item.cases_total} cases" if item.cases_total else ""
            lines.append(f"  {MARK.get(item.status, item.status.upper())}  {item.title} "
                         f"({item.points:g}/{item.max_points:g} pts{cases})")
            if item.reason and (item.status == "manual" or (item.status != "pass" and not self.load_error)):
                lines += [f"        {line}" for line in item.reason.splitlines()]
        passed = sum(1 for i in self.items if i.status == "pass")
        auto = [i for i in self.items if i.status != "manual"]
        by_hand = len(self.items) - len(auto)
        hand = f"; {by_hand} graded by hand" if by_hand else ""
        lines.append(f"{passed}/{len(auto)} rubric items pass{hand} ({self.score:g}/{self.max_score:g} points). "
                     "Grading runs these same scenarios and seeds.")
        return "\n".join(lines)


def reproduce_line(folder: str, key: str, seed: int) -> str:
    return f"course check {folder} --only {key} --seed {seed}"


@dataclass(frozen=True)
class Rubric:
    project: str
    items: tuple[RubricItem, ...]

    @property
    def max_score(self) -> float:
        return sum(i.points for i in self.items)

    def item(self, key: str) -> RubricItem:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(f"{self.project} has no rubric item {key!r} (items: {', '.join(self.keys())})")

    def keys(self) -> list[str]:
        return [i.key for i in self.items]

    def not_run(self, why: str, keys: Iterable[str] | None = None) -> list[ItemResult]:
        chosen = [self.item(k) for k in keys] if keys is not None else list(self.items)
        return [ItemResult(i.key, i.title, 0.0, i.points, "not run", why) for i in chosen]

    def check_item(self, folder: Path | str, key: str, *, seed: int | None = None, shown_as: str = ".") -> ItemResult:
        """One item against ``folder``; raises :class:`SubmissionDoesNotLoad` if it does not load."""
        item = self.item(key)
        if item.manual:
            return hand_graded(item, Path(folder))
        seed = item.seed if seed is None else seed
        result = item.scenario(key, seed, reproduce_line(shown_as, key, seed)).run(Path(folder))
        return ItemResult(item.key, item.title, item.points if result.passed else 0.0, item.points,
                          "pass" if result.passed else "fail", result.message(), result.cases_passed,
                          result.cases_total)

    def check(self, folder: Path | str, *, only: Iterable[str] | None = None, seed: int | None = None,
              shown_as: str = ".") -> ProjectReport:
        """Every item (or ``only`` these) against ``folder``, in this process."""
        keys = list(only) if only is not None else self.keys()
        report = ProjectReport(self.project, shown_as)
        try:
            load_submission(folder).close()
        except SubmissionDoesNotLoad as exc:
            report.load_error = str(exc)
            report.items = self.not_run(str(exc), keys)
            return report
        for key in keys:
            report.items.append(self.check_item(folder, key, seed=seed, shown_as=shown_as))
        return report


__all__ = ["MARK", "STATUSES", "Budget", "ItemResult", "ProjectReport", "Rubric", "RubricItem", "hand_graded",
           "reproduce_line"]
