"""The data types and constants Day 2's exercises share with their checks (given to learners).

- the registry (Q1): :data:`HEARTBEAT_TTL` and the :class:`AgentCard` an agent registers with;
- the ephemeral task agent (Q2): :data:`RESULT_TTL` and :func:`count_words`, the task's work;
- the pool (Q3): the three answers a dispatcher gives a submitted task, :class:`Assigned`,
  :class:`Queued` and :class:`Rejected` (the HTTP 429 with its ``Retry-After``);
- the ring (Q4): :func:`stable_hash`, the same on every machine and in every process;
- tenant isolation (Q5): :data:`MAX_ID_LENGTH`, the longest tenant or agent id accepted.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

#: Seconds an agent stays registered after its last heartbeat (or registration).
HEARTBEAT_TTL = 30.0
#: How often the emulated agents of the registry scenarios send a heartbeat.
HEARTBEAT_EVERY = 10.0
#: Seconds an ephemeral task agent keeps its result before it deletes itself.
RESULT_TTL = 60.0
#: Longest tenant id or agent id a tenant router accepts (ids end up in object names).
MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class AgentCard:
    """What an agent tells the registry about itself (a dict of these fields goes over RPC)."""

    agent_id: str
    capabilities: tuple[str, ...]
    endpoint: str = ""

    def to_dict(self) -> dict:
        return {"agent_id": self.agent_id, "capabilities": list(self.capabilities), "endpoint": self.endpoint}


@dataclass(frozen=True)
class Assigned:
    """The task starts now on ``worker`` (HTTP 202 Accepted)."""

    task_id: str
    worker: str
    http_status: int = field(default=202, repr=False)


@dataclass(frozen=True)
class Queued:
    """Every worker is busy; the task waits in the pool's bounded queue (HTTP 202 Accepted)."""

    task_id: str
    http_status: int = field(default=202, repr=False)


@dataclass(frozen=True)
class Rejected:
    """The pool and its queue are full: HTTP 429 Too Many Requests, ``Retry-After`` seconds."""

    task_id: str
    retry_after: float
    http_status: int = field(default=429, repr=False)


def count_words(items: list[str]) -> int:
    """An ephemeral task agent's work: how many whitespace-separated words ``items`` hold."""
    return sum(len(str(item).split()) for item in items)


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process (unlike the salted ``hash()``)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


__all__ = ["HEARTBEAT_EVERY", "HEARTBEAT_TTL", "MAX_ID_LENGTH", "RESULT_TTL", "AgentCard", "Assigned", "Queued",
           "Rejected", "count_words", "stable_hash"]
