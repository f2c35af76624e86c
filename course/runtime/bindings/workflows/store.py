"""Where a Workflow's instances live: one SQLite database per Workflow, on disk or in memory.

The engine writes here before anything it did becomes visible, so the database is the
instance: an engine that crashes (or a runtime that stops) loses only the step attempt in
progress, and a new engine replays ``run`` against these rows. Tables:

- ``instances``: one row per instance (status, params, output, error, timestamps);
- ``steps``: one row per durable call of a run (``do:<name>:<n>``, ``sleep:...``, ``wait:...``):
  attempts made, whether it is done, its result or error, when a sleep or wait ends;
- ``events``: events sent with ``sendEvent``, in order, and which wait consumed each.

With ``persist_to`` the file is ``<persist_to>/v3/workflows/<workflow>.sqlite`` (wrangler keeps
Workflows state under the same folder); without it the database is in memory and lives as long
as the runtime. Values are copied with the structured-clone rules, then pickled.
"""
from __future__ import annotations

import json
import pickle
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from course.runtime.kernel.clone import structured_clone
from course.workers.jsproxy import to_py, wrap

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, status TEXT NOT NULL, params BLOB,
    created REAL NOT NULL, started REAL, ended REAL, output BLOB, error TEXT, paused_at REAL,
    state_bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS steps (
    instance TEXT NOT NULL, key TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0, value BLOB, error TEXT, wake_at REAL,
    PRIMARY KEY (instance, key));
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, instance TEXT NOT NULL, type TEXT NOT NULL,
    payload BLOB, timestamp REAL NOT NULL, consumed_by TEXT);
