"""Durable Object storage: async KV API, limits, transactions, SQL API, sync KV, persistence."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import pytest

from course.runtime import Runtime, load
from course.runtime.objects.storage import (
    MAX_KEY_BYTES,
    MAX_KV_BACKED_VALUE_BYTES,
    MAX_SQL_BOUND_PARAMETERS,
    MAX_SQLITE_ROW_BYTES,
    TRANSACTION_STATEMENT_ERROR,
)
from course.workers import JsArray, JsException, JsObject

from _projects import durable_objects_toml


STORE = '''
from workers import DurableObject, Response, WorkerEntrypoint

class Store(DurableObject):
    async def call(self, op, *args, **kwargs):
        return await getattr(self.ctx.storage, op)(*args, **kwargs)

    async def roundtrip(self, key, value):
        await self.ctx.storage.put(key, value)
        got = await self.ctx.storage.get(key)
        return [type(got).__name__, got]

    async def py_put(self, key, make):
        import datetime
        values = {"bytes": b"\\x00\\xff", "datetime": datetime.datetime(2026, 1, 2, 3, 4, 5),
                  "lambda": lambda: 1, "big": "x" * make}
        await self.ctx.storage.put(key, values[key])

    async def py_get(self, key):
        v = await self.ctx.storage.get(key)
        return [type(v).__name__, repr(v)]

    async def txn(self, fail, explicit_rollback=False):
        async def body(txn):
            await txn.put("t", 1)
            if explicit_rollback:
                txn.rollback()
            if fail:
                raise ValueError("boom")
            return "ok"
        return await self.ctx.storage.transaction(body)

    def sql(self, query, *bindings):
        cur = self.ctx.storage.sql.exec(query, *bindings)
        return {"rows": cur.toArray(), "columns": cur.columnNames, "read": cur.rowsRead,
                "written": cur.rowsWritten}

    def sql_one(self, query):
        return self.ctx.storage.sql.exec(query).one()

    def sql_raw(self, query):
        return [list(r) for r in self.ctx.storage.sql.exec(query).raw()]

    def sql_iter(self, query):
        return [dict(r) for r in self.ctx.storage.sql.exec(query)]

    def size(self):
        return self.ctx.storage.sql.databaseSize

    def txn_sync(self, fail):
        def body():
            self.ctx.storage.sql.exec("INSERT INTO t VALUES (99)")
            if fail:
                raise ValueError("nope")
        self.ctx.storage.transactionSync(body)

    def kv_ops(self):
        kv = self.ctx.storage.kv
        kv.put("k1", {"a": 1})
        kv.put("k2", 2)
        deleted = kv.delete("k2")
        return [kv.get("k1"), kv.get("k2"), deleted, [list(p) for p in kv.list()]]

class Legacy(DurableObject):
    async def call(self, op, *args, **kwargs):
        return await getattr(self.ctx.storage, op)(*args, **kwargs)

    def sql(self):
        return self.ctx.storage.sql.exec("SELECT 1")

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        stub = self.env.STORE.getByName("s")
        await stub.call("put", "visits", (await stub.call("get", "visits") or 0) + 1)
        return Response(str(await stub.call("get", "visits")))
'''

#: Store is SQLite-backed (new_sqlite_classes), Legacy KV-backed (new_classes).
TOML = durable_objects_toml({"STORE": "Store", "LEGACY": "Legacy"},
                            migrations=[("new_sqlite_classes", ["Store"]), ("new_classes", ["Legacy"])])


@pytest.fixture
def rt(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": TOML, "src/entry.py": STORE})


def call(rt: Runtime, method: str, *args: Any, binding: str = "STORE", **kwargs: Any) -> Any:
    async def go() -> Any:
        return await getattr(rt.env[binding].getByName("s"), method)(*args, **kwargs)
    return rt.call(go())


# -- async KV API --------------------------------------------------------------------------------
def test_get_put_delete_one_and_many_keys(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#get"""
    assert call(rt, "call", "get", "missing") is None
    call(rt, "call", "put", {"b": 2, "a": 1, "c": 3})
    got = call(rt, "call", "get", ["c", "a", "zz", "b"])
    assert isinstance(got, JsObject) and list(got.items()) == [("a", 1), ("b", 2), ("c", 3)]
    assert call(rt, "call", "delete", "a") is True
    assert call(rt, "call", "delete", "a") is False
    assert call(rt, "call", "delete", ["b", "c", "nope"]) == 2
    assert rt.storage("STORE", "s").kv() == {}


