"""One R2 bucket's stored objects and uploads in progress, in memory or in SQLite.

The store is plain synchronous Python, thread-safe, with no Cloudflare API on it: the binding
(:mod:`.bucket`) checks what Worker code asks and calls it; tests and notebooks inspect it
directly (``r2_bucket(rt, "BUCKET").keys()``).
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from course.workers.jsproxy import JsDate


def key_order(key: str) -> bytes:
    """The sort key of an object key: R2 lists keys in UTF-8 byte order."""
    return key.encode("utf-8")


@dataclass(frozen=True)
class R2Record:
    """One stored object."""

    key: str
    version: str
    data: bytes
    etag: str
    uploaded_ms: int
    http_metadata: dict[str, Any] = field(default_factory=dict)  # cacheExpiry as epoch ms
    custom_metadata: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm -> hex
    storage_class: str = "Standard"

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def uploaded(self) -> JsDate:
        """A JS Date on Cloudflare (``getTime()``); here also a datetime."""
        return JsDate.from_ms(self.uploaded_ms)


@dataclass
class MultipartState:
    """A multipart upload in progress: its key, options and the parts uploaded so far."""

    key: str
    upload_id: str
    created: float  # wall-clock seconds
    http_metadata: dict[str, Any]
    custom_metadata: dict[str, str]
    storage_class: str
    parts: dict[int, tuple[str, bytes]] = field(default_factory=dict)  # number -> (etag, data)


class R2Store:
    """One bucket's objects, optionally persisted in SQLite. Thread-safe, synchronous."""

    def __init__(self, name: str, *, path: Path | None = None) -> None:
        self.name = name
        self._lock = threading.RLock()
        self._objects: dict[str, R2Record] = {}
        #: multipart uploads in progress, by upload id (in memory only, as in ``wrangler dev``)
        self.uploads: dict[str, MultipartState] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, version TEXT, data BLOB, "
                             "etag TEXT, uploaded INTEGER, http_metadata TEXT, custom_metadata TEXT, "
                             "checksums TEXT, storage_class TEXT)")
            for row in self._db.execute("SELECT key, version, data, etag, uploaded, http_metadata, custom_metadata, "
                                        "checksums, storage_class FROM objects"):
                key, version, data, etag, uploaded, http, custom, sums, klass = row
                self._objects[key] = R2Record(key, version, bytes(data), etag, uploaded, json.loads(http),
                                              json.loads(custom), json.loads(sums), klass)

    def put(self, record: R2Record) -> None:
        with self._lock:
            self._objects[record.key] = record
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 (record.key, record.version, record.data, record.etag, record.uploaded_ms,
                                  json.dumps(record.http_metadata), json.dumps(record.custom_metadata),
                                  json.dumps(record.checksums), record.storage_class))

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._objects.pop(key, None)
                if self._db is not None:
                    self._db.execute("DELETE FROM objects WHERE key = ?", (key,))

    # -- inspection --------------------------------------------------------------------------
    def record(self, key: str) -> R2Record | None:
        with self._lock:
            return self._objects.get(key)

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None."""
        rec = self.record(key)
        return rec.data if rec is not None else None

    def keys(self, prefix: str = "") -> list[str]:
        """Every key starting with ``prefix``, in UTF-8 byte order (R2's list order)."""
        with self._lock:
            keys = [k for k in self._objects if k.startswith(prefix)]
        return sorted(keys, key=key_order)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._objects

    def __len__(self) -> int:
        with self._lock:
            return len(self._objects)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __repr__(self) -> str:
        return f"<R2Store {self.name!r} objects={len(self)}>"
