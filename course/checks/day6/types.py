"""The data types, constants and helpers Day 6's exercises share with their checks (given to learners).

- the task events: :data:`EVENT_TYPES`, :data:`CURRENT_VERSIONS`, :data:`DEFAULT_PRIORITY`
  and :class:`UnknownEventVersion`, the error for an event written by newer code;
- the replayer: a stored record is ``{"seq": int, "at": float, "event": {...}}``; the read
  model is the board :func:`empty_board` returns, and :data:`BOARD_RULES` says how each event
  changes it;
- the event store: :class:`ConcurrencyError`, what an expected-version append raises;
- the queue consumer: :data:`MAX_ATTEMPTS`, :class:`Message`, :class:`Ledger` (the effect, and
  the durable state a consumer keeps), :class:`Order` (a valid body), :class:`TransientError`;
- the WebSocket hub: :class:`ClientGone`, what ``send`` raises for a dead connection;
- D1 work claiming: :data:`LEASE_SECONDS` and :data:`TASKS_SCHEMA`.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: The task events' types, and the version of each that the current code writes.
EVENT_TYPES = ("task_created", "task_claimed", "task_completed")
CURRENT_VERSIONS = {"task_created": 2, "task_claimed": 1, "task_completed": 1}
#: The priority a v1 ``task_created`` (which had none) gets when it is upcast.
DEFAULT_PRIORITY = 3
#: Longest task title.
MAX_TITLE = 200

BOARD_RULES = """\
task_created   -> tasks[task_id] = {"title": title, "status": "open", "worker": None}
task_claimed   -> tasks[task_id]["status"] = "claimed"; tasks[task_id]["worker"] = worker
task_completed -> tasks[task_id]["status"] = "done"; tasks[task_id]["worker"] = worker;
                  completed_by[worker] += 1 (from 0)
every event    -> last_seq = its seq"""


class UnknownEventVersion(ValueError):
    """A stored event has a version this code does not know (newer code wrote it): refuse it."""


class ConcurrencyError(Exception):
    """An append's ``expected_version`` is not the stream's version: another writer got there first."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream!r} is at version {actual}, the append expected {expected}")
        self.stream, self.expected, self.actual = stream, expected, actual


#: Deliveries a queue message gets in all before it goes to the dead-letter queue.
MAX_ATTEMPTS = 3


class TransientError(RuntimeError):
    """The ledger is briefly unavailable: the same message may well succeed on a later attempt."""


class Order(BaseModel):
    """A valid order message body: ``{"key": idempotency key, "account": ..., "amount": cents > 0}``."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1)
    account: str = Field(min_length=1)
    amount: int = Field(gt=0)


class Message:
    """One delivery of a queue message: ``id``, ``body``, ``attempts`` (1 on the first), ``ack()``, ``retry()``."""

    def __init__(self, id: str, body: Any, attempts: int) -> None:
        self.id, self.body, self.attempts = id, body, attempts
        self.outcome: str | None = None

    def ack(self) -> None:
        self.outcome = "ack"

    def retry(self) -> None:
        self.outcome = "retry"

    def __repr__(self) -> str:
        return f"Message(id={self.id!r}, body={self.body!r}, attempts={self.attempts})"


class Ledger:
    """The consumer's effect and its durable state: both survive a consumer crash.

    ``credit(account, amount)`` applies the effect (not idempotent: every call counts; it may
    raise :class:`TransientError`); ``kv`` is a dict the consumer may keep anything in.
    """

    def __init__(self, busy: dict[tuple[str, int], int] | None = None) -> None:
        self.entries: list[tuple[str, int]] = []
        self.kv: dict[str, Any] = {}
        self._busy = dict(busy or {})  # (account, amount) -> calls that fail first

    def credit(self, account: str, amount: int) -> None:
        if self._busy.get((account, amount), 0) > 0:
            self._busy[(account, amount)] -= 1
            raise TransientError(f"the ledger is busy; credit({account!r}, {amount}) did not happen")
        self.entries.append((account, amount))

    def balances(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for account, amount in self.entries:
            out[account] = out.get(account, 0) + amount
        return out


class ClientGone(ConnectionError):
    """``send`` to a WebSocket whose client has gone (a partition, a closed tab): the hub must forget it."""


#: Seconds a claim's lease lasts.
LEASE_SECONDS = 30.0
#: The D1 table of work items (a ``lease_until`` of 0 means no lease).
TASKS_SCHEMA = """CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL DEFAULT 'queued',   -- 'queued', 'claimed' or 'done'
  owner TEXT,                              -- the worker holding the lease
  lease_until REAL NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0
)"""


def empty_board() -> dict[str, Any]:
    """The read model before any event: ``{"last_seq": 0, "tasks": {}, "completed_by": {}}``."""
    return {"last_seq": 0, "tasks": {}, "completed_by": {}}


__all__ = ["BOARD_RULES", "CURRENT_VERSIONS", "DEFAULT_PRIORITY", "EVENT_TYPES", "LEASE_SECONDS", "MAX_ATTEMPTS",
           "MAX_TITLE", "TASKS_SCHEMA", "ClientGone", "ConcurrencyError", "Ledger", "Message", "Order",
           "TransientError", "UnknownEventVersion", "empty_board"]
