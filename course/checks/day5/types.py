"""The types and constants Day 5's exercises share with their checks (given to learners).

- the task API (Q1, Q2): :data:`SKILLS` and :func:`run_skill` (the agent's work),
  :data:`WORK_SECONDS`, :func:`problem_response` (an RFC 9457 error response), the A2A-style models of :mod:`course.protocol.agent_api`;
- calls between agents (Q3, Q5): :class:`Call` (what a client sends), :class:`Reply` (what comes
  back: a status, a JSON body, a ``Retry-After``), :class:`NetworkError` (no answer at all);
- the retry policy (Q3): :data:`MAX_ATTEMPTS`, :data:`BASE_BACKOFF`, :data:`MAX_BACKOFF`,
  :data:`RETRYABLE_STATUSES`, :data:`IDEMPOTENT_METHODS`, :class:`RetryBudget`;
- the circuit breaker (Q4): :data:`FAILURE_THRESHOLD`, :data:`OPEN_SECONDS` and the three states;
- discovery with failover (Q5): :data:`REGISTRY_URL`, :data:`HEALTH_TIMEOUT`, :data:`CALL_TIMEOUT`,
  :class:`NoAgentAvailable`;
- deadlines (Q6): :class:`ChainResult`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from course.protocol.agent_api import PROBLEM_JSON, problem
from course.workers import Response

#: The skills of the task agents (Q1, Q2): skill id -> what it does to the input text.
SKILLS = ("word_count", "reverse")
#: Seconds a task of the Q1 agent works before it is completed.
WORK_SECONDS = 2.0

#: Attempts a call may make in all (the first one and three retries).
MAX_ATTEMPTS = 4
#: The first backoff's ceiling, in seconds: retry n (from 0) waits up to BASE_BACKOFF * 2**n.
BASE_BACKOFF = 0.5
#: No backoff ceiling is above this many seconds.
MAX_BACKOFF = 8.0
#: Statuses worth another try: the server is overloaded or failing, not the request wrong.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Methods that are idempotent by definition (RFC 9110, section 9.2.2): safe to send again.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: Consecutive failures that open a closed breaker.
FAILURE_THRESHOLD = 3
#: Seconds an open breaker refuses calls before it lets one trial call through (half-open).
OPEN_SECONDS = 10.0
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"

#: Where the registry of agents answers ``GET {REGISTRY_URL}/agents?skill=...``.
REGISTRY_URL = "https://registry.agents"
#: Seconds a health check may take before the agent counts as unhealthy.
HEALTH_TIMEOUT = 1.0
#: Seconds a task call may take before the client gives up on that agent.
CALL_TIMEOUT = 3.0


def run_skill(skill: str, text: str) -> Any:
    """A task's work: ``word_count`` counts the words of ``text``; ``reverse`` reverses the word order."""
    words = str(text).split()
    if skill == "word_count":
        return len(words)
    if skill == "reverse":
        return " ".join(reversed(words))
    raise ValueError(f"unknown skill {skill!r}; the skills are {list(SKILLS)}")


def problem_response(status: int, kind: str, title: str, detail: str = "", *, allow: str | None = None,
                     retry_after: float | None = None) -> Response:
    """An RFC 9457 error response: ``problem_response(404, "task-not-found", "No such task", "no task 't-9'")``.

    ``allow`` sets the ``Allow`` header of a 405; ``retry_after`` the ``Retry-After`` of a 429 or 503.
    """
    headers = {"content-type": PROBLEM_JSON}
    if allow:
        headers["allow"] = allow
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
    return Response(json.dumps(problem(status, kind, title, detail)), status=status, headers=headers)


@dataclass(frozen=True)
class Call:
    """One HTTP call an agent makes: ``Call("POST", "/tasks", {"skill": ...}, idempotency_key="k-1")``."""

    method: str
    path: str
    body: Any = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Reply:
    """What came back: the status, the JSON body, and ``Retry-After`` in seconds if the server sent one."""

    status: int
    body: Any = None
    retry_after: float | None = None


class NetworkError(ConnectionError):
    """The call got no answer at all (connection refused or lost): the request may or may not have run."""


class NoAgentAvailable(Exception):
    """No agent for the skill answered (Q5)."""


class RetryBudget:
    """A shared budget of retries: ``try_spend()`` takes one token for a retry, False when none is left.

    Real clients refill it as a share of their first attempts (say 10 %), so retries can never
    multiply the load of an outage; the checks hand your code a budget with a fixed number of tokens.
    """

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self.spent = 0
        self.refused = 0

    def try_spend(self) -> bool:
        if self.tokens <= 0:
            self.refused += 1
            return False
        self.tokens -= 1
        self.spent += 1
        return True

    def __repr__(self) -> str:
        return f"RetryBudget(tokens={self.tokens}, spent={self.spent}, refused={self.refused})"


@dataclass(frozen=True)
class ChainResult:
    """What an agent in a chain answers (Q6): 200 with every hop's result, or 504 with those it got."""

    status: int
    results: tuple[Any, ...] = field(default_factory=tuple)


__all__ = ["BASE_BACKOFF", "CALL_TIMEOUT", "CLOSED", "FAILURE_THRESHOLD", "HALF_OPEN", "HEALTH_TIMEOUT",
           "IDEMPOTENT_METHODS", "MAX_ATTEMPTS", "MAX_BACKOFF", "OPEN", "OPEN_SECONDS", "REGISTRY_URL",
           "RETRYABLE_STATUSES", "SKILLS", "WORK_SECONDS", "Call", "ChainResult", "NetworkError", "NoAgentAvailable",
           "Reply", "RetryBudget", "problem_response", "run_skill"]
