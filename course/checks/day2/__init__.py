"""Seeded scenario checks for Day 2: serverless agent patterns, one module per question.

- :mod:`.registry` (Q1, a registry Durable Object with heartbeats and a time-to-live),
  :mod:`.ephemeral` (Q2, an ephemeral task agent that leaves nothing behind), :mod:`.pool`
  (Q3, a least-loaded pool dispatcher with a bounded queue), :mod:`.ring` (Q4, a
  consistent-hashing ring), :mod:`.tenants` (Q5, tenant isolation under adversarial ids),
  :mod:`.design` (Q6, the learner's system design as data, checked by property);
- :mod:`.types`: the types and constants the exercises and the checks share (given to learners);
- :mod:`.emulate`: the learner's Durable Object class on a fresh emulated runtime.

Every check is seeded and deterministic: ``<name>_scenario(seed=N).run(answer)`` returns a
:class:`~course.checks.harness.CheckResult`, and ``grade_<name>(answer, seed=N)`` raises
``AssertionError`` with its story when it fails. The exercise notebook imports this package as
``day2`` (``from course.checks import day2``), so a reproduce line such as
``day2.registry_scenario(seed=7).run(AgentRegistry)`` runs as pasted there.
"""
from course.checks.day2.design import (
    Access,
    AgentRole,
    Interaction,
    Resource,
    SystemDesign,
    SystemDesignScenario,
    design_problems,
    design_scenario,
    grade_design,
)
from course.checks.day2.emulate import ObjectRaised, emulated, leftovers, rpc
from course.checks.day2.ephemeral import FAULTS as TASK_AGENT_FAULTS
from course.checks.day2.ephemeral import EphemeralScenario, grade_task_agent, task_agent_scenario
from course.checks.day2.pool import FAULTS as POOL_FAULTS
from course.checks.day2.pool import PoolScenario, grade_pool, pool_scenario
from course.checks.day2.registry import FAULTS as REGISTRY_FAULTS
from course.checks.day2.registry import RegistryScenario, grade_registry, registry_scenario
from course.checks.day2.ring import RingScenario, grade_ring, ring_scenario
from course.checks.day2.tenants import TenantScenario, grade_tenants, tenant_scenario
from course.checks.day2.types import (
    HEARTBEAT_EVERY,
    HEARTBEAT_TTL,
    MAX_ID_LENGTH,
    RESULT_TTL,
    AgentCard,
    Assigned,
    Queued,
    Rejected,
    count_words,
    stable_hash,
)
from course.checks.harness import CheckResult

__all__ = [
    "RegistryScenario", "EphemeralScenario", "PoolScenario", "RingScenario", "TenantScenario", "SystemDesignScenario",
    "registry_scenario", "task_agent_scenario", "pool_scenario", "ring_scenario", "tenant_scenario", "design_scenario",
    "grade_registry", "grade_task_agent", "grade_pool", "grade_ring", "grade_tenants", "grade_design",
    "REGISTRY_FAULTS", "TASK_AGENT_FAULTS", "POOL_FAULTS",
    "Access", "AgentRole", "Interaction", "Resource", "SystemDesign", "design_problems",
    "ObjectRaised", "emulated", "leftovers", "rpc",
    "HEARTBEAT_EVERY", "HEARTBEAT_TTL", "MAX_ID_LENGTH", "RESULT_TTL", "AgentCard", "Assigned", "Queued", "Rejected",
    "count_words", "stable_hash", "CheckResult",
]
