"""Seeded scenario checks for Day 3: Durable Objects for agent state, one module per question.

- :mod:`.schemas` (Q1, pydantic state schemas of a coordinator, a worker and a memory agent),
  :mod:`.upcast` (Q2, upcasters v1 -> v2 -> v3 on historical documents), :mod:`.recovery`
  (Q3, a crash-safe agent, crashed right after every operation of its task in turn),
  :mod:`.lost_update` (Q4, fixing a lost update under concurrent requests), :mod:`.cas`
  (Q5, compare-and-set between two agents under partitions), :mod:`.migration` (Q6, a
  SQL-backed memory agent whose schema migration survives evictions and crashes);
- :mod:`.types`: the constants and helpers the exercises and the checks share;
- :mod:`.emulate`: the objects on a fresh emulated runtime, and the crash points of a run.

``<name>_scenario(seed=N).run(answer)`` returns a :class:`~course.checks.harness.CheckResult`;
``grade_<name>(answer, seed=N)`` raises ``AssertionError`` with its story when it fails. The
exercise notebook imports this package as ``day3``, so a reproduce line such as
``day3.crash_safe_scenario(seed=0).run(TaskRunner)`` runs as pasted there.
"""
from course.checks.day3.cas import FAULTS as CAS_FAULTS
from course.checks.day3.cas import CasScenario, cas_scenario, grade_cas
from course.checks.day3.emulate import ObjectRaised, call, emulated, rpc
from course.checks.day3.lost_update import FAULTS as LOST_UPDATE_FAULTS
from course.checks.day3.lost_update import QuotaScenario, grade_lost_update, lost_update_scenario
from course.checks.day3.migration import FAULTS as MIGRATION_FAULTS
from course.checks.day3.migration import MigrationScenario, grade_migration, migration_scenario
from course.checks.day3.recovery import FAULTS as CRASH_SAFE_FAULTS
from course.checks.day3.recovery import RecoveryScenario, crash_points, crash_safe_scenario, grade_crash_safe
from course.checks.day3.schemas import MODELS, SchemaScenario, grade_schemas, schema_scenario
from course.checks.day3.types import (
    BACKFILL_BATCH,
    CURRENT_VERSION,
    INITIAL_QUOTA,
    MAX_CAS_ATTEMPTS,
    MAX_ENTRY_CHARS,
    MAX_TASK_ID_LENGTH,
    MAX_WORKER_CAPACITY,
    MEMORY_BUDGET_CHARS,
    PRICE_PER_TOKEN,
    TASK_STATUSES,
    TaskStatus,
    UnknownSchemaVersion,
    count_words,
    tool_result,
    topic_of,
)
from course.checks.day3.upcast import UpcastScenario, expected_v3, grade_upcasters, upcast_scenario
from course.checks.harness import CheckResult

__all__ = [
    "SchemaScenario", "UpcastScenario", "RecoveryScenario", "QuotaScenario", "CasScenario", "MigrationScenario",
    "schema_scenario", "upcast_scenario", "crash_safe_scenario", "lost_update_scenario", "cas_scenario",
    "migration_scenario", "grade_schemas", "grade_upcasters", "grade_crash_safe", "grade_lost_update", "grade_cas",
    "grade_migration", "crash_points", "expected_v3", "MODELS", "CAS_FAULTS", "CRASH_SAFE_FAULTS",
    "LOST_UPDATE_FAULTS", "MIGRATION_FAULTS", "ObjectRaised", "call", "emulated", "rpc",
    "BACKFILL_BATCH", "CURRENT_VERSION", "INITIAL_QUOTA", "MAX_CAS_ATTEMPTS", "MAX_ENTRY_CHARS", "MAX_TASK_ID_LENGTH",
    "MAX_WORKER_CAPACITY", "MEMORY_BUDGET_CHARS", "PRICE_PER_TOKEN", "TASK_STATUSES", "TaskStatus", "UnknownSchemaVersion",
    "count_words", "tool_result", "topic_of", "CheckResult",
]
