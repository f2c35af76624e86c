"""D1: the ``d1_databases`` binding, a real SQLite database with Cloudflare's D1 API.

The binding (``self.env.DB``) has Cloudflare's API: ``prepare(sql).bind(...)`` (immutable:
``bind`` returns a new statement) with ``all()``, ``run()``, ``first(column=None)`` and
``raw(columnNames=False)``; ``batch([...])`` runs statements as one transaction that rolls back
entirely if one fails; ``exec(sql)`` runs each line as a query and returns ``{count, duration}``;
``withSession()`` and ``dump()``. Results are ``{success, meta, results}`` with D1's meta fields.
Values convert as D1 documents (None <-> NULL, bool -> 0/1, bytes -> BLOB read back as a list of
numbers, numbers as JavaScript sees them). Limits are D1's, enforced by SQLite itself (bound
parameters, statement length, row size, columns...), and errors read ``D1_ERROR: <sqlite
message>: SQLITE_<CODE>`` as on Cloudflare. References:
https://developers.cloudflare.com/d1/worker-api/d1-database/,
https://developers.cloudflare.com/d1/worker-api/prepared-statements/,
https://developers.cloudflare.com/d1/worker-api/return-object/,
https://developers.cloudflare.com/d1/worker-api/#type-conversion,
https://developers.cloudflare.com/d1/observability/debug-d1/ and
https://developers.cloudflare.com/d1/platform/limits/.

Migrations: the ``.sql`` files of the project's ``migrations_dir`` (default ``migrations``) are
applied in name order when the Worker loads, each in a transaction, and recorded in
``migrations_table`` (default ``d1_migrations``), as ``wrangler d1 migrations apply --local`` does.

Inspection from Python, safe from any thread::

    db = d1_database(rt, "DB")               # the database bound as env.DB in the main Worker
    db.query("SELECT * FROM users WHERE id = ?", 1)   # -> list of dicts (plain Python values)
    db.tables()                               # user tables
    db.execute_script("INSERT ...; INSERT ...")

State lives in memory, or in SQLite at ``rt.state_path("d1", <database_id or name>.sqlite)``
when the runtime has ``persist_to`` (``course d1 execute`` writes there too).
"""
from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable, Sequence

from course.runtime.kernel.plugins import Plugin, ServiceSlot, StoreRegistry
from course.runtime.kernel.sqlite_errors import describe, result_code
from course.workers.jsproxy import JsArray, JsBuffer, JsException, to_py, wrap
from course.runtime.kernel.runtime import Kernel

# -- limits (https://developers.cloudflare.com/d1/platform/limits/) ----------------------------
#: Maximum bound parameters per query: 100 (SQLITE_MAX_VARIABLE_NUMBER in D1).
MAX_BOUND_PARAMETERS = 100
#: Maximum SQL statement length: 100,000 bytes.
MAX_SQL_LENGTH = 100_000
#: Maximum string, BLOB or table row size: 2,000,000 bytes.
MAX_ROW_BYTES = 2_000_000
#: Maximum number of columns per table: 100.
MAX_COLUMNS = 100
#: Maximum arguments per SQL function: 32.
MAX_FUNCTION_ARGS = 32
#: Maximum characters (bytes) in a LIKE or GLOB pattern: 50.
MAX_LIKE_PATTERN_BYTES = 50
# JavaScript numbers are doubles: integers beyond 2**53 lose precision on the way to the Worker
# (https://developers.cloudflare.com/d1/worker-api/#type-conversion, note 2).
MAX_SAFE_INTEGER = 2**53 - 1

#: What local D1 reports as ``meta.served_by`` (wrangler dev prints the same).
SERVED_BY = "miniflare.db"
DEFAULT_MIGRATIONS_DIR = "migrations"
DEFAULT_MIGRATIONS_TABLE = "d1_migrations"

