"""Workers Analytics Engine: ``writeDataPoint`` bindings and SQL over the written points.

Configured as in wrangler (https://developers.cloudflare.com/analytics/analytics-engine/get-started/)::

    [[analytics_engine_datasets]]
    binding = "METRICS"
    dataset = "agent_metrics"     # defaults to the binding name here

Worker code writes without awaiting (writes are fire-and-forget on Cloudflare)::

    self.env.METRICS.writeDataPoint({"blobs": ["/chat", "ok"], "doubles": [12.5], "indexes": ["agent-7"]})

Each point becomes one row of an in-memory SQLite table shaped like the Analytics Engine SQL API
(https://developers.cloudflare.com/analytics/analytics-engine/sql-reference/): ``dataset``,
``timestamp`` (UTC ``YYYY-MM-DD HH:MM:SS`` on the runtime clock), ``index1``, ``blob1`` ..
``blob20`` (missing blobs are ``''``), ``double1`` .. ``double20`` (missing doubles are ``0``) and
``_sample_interval`` (always 1: the emulator never samples). Each dataset is also a view of its
own name, so the monitoring lesson's queries read as on Cloudflare::

    from course.runtime.bindings.analytics import analytics
    analytics(rt).query("SELECT blob1 AS route, SUM(_sample_interval) AS n, AVG(double1) AS ms "
                        "FROM agent_metrics GROUP BY blob1 ORDER BY n DESC")

``query`` accepts SQLite's SQL with the same column names, not Cloudflare's ClickHouse dialect:
``NOW()``, ``INTERVAL '1' DAY``, ``toStartOfInterval`` and ``quantileWeighted`` are not available
(use ``datetime('now')``-style SQLite functions on ``timestamp`` instead). Every write records an
``analytics_write`` trace event.

The SQL API itself (https://developers.cloudflare.com/analytics/analytics-engine/sql-api/) is
answered too, so Worker code that reads its own metrics runs unchanged: a ``fetch`` POST to
``https://api.cloudflare.com/client/v4/accounts/<account_id>/analytics_engine/sql`` with an
``Authorization: Bearer <token>`` header and the query as the body returns the rows in the
ClickHouse ``FORMAT JSON`` shape (``meta``, ``data``, ``rows``). Any non-empty token is accepted
(the emulator has no accounts); a missing one gets the API's 401.

Not emulated: sampling, the 3-month retention, and the per-invocation cap on data points.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import sqlite3
import threading
from typing import Any, Mapping
from urllib.parse import urlsplit

from course.runtime.kernel.plugins import Plugin, ServiceSlot
from course.workers.http import Response
from course.workers.jsproxy import JsException

from course.runtime.kernel.config import ConfigError
from course.runtime.kernel.runtime import Kernel

LIMITS_DOC = "https://developers.cloudflare.com/analytics/analytics-engine/limits/"
#: Blobs per data point: "up to twenty blobs" (LIMITS_DOC).
MAX_BLOBS = 20
#: Doubles per data point: "twenty doubles" (LIMITS_DOC).
MAX_DOUBLES = 20
#: Indexes per data point: "one index" (LIMITS_DOC).
MAX_INDEXES = 1
#: Bytes in the index: "Each index must not be more than 96 bytes" (LIMITS_DOC).
MAX_INDEX_BYTES = 96
#: Total bytes of all blobs of one point: raised from 5 KB (5120 bytes) to 16 KB on 2025-06-20
#: (https://developers.cloudflare.com/changelog/2025-06-20-increased-blob-size-limits-in-workers-analytics/);
#: read as 16 x 1024 bytes, like the former 5120-byte limit.
MAX_BLOBS_BYTES = 16 * 1024

COLUMNS = (["dataset", "timestamp", "index1"] + [f"blob{i}" for i in range(1, MAX_BLOBS + 1)]
           + [f"double{i}" for i in range(1, MAX_DOUBLES + 1)] + ["_sample_interval"])
TABLE = "analytics_points"
#: Where the SQL API lives; the account id and ``/analytics_engine/sql`` follow
#: (https://developers.cloudflare.com/analytics/analytics-engine/sql-api/).
SQL_API_PREFIX = "https://api.cloudflare.com/client/v4/accounts"
_SQL_API_PATH = re.compile(r"^/client/v4/accounts/[A-Za-z0-9_-]+/analytics_engine/sql/?$")
_FORMAT_CLAUSE = re.compile(r"\s+FORMAT\s+(\w+)\s*;?\s*$", re.I)
_DATASET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _error(message: str, name: str = "TypeError") -> JsException:
    return JsException(f"writeDataPoint(): {message} ({LIMITS_DOC})", name)


def _blob_bytes(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise _error(f"{where} must be a string or bytes, got {type(value).__name__}")


def _list(point: Mapping[str, Any], key: str) -> list[Any]:
    value = point.get(key)
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise _error(f"{key!r} must be a list, got {type(value).__name__}")
    return list(value)


def data_point_row(point: Any, dataset: str, timestamp: str) -> dict[str, Any]:
    """Validate a data point against the documented limits and turn it into a table row."""
    if point is None:
        point = {}
    if not isinstance(point, Mapping):
        raise _error(f"the data point must be a dict with blobs/doubles/indexes, got {type(point).__name__}")
    unknown = set(point) - {"blobs", "doubles", "indexes"}
    if unknown:
        raise _error(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; a data point has "
                     "blobs, doubles and indexes")
    blobs, doubles, indexes = _list(point, "blobs"), _list(point, "doubles"), _list(point, "indexes")
    if len(blobs) > MAX_BLOBS:
        raise _error(f"{len(blobs)} blobs; at most {MAX_BLOBS} per data point", "RangeError")
    if len(doubles) > MAX_DOUBLES:
        raise _error(f"{len(doubles)} doubles; at most {MAX_DOUBLES} per data point", "RangeError")
    if len(indexes) > MAX_INDEXES:
        raise _error(f"{len(indexes)} indexes; at most {MAX_INDEXES} per data point", "RangeError")
    row: dict[str, Any] = {"dataset": dataset, "timestamp": timestamp, "index1": "", "_sample_interval": 1}
    total = 0
    for i in range(1, MAX_BLOBS + 1):
        value = blobs[i - 1] if i <= len(blobs) else None
        if value is None:
            row[f"blob{i}"] = ""
            continue
        data = _blob_bytes(value, f"blobs[{i - 1}]")
        total += len(data)
        row[f"blob{i}"] = data.decode("utf-8", errors="replace")
    if total > MAX_BLOBS_BYTES:
        raise _error(f"blobs total {total} bytes; at most {MAX_BLOBS_BYTES} bytes (16 KB) per data point",
                     "RangeError")
    for i in range(1, MAX_DOUBLES + 1):
        value = doubles[i - 1] if i <= len(doubles) else None
        if value is None:
            row[f"double{i}"] = 0.0
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _error(f"doubles[{i - 1}] must be a number, got {type(value).__name__}")
        row[f"double{i}"] = float(value) if math.isfinite(value) else None
    if indexes and indexes[0] is not None:
        data = _blob_bytes(indexes[0], "indexes[0]")
        if len(data) > MAX_INDEX_BYTES:
            raise _error(f"the index is {len(data)} bytes; at most {MAX_INDEX_BYTES} bytes", "RangeError")
        row["index1"] = data.decode("utf-8", errors="replace")
    return row


class AnalyticsStore:
    """All data points written in one runtime, in one SQLite table (``analytics(rt)``)."""

    def __init__(self, runtime: Kernel) -> None:
        self.runtime = runtime
        path = runtime.state_path("analytics_engine", "points.sqlite")
        # Written on the runtime's loop, queried from notebooks and tests: one lock for both.
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        blob_cols = ", ".join(f"blob{i} TEXT NOT NULL DEFAULT ''" for i in range(1, MAX_BLOBS + 1))
        double_cols = ", ".join(f"double{i} REAL DEFAULT 0" for i in range(1, MAX_DOUBLES + 1))
        with self._lock:
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (dataset TEXT NOT NULL, timestamp TEXT "
                             f"NOT NULL, index1 TEXT NOT NULL DEFAULT '', {blob_cols}, {double_cols}, "
                             "_sample_interval INTEGER NOT NULL DEFAULT 1)")
            self._db.commit()
        self._datasets: set[str] = set()

    def dataset(self, name: str) -> None:
        """Declare a dataset: a view of that name over its rows."""
        if name in self._datasets:
            return
        if not _DATASET_NAME.fullmatch(name):
            raise ValueError(f"dataset name {name!r} must start with a letter or _ and contain only "
                             "letters, digits, _ and -")
        quoted = '"' + name.replace('"', '""') + '"'
        literal = "'" + name.replace("'", "''") + "'"
        with self._lock:
            self._db.execute(f"CREATE VIEW IF NOT EXISTS {quoted} AS SELECT * FROM {TABLE} "
                             f"WHERE dataset = {literal}")
            self._db.commit()
        self._datasets.add(name)

    def write(self, row: dict[str, Any]) -> None:
        cols = ", ".join(COLUMNS)
        marks = ", ".join("?" for _ in COLUMNS)
        with self._lock:
            self._db.execute(f"INSERT INTO {TABLE} ({cols}) VALUES ({marks})", [row[c] for c in COLUMNS])
            self._db.commit()

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """Run ``sql`` (SQLite dialect, Analytics Engine column names) and return rows as dicts.

        Tables: each dataset by name, and ``analytics_points`` (every dataset, with a ``dataset``
        column). Read-only: statements other than SELECT/WITH are refused.
        """
        if not isinstance(sql, str) or not re.match(r"\s*(SELECT|WITH)\b", sql, re.I):
            raise ValueError("analytics query must be a SELECT (the Analytics Engine SQL API is read-only)")
        with self._lock:
            try:
                cursor = self._db.execute(sql, params)
            except sqlite3.Error as exc:
                raise ValueError(f"analytics query failed: {exc} (SQLite dialect; see the "
                                 "course.runtime.bindings.analytics docstring)") from None
            return [dict(r) for r in cursor.fetchall()]

    def rows(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """Every written point (of one dataset, or all), oldest first."""
        if dataset is None:
            return self.query(f"SELECT * FROM {TABLE} ORDER BY rowid")
        return self.query(f"SELECT * FROM {TABLE} WHERE dataset = ? ORDER BY rowid", (dataset,))

    def count(self, dataset: str | None = None) -> int:
        return len(self.rows(dataset))

    def close(self) -> None:
        with self._lock:
            self._db.close()


#: The runtime's Analytics Engine data points.
ANALYTICS: ServiceSlot[AnalyticsStore] = ServiceSlot("analytics", AnalyticsStore)


def analytics(runtime: Kernel) -> AnalyticsStore:
    """The runtime's Analytics Engine store, for queries from Python."""
    return ANALYTICS.of(runtime)


