"""Seeded scenario checks for Day 6: event-driven coordination, one module per question.

- :mod:`.schemas` (Q1, versioned event schemas: a pydantic discriminated union, upcasting v1 to
  v2, unknown versions refused);
- :mod:`.store` (Q2, an event-sourced stream with expected-version appends, under racing,
  retried, duplicated and partitioned writers);
- :mod:`.replay` (Q3, event replay: a replayer and a live projection under duplicates,
  reordering, a partition and a crash: rebuild, snapshot plus tail, time travel);
- :mod:`.consumer` (Q4, an exactly-once effect from an at-least-once queue, with a DLQ);
- :mod:`.resume` (Q5, WebSocket resume from an offset: disconnects, partitions, a hub restart);
- :mod:`.leases` (Q6, D1 work claiming with leases on real SQLite: races, slow workers, crashes);
- :mod:`.types`: the constants and helpers the exercises and the checks share;
  :mod:`.common`: what the scenario modules share.

``<name>_scenario(seed=N).run(answer)`` returns a :class:`~course.checks.harness.CheckResult`;
``grade_<name>(..., seed=N)`` raises ``AssertionError`` with its story when it fails. The
exercise notebook imports this package as ``day6``, so a reproduce line such as
``day6.replay_scenario(seed=0).run((replay, LiveBoard))`` runs as pasted there.
"""
from course.checks.day6.consumer import FAULTS as CONSUMER_FAULTS
from course.checks.day6.consumer import ConsumerScenario, consumer_case, consumer_scenario, grade_consumer
from course.checks.day6.leases import FAULTS as LEASE_FAULTS
from course.checks.day6.leases import LeaseScenario, grade_leases, lease_case, lease_scenario
from course.checks.day6.replay import FAULTS as REPLAY_FAULTS
from course.checks.day6.replay import ReplayScenario, grade_replay, replay_case, replay_scenario
from course.checks.day6.resume import FAULTS as RESUME_FAULTS
from course.checks.day6.resume import ResumeScenario, grade_resume, resume_case, resume_scenario
from course.checks.day6.schemas import FAULTS as SCHEMA_FAULTS
from course.checks.day6.schemas import SchemaScenario, grade_schemas, schema_case, schema_scenario
from course.checks.day6.store import FAULTS as STORE_FAULTS
from course.checks.day6.store import StoreScenario, grade_store, store_case, store_scenario
from course.checks.day6.types import (
    BOARD_RULES,
    CURRENT_VERSIONS,
    DEFAULT_PRIORITY,
    EVENT_TYPES,
    LEASE_SECONDS,
    MAX_ATTEMPTS,
    MAX_TITLE,
    TASKS_SCHEMA,
    ClientGone,
    ConcurrencyError,
    Ledger,
    Message,
    Order,
    TransientError,
    UnknownEventVersion,
    empty_board,
)
from course.checks.harness import CheckResult

__all__ = [
    "SchemaScenario", "schema_scenario", "schema_case", "grade_schemas", "SCHEMA_FAULTS",
    "StoreScenario", "store_scenario", "store_case", "grade_store", "STORE_FAULTS",
    "ReplayScenario", "replay_scenario", "replay_case", "grade_replay", "REPLAY_FAULTS",
    "ConsumerScenario", "consumer_scenario", "consumer_case", "grade_consumer", "CONSUMER_FAULTS",
    "ResumeScenario", "resume_scenario", "resume_case", "grade_resume", "RESUME_FAULTS",
    "LeaseScenario", "lease_scenario", "lease_case", "grade_leases", "LEASE_FAULTS",
    "BOARD_RULES", "CURRENT_VERSIONS", "DEFAULT_PRIORITY", "EVENT_TYPES", "LEASE_SECONDS", "MAX_ATTEMPTS",
    "MAX_TITLE", "TASKS_SCHEMA", "ClientGone", "ConcurrencyError", "Ledger", "Message", "Order", "TransientError",
    "UnknownEventVersion", "empty_board", "CheckResult",
]