_SQLITE_LIMITS = (
    ("SQLITE_LIMIT_VARIABLE_NUMBER", MAX_BOUND_PARAMETERS),
    ("SQLITE_LIMIT_SQL_LENGTH", MAX_SQL_LENGTH),
    ("SQLITE_LIMIT_LENGTH", MAX_ROW_BYTES),
    ("SQLITE_LIMIT_COLUMN", MAX_COLUMNS),
    ("SQLITE_LIMIT_FUNCTION_ARG", MAX_FUNCTION_ARGS),
    ("SQLITE_LIMIT_LIKE_PATTERN_LENGTH", MAX_LIKE_PATTERN_BYTES),
)
_DENIED_ACTIONS = {sqlite3.SQLITE_TRANSACTION: "transaction", sqlite3.SQLITE_SAVEPOINT: "transaction",
                   sqlite3.SQLITE_ATTACH: "attach", sqlite3.SQLITE_DETACH: "attach"}
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


class D1MigrationError(RuntimeError):
    """A migration file failed to apply; names the file and SQLite's message."""


def split_statements(sql: str) -> list[str]:
    """Split SQL text into complete statements (semicolons inside strings/comments are kept)."""
    out: list[str] = []
    buf = ""
    for part in sql.split(";"):
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if _COMMENTS.sub("", buf).strip(" \t\r\n;"):
                out.append(buf.strip())
            buf = ""
    rest = buf[:-1]  # the loop added one ';' too many after the last part
    if _COMMENTS.sub("", rest).strip(" \t\r\n;"):
        out.append(rest.strip())
    return out


def _first_keyword(sql: str) -> str:
    words = _COMMENTS.sub(" ", sql).split(None, 1)
    return words[0].upper() if words else ""


def to_d1_value(value: Any) -> Any:
    """A bound Python value as D1 stores it, or D1_TYPE_ERROR."""
    if value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, bool):
        return int(value)  # D1 stores booleans as INTEGER 0/1
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise JsException(f"D1_TYPE_ERROR: Type 'bigint' not supported for value '{value}'", "Error")
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, JsArray) and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256
                                          for b in value):
        return bytes(value)  # the binding takes an array of byte values as a BLOB
    type_name = "object" if isinstance(value, (dict, list, tuple)) else type(value).__name__
    raise JsException(f"D1_TYPE_ERROR: Type '{type_name}' not supported for value '{value!r}'", "Error")


def from_d1_value(value: Any) -> Any:
    """A stored value as a Python Worker reads it (through a JavaScript number or array)."""
    if isinstance(value, bytes):
        return JsArray(value)  # BLOB -> Array.from(bytes): a list of numbers
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)  # Pyodide turns an integral JS number into a Python int
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        return int(float(value))
    return value


