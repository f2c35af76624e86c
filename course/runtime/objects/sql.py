"""The SQL API of SQLite-backed Durable Objects: ``ctx.storage.sql`` and ``ctx.storage.kv``.

``sql.exec(query, *bindings)`` runs statements on the object's own database, inside the
storage's open transaction (so SQL and KV writes coalesce and commit together, see
``course.runtime.objects.storage``); the platform's tables (``_cf_*``) are hidden by
:class:`SqlGuard`, SQLite's authorizer. Cursors count ``rowsRead`` / ``rowsWritten`` as workerd
does, as far as Python's sqlite3 lets us see
(https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/).
"""
from __future__ import annotations

import re
import sqlite3
from typing import Any, Callable, Iterator, Protocol

from course.runtime.kernel.sqlite_errors import describe
from course.workers.jsproxy import JsArray, JsException, JsObject, wrap

# -- limits (https://developers.cloudflare.com/durable-objects/platform/limits/) -------------
#: SQL API: maximum bound parameters per query.
MAX_SQL_BOUND_PARAMETERS = 100
#: SQL API: maximum SQL statement length (100 KB).
MAX_SQL_STATEMENT_BYTES = 100_000

#: Cloudflare refuses SQL transaction statements in sql.exec() with this error (workerd).
TRANSACTION_STATEMENT_ERROR = (
    "To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT "
    "statements. The JavaScript API is safer because it will automatically roll back on "
    "exceptions, and because it interacts correctly with Durable Objects' automatic atomic "
    "write coalescing."
)
_TRANSACTION_RE = re.compile(r"^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


class SqlGuard:
    """SQLite's authorizer for an object's database: user SQL may not touch the platform's
    ``_cf_`` tables (as on Cloudflare); while a statement is prepared it notes the tables read."""

    def __init__(self) -> None:
        #: a statement of the SQL API is running (the guard applies)
        self.user_sql = False
        #: the hidden table a statement tried to use
        self.denied: str | None = None
        #: tables a statement reads, collected while it is prepared (rowsRead)
        self.reads: set[str] | None = None

    def authorize(self, action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
        if self.reads is not None and action == sqlite3.SQLITE_READ and isinstance(arg1, str):
            self.reads.add(arg1)
        if self.user_sql:
            for table in (arg1, arg2):
                if isinstance(table, str) and table.lower().startswith("_cf_") and action in (
                        sqlite3.SQLITE_READ, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_DELETE,
                        sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_ALTER_TABLE):
                    self.denied = table
                    return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK


class SqlCursor:
    """The result of ``sql.exec()``: iterate rows (dicts), ``next()``, ``toArray()``, ``one()``, ``raw()``.

    As on Cloudflare, ``rowsRead`` grows as the cursor is consumed: a row counts once SQLite has
    stepped onto it, and SQLite steps one row ahead of the row handed out (workerd: after the first
    ``next()`` of ten rows, ``rowsRead`` is 2). Once the cursor is exhausted, ``rowsRead`` is the
    statement's estimate of rows scanned (see :meth:`SqlStorage.exec`), if larger.
    """

    def __init__(self, columns: list[str], rows: list[tuple], rows_read: int, rows_written: int,
                 prior_reads: int = 0) -> None:
        self.columnNames = JsArray(columns)
        self._rows = rows
        self._pos = 0
        self._scanned = rows_read
        self._prior = prior_reads
        self.rowsWritten = rows_written

    @property
    def rowsRead(self) -> int:  # noqa: N802 - Cloudflare's name
        if self._pos >= len(self._rows):
            return self._prior + max(len(self._rows), self._scanned)
        return self._prior + self._pos + 1  # SQLite has stepped onto the row handed out next

    column_names = property(lambda self: self.columnNames)
    rows_read = property(lambda self: self.rowsRead)
    rows_written = property(lambda self: self.rowsWritten)

    def _row(self, row: tuple) -> JsObject:
        return JsObject({c: wrap(_as_js_number(v)) for c, v in zip(self.columnNames, row)})

    def _raw_row(self, row: tuple) -> JsArray:
        return JsArray(wrap(_as_js_number(v)) for v in row)

    def _take(self) -> list[tuple]:
        rows, self._pos = self._rows[self._pos:], len(self._rows)
        return rows

    def _advance(self) -> tuple | None:
        if self._pos < len(self._rows):
            self._pos += 1
            return self._rows[self._pos - 1]
        return None

    def __iter__(self) -> Iterator[JsObject]:
        while (row := self._advance()) is not None:
            yield self._row(row)

    def next(self) -> JsObject:
        """JS iterator protocol: ``{done: False, value: row}``, then ``{done: True}``."""
        row = self._advance()
        return JsObject({"done": True}) if row is None else JsObject({"done": False, "value": self._row(row)})

    def toArray(self) -> JsArray:  # noqa: N802
        """The remaining rows."""
        return JsArray(self._row(r) for r in self._take())

    to_array = toArray

    def one(self) -> JsObject:
        rows = self._take()
        if len(rows) != 1:
            got = "no results" if not rows else "multiple results"
            raise JsException(f"Expected exactly one result from SQL query, but got {got}.", "Error")
        return self._row(rows[0])

    def raw(self) -> "RawSqlCursor":
        """The same rows as arrays of values; it shares this cursor's position."""
        return RawSqlCursor(self)


class RawSqlCursor:
    """``cursor.raw()``: an iterator of rows as arrays, with ``next()`` and ``toArray()``.

    It consumes the same results as its cursor: ``cursor.raw().next()`` then
    ``cursor.toArray()`` gives the first row as an array and the rest as objects (SQL API docs).
    """

    def __init__(self, cursor: SqlCursor) -> None:
        self._cursor = cursor

    def __iter__(self) -> Iterator[JsArray]:
        while (row := self._cursor._advance()) is not None:
            yield self._cursor._raw_row(row)

    def __next__(self) -> JsArray:
        row = self._cursor._advance()
        if row is None:
            raise StopIteration
        return self._cursor._raw_row(row)

    def next(self) -> JsObject:
        row = self._cursor._advance()
        return JsObject({"done": True}) if row is None else JsObject({"done": False, "value": self._cursor._raw_row(row)})

    def toArray(self) -> JsArray:  # noqa: N802
        return JsArray(self._cursor._raw_row(r) for r in self._cursor._take())

    to_array = toArray

    @property
    def columnNames(self) -> JsArray:  # noqa: N802
        return self._cursor.columnNames


#: Largest integer a JavaScript number holds exactly (Number.MAX_SAFE_INTEGER).
MAX_SAFE_INTEGER = 2**53 - 1


def _as_js_number(value: Any) -> Any:
    """A SQL value as Python Worker code reads it: through a JS number, so an integral REAL
    (2.0) arrives as the int 2, as Pyodide converts it (conformance: do_sql_cursor)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)
    return value


def _split_statements(query: str) -> list[str]:
    statements, chunk = [], ""
    for piece in query.split(";"):
        chunk += piece + ";"
        if sqlite3.complete_statement(chunk):
            if chunk.strip(" \t\r\n;"):
                statements.append(chunk)
            chunk = ""
    if chunk.strip(" \t\r\n;"):
        statements.append(chunk[:-1])
    return statements


#: JavaScript numbers are doubles: Pyodide turns a Python int within 2**53 into one, and workerd
#: binds every JS number as REAL (``typeof(?)`` is 'real'; tests/conformance, do_sql). Larger
#: ints arrive as BigInt and bind as INTEGER.
MAX_SAFE_INTEGER = 2**53 - 1


def _bind_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return float(value) if abs(value) <= MAX_SAFE_INTEGER else value
    if value is None or isinstance(value, (float, str, bytes)):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise JsException(f"SQL bindings must be null, numbers, strings or bytes; got "
                      f"{type(value).__name__}", "TypeError")


_WRITE_RE = re.compile(r"^(\s|--[^\n]*\n|/\*.*?\*/)*(UPDATE|DELETE)\b", re.I | re.S)
#: Statements that may scan tables (the others, DDL and PRAGMA, get no query plan).
_READING_RE = re.compile(r"^(\s|--[^\n]*\n|/\*.*?\*/)*(SELECT|WITH|UPDATE|DELETE|INSERT|REPLACE|VALUES)\b", re.I | re.S)
_LIMIT_RE = re.compile(r"\bLIMIT\b", re.I)
_SCAN_RE = re.compile(r"^SCAN (\w+)")


def _scan_estimate(db: sqlite3.Connection, guard: "SqlGuard", stmt: str, params: tuple) -> int:
    """Rows a statement reads by scanning whole tables, from SQLite's query plan.

    Python's sqlite3 does not expose ``sqlite3_stmt_status``, so rows read are estimated: each
    full ``SCAN`` of a table in ``EXPLAIN QUERY PLAN`` reads all its rows (``SELECT count(*)``,
    a ``WHERE`` on an unindexed column, an ``UPDATE`` that scans: what workerd reports). A
    ``SEARCH`` reads what it returns or changes, counted by the caller. With ``LIMIT`` a scan
    may stop early, so no estimate is made (rowsRead is then the rows stepped onto); sorts
    (workerd counts the sorter's rows again) and joins are undercounted.
    """
    if not _READING_RE.match(stmt) or _LIMIT_RE.search(stmt):
        return 0
    guard.reads = set()
    try:
        plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + stmt, params)]
        reads = {t.lower(): t for t in guard.reads}
    except sqlite3.Error:
        return 0  # the statement itself will raise the error
    finally:
        guard.reads = None
    total = 0
    for detail in plan:
        match = _SCAN_RE.match(detail)
        if match is None or match.group(1) == "CONSTANT":
            continue
        table = reads.get(match.group(1).lower())
        if table is None and len(reads) == 1:  # an alias of the one table read
            table = next(iter(reads.values()))
        if table is None or table.lower().startswith("_cf_"):
            continue
        total += db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return total


class SqlStorage:
    """``ctx.storage.sql``: ``exec(query, *bindings)`` and ``databaseSize``."""

    def __init__(self, db: sqlite3.Connection, guard: SqlGuard, on_exec: Callable[[], None],
                 on_written: Callable[[int], None]) -> None:
        self._db, self._guard = db, guard
        #: called before each exec (the storage's operation bookkeeping), then with the rows written
        self._on_exec, self._on_written = on_exec, on_written

    def exec(self, query: str, *bindings: Any) -> SqlCursor:
        """Run one or more statements; the cursor holds the last statement's rows."""
        db, guard = self._db, self._guard
        if not isinstance(query, str):
            raise JsException("sql.exec() takes the query as a string", "TypeError")
        if len(query.encode("utf-8")) > MAX_SQL_STATEMENT_BYTES:
            raise JsException(f"SQL statement too long (over {MAX_SQL_STATEMENT_BYTES} bytes): SQLITE_TOOBIG", "Error")
        if len(bindings) > MAX_SQL_BOUND_PARAMETERS:
            raise JsException("too many SQL variables: SQLITE_ERROR", "Error")
        statements = _split_statements(query)
        for stmt in statements:
            if _TRANSACTION_RE.match(re.sub(r"^(\s|--[^\n]*\n|/\*.*?\*/)*", "", stmt, flags=re.S)):
                raise JsException(TRANSACTION_STATEMENT_ERROR, "Error")
        params = tuple(_bind_value(b) for b in bindings)
        self._on_exec()
        before = db.total_changes
        columns: list[str] = []
        rows: list[tuple] = []
        guard.user_sql, guard.denied = True, None
        prior_reads = 0  # rows read by the statements before the last one
        estimate = 0
        stmt = ""
        try:
            for i, stmt in enumerate(statements):
                if i:
                    prior_reads += max(len(rows), estimate)
                stmt_params = params if i == len(statements) - 1 else ()
                changes_before = db.total_changes
                estimate = _scan_estimate(db, guard, stmt, stmt_params)
                cur = db.execute(stmt, stmt_params)
                columns = [d[0] for d in cur.description or ()]
                rows = cur.fetchall()
                # An UPDATE or DELETE reads at least the rows it changes (workerd counts them).
                if _WRITE_RE.match(stmt):
                    estimate = max(estimate, db.total_changes - changes_before)
        except sqlite3.Error as exc:
            if guard.denied is not None:
                raise JsException(f"access to {guard.denied} is prohibited: SQLITE_AUTH", "Error") from None
            raise JsException(describe(exc, stmt), "Error") from None
        finally:
            guard.user_sql = False
        written = db.total_changes - before
        self._on_written(written)
        return SqlCursor(columns, rows, rows_read=estimate, rows_written=written, prior_reads=prior_reads)

    @property
    def databaseSize(self) -> int:  # noqa: N802
        """Bytes used by the database (pages x page size)."""
        db = self._db
        return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]

    database_size = databaseSize


class KVOperations(Protocol):
    """The storage's synchronous KV operations the sync KV API is made of."""

    def get_now(self, keys: Any) -> Any: ...

    def put_now(self, key_or_entries: Any, value: Any = ...) -> None: ...

    def delete_now(self, keys: Any) -> Any: ...

    def list_now(self, options: Any = None, **kwargs: Any) -> JsObject: ...


class SyncKV:
    """``ctx.storage.kv``: the synchronous KV API of SQLite-backed objects (same ``_cf_KV`` table)."""

    def __init__(self, storage: KVOperations) -> None:
        self._storage = storage

    def get(self, key: str) -> Any:
        return self._storage.get_now(key)

    def put(self, key: str, value: Any) -> None:
        self._storage.put_now(key, value)

    def delete(self, key: str) -> bool:
        return bool(self._storage.delete_now(key))

    def list(self, options: Any = None, **kwargs: Any) -> JsArray:
        """``[key, value]`` pairs in key order (same options as the async ``list``)."""
        return JsArray(JsArray([k, v]) for k, v in self._storage.list_now(options, **kwargs).items())