"""


def encode(value: Any) -> bytes:
    """A value as stored: structured-cloned (DataCloneError for what cannot cross), pickled."""
    return pickle.dumps(to_py(structured_clone(value)), protocol=pickle.HIGHEST_PROTOCOL)


def decode(data: bytes | None) -> Any:
    return None if data is None else wrap(pickle.loads(data))


@dataclass
class InstanceRow:
    id: str
    seq: int
    status: str
    params: Any
    created: float
    started: float | None
    ended: float | None
    output: Any
    error: dict[str, str] | None
    paused_at: float | None
    state_bytes: int


@dataclass
class StepRow:
    key: str
    attempts: int
    done: bool
    value: Any
    error: dict[str, str] | None
    wake_at: float | None


class InstanceStore:
    """The instances of one Workflow (thread-safe: the loop writes, notebooks read)."""

    def __init__(self, workflow: str, path: Path | None) -> None:
        self.workflow = workflow
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", check_same_thread=False,
                                   isolation_level=None)
        self._db.executescript(_SCHEMA)

    # -- instances -------------------------------------------------------------------------------
    def add_instance(self, instance_id: str, params: bytes, created: float) -> None:
        with self._lock:
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM instances").fetchone()[0]
            self._db.execute("INSERT INTO instances (id, seq, status, params, created) VALUES (?, ?, 'queued', ?, ?)",
                             (instance_id, seq, params, created))

    def instance(self, instance_id: str) -> InstanceRow | None:
        with self._lock:
            row = self._db.execute("SELECT id, seq, status, params, created, started, ended, output, error, "
                                   "paused_at, state_bytes FROM instances WHERE id = ?", (instance_id,)).fetchone()
        if row is None:
            return None
        return InstanceRow(row[0], row[1], row[2], decode(row[3]), row[4], row[5], row[6], decode(row[7]),
                           json.loads(row[8]) if row[8] else None, row[9], row[10])

    def instance_ids(self, statuses: tuple[str, ...] | None = None) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT id, status FROM instances ORDER BY seq").fetchall()
        return [r[0] for r in rows if statuses is None or r[1] in statuses]

    def update(self, instance_id: str, **fields: Any) -> None:
        """Set columns of an instance (``output`` is encoded, ``error`` stored as JSON)."""
        if "output" in fields:
            fields["output"] = None if fields["output"] is None else encode(fields["output"])
        if "error" in fields:
            fields["error"] = None if fields["error"] is None else json.dumps(fields["error"])
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self._lock:
            self._db.execute(f"UPDATE instances SET {assignments} WHERE id = ?", (*fields.values(), instance_id))

    def reset(self, instance_id: str) -> None:
        """Forget every step and event of an instance (``restart``); params and id stay."""
        with self._lock:
            self._db.execute("DELETE FROM steps WHERE instance = ?", (instance_id,))
            self._db.execute("DELETE FROM events WHERE instance = ?", (instance_id,))
            self._db.execute("UPDATE instances SET status = 'queued', started = NULL, ended = NULL, output = NULL, "
                             "error = NULL, paused_at = NULL, state_bytes = 0 WHERE id = ?", (instance_id,))

    # -- steps -----------------------------------------------------------------------------------
    def step(self, instance_id: str, key: str) -> StepRow | None:
        with self._lock:
            row = self._db.execute("SELECT key, attempts, done, value, error, wake_at FROM steps "
                                   "WHERE instance = ? AND key = ?", (instance_id, key)).fetchone()
        if row is None:
            return None
        return StepRow(row[0], row[1], bool(row[2]), decode(row[3]), json.loads(row[4]) if row[4] else None, row[5])

    def steps(self, instance_id: str) -> list[StepRow]:
        with self._lock:
            keys = [r[0] for r in self._db.execute("SELECT key FROM steps WHERE instance = ? ORDER BY rowid",
                                                   (instance_id,))]
        return [s for s in (self.step(instance_id, k) for k in keys) if s is not None]

    def put_step(self, instance_id: str, key: str, *, attempts: int | None = None, done: bool | None = None,
                 value: bytes | None = None, error: dict[str, str] | None = None, wake_at: float | None = None) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO steps (instance, key) VALUES (?, ?)", (instance_id, key))
            sets: dict[str, Any] = {}
            if attempts is not None:
                sets["attempts"] = attempts
            if done is not None:
                sets["done"] = int(done)
            if value is not None:
                sets["value"] = value
                self._db.execute("UPDATE instances SET state_bytes = state_bytes + ? WHERE id = ?",
                                 (len(value), instance_id))
            if error is not None:
                sets["error"] = json.dumps(error)
            if wake_at is not None:
                sets["wake_at"] = wake_at
            if sets:
                assignments = ", ".join(f"{k} = ?" for k in sets)
                self._db.execute(f"UPDATE steps SET {assignments} WHERE instance = ? AND key = ?",
                                 (*sets.values(), instance_id, key))

    def shift_wake_times(self, instance_id: str, seconds: float) -> None:
        """Move pending sleeps and waits later by ``seconds`` (the time an instance was paused)."""
        with self._lock:
            self._db.execute("UPDATE steps SET wake_at = wake_at + ? WHERE instance = ? AND done = 0 "
                             "AND wake_at IS NOT NULL", (seconds, instance_id))

    # -- events ----------------------------------------------------------------------------------
    def add_event(self, instance_id: str, event_type: str, payload: bytes, timestamp: float) -> int:
        with self._lock:
            cur = self._db.execute("INSERT INTO events (instance, type, payload, timestamp) VALUES (?, ?, ?, ?)",
                                   (instance_id, event_type, payload, timestamp))
            return int(cur.lastrowid or 0)

    def take_event(self, instance_id: str, event_type: str, consumer: str) -> dict[str, Any] | None:
        """The oldest unconsumed event of ``event_type``, now marked consumed by ``consumer``."""
        with self._lock:
            row = self._db.execute("SELECT seq, payload, timestamp FROM events WHERE instance = ? AND type = ? "
                                   "AND consumed_by IS NULL ORDER BY seq LIMIT 1", (instance_id, event_type)).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE events SET consumed_by = ? WHERE seq = ?", (consumer, row[0]))
        return {"seq": row[0], "payload": decode(row[1]), "type": event_type, "timestamp": row[2]}

    def events(self, instance_id: str) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT seq, type, payload, timestamp, consumed_by FROM events WHERE instance = ? "
                                    "ORDER BY seq", (instance_id,)).fetchall()
        for seq, event_type, payload, timestamp, consumed in rows:
            yield {"seq": seq, "type": event_type, "payload": decode(payload), "timestamp": timestamp,
                   "consumed_by": consumed}

    def close(self) -> None:
        with self._lock:
            self._db.close()