class D1Store:
    """One D1 database: a SQLite connection with D1's limits, guarded by a lock.

    Methods are synchronous and thread-safe; the binding calls them on the runtime loop and
    notebooks may call the inspection methods from their own thread.
    """

    def __init__(self, name: str, clock: Any, *, path: Path | None = None) -> None:
        self.name = name
        self.path = path
        self._clock = clock
        self._lock = threading.RLock()
        self._allow_tx = False
        self._denied: str | None = None
        self._last_statement = ""
        self.version = 0  # bumped by every write; sessions use it as their bookmark
        self._conn = sqlite3.connect(str(path) if path is not None else ":memory:", check_same_thread=False,
                                     isolation_level=None)
        for name_, value in _SQLITE_LIMITS:
            self._conn.setlimit(getattr(sqlite3, name_), value)
        # D1 enforces foreign keys by default
        # (https://developers.cloudflare.com/d1/sql-api/foreign-keys/).
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.set_authorizer(self._authorize)

    # -- SQLite plumbing ---------------------------------------------------------------------
    def _authorize(self, action: int, *_: Any) -> int:
        kind = _DENIED_ACTIONS.get(action)
        if kind is None or (kind == "transaction" and self._allow_tx):
            return sqlite3.SQLITE_OK
        self._denied = kind
        return sqlite3.SQLITE_DENY

    def _tx(self, sql: str) -> None:
        self._allow_tx = True
        try:
            self._conn.execute(sql)
        finally:
            self._allow_tx = False

    def _error(self, exc: BaseException, prefix: str = "D1_ERROR", statement: str | None = None) -> JsException:
        if isinstance(exc, JsException):
            return exc
        denied, self._denied = self._denied, None
        if denied == "transaction":
            return JsException(f"{prefix}: D1 does not support SQL transactions (BEGIN, COMMIT, ROLLBACK, "
                               "SAVEPOINT): use db.batch([...]), which runs its statements as one "
                               "transaction: SQLITE_AUTH", "Error")
        if denied == "attach":
            return JsException(f"{prefix}: ATTACH and DETACH are not allowed in D1: SQLITE_AUTH", "Error")
        message = str(exc)
        if isinstance(exc, sqlite3.ProgrammingError) and "Incorrect number of bindings" in message:
            return JsException(f"{prefix}: Wrong number of parameter bindings for SQL query.", "Error")
        if "query string is too large" in message:  # Python's own check of SQLITE_LIMIT_SQL_LENGTH
            return JsException(f"{prefix}: statement too long: SQLITE_TOOBIG", "Error")
        if isinstance(exc, OverflowError):
            return JsException(f"D1_TYPE_ERROR: {message}", "Error")
        if isinstance(exc, sqlite3.Error):
            return JsException(f"{prefix}: {describe(exc, statement or self._last_statement)}", "Error")
        return JsException(f"{prefix}: {message}: {result_code(exc)}", "Error")

    def _size(self) -> int:
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(size)

    def _execute_one(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]], dict[str, Any]]:
        started = self._clock.now()
        self._last_statement = sql  # for error offsets (see sqlite_errors.describe)
        before = self._conn.total_changes
        size_before = self._size()
        rowid_before = self._conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        cursor = self._conn.execute(sql, tuple(params))
        rows = cursor.fetchall()
        columns = [d[0] for d in cursor.description] if cursor.description else []
        changes = self._conn.total_changes - before
        duration = round((self._clock.now() - started) * 1000, 3)
        last_row_id = self._conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        size_after = self._size()
        # As local D1 does: something changed if rows, the last row id or the file size did.
        changed_db = changes != 0 or last_row_id != rowid_before or size_after != size_before
        if changed_db:
            self.version += 1
        meta = {
            "served_by": SERVED_BY,
            "served_by_region": None,
            "served_by_primary": True,
            "timings": {"sql_duration_ms": duration},
            "duration": duration,
            "changes": changes,
            "last_row_id": last_row_id,
            "changed_db": changed_db,
            "size_after": size_after,
            # SQLite does not count scanned rows for us: rows returned (or changed) is the
            # closest honest figure; D1 also counts rows scanned and index rows.
            "rows_read": max(len(rows), changes if _first_keyword(sql) in ("UPDATE", "DELETE") else 0),
            "rows_written": changes,
        }
        return columns, rows, meta

    def _execute(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]], dict[str, Any]]:
        statements = split_statements(sql)
        if not statements:
            raise JsException("D1_ERROR: No SQL statements detected.", "Error")
        if len(statements) > 1 and params:
            raise JsException("D1_ERROR: bound parameters need a single SQL statement; this query has "
                              f"{len(statements)} (prepare each one and use db.batch([...]))", "Error")
        # Every statement runs; the result is the first one's, as the D1 binding returns it.
        results = [self._execute_one(statement, params) for statement in statements]
        return results[0]

    # -- operations used by the binding -------------------------------------------------------
    def query_result(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]], dict[str, Any]]:
        """Columns, rows and meta of one query (one or more statements), or a D1 error."""
        with self._lock:
            try:
                return self._execute(sql, params)
            except (sqlite3.Error, OverflowError) as exc:
                raise self._error(exc) from None

    def batch(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple[list[str], list[tuple[Any, ...]], dict[str, Any]]]:
        """Run queries in one transaction; any failure rolls all of them back and raises."""
        with self._lock:
            version = self.version
            self._tx("BEGIN")
            try:
                out = [self._execute(sql, params) for sql, params in queries]
            except BaseException as exc:
                self._tx("ROLLBACK")
                self.version = version
                if isinstance(exc, (sqlite3.Error, OverflowError)):
                    raise self._error(exc) from None
                raise
            self._tx("COMMIT")
            return out

    def exec_lines(self, sql: str) -> tuple[int, float]:
        """``exec()``: every line of ``sql`` is one query (as D1 splits it); returns (count, ms)."""
        started = self._clock.now()
        count = 0
        with self._lock:
            version = self.version
            # The lines go to D1 as one request, which local D1 runs as one transaction.
            self._tx("BEGIN")
            for n, line in enumerate(sql.strip().split("\n"), 1):
                if not line.strip():
                    continue
                try:
                    self._execute(line, ())
                except (sqlite3.Error, OverflowError, JsException) as exc:
                    err = self._error(exc, "D1_EXEC_ERROR") if not isinstance(exc, JsException) else exc
                    detail = err.message.split(": ", 1)[-1]
                    hint = ""
                    if "incomplete input" in detail:
                        hint = (" (D1 exec() runs each line as a separate query: keep each statement on "
                                "one line, or use prepare()/batch())")
                    self._tx("ROLLBACK")
                    self.version = version
                    raise JsException(f"D1_EXEC_ERROR: Error in line {n}: {line.strip()}: {detail}{hint}",
                                      "Error") from None
                count += 1
            self._tx("COMMIT")
        return count, round((self._clock.now() - started) * 1000, 3)

    def dump(self) -> bytes:
        with self._lock:
            return self._conn.serialize()

    # -- migrations ----------------------------------------------------------------------------
    def apply_migrations(self, directory: Path, table: str = DEFAULT_MIGRATIONS_TABLE) -> list[str]:
        """Apply the not yet applied ``*.sql`` files of ``directory`` in name order; return their names."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
            raise D1MigrationError(f"migrations_table {table!r} is not a valid table name")
        if not directory.is_dir():
            return []
        with self._lock:
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                               "name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)")
            done = {row[0] for row in self._conn.execute(f"SELECT name FROM {table}")}
            applied = []
            for path in sorted(directory.glob("*.sql")):
                if path.name in done:
                    continue
                self._tx("BEGIN")
                try:
                    for statement in split_statements(path.read_text(encoding="utf-8")):
                        self._conn.execute(statement)
                    stamp = self._clock.datetime().strftime("%Y-%m-%d %H:%M:%S")
                    self._conn.execute(f"INSERT INTO {table} (name, applied_at) VALUES (?, ?)", (path.name, stamp))
                except (sqlite3.Error, OverflowError) as exc:
                    self._tx("ROLLBACK")
                    err = self._error(exc)
                    raise D1MigrationError(f"{path}: migration {path.name} failed on database {self.name!r}: "
                                           f"{err.message}") from None
                self._tx("COMMIT")
                self.version += 1
                applied.append(path.name)
            return applied

    # -- inspection ----------------------------------------------------------------------------
    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Rows of a query as plain dicts (bytes stay bytes), for notebooks and tests."""
        with self._lock:
            try:
                cursor = self._conn.execute(sql, tuple(to_d1_value(p) for p in params))
            except sqlite3.Error as exc:
                raise self._error(exc) from None
            columns = [d[0] for d in cursor.description] if cursor.description else []
            return [dict(zip(columns, row)) for row in cursor.fetchall()]

    def execute_script(self, sql: str) -> list[tuple[list[str], list[tuple[Any, ...]]]]:
        """Run every statement of ``sql`` (autocommit); columns and rows of each, in order."""
        out = []
        with self._lock:
            for statement in split_statements(sql):
                try:
                    columns, rows, _ = self._execute_one(statement, ())
                except (sqlite3.Error, OverflowError) as exc:
                    raise self._error(exc) from None
                out.append((columns, rows))
        return out

    def tables(self) -> list[str]:
        rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                          "ORDER BY name")
        return [r["name"] for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"<D1Store {self.name!r} ({'memory' if self.path is None else self.path})>"


def _result(columns: list[str], rows: list[tuple[Any, ...]], meta: dict[str, Any]) -> Any:
    results = [{c: from_d1_value(v) for c, v in zip(columns, row)} for row in rows]
    return wrap({"success": True, "meta": meta, "results": results})


class D1PreparedStatement:
    """A prepared statement: ``bind`` returns a new one; ``all/run/first/raw`` execute it."""

    def __init__(self, database: "D1Database", sql: str, params: tuple[Any, ...] = ()) -> None:
        if not isinstance(sql, str):
            raise JsException(f"D1 prepare() takes the SQL as a string, not {type(sql).__name__}", "TypeError")
        self._db = database
        self._sql = sql
        self._params = params

    @property
    def sql(self) -> str:
        return self._sql

    def bind(self, *values: Any) -> "D1PreparedStatement":
        """A new statement with ``values`` bound to ``?``/``?NNN`` (converted as D1 does)."""
        return D1PreparedStatement(self._db, self._sql, tuple(to_d1_value(v) for v in values))

    async def _run(self, op: str) -> tuple[list[str], list[tuple[Any, ...]], dict[str, Any]]:
        await asyncio.sleep(0)  # a D1 query is I/O: other tasks may run meanwhile
        try:
            columns, rows, meta = self._db._store.query_result(self._sql, self._params)
        except JsException as exc:
            self._db._trace(op, sql=self._sql, error=exc.message)
            raise
        self._db._trace(op, sql=self._sql, rows=len(rows), changes=meta["changes"])
        return columns, rows, meta

    async def all(self) -> Any:
        """``{success, meta, results}`` with every row as an object."""
        return _result(*await self._run("all"))

    async def run(self) -> Any:
        """Same as ``all()`` (D1 treats them as aliases)."""
        return _result(*await self._run("run"))

    async def first(self, column: str | None = None) -> Any:
        """The first row as an object, one of its columns, or None if there are no rows."""
        columns, rows, _ = await self._run("first")
        if not rows:
            return None
        row = {c: from_d1_value(v) for c, v in zip(columns, rows[0])}
        if column is None:
            return wrap(row)
        if column not in row:
            raise JsException(f"D1_COLUMN_NOTFOUND: Column not found ({column})", "Error")
        return row[column]

    async def raw(self, options: Any = None, *, columnNames: bool = False) -> Any:  # noqa: N803 - D1's name
        """Rows as arrays; ``columnNames=True`` (or ``{"columnNames": True}``) puts the names first."""
        if isinstance(options, dict):
            columnNames = bool(options.get("columnNames", columnNames))
        columns, rows, _ = await self._run("raw")
        out: list[list[Any]] = [list(columns)] if columnNames else []
        out.extend([from_d1_value(v) for v in row] for row in rows)
        return wrap(out)

    def __repr__(self) -> str:
        return f"<D1PreparedStatement {self._sql[:60]!r} params={len(self._params)}>"


class D1Database:
    """The ``env.DB`` binding object: Cloudflare's D1Database API."""

    def __init__(self, runtime: Kernel, binding: str, store: D1Store) -> None:
        self._rt = runtime
        self._binding = binding
        self._store = store

    def _trace(self, op: str, **data: Any) -> None:
        if "sql" in data and len(data["sql"]) > 500:
            data["sql"] = data["sql"][:500] + "..."
        self._rt.trace.record("d1", op=op, binding=self._binding, database=self._store.name, **data)

    def prepare(self, query: str) -> D1PreparedStatement:
        """A statement for ``query`` (bind values with ``.bind(...)``)."""
        return D1PreparedStatement(self, query)

    async def batch(self, statements: Iterable[D1PreparedStatement]) -> Any:
        """Run statements in order as one transaction; a failure rolls back all of them."""
        stmts = list(statements)
        for i, stmt in enumerate(stmts):
            if not isinstance(stmt, D1PreparedStatement):
                raise JsException(f"D1 batch() takes prepared statements; item {i} is {type(stmt).__name__}",
                                  "TypeError")
            if stmt._db._store is not self._store:
                raise JsException(f"D1 batch(): statement {i} was prepared on another database", "TypeError")
        await asyncio.sleep(0)
        try:
            results = self._store.batch([(s._sql, s._params) for s in stmts])
        except JsException as exc:
            self._trace("batch", sql=[s._sql for s in stmts], error=exc.message, rolled_back=True)
            raise
        self._trace("batch", sql=[s._sql for s in stmts], statements=len(stmts))
        return wrap([to_py(_result(*r)) for r in results])

    async def exec(self, query: str) -> Any:
        """Run raw SQL, one query per line; ``{count, duration}``."""
        if not isinstance(query, str):
            raise JsException("D1 exec() takes the SQL as a string", "TypeError")
        await asyncio.sleep(0)
        try:
            count, duration = self._store.exec_lines(query)
        except JsException as exc:
            self._trace("exec", sql=query, error=exc.message)
            raise
        self._trace("exec", sql=query, count=count)
        return wrap({"count": count, "duration": duration})

    async def dump(self) -> JsBuffer:
        """The whole database as an SQLite file (D1 offers this for alpha databases)."""
        await asyncio.sleep(0)
        self._trace("dump")
        return JsBuffer(self._store.dump())

    def withSession(self, constraint_or_bookmark: str | None = None) -> "D1DatabaseSession":  # noqa: N802
        """A session ("first-primary", "first-unconstrained" or a bookmark); one primary here."""
        return D1DatabaseSession(self, constraint_or_bookmark)

    def __repr__(self) -> str:
        return f"<D1Database {self._binding} ({self._store.name})>"


class D1DatabaseSession:
    """``withSession()``: the same database (no read replicas here) plus ``getBookmark()``."""

    def __init__(self, database: D1Database, constraint: str | None) -> None:
        self._db = database
        self._constraint = constraint
        self._bookmark: str | None = None

    def prepare(self, query: str) -> D1PreparedStatement:
        return _SessionStatement(self, query)

    async def batch(self, statements: Iterable[D1PreparedStatement]) -> Any:
        result = await self._db.batch(statements)
        self._seen()
        return result

    def _seen(self) -> None:
        self._bookmark = f"{self._db._store.version:016x}-{self._db._store.name}"

    def getBookmark(self) -> str | None:  # noqa: N802 - D1's name
        """The bookmark of the latest database version this session saw (None before a query)."""
        return self._bookmark


class _SessionStatement(D1PreparedStatement):
    def __init__(self, session: D1DatabaseSession, sql: str, params: tuple[Any, ...] = ()) -> None:
        super().__init__(session._db, sql, params)
        self._session = session

    def bind(self, *values: Any) -> "D1PreparedStatement":
        bound = super().bind(*values)
        return _SessionStatement(self._session, bound._sql, bound._params)

    async def _run(self, op: str) -> tuple[list[str], list[tuple[Any, ...]], dict[str, Any]]:
        result = await super()._run(op)
        self._session._seen()
        return result


def _d1_registry(runtime: Kernel) -> StoreRegistry[D1Store]:
    return StoreRegistry(runtime, "d1", "D1", lambda key, path: D1Store(key, runtime.clock, path=path))


#: Every D1 database of one runtime, by database key.
D1: ServiceSlot[StoreRegistry[D1Store]] = ServiceSlot("d1", _d1_registry)


def database_key(entry: Any) -> str:
    """The name a ``d1_databases`` entry keeps its local state under."""
    return entry.database_id or entry.database_name or entry.binding


def bind(runtime: Kernel, worker: Any) -> dict[str, D1Database]:
    service = D1.of(runtime)
    out: dict[str, D1Database] = {}
    for entry in worker.config.d1_databases:
        key = database_key(entry)
        store = service.bind(worker.name, entry.binding, key)
        if worker.config.path is not None:  # a project on disk: apply its migrations
            applied = store.apply_migrations(worker.config.root / entry.migrations_dir, entry.migrations_table)
            if applied:
                runtime.trace.record("d1", op="migrations", binding=entry.binding, database=key, applied=applied)
        out[entry.binding] = D1Database(runtime, entry.binding, store)
    return out


def d1_database(runtime: Kernel, binding: str, worker: str | None = None) -> D1Store:
    """The database behind ``env.<binding>`` of ``worker`` (default: the main Worker)."""
    return D1.of(runtime).bound(binding, worker)


__all__ = ["D1Database", "D1DatabaseSession", "D1MigrationError", "D1PreparedStatement", "D1", "D1Store",
           "bind", "d1_database", "split_statements"]


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('d1', ("d1_databases",), bind)
