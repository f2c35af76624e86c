"""A project scenario: seeded cases, each played against a freshly loaded submission.

A :class:`ProjectCase` is one concrete story (tasks, faults, the order of events) drawn from a
seed. :meth:`ProjectCase.play` tells it to a :class:`~.session.ProjectSession` (a new runtime
for every case, so no case sees another's state) and raises :class:`CaseFailed` with a reason
a learner can act on. When a case fails, :func:`smallest_failing_case` walks its
:meth:`~ProjectCase.candidates` (smaller stories of the same shape, smallest first) and keeps
the first that still fails, until none does: a greedy, deterministic shrink, bounded in runs
because each run loads the Worker again. The :class:`~course.checks.harness.CheckResult` then
names the scenario and seed, the smallest failing case, its messages (read from the runtime's
trace) and a ``course check`` line that reruns exactly this scenario.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from course.checks.harness.cases import CaseFailed, describe_exception
from course.checks.harness.messages import MessageLog
from course.checks.harness.result import CheckResult
from course.checks.projects.session import ProjectSession
from course.checks.projects.submission import SubmissionDoesNotLoad, load_submission

#: Most extra runs the shrinker may spend on one failing case (each loads the Worker afresh).
MAX_SHRINK_RUNS = 12


class ProjectCase:
    """One story told to a submission; subclasses define :meth:`play` and :meth:`describe`."""

    #: The runtime's seed for this case (ids, fault dice); set by the scenario that draws it.
    runtime_seed: int = 0

    def describe(self) -> str:
        raise NotImplementedError

    def play(self, session: ProjectSession) -> str:
        """Tell the story; return a one-line summary, or raise :class:`CaseFailed`."""
        raise NotImplementedError

    def candidates(self) -> Sequence["ProjectCase"]:
        """Smaller cases of the same shape, smallest first ([] when this one is minimal)."""
        return []


@dataclass(frozen=True)
class CaseRun:
    """What one case did: why it failed (None if it passed), its summary, its messages."""

    reason: str | None
    summary: str
    log: MessageLog


def play_case(case: ProjectCase, folder: Path) -> CaseRun:
    """Load the submission afresh and play ``case``; a submission that does not load raises."""
    rt = load_submission(folder, seed=case.runtime_seed)
    session = ProjectSession(rt)
    try:
        try:
            return CaseRun(None, case.play(session) or "", session.log())
        except CaseFailed as exc:
            return CaseRun(str(exc), "", session.log())
        except SubmissionDoesNotLoad:
            raise
        except Exception as exc:  # the Worker broke the harness's client (it should answer instead)
            return CaseRun(f"the request failed in the emulator: {describe_exception(exc)}", "", session.log())
    finally:
        session.close()


def smallest_failing_case(case: ProjectCase, folder: Path, first: CaseRun) -> tuple[ProjectCase, CaseRun]:
    """The smallest case reachable through :meth:`ProjectCase.candidates` that still fails."""
    runs = 0
    current, outcome = case, first
    progress = True
    while progress and runs < MAX_SHRINK_RUNS:
        progress = False
        for candidate in current.candidates():
            if runs >= MAX_SHRINK_RUNS:
                break
            runs += 1
            tried = play_case(candidate, folder)
            if tried.reason is not None:
                current, outcome, progress = candidate, tried, True
                break
    return current, outcome


class ProjectScenario:
    """Cases drawn from ``seed`` for one rubric item; :meth:`run` checks a submission folder."""

    def __init__(self, name: str, seed: int, reproduce: str) -> None:
        self.name = name
        self.seed = seed
        self.reproduce = reproduce

    def cases(self) -> Sequence[ProjectCase]:
        raise NotImplementedError

    def run(self, folder: Path | str) -> CheckResult:
        folder = Path(folder)
        cases = list(self.cases())
        passed, last = 0, ""
        for case in cases:
            outcome = play_case(case, folder)
            if outcome.reason is None:
                passed, last = passed + 1, outcome.summary
                continue
            smallest, shrunk = smallest_failing_case(case, folder, outcome)
            return CheckResult(self.name, self.seed, False, f"{outcome.reason} (case: {case.describe()})",
                               self.reproduce, smallest_case=smallest.describe(),
                               smallest_reason=shrunk.reason or "", message_log=shrunk.log.text(),
                               diagram=shrunk.log.arrows(), cases_passed=passed, cases_total=len(cases))
        summary = f"{len(cases)} cases passed" + (f"; last: {last}" if last else "")
        return CheckResult(self.name, self.seed, True, summary, self.reproduce, cases_passed=passed,
                           cases_total=len(cases))


__all__ = ["MAX_SHRINK_RUNS", "CaseFailed", "CaseRun", "ProjectCase", "ProjectScenario", "play_case",
           "smallest_failing_case"]