def test_at_most_128_keys_per_call(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/legacy-kv-storage-api/ : up to 128 keys."""
    with pytest.raises(JsException, match="128"):
        call(rt, "call", "get", [str(i) for i in range(129)])
    with pytest.raises(JsException, match="128"):
        call(rt, "call", "put", {str(i): i for i in range(129)})


def test_list_in_utf8_key_order_with_options(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#list : keys in UTF-8
    byte order (U+FF61 sorts before U+1F600 in UTF-8, after it in UTF-16)."""
    keys = ["b", "a", "ab", "\U0001F600", "\uff61", "c"]
    call(rt, "call", "put", {k: i for i, k in enumerate(keys)})
    assert list(call(rt, "call", "list")) == ["a", "ab", "b", "c", "\uff61", "\U0001F600"]
    assert list(call(rt, "call", "list", prefix="a")) == ["a", "ab"]
    assert list(call(rt, "call", "list", start="ab", end="c")) == ["ab", "b"]
    assert list(call(rt, "call", "list", startAfter="ab", limit=2)) == ["b", "c"]
    assert list(call(rt, "call", "list", {"reverse": True, "limit": 2})) == ["\U0001F600", "\uff61"]
    with pytest.raises(JsException, match="limit"):
        call(rt, "call", "list", limit=0)


def test_values_round_trip_like_structured_clone(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#put : any
    structured-clonable value; dicts and lists come back as JS proxies (``.to_py()``)."""
    value = {"s": "x", "i": 1, "f": 1.5, "b": True, "n": None, "l": [1, [2]], "d": {"k": "v"}}
    kind, got = call(rt, "roundtrip", "v", value)
    assert kind == "JsObject" and got == value and got.to_py() == value
    assert call(rt, "roundtrip", "l", [1, 2])[0] == "JsArray"
    call(rt, "py_put", "bytes", 0)
    call(rt, "py_put", "datetime", 0)
    assert call(rt, "py_get", "bytes") == ["JsBuffer", repr(b"\x00\xff")]
    assert call(rt, "py_get", "datetime")[1] == repr(dt.datetime(2026, 1, 2, 3, 4, 5))
    with pytest.raises(JsException) as err:
        call(rt, "py_put", "lambda", 0)
    assert err.value.name == "DataCloneError"


def test_key_and_value_size_limits(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/platform/limits/ : keys 2 KiB, values 128 KiB
    (KV-backed); key + value 2 MB (SQLite-backed)."""
    with pytest.raises(JsException, match=f"larger than {MAX_KEY_BYTES}"):
        call(rt, "call", "put", "k" * (MAX_KEY_BYTES + 1), 1, binding="LEGACY")
    with pytest.raises(JsException, match=f"larger than {MAX_KV_BACKED_VALUE_BYTES}") as err:
        call(rt, "call", "put", "v", "x" * MAX_KV_BACKED_VALUE_BYTES, binding="LEGACY")
    assert err.value.name == "RangeError"
    call(rt, "py_put", "big", MAX_KV_BACKED_VALUE_BYTES * 2)   # fine on SQLite-backed
    with pytest.raises(JsException, match="SQLITE_TOOBIG"):
        call(rt, "py_put", "big", MAX_SQLITE_ROW_BYTES)


def test_transaction_rolls_back_on_exception(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#transaction"""
    with pytest.raises(JsException, match="ValueError: boom"):
        call(rt, "txn", True)
    assert rt.storage("STORE", "s").get("t") is None
    assert call(rt, "txn", False, True) == "ok"           # txn.rollback()
    assert rt.storage("STORE", "s").get("t") is None
    assert call(rt, "txn", False) == "ok"
    assert rt.storage("STORE", "s").get("t") == 1


def test_delete_all_removes_keys_and_tables(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#deleteall"""
    call(rt, "call", "put", "a", 1)
    call(rt, "sql", "CREATE TABLE t (x)")
    call(rt, "call", "deleteAll")
    view = rt.storage("STORE", "s")
    assert view.kv() == {} and view.tables() == []


# -- SQL API -------------------------------------------------------------------------------------
def test_sql_exec_cursor(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#exec"""
    call(rt, "sql", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    res = call(rt, "sql", "INSERT INTO t (name) VALUES (?), (?)", "ann", "bob")
    assert res["written"] == 2
    res = call(rt, "sql", "SELECT * FROM t ORDER BY id")
    assert res["rows"] == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}]
    assert res["columns"] == ["id", "name"] and res["read"] == 2
    assert call(rt, "sql_one", "SELECT name FROM t WHERE id = 2") == {"name": "bob"}
    assert call(rt, "sql_raw", "SELECT id, name FROM t ORDER BY id") == [[1, "ann"], [2, "bob"]]
    assert call(rt, "sql_iter", "SELECT id FROM t ORDER BY id") == [{"id": 1}, {"id": 2}]
    assert call(rt, "size") > 0
    assert rt.storage("STORE", "s").sql("SELECT count(*) AS n FROM t") == [{"n": 2}]


def test_sql_one_needs_exactly_one_row(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#one"""
    call(rt, "sql", "CREATE TABLE t (x)")
    with pytest.raises(JsException, match="got no results"):
        call(rt, "sql_one", "SELECT * FROM t")
    call(rt, "sql", "INSERT INTO t VALUES (1), (2)")
    with pytest.raises(JsException, match="got multiple results"):
        call(rt, "sql_one", "SELECT * FROM t")


@pytest.mark.parametrize("statement", ["BEGIN TRANSACTION", "COMMIT", "SAVEPOINT sp", "  -- c\nrollback"])
def test_sql_refuses_transaction_statements(rt: Runtime, statement: str) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#exec : use
    transaction()/transactionSync() instead of BEGIN/SAVEPOINT."""
    with pytest.raises(JsException) as err:
        call(rt, "sql", statement)
    assert err.value.message == TRANSACTION_STATEMENT_ERROR


def test_sql_allows_at_most_100_bound_parameters(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/platform/limits/#sql-storage-limits"""
    call(rt, "sql", "CREATE TABLE t (x)")
    ok = ",".join("(?)" for _ in range(MAX_SQL_BOUND_PARAMETERS))
    call(rt, "sql", f"INSERT INTO t VALUES {ok}", *range(MAX_SQL_BOUND_PARAMETERS))
    with pytest.raises(JsException, match="too many SQL variables"):
        call(rt, "sql", f"INSERT INTO t VALUES {ok},(?)", *range(MAX_SQL_BOUND_PARAMETERS + 1))


def test_sql_cannot_read_the_hidden_kv_table(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/legacy-kv-storage-api/ : the KV API lives
    in a hidden table that the SQL API cannot access."""
    call(rt, "call", "put", "a", 1)
    with pytest.raises(JsException, match="SQLITE_AUTH"):
        call(rt, "sql", "SELECT * FROM _cf_KV")


def test_transaction_sync_rolls_back_on_exception(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#transactionsync"""
    call(rt, "sql", "CREATE TABLE t (x)")
    with pytest.raises(JsException, match="ValueError: nope"):
        call(rt, "txn_sync", True)
    call(rt, "txn_sync", False)
    assert rt.storage("STORE", "s").sql("SELECT x FROM t") == [{"x": 99}]


def test_sync_kv_shares_the_async_kv_data(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#synchronous-kv-api"""
    got = call(rt, "kv_ops")
    assert got == [{"a": 1}, None, True, [["k1", {"a": 1}]]]
    assert call(rt, "call", "get", "k1") == {"a": 1}


def test_kv_backed_classes_have_no_sql_api(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/legacy-kv-storage-api/ : SQL API only on
    SQLite-backed classes (new_sqlite_classes)."""
    with pytest.raises(JsException, match="SQLite-backed"):
        call(rt, "sql", binding="LEGACY")


# -- persistence ---------------------------------------------------------------------------------
def test_storage_persists_across_a_restart(make_project: Callable[..., Any], tmp_path: Any) -> None:
    """https://developers.cloudflare.com/workers/wrangler/commands/#dev (--persist-to): local state
    survives a restart; KV entries, SQL tables and alarms."""
    folder = make_project({"wrangler.toml": TOML, "src/entry.py": STORE})
    state = tmp_path / "state"
    first = load(folder, virtual_time=True, persist_to=state)
    assert first.client().get("/").text == "1"
    call(first, "sql", "CREATE TABLE t (x)")
    call(first, "sql", "INSERT INTO t VALUES (7)")
    first.close()
    second = load(folder, virtual_time=True, persist_to=state)
    try:
        assert second.client().get("/").text == "2"
        assert second.storage("STORE", "s").sql("SELECT x FROM t") == [{"x": 7}]
        assert list(state.rglob("*.sqlite"))
    finally:
        second.close()


ALARM_ENTRY = """
from workers import DurableObject, Response, WorkerEntrypoint
import time

class Sleeper(DurableObject):
    async def arm(self):
        await self.ctx.storage.setAlarm(int(time.time() * 1000) + 60_000)
        return await self.ctx.storage.getAlarm()

    async def alarm(self):
        await self.ctx.storage.put("woke", (await self.ctx.storage.get("woke") or 0) + 1)

    async def woke(self):
        return await self.ctx.storage.get("woke")

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        stub = self.env.SLEEPER.getByName("s")
        if request.url.endswith("/arm"):
            return Response(str(await stub.arm()))
        return Response(str(await stub.woke()))
"""

ALARM_TOML = durable_objects_toml({"SLEEPER": "Sleeper"}, name="alarms", compat=None)


def test_a_pending_alarm_survives_a_restart_and_fires(make_project: Callable[..., Any], tmp_path: Any) -> None:
    """https://developers.cloudflare.com/durable-objects/api/alarms/ : an alarm is stored with the
    object and runs even if the object is not in memory; with --persist-to it outlives a restart."""
    folder = make_project({"wrangler.toml": ALARM_TOML, "src/entry.py": ALARM_ENTRY})
    state = tmp_path / "state"
    first = load(folder, virtual_time=True, persist_to=state)
    armed = first.client().get("/arm").text
    assert armed != "None"
    first.close()  # restart before the alarm is due
    second = load(folder, virtual_time=True, persist_to=state)
    try:
        assert second.client().get("/woke").text == "None"
        second.clock.advance(59)
        assert second.trace.count("do_alarm", phase="run") == 0
        second.clock.advance(2)
        assert second.trace.count("do_alarm", phase="run") == 1
        assert second.client().get("/woke").text == "1"
    finally:
        second.close()
