"""Durable Object storage: the async KV API, alarms and transactions over real SQLite.

Every object gets one SQLite database (in memory, or a file under ``persist_to``). The async KV
API lives in a table of that database (``_cf_KV``, as on Cloudflare), so SQL writes and KV writes
share one transaction. Writes are not committed one by one: the database keeps a transaction open
while the object runs, and :meth:`ObjectStorage.flush` commits it when the object's turn ends
(the next await that is not a storage operation), or, for the last turn of an event, once for
every event that ended in the same pass of the loop (group commit: objects/instance.py). That is
Cloudflare's automatic write coalescing, and the commit before a result leaves is its output gate.

The SQL API and the sync KV API (``ctx.storage.sql``, ``ctx.storage.kv``) are in
``course.runtime.objects.sql``; ``TRANSACTION_STATEMENT_ERROR`` and the SQL limits are
re-exported here.

References:
https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/
https://developers.cloudflare.com/durable-objects/api/legacy-kv-storage-api/
https://developers.cloudflare.com/durable-objects/platform/limits/
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import inspect
import pickle
import sqlite3
from pathlib import Path
from typing import Any, Callable, TypeVar

from course.runtime.kernel.clone import structured_clone
from course.runtime.objects.sql import (
    MAX_SQL_BOUND_PARAMETERS,
    MAX_SQL_STATEMENT_BYTES,
    TRANSACTION_STATEMENT_ERROR,
    SqlGuard,
    SqlStorage,
    SyncKV,
)
from course.workers.jsproxy import JsException, JsObject, to_py, wrap

# -- limits (https://developers.cloudflare.com/durable-objects/platform/limits/) -------------
#: Key size of the KV API of KV-backed objects: 2 KiB. SQLite-backed objects have no key limit of
#: their own: "Key and value combined cannot exceed 2 MB" (checked in ``_check_value``; local
#: workerd accepts a 2049-byte key on a SQLite-backed object).
MAX_KEY_BYTES = 2048
#: Value size of a KV-backed object: 128 KiB.
MAX_KV_BACKED_VALUE_BYTES = 128 * 1024
#: SQLite-backed objects: "Key and value combined cannot exceed 2 MB"; also the maximum
#: string, BLOB or table row size of the SQL API.
MAX_SQLITE_ROW_BYTES = 2_000_000
#: get/put/delete take at most 128 keys at once (Storage API, "up to 128 keys").
MAX_KEYS_PER_CALL = 128
#: SQL API: maximum number of columns per table.
MAX_SQL_COLUMNS = 100
#: SQL API: maximum arguments per SQL function.
MAX_SQL_FUNCTION_ARGS = 32
#: SQL API: maximum bytes in a LIKE or GLOB pattern (workerd: "LIKE or GLOB pattern too complex").
MAX_SQL_LIKE_PATTERN_BYTES = 50
#: SQLite-backed objects: storage per object, 10 GB (1 GB = 10**9 bytes).
MAX_SQLITE_DATABASE_BYTES = 10 * 10**9

#: Hidden tables used by the platform; the SQL API may not read them (as on Cloudflare).
KV_TABLE = "_cf_KV"
META_TABLE = "_cf_METADATA"

_DELETED = object()
_SELECT_ONE = f"SELECT value FROM {KV_TABLE} WHERE key = ?"
_PUT_ONE = f"INSERT OR REPLACE INTO {KV_TABLE} (key, value) VALUES (?, ?)"
#: Value types that are their own structured clone and their own plain value.
_SCALARS = frozenset({int, float, str, bool, type(None)})
T = TypeVar("T")


def encode_value(value: Any) -> bytes:
    """Serialize a storage value (structured-clone rules) to bytes."""
    if type(value) in _SCALARS:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    plain = to_py(structured_clone(value))
    return pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)


def decode_value(data: bytes) -> Any:
    """The value stored by :func:`encode_value`, with dicts/lists as JsObject/JsArray."""
    return wrap(pickle.loads(data))


def _check_key(key: Any, *, limit: bool = True) -> str:
    """A valid key; ``limit`` applies the 2 KiB key size of KV-backed objects."""
    if not isinstance(key, str):
        raise JsException(f"Storage keys must be strings, got {type(key).__name__}", "TypeError")
    if limit and len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise JsException(f"Keys cannot be larger than {MAX_KEY_BYTES} bytes.", "RangeError")
    return key


def _check_keys(keys: Any, what: str, *, limit: bool = True) -> list[str]:
    keys = list(keys)
    if len(keys) > MAX_KEYS_PER_CALL:
        raise JsException(f"{what}() accepts at most {MAX_KEYS_PER_CALL} keys at once; "
                          f"{len(keys)} were given.", "RangeError")
    return [_check_key(k, limit=limit) for k in keys]


def _utf8(key: str) -> bytes:
    return key.encode("utf-8")


def _to_millis(value: Any) -> int:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp() * 1000)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JsException("setAlarm() takes a time in milliseconds since the epoch (a number) "
                          f"or a datetime, got {type(value).__name__}", "TypeError")
    return int(value)


def _started(operation: Callable[..., T], *args: Any) -> "asyncio.Future[T]":
    """Run a storage operation now and return its (settled) result to await.

    On Cloudflare every storage method returns a JavaScript promise whose work starts when the
    method is called, so a write takes effect whether or not the code awaits it (workerd's own
    Python Durable Object test calls ``storage.put`` without ``await``). Here the operation runs
    at once, inside the object's open transaction: writes with no await between them still
    commit together when the turn ends, and the output gate still holds the response until they
    are confirmed. An error is raised where the result is awaited; one never awaited is reported
    by asyncio, as an unhandled rejection would be.
    """
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    try:
        future.set_result(operation(*args))
    except Exception as exc:  # noqa: BLE001 - delivered to whoever awaits the operation
        future.set_exception(exc)
    return future


class ObjectStorage:
    """The storage of one Durable Object: ``ctx.storage`` (async KV, alarms, sql, kv).

    ``sqlite_backed`` follows the class's migration: ``new_sqlite_classes`` get the SQL and
    sync KV APIs and the 2 MB value limit; ``new_classes`` (KV-backed) get 128 KiB values and
    no SQL API, as on Cloudflare.
    """

    def __init__(self, path: Path | None, *, sqlite_backed: bool, delete_all_deletes_alarm: bool = False,
                 on_alarm_change: Callable[[int | None], None] | None = None,
                 on_op: Callable[[str, bool], None] | None = None) -> None:
        self.path = path
        self.sqlite_backed = sqlite_backed
        self.delete_all_deletes_alarm = delete_all_deletes_alarm
        self.on_alarm_change = on_alarm_change
        #: called as on_op(name, is_write) for every storage operation (tracing, flush scheduling)
        self.on_op = on_op
        #: called after every COMMIT: the object in memory hands out the results that waited for it
        self.on_commit: Callable[[], None] | None = None
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", isolation_level=None,
                                   check_same_thread=False)
        if path is not None:
            # WAL without an fsync per commit: a commit survives the process (a crash, a restart
            # of `course serve`), which is what local persistence promises; about 40x faster.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_SQLITE_ROW_BYTES)
        self._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, MAX_SQL_BOUND_PARAMETERS)
        self._db.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_STATEMENT_BYTES)
        self._db.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, MAX_SQL_COLUMNS)
        self._db.setlimit(sqlite3.SQLITE_LIMIT_FUNCTION_ARG, MAX_SQL_FUNCTION_ARGS)
        self._db.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_SQL_LIKE_PATTERN_BYTES)
        page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        # Past 10 GB, writes fail with SQLITE_FULL ("database or disk is full"), as on Cloudflare.
        self._db.execute(f"PRAGMA max_page_count = {MAX_SQLITE_DATABASE_BYTES // page_size}")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS {KV_TABLE} (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value) WITHOUT ROWID")
        self._guard = SqlGuard()
        self._db.set_authorizer(self._guard.authorize)
        self._in_txn = False
        self._savepoints = 0
        self.pending_writes = 0
        self.closed = False
        #: setAlarm() needs an alarm() handler on the class (set by the namespace)
        self.has_alarm_handler = True
        #: While the alarm() handler runs: the time it was scheduled for. getAlarm() then answers
        #: None unless setAlarm() was called since the handler started (alarms docs, getAlarm).
        self.running_alarm: int | None = None
        #: setAlarm()/deleteAlarm() was called while the handler ran: a failure is not retried.
        self.alarm_touched = False
        self._sql = SqlStorage(self._db, self._guard, lambda: self._op("sql", False),
                               self._count_writes) if sqlite_backed else None
        self._kv = SyncKV(self) if sqlite_backed else None

    @property
    def sql(self) -> "SqlStorage":
        """The SQL API (SQLite-backed classes only)."""
        if self._sql is None:
            self._require_sqlite("ctx.storage.sql")
        return self._sql  # type: ignore[return-value]

    @property
    def kv(self) -> "SyncKV":
        """The synchronous KV API (SQLite-backed classes only)."""
        if self._kv is None:
            self._require_sqlite("ctx.storage.kv")
        return self._kv  # type: ignore[return-value]

    # -- transactions: the write buffer ------------------------------------------------------
    def _begin(self) -> None:
        if self.closed:
            raise JsException("Durable Object storage is no longer available: the object was reset.", "Error")
        if not self._in_txn:
            self._db.execute("BEGIN")
            self._in_txn = True

    def _op(self, name: str, write: bool) -> None:
        if self.closed or not self._in_txn:
            self._begin()
        if write:
            self.pending_writes += 1
        if self.on_op is not None:
            self.on_op(name, write)

    def _count_writes(self, n: int) -> None:
        self.pending_writes += n

    def flush(self) -> int:
        """Commit buffered writes (the output gate opens). Returns how many writes committed.

        Inside ``transaction()``/``transactionSync()`` nothing commits until it ends.
        """
        if self.closed or not self._in_txn or self._savepoints:
            return 0
        self._db.execute("COMMIT")
        self._in_txn = False
        n, self.pending_writes = self.pending_writes, 0
        if self.on_commit is not None:
            self.on_commit()
        return n

    @property
    def committable(self) -> bool:
        """A transaction is open and no ``transaction()`` holds it: :meth:`flush` would commit."""
        return self._in_txn and not self._savepoints and not self.closed

    def rollback(self) -> int:
        """Drop uncommitted writes (the object crashed before its output gate opened)."""
        if self.closed or not self._in_txn:
            return 0
        self._db.execute("ROLLBACK")
        self._in_txn = False
        self._savepoints = 0
        # A setAlarm()/deleteAlarm() of the running alarm handler that did not commit never
        # happened: it must not cancel that alarm's retries (one that committed changed the row,
        # which the retry logic sees).
        self.alarm_touched = False
        n, self.pending_writes = self.pending_writes, 0
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self.flush() if not self._savepoints else self.rollback()
            finally:
                self.closed = True
                self._db.close()

    def _savepoint(self) -> str:
        self._begin()
        self._savepoints += 1
        name = f"cf_txn_{self._savepoints}"
        self._db.execute(f"SAVEPOINT {name}")
        return name

    def _end_savepoint(self, name: str, ok: bool) -> None:
        if not ok:
            self._db.execute(f"ROLLBACK TO {name}")
        self._db.execute(f"RELEASE {name}")
        self._savepoints -= 1

    # -- async KV API --------------------------------------------------------------------------
    def _check_value(self, key: str, value: Any) -> bytes:
        data = encode_value(value)
        if self.sqlite_backed:
            if len(data) + len(_utf8(key)) > MAX_SQLITE_ROW_BYTES:
                raise JsException("string or blob too big: SQLITE_TOOBIG", "Error")
        elif len(data) > MAX_KV_BACKED_VALUE_BYTES:
            raise JsException(f"Values cannot be larger than {MAX_KV_BACKED_VALUE_BYTES} bytes. A value of "
                              f"size {len(data)} was provided.", "RangeError")
        return data

    def _get_one(self, key: str) -> Any:
        row = self._db.execute(_SELECT_ONE, (key,)).fetchone()
        return decode_value(row[0]) if row is not None else None

    def _put_one(self, key: str, data: bytes) -> None:
        self._db.execute(_PUT_ONE, (key, data))

    def _delete_one(self, key: str) -> bool:
        return self._db.execute(f"DELETE FROM {KV_TABLE} WHERE key = ?", (key,)).rowcount > 0

    def get_now(self, keys: Any) -> Any:
        if type(keys) is str and self.sqlite_backed:  # one key, no size limit of its own: the common case
            self._op("get", False)
            return self._get_one(keys)
        if isinstance(keys, (list, tuple)):
            checked = _check_keys(keys, "get", limit=not self.sqlite_backed)
            self._op("get", False)
            found = {k: self._get_one(k) for k in dict.fromkeys(checked)}
            return JsObject({k: found[k] for k in sorted(found, key=_utf8) if found[k] is not None})
        key = _check_key(keys, limit=not self.sqlite_backed)
        self._op("get", False)
        return self._get_one(key)

    def get(self, keys: Any, options: Any = None, **_: Any) -> "asyncio.Future[Any]":
        """``get(key)`` -> value or None; ``get([k...])`` -> dict of the keys found, in key order."""
        return _started(self.get_now, keys)

    def put_now(self, key_or_entries: Any, value: Any = _DELETED) -> None:
        if isinstance(key_or_entries, dict) and value is _DELETED:
            keys = _check_keys(key_or_entries.keys(), "put", limit=not self.sqlite_backed)
            encoded = [(k, self._check_value(k, key_or_entries[k])) for k in keys]
            self._op("put", True)
            for k, data in encoded:
                self._put_one(k, data)
            return
        if value is _DELETED:
            raise JsException("put() takes a key and a value, or a dict of entries", "TypeError")
        key = key_or_entries if type(key_or_entries) is str and self.sqlite_backed else \
            _check_key(key_or_entries, limit=not self.sqlite_backed)
        data = self._check_value(key, value)
        self._op("put", True)
        self._put_one(key, data)

    def put(self, key_or_entries: Any, value: Any = _DELETED, options: Any = None, **_: Any) -> "asyncio.Future[None]":
        """``put(key, value)`` or ``put({key: value, ...})`` (up to 128 entries)."""
        return _started(self.put_now, key_or_entries, value)

    def delete_now(self, keys: Any) -> Any:
        if isinstance(keys, (list, tuple)):
            checked = _check_keys(keys, "delete", limit=not self.sqlite_backed)
            self._op("delete", True)
            return sum(1 for k in dict.fromkeys(checked) if self._delete_one(k))
        key = _check_key(keys, limit=not self.sqlite_backed)
        self._op("delete", True)
        return self._delete_one(key)

    def delete(self, keys: Any, options: Any = None, **_: Any) -> "asyncio.Future[Any]":
        """``delete(key)`` -> True if it existed; ``delete([k...])`` -> how many existed."""
        return _started(self.delete_now, keys)

    def deleteAll(self, options: Any = None, **_: Any) -> "asyncio.Future[None]":  # noqa: N802 - Cloudflare's name
        """Delete every key (and, SQLite-backed, every table).

        The alarm survives unless the Worker's compatibility date is 2026-02-24 or later
        (https://developers.cloudflare.com/changelog/2026-02-24-deleteall-deletes-alarms).
        """

        def run() -> None:
            self._op("deleteAll", True)
            self._db.execute(f"DELETE FROM {KV_TABLE}")
            if self.sqlite_backed:
                tables = [r[0] for r in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' "
                    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")]
                for table in tables:
                    self._db.execute(f'DROP TABLE IF EXISTS "{table}"')
            if self.delete_all_deletes_alarm:
                self._set_alarm_row(None)
        return _started(run)

    delete_all = deleteAll

    def list_now(self, options: Any = None, **kwargs: Any) -> JsObject:
        opts = dict(to_py(options) or {})
        opts.update(kwargs)
        allowed = {"start", "startAfter", "end", "prefix", "reverse", "limit", "allowConcurrency", "noCache"}
        unknown = set(opts) - allowed
        if unknown:
            raise JsException(f"list() got unknown option(s) {sorted(unknown)}; allowed: "
                              f"{sorted(allowed - {'allowConcurrency', 'noCache'})}", "TypeError")
        if opts.get("start") is not None and opts.get("startAfter") is not None:
            raise JsException("list() cannot be called with both start and startAfter values.", "TypeError")
        limit = opts.get("limit")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise JsException(f"list() limit must be a number, got {type(limit).__name__}", "TypeError")
        if limit is not None and limit <= 0:
            raise JsException("List limit must be positive.", "TypeError")  # workerd's text
        self._op("list", False)
        where, params = [], []
        # TEXT compares with memcmp over UTF-8 in SQLite (BINARY collation): byte order.
        if opts.get("start") is not None:
            where.append("key >= ?"); params.append(str(opts["start"]))
        if opts.get("startAfter") is not None:
            where.append("key > ?"); params.append(str(opts["startAfter"]))
        if opts.get("end") is not None:
            where.append("key < ?"); params.append(str(opts["end"]))
        prefix = opts.get("prefix")
        sql = f"SELECT key, value FROM {KV_TABLE}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY key " + ("DESC" if opts.get("reverse") else "ASC")
        out = JsObject()
        for key, data in self._db.execute(sql, params):
            if prefix and not key.startswith(prefix):
                continue
            out[key] = decode_value(data)
            if limit is not None and len(out) >= limit:
                break
        return out

    def list(self, options: Any = None, **kwargs: Any) -> "asyncio.Future[JsObject]":
        """Entries in key order (UTF-8 bytes): start, startAfter, end, prefix, reverse, limit."""
        return _started(lambda: self.list_now(options, **kwargs))

    async def transaction(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(txn)`` atomically; an exception (or ``txn.rollback()``) undoes its writes."""
        name = self._savepoint()
        txn = StorageTransaction(self)
        ok = False
        try:
            result = fn(txn)
            if inspect.isawaitable(result):
                result = await result
            ok = not txn.rolled_back
            return result
        finally:
            self._end_savepoint(name, ok)

    def transactionSync(self, fn: Callable[[], Any]) -> Any:  # noqa: N802
        """Run synchronous ``fn()`` atomically (SQLite-backed objects); an exception rolls back."""
        self._require_sqlite("transactionSync")
        name = self._savepoint()
        ok = False
        try:
            result = fn()
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise JsException("transactionSync() callback must be synchronous (it returned an "
                                  "awaitable); use transaction() for async callbacks", "TypeError")
            ok = True
            return result
        finally:
            self._end_savepoint(name, ok)

    transaction_sync = transactionSync

    def sync(self) -> "asyncio.Future[None]":
        """Resolve when buffered writes are durable (commits them now)."""
        return _started(lambda: self.flush())

    def _require_sqlite(self, what: str) -> None:
        if not self.sqlite_backed:
            raise JsException(f"{what} is only available on SQLite-backed Durable Objects; declare the "
                              "class with new_sqlite_classes in a migration", "Error")

    # -- alarms ----------------------------------------------------------------------------------
    def alarm_ms(self) -> int | None:
        row = self._db.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'alarm'").fetchone()
        return int(row[0]) if row is not None and row[0] is not None else None

    def clear_alarm(self, ms: int) -> None:
        """Delete the alarm that ran for ``ms`` and commit, unless the handler set a new one."""
        if not self.closed and self.alarm_ms() == ms:
            self._begin()
            self._set_alarm_row(None)
            self.flush()

    def _set_alarm_row(self, ms: int | None) -> None:
        if ms is None:
            self._db.execute(f"DELETE FROM {META_TABLE} WHERE key = 'alarm'")
        else:
            self._db.execute(f"INSERT OR REPLACE INTO {META_TABLE} (key, value) VALUES ('alarm', ?)", (ms,))
        if self.on_alarm_change is not None:
            self.on_alarm_change(ms)

    def getAlarm(self, options: Any = None, **_: Any) -> "asyncio.Future[int | None]":  # noqa: N802
        """The alarm time (ms since the epoch) or None."""

        def run() -> int | None:
            self._op("getAlarm", False)
            if self.running_alarm is not None and not self.alarm_touched:
                return None  # the running alarm is no longer "set" (alarms docs, getAlarm)
            return self.alarm_ms()
        return _started(run)

    def setAlarm(self, scheduled_time: Any, options: Any = None, **_: Any) -> "asyncio.Future[None]":  # noqa: N802
        """Set the object's one alarm (replacing any earlier one)."""

        def run() -> None:
            if not self.has_alarm_handler:
                raise JsException("Your Durable Object class must have an alarm() handler in order to call "
                                  "setAlarm()", "TypeError")
            ms = _to_millis(scheduled_time)
            self._op("setAlarm", True)
            if self.running_alarm is not None:
                self.alarm_touched = True
            self._set_alarm_row(ms)
        return _started(run)

    def deleteAlarm(self, options: Any = None, **_: Any) -> "asyncio.Future[None]":  # noqa: N802
        """Delete the object's alarm, if any."""

        def run() -> None:
            self._op("deleteAlarm", True)
            if self.running_alarm is not None:
                self.alarm_touched = True
            self._set_alarm_row(None)
        return _started(run)

    get_alarm, set_alarm, delete_alarm = getAlarm, setAlarm, deleteAlarm

    # -- inspection ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Every KV entry as plain Python (for notebooks and tests; not traced)."""
        return {k: to_py(decode_value(v)) for k, v in self._db.execute(f"SELECT key, value FROM {KV_TABLE} ORDER BY key")}

    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Rows of a read-only SQL query, as dicts (inspection; ``_cf_`` tables allowed)."""
        cur = self._db.execute(sql, params)
        cols = [d[0] for d in cur.description or ()]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    def tables(self) -> list[str]:
        return [r[0] for r in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]


class StorageTransaction:
    """The ``txn`` passed to ``storage.transaction(fn)``: the KV API plus ``rollback()``."""

    def __init__(self, storage: ObjectStorage) -> None:
        self._storage = storage
        self.rolled_back = False

    def rollback(self) -> None:
        """Undo this transaction's writes when the callback returns; later operations on ``txn`` fail."""
        self.rolled_back = True

    def __getattr__(self, name: str) -> Any:
        if name in ("get", "put", "delete", "list", "getAlarm", "setAlarm", "deleteAlarm",
                    "get_alarm", "set_alarm", "delete_alarm"):
            if self.rolled_back:
                # "After rollback() is called, any subsequent operations on the txn Object will
                # fail with an exception" (storage API docs); the text is workerd's.
                async def refused(*_: Any, **__: Any) -> Any:
                    raise JsException(f"Cannot {name}() on rolled back transaction", "Error")
                return refused
            return getattr(self._storage, name)
        raise AttributeError(f"a storage transaction has no {name!r}")


__all__ = ["KV_TABLE", "MAX_KEY_BYTES", "MAX_KEYS_PER_CALL", "MAX_KV_BACKED_VALUE_BYTES", "MAX_SQLITE_ROW_BYTES",
           "MAX_SQL_BOUND_PARAMETERS", "MAX_SQL_STATEMENT_BYTES", "META_TABLE", "ObjectStorage", "SqlStorage",
           "StorageTransaction", "SyncKV", "TRANSACTION_STATEMENT_ERROR", "decode_value", "encode_value"]
