"""What every project's grading shares: a submitted Worker folder, scenarios on it, a rubric.

- :mod:`.submission`: find the project in a submitted folder, say which project it is, load it
  on the emulator (virtual clock, seed) or say why it does not load;
- :mod:`.session`: one case's world: the Worker's HTTP API through ``rt.client()``, faults
  through the runtime's controls, and the messages and counts read from the runtime's trace;
- :mod:`.scenario`: seeded cases played on a fresh runtime each, a greedy shrink to the
  smallest failing case, the harness's :class:`~course.checks.harness.CheckResult`;
- :mod:`.rubric`: items with points and budgets, scoring, the ``course check`` report.

A project's own package (``course/checks/project1/``) adds its contract, its cases and its
:class:`Rubric`; ``course.grading.project_grade`` grades a class with it.
"""
from course.checks.projects.rubric import MARK, Budget, ItemResult, ProjectReport, Rubric, RubricItem, reproduce_line
from course.checks.projects.scenario import CaseFailed, CaseRun, ProjectCase, ProjectScenario, play_case
from course.checks.projects.session import ProjectSession, Reply, Subscription
from course.checks.projects.submission import (
    CONFIG_NAMES,
    SubmissionDoesNotLoad,
    load_submission,
    project_name,
    project_root,
)

__all__ = ["MARK", "Budget", "ItemResult", "ProjectReport", "Rubric", "RubricItem", "reproduce_line", "CaseFailed",
           "CaseRun", "ProjectCase", "ProjectScenario", "play_case", "ProjectSession", "Reply", "Subscription",
           "CONFIG_NAMES",
           "SubmissionDoesNotLoad", "load_submission", "project_name", "project_root"]
