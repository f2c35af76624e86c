"""Agent pools and ephemeral task agents (Day 2): their requests, reports and dispatch strategies.

A pool is a fixed set of worker agents behind one dispatcher (:class:`PoolConfig`): each task
(:class:`PoolTaskRequest`) goes to a worker chosen by a strategy (:data:`Strategy`), waits in a
bounded queue when every worker is busy, and is refused with 429 and ``Retry-After`` when the
queue is full too. An ephemeral task agent lives for one task (:class:`EphemeralTaskRequest`):
it answers, keeps its :class:`EphemeralTaskReport` for ``ttl_seconds`` and deletes itself.

:func:`ring_owner` is the consistent-hashing strategy, a pure function of the pool's size, so
every Worker isolate and every restart routes a key the same way.
"""
from __future__ import annotations

import bisect
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .pair import MAX_ITEMS, Operation

Strategy = Literal["round-robin", "least-loaded", "consistent-hash"]
#: Most workers a pool may have, tasks one worker runs at once, tasks that may wait.
MAX_POOL_SIZE, MAX_CAPACITY, MAX_QUEUE = 16, 8, 256
#: Points each worker gets on the consistent-hashing ring.
RING_VNODES = 64
#: Longest an ephemeral task agent may keep its result.
MAX_TASK_TTL_SECONDS = 86_400.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PoolConfig(_Model):
    """How a pool dispatches: its size, strategy, per-worker capacity and queue bound."""

    size: int = Field(default=3, ge=1, le=MAX_POOL_SIZE)
    strategy: Strategy = "least-loaded"
    capacity: int = Field(default=2, ge=1, le=MAX_CAPACITY)
    max_queue: int = Field(default=8, ge=0, le=MAX_QUEUE)
    retry_after_seconds: float = Field(default=1.0, gt=0, le=3600)
    #: Seconds each worker takes per task (index i: worker i), to show a slow worker; empty: none.
    worker_delays: list[float] = Field(default_factory=list, max_length=MAX_POOL_SIZE)


class PoolTaskRequest(_Model):
    """One task for the pool; ``key`` (e.g. a conversation id) is what consistent hashing routes by."""

    task_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    operation: Operation
    items: list[Any] = Field(min_length=1, max_length=MAX_ITEMS)
    key: str | None = Field(default=None, min_length=1, max_length=128)


class PoolTaskReport(_Model):
    task_id: str
    worker: str
    strategy: Strategy
    result: Any
    waited_seconds: float
    latency_seconds: float


class PoolWorkerState(_Model):
    worker: str
    in_flight: int
    done: int


class PoolState(_Model):
    name: str
    config: PoolConfig
    workers: list[PoolWorkerState]
    queued: int
    rejected: int


class EphemeralTaskRequest(_Model):
    """One task for a fresh, single-use agent."""

    operation: Operation
    items: list[Any] = Field(min_length=1, max_length=MAX_ITEMS)
    ttl_seconds: float = Field(default=60.0, ge=1.0, le=MAX_TASK_TTL_SECONDS)


class EphemeralTaskReport(_Model):
    agent_id: str
    operation: Operation
    result: Any
    created_at: float
    expires_at: float


def stable_hash(text: str) -> int:
    """A 64-bit hash that is the same in every process (Python's ``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def ring_owner(key: str, workers: list[str], vnodes: int = RING_VNODES) -> str:
    """The worker that owns ``key`` on a consistent-hashing ring of ``workers``."""
    if not workers:
        raise LookupError("no workers")
    points = sorted((stable_hash(f"{w}#{i}"), w) for w in workers for i in range(vnodes))
    i = bisect.bisect_left(points, (stable_hash(key), ""))
    return points[i % len(points)][1]


__all__ = ["MAX_CAPACITY", "MAX_POOL_SIZE", "MAX_QUEUE", "MAX_TASK_TTL_SECONDS", "RING_VNODES", "EphemeralTaskReport",
           "EphemeralTaskRequest", "PoolConfig", "PoolState", "PoolTaskReport", "PoolTaskRequest", "PoolWorkerState",
           "Strategy", "ring_owner", "stable_hash"]