class AnalyticsEngineDataset:
    """``env.METRICS``: ``writeDataPoint({...})`` appends one point; it returns None, not awaited."""

    def __init__(self, runtime: Kernel, binding: str, dataset: str) -> None:
        self._runtime = runtime
        self._binding = binding
        self._dataset = dataset

    def writeDataPoint(self, event: Any = None) -> None:  # noqa: N802 - Cloudflare's name
        rt = self._runtime
        timestamp = _dt.datetime.fromtimestamp(rt.clock.wall(), _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        row = data_point_row(event, self._dataset, timestamp)
        analytics(rt).write(row)
        rt.trace.record("analytics_write", dataset=self._dataset, binding=self._binding,
                        index=row["index1"], blobs=sum(1 for i in range(1, MAX_BLOBS + 1) if row[f"blob{i}"]))

    write_data_point = writeDataPoint

    def __repr__(self) -> str:
        return f"<AnalyticsEngineDataset {self._binding} -> {self._dataset}>"


def _sql_type(values: list[Any]) -> str:
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {int}:
        return "UInt64"
    if kinds and kinds <= {int, float}:
        return "Float64"
    return "String"


def sql_api_answer(store: AnalyticsStore, method: str, path: str, authorization: str | None,
                   body: str) -> tuple[int, dict[str, Any] | str]:
    """(status, JSON body or error text) of one SQL API request, as the HTTP API answers it."""
    if not _SQL_API_PATH.match(path):
        return 404, f"no such API here: {path} (the emulator answers only .../analytics_engine/sql)"
    if method != "POST":
        return 405, "the SQL API takes the query as the body of a POST"
    if not authorization or not authorization.startswith("Bearer ") or not authorization[7:].strip():
        return 401, "missing Authorization: Bearer <token> header (an API token with Account Analytics Read)"
    sql, fmt = body.strip(), "JSON"
    found = _FORMAT_CLAUSE.search(sql)
    if found:
        sql, fmt = sql[:found.start()], found[1].upper()
    if fmt != "JSON":
        return 400, f"FORMAT {fmt}: the emulator answers FORMAT JSON only"
    try:
        rows = store.query(sql)
    except ValueError as exc:
        return 422, str(exc)
    names = list(rows[0]) if rows else []
    meta = [{"name": n, "type": _sql_type([r[n] for r in rows])} for n in names]
    return 200, {"meta": meta, "data": rows, "rows": len(rows), "rows_before_limit_at_least": len(rows)}


def _sql_api_upstream(runtime: Kernel) -> Any:
    async def answer(request: Any) -> Response:
        status, payload = sql_api_answer(analytics(runtime), request.method, urlsplit(request.url).path,
                                         request.headers.get("authorization"), await request.text())
        if isinstance(payload, str):
            return Response(payload, status=status, headers={"content-type": "text/plain"})
        return Response.json(payload, status=status)

    return answer


def bind(runtime: Kernel, worker: Any) -> dict[str, object]:
    """``env`` entries for each ``analytics_engine_datasets`` binding of the Worker."""
    path = worker.config.path or "<code>"
    out: dict[str, object] = {}
    store = analytics(runtime)
    network = getattr(runtime, "network", None)
    if hasattr(network, "upstream") and network._match(SQL_API_PREFIX + "/x/analytics_engine/sql") is None:
        network.upstream(SQL_API_PREFIX, _sql_api_upstream(runtime))
    for i, d in enumerate(worker.config.analytics_engine_datasets):
        name = d.dataset or d.binding
        try:
            store.dataset(name)
        except ValueError as exc:
            raise ConfigError(path, str(exc), key=f"analytics_engine_datasets[{i}].dataset") from None
        out[d.binding] = AnalyticsEngineDataset(runtime, d.binding, name)
    return out


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('analytics', ("analytics_engine_datasets",), bind)
