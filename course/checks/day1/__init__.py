"""Seeded scenario checks for Day 1: the coordinator + worker pair, one module per question.

- :mod:`.envelope` (Q1), :mod:`.lifecycle` (Q2), :mod:`.split` (Q3), :mod:`.aggregate` (Q4),
  :mod:`.coordinator` (Q5), :mod:`.design` (Q6: the learner's own two-agent design, as data,
  checked by property), each on the scenario harness (:mod:`course.checks.harness`);
- :mod:`.types`: the data types the exercises and the checks share (given to learners);
- :mod:`.corpus`: the seeded documents and timestamps the cases are made of.

Every check is seeded and deterministic: ``<name>_scenario(seed=N).run(answer)`` returns a
:class:`~course.checks.harness.CheckResult`, and ``grade_<name>(answer, seed=N)`` raises
``AssertionError`` with its story when it fails. The exercise notebook imports this package
as ``day1`` (``from course.checks import day1``), so a failure's reproduce line reads
``day1.coordinator_scenario(seed=7).run(run_coordinator)`` and runs as pasted there.
"""
from course.checks.day1.aggregate import AggregateScenario, aggregate_scenario, expected_aggregate, grade_aggregate
from course.checks.day1.coordinator import (
    BREAKING_FAULTS,
    FAULT_MEANINGS,
    FAULTS,
    CoordinatorCase,
    CoordinatorScenario,
    ProtocolViolation,
    coordinator_case,
    coordinator_scenario,
    grade_coordinator,
)
from course.checks.day1.design import (
    AgentSpec,
    DesignScenario,
    HandlerSpec,
    MessageSpec,
    PairDesign,
    StateField,
    design_problems,
    design_scenario,
    grade_design,
)
from course.checks.day1.envelope import EnvelopeScenario, envelope_problems, envelope_scenario, grade_envelope
from course.checks.day1.lifecycle import LIFECYCLE_TABLE, LifecycleScenario, grade_lifecycle, lifecycle_scenario
from course.checks.day1.split import SplitScenario, expected_sizes, grade_split, split_scenario
from course.checks.day1.types import (
    ADDRESS_PATTERN,
    AGENT_NAME_PATTERN,
    COORDINATOR,
    MESSAGE_TYPES,
    REPLY_TYPES,
    Aggregate,
    IllegalTransition,
    Subtask,
    TaskState,
    WorkResult,
    word_counts,
)
from course.checks.harness import CheckResult

__all__ = [
    "AggregateScenario", "CoordinatorScenario", "EnvelopeScenario", "LifecycleScenario", "SplitScenario",
    "aggregate_scenario", "coordinator_scenario", "envelope_scenario", "lifecycle_scenario", "split_scenario",
    "grade_aggregate", "grade_coordinator", "grade_envelope", "grade_lifecycle", "grade_split",
    "expected_sizes", "expected_aggregate", "envelope_problems", "coordinator_case", "CoordinatorCase",
    "ProtocolViolation", "FAULTS", "FAULT_MEANINGS", "BREAKING_FAULTS",
    "AgentSpec", "DesignScenario", "HandlerSpec", "MessageSpec", "PairDesign", "StateField", "design_problems",
    "design_scenario", "grade_design", "ADDRESS_PATTERN", "COORDINATOR", "LIFECYCLE_TABLE", "CheckResult",
    "AGENT_NAME_PATTERN", "MESSAGE_TYPES", "REPLY_TYPES",
    "Aggregate", "IllegalTransition", "Subtask", "TaskState", "WorkResult", "word_counts",
]
