"""Seeded scenario checks for Day 5: HTTP-based agent protocols, one module per question.

- :mod:`.task_api` (Q1, an agent card and task API, walked by a conformance client),
  :mod:`.idempotency` (Q2, idempotency keys under retries and duplicate deliveries),
  :mod:`.retries` (Q3, a retry policy: full jitter, Retry-After, what is safe, a budget),
  :mod:`.breaker` (Q4, a circuit breaker's state timeline on the virtual clock),
  :mod:`.discovery` (Q5, a discovering client with failover, under partitions),
  :mod:`.deadlines` (Q6, deadline propagation along a chain of agents);
- :mod:`.types`: the types and constants the exercises and the checks share (given to learners);
- :mod:`.emulate`: the learner's HTTP agent (a Durable Object) on the emulator, called over HTTP.

Every check is seeded and deterministic: ``<name>_scenario(seed=N).run(answer)`` returns a
:class:`~course.checks.harness.CheckResult`, and ``grade_<name>(answer, seed=N)`` raises
``AssertionError`` with its story when it fails. The exercise notebook imports this package as
``day5`` (``from course.checks import day5``), so a reproduce line such as
``day5.retry_scenario(seed=0).run(call_with_retries)`` runs as pasted there.
"""
from course.checks.day5.breaker import FAULTS as BREAKER_FAULTS
from course.checks.day5.breaker import BreakerScenario, breaker_scenario, breaker_timeline, grade_breaker
from course.checks.day5.deadlines import FAULTS as DEADLINE_FAULTS
from course.checks.day5.deadlines import DeadlineScenario, deadline_scenario, grade_deadlines
from course.checks.day5.discovery import FAULTS as DISCOVERY_FAULTS
from course.checks.day5.discovery import DiscoveryScenario, discovery_scenario, grade_discovery
from course.checks.day5.emulate import AGENT_URL, AgentUnderTest
from course.checks.day5.idempotency import FAULTS as IDEMPOTENCY_FAULTS
from course.checks.day5.idempotency import IdempotencyScenario, grade_idempotency, idempotency_scenario
from course.checks.day5.retries import FAULTS as RETRY_FAULTS
from course.checks.day5.retries import RetryScenario, grade_retries, retry_scenario
from course.checks.day5.task_api import FAULTS as TASK_API_FAULTS
from course.checks.day5.task_api import TaskApiScenario, grade_task_api, task_api_scenario
from course.checks.day5.types import (
    BASE_BACKOFF,
    CALL_TIMEOUT,
    CLOSED,
    FAILURE_THRESHOLD,
    HALF_OPEN,
    HEALTH_TIMEOUT,
    IDEMPOTENT_METHODS,
    MAX_ATTEMPTS,
    MAX_BACKOFF,
    OPEN,
    OPEN_SECONDS,
    REGISTRY_URL,
    RETRYABLE_STATUSES,
    SKILLS,
    WORK_SECONDS,
    Call,
    ChainResult,
    NetworkError,
    NoAgentAvailable,
    Reply,
    RetryBudget,
    problem_response,
    run_skill,
)
from course.checks.harness import CheckResult, run_on_virtual_clock

__all__ = [
    "TaskApiScenario", "IdempotencyScenario", "RetryScenario", "BreakerScenario", "DiscoveryScenario",
    "DeadlineScenario", "task_api_scenario", "idempotency_scenario", "retry_scenario", "breaker_scenario",
    "discovery_scenario", "deadline_scenario", "grade_task_api", "grade_idempotency", "grade_retries",
    "grade_breaker", "grade_discovery", "grade_deadlines", "breaker_timeline",
    "TASK_API_FAULTS", "IDEMPOTENCY_FAULTS", "RETRY_FAULTS", "BREAKER_FAULTS", "DISCOVERY_FAULTS", "DEADLINE_FAULTS",
    "AGENT_URL", "AgentUnderTest",
    "BASE_BACKOFF", "CALL_TIMEOUT", "CLOSED", "FAILURE_THRESHOLD", "HALF_OPEN", "HEALTH_TIMEOUT",
    "IDEMPOTENT_METHODS", "MAX_ATTEMPTS", "MAX_BACKOFF", "OPEN", "OPEN_SECONDS", "REGISTRY_URL",
    "RETRYABLE_STATUSES", "SKILLS", "WORK_SECONDS", "Call", "ChainResult", "NetworkError", "NoAgentAvailable",
    "Reply", "RetryBudget", "problem_response", "run_skill", "CheckResult", "run_on_virtual_clock",
]
