"""Durable Objects: documented rules found missing or wrong in a review against Cloudflare's docs.

Where the docs leave a detail open (an error's text), the behaviour was checked on local workerd
(``wrangler dev``) and the test says so.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from course.runtime import Runtime
from course.runtime.objects.durable_objects import BLOCK_CONCURRENCY_TIMEOUT_SECONDS, JURISDICTIONS
from course.runtime.objects.storage import MAX_KEY_BYTES
from course.workers import JsException

from _projects import durable_objects_toml

SOURCE = '''
import asyncio, time
from workers import DurableObject, Response, WorkerEntrypoint

class Thing(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.counter = 41

    @property
    def answer(self):
        return self.counter + 1

    async def method(self):
        return "called"

    async def put_big_key(self, size):
        await self.ctx.storage.put("k" * size, 1)
        return await self.ctx.storage.get("k" * size)

    async def list_with(self, options):
        return await self.ctx.storage.list(options)

    async def op_after_rollback(self, op):
        async def body(txn):
            await txn.put("q", 1)
            txn.rollback()
            if op == "put":
                await txn.put("q", 2)
            else:
                await txn.get("q")
        await self.ctx.storage.transaction(body)

    def cursor_walk(self):
        sql = self.ctx.storage.sql
        sql.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
        for i in range(10):
            sql.exec("INSERT INTO t VALUES (?, ?)", i, f"v{i}")
        cur = sql.exec("SELECT * FROM t ORDER BY id")
        first = cur.next()
        read1 = cur.rowsRead
        raw = cur.raw()
        raw_first = raw.next()
        read2 = cur.rowsRead
        rest = cur.toArray()
        return {"first": first.value.to_py(), "read1": read1, "raw_first": list(raw_first.value),
                "read2": read2, "rest": len(rest), "read3": cur.rowsRead, "done": cur.next().done,
                "raw_after": list(raw.toArray())}

    def reads(self, query):
        cur = self.ctx.storage.sql.exec(query)
        cur.toArray()
        return [cur.rowsRead, cur.rowsWritten]

    def sql_error(self, query, *args):
        self.ctx.storage.sql.exec(query, *args).toArray()

    async def slow_init(self, seconds):
        async def body():
            await self.ctx.storage.put("started", True)
            await asyncio.sleep(seconds)
            await self.ctx.storage.put("finished", True)
        await self.ctx.blockConcurrencyWhile(body)
        return "done"

    async def alarm_in(self, seconds, mode):
        await self.ctx.storage.put("mode", mode)
        await self.ctx.storage.setAlarm(int((time.time() + seconds) * 1000))

    async def get_alarm(self):
        return await self.ctx.storage.getAlarm()

    async def alarm(self, info):
        mode = await self.ctx.storage.get("mode")
        seen = await self.ctx.storage.get("seen") or []
        seen.append(await self.ctx.storage.getAlarm())
        if mode == "reschedule":
            await self.ctx.storage.setAlarm(int((time.time() + 100) * 1000))
            seen.append(await self.ctx.storage.getAlarm())
        if mode == "delete_then_fail":
            await self.ctx.storage.deleteAlarm()
        await self.ctx.storage.put("seen", seen)
        if mode in ("fail", "delete_then_fail"):
            raise RuntimeError("alarm failed")

    async def my_id(self):
        return {"name": self.ctx.id.name, "jurisdiction": self.ctx.id.jurisdiction}

class Legacy(DurableObject):
    async def put_big_key(self, size):
        await self.ctx.storage.put("k" * size, 1)

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")
'''

TOML = durable_objects_toml({"THING": "Thing", "LEGACY": "Legacy"},
                            migrations=[("new_sqlite_classes", ["Thing"]), ("new_classes", ["Legacy"])])


@pytest.fixture
def rt(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": TOML, "src/entry.py": SOURCE})


def run(rt: Runtime, fn: Callable[[], Any]) -> Any:
    async def go() -> Any:
        return await fn()
    return rt.call(go())


def thing(rt: Runtime, name: str = "t") -> Any:
    return rt.env["THING"].getByName(name)


# -- storage API -----------------------------------------------------------------------------------
def test_sqlite_backed_keys_have_no_2kib_limit(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/platform/limits/ : SQLite-backed objects
    limit key and value combined (2 MB); the 2 KiB key limit is the KV backend's (workerd agrees)."""
    assert run(rt, lambda: thing(rt).put_big_key(MAX_KEY_BYTES + 1)) == 1
    with pytest.raises(JsException, match="Keys cannot be larger than 2048 bytes"):
        run(rt, lambda: rt.env["LEGACY"].getByName("l").put_big_key(MAX_KEY_BYTES + 1))


@pytest.mark.parametrize(("options", "message"), [
    ({"start": "a", "startAfter": "b"}, "list() cannot be called with both start and startAfter values."),
    ({"limit": 0}, "List limit must be positive."),
])
def test_list_rejects_conflicting_or_empty_options_like_workerd(rt: Runtime, options: dict, message: str) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#list : startAfter
    "Cannot be used simultaneously with start"; the errors are workerd's (TypeError, same text)."""
    with pytest.raises(JsException) as err:
        run(rt, lambda: thing(rt).list_with(options))
    assert (err.value.name, err.value.message) == ("TypeError", message)


@pytest.mark.parametrize("op", ["put", "get"])
def test_txn_operations_fail_after_rollback(rt: Runtime, op: str) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#transaction :
    "After rollback() is called, any subsequent operations on the txn Object will fail with an
    exception" (workerd: "Cannot put() on rolled back transaction")."""
    with pytest.raises(JsException, match=rf"Cannot {op}\(\) on rolled back transaction"):
        run(rt, lambda: thing(rt).op_after_rollback(op))
    assert rt.storage("THING", "t").get("q") is None


# -- SQL API ---------------------------------------------------------------------------------------
def test_cursor_and_raw_share_one_position_and_rows_read_grows(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#exec : raw()
    iterates the same results as its cursor (``raw().next()`` then ``toArray()``); rowsRead "may
    increase as you iterate the cursor" (numbers as local workerd reports them: 2, 3, 10)."""
    out = run(rt, lambda: thing(rt).cursor_walk())
    assert out["first"] == {"id": 0, "v": "v0"} and out["raw_first"] == [1, "v1"]
    assert (out["read1"], out["read2"], out["rest"], out["read3"]) == (2, 3, 8, 10)
    assert out["done"] is True and out["raw_after"] == []


@pytest.mark.parametrize(("query", "expected"), [
    ("SELECT count(*) FROM t", [10, 0]),                      # a full scan reads every row
    ("SELECT * FROM t WHERE v = 'v3'", [10, 0]),              # no index on v: full scan
    ("SELECT * FROM t WHERE id = 3", [1, 0]),                 # primary key search
    ("SELECT * FROM t LIMIT 2", [2, 0]),
    ("UPDATE t SET v = 'x' WHERE id > 6", [3, 3]),
    ("UPDATE t SET v = 'y' WHERE v = 'v1'", [10, 1]),         # scans to find one row
])
def test_rows_read_counts_rows_scanned(rt: Runtime, query: str, expected: list[int]) -> None:
    """https://developers.cloudflare.com/durable-objects/platform/pricing/ : rowsRead bills rows
    scanned, not rows returned; each expected pair is what local workerd reported."""
    run(rt, lambda: thing(rt).cursor_walk())
    assert run(rt, lambda: thing(rt).reads(query)) == expected


@pytest.mark.parametrize(("query", "args", "message"), [
    ("SELECT 'a' LIKE ?", ("%" * 51,), "LIKE or GLOB pattern too complex"),
    ("SELECT max(" + ",".join(str(i) for i in range(33)) + ")", (), "too many arguments on function max"),
])
def test_sql_like_pattern_and_function_argument_limits(rt: Runtime, query: str, args: tuple, message: str) -> None:
    """https://developers.cloudflare.com/durable-objects/platform/limits/#sql-storage-limits :
    50 bytes in a LIKE or GLOB pattern, 32 arguments per SQL function."""
    with pytest.raises(JsException, match=message):
        run(rt, lambda: thing(rt).sql_error(query, *args))


# -- blockConcurrencyWhile -------------------------------------------------------------------------
def test_block_concurrency_while_times_out_after_30_seconds_and_resets(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/state/#blockconcurrencywhile : "there
    is a 30 second timeout applied when executing the callback. If this timeout is exceeded, the
    Durable Object will be reset." Writes not yet confirmed are lost with it."""
    assert run(rt, lambda: thing(rt).slow_init(BLOCK_CONCURRENCY_TIMEOUT_SECONDS - 1)) == "done"
    with pytest.raises(JsException, match="blockConcurrencyWhile") as err:
        run(rt, lambda: thing(rt, "slow").slow_init(BLOCK_CONCURRENCY_TIMEOUT_SECONDS + 5))
    assert getattr(err.value, "retryable", None) is True
    assert rt.trace.last("do_crash").reason == "blockConcurrencyWhile_timeout"
    assert rt.storage("THING", "slow").get("finished") is None
    assert run(rt, lambda: thing(rt, "slow").method()) == "called"      # a fresh instance answers


# -- alarms ----------------------------------------------------------------------------------------
def test_get_alarm_is_null_while_the_alarm_runs_unless_set_again(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#getalarm : "The
    alarm is considered to be set if it has not started, or if it has failed and any retry has not
    begun" (workerd: getAlarm() in alarm() is null, and the new time after setAlarm())."""
    run(rt, lambda: thing(rt, "a").alarm_in(5, "plain"))
    run(rt, lambda: thing(rt, "b").alarm_in(5, "reschedule"))
    rt.clock.advance(5)
    rt.run_until_idle()
    assert rt.storage("THING", "a").get("seen") == [None]
    seen_b = rt.storage("THING", "b").get("seen")
    assert seen_b[0] is None and seen_b[1] == int((rt.clock.wall() + 100) * 1000)
    assert run(rt, lambda: thing(rt, "b").get_alarm()) == seen_b[1]      # the new alarm stays


def test_get_alarm_between_retries_returns_the_failed_alarm(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#getalarm : a
    failed alarm whose retry has not begun is still set (workerd: its original time)."""
    run(rt, lambda: thing(rt).alarm_in(5, "fail"))
    scheduled = run(rt, lambda: thing(rt).get_alarm())
    rt.clock.advance(5)
    rt.run_until_idle()
    assert rt.storage("THING", "t").get("seen") == [None]
    assert run(rt, lambda: thing(rt).get_alarm()) == scheduled


def test_delete_alarm_inside_a_failing_alarm_prevents_the_retry(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/alarms/#deletealarm : "Calling
    deleteAlarm() inside the alarm() handler may prevent retries" (workerd: it does)."""
    run(rt, lambda: thing(rt).alarm_in(5, "delete_then_fail"))
    rt.clock.advance(5 + 2 + 4 + 8)
    rt.run_until_idle()
    assert rt.storage("THING", "t").get("seen") == [None]
    assert run(rt, lambda: thing(rt).get_alarm()) is None


def test_delete_all_deletes_alarm_compatibility_flag(load_project: Callable[..., Runtime]) -> None:
    """https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/#deleteall : before
    2026-02-24, the delete_all_deletes_alarm compatibility flag makes deleteAll() delete the alarm."""
    toml = TOML.replace('compatibility_date = "2025-11-01"',
                        'compatibility_date = "2025-11-01"\ncompatibility_flags = ["delete_all_deletes_alarm"]')
    flagged = load_project({"wrangler.toml": toml, "src/entry.py": SOURCE.replace(
        "    async def get_alarm(self):",
        "    async def wipe(self):\n        await self.ctx.storage.deleteAll()\n\n    async def get_alarm(self):")})
    run(flagged, lambda: thing(flagged).alarm_in(60, "plain"))
    run(flagged, lambda: thing(flagged).wipe())
    assert run(flagged, lambda: thing(flagged).get_alarm()) is None


# -- ids, jurisdictions, RPC -----------------------------------------------------------------------
def test_id_from_string_has_no_name(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/id/#name : the name is known for ids
    from idFromName/getByName only (workerd: idFromString(...).name is undefined)."""
    ns = rt.env["THING"]
    assert run(rt, lambda: ns.getByName("x").method()) == "called"      # the object knows its name
    assert ns.idFromString(ns.idFromName("x").toString()).name is None
    assert ns.idFromName("x").name == "x" and ns.newUniqueId().name is None


def test_jurisdictions_give_distinct_ids_and_are_checked(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/reference/data-location/ : the same name
    is a different id in a jurisdiction; a namespace refuses ids of another jurisdiction;
    ctx.id.jurisdiction reports it (changelog 2026-03-26)."""
    ns = rt.env["THING"]
    eu = ns.jurisdiction("eu")
    assert not eu.idFromName("x").equals(ns.idFromName("x"))
    assert ns.idFromString(eu.idFromName("x").toString()).jurisdiction == "eu"
    assert ns.newUniqueId({"jurisdiction": "eu"}).jurisdiction == "eu"
    with pytest.raises(JsException, match="jurisdiction"):
        eu.get(ns.idFromName("x"))
    with pytest.raises(JsException, match="Invalid jurisdiction"):
        ns.jurisdiction("mars")
    assert set(JURISDICTIONS) >= {"eu", "fedramp"}
    assert run(rt, lambda: eu.getByName("x").my_id()) == {"name": "x", "jurisdiction": "eu"}
    assert run(rt, lambda: ns.getByName("x").my_id()) == {"name": "x", "jurisdiction": None}


def test_rpc_reads_getters_but_not_instance_attributes(rt: Runtime) -> None:
    """https://developers.cloudflare.com/workers/runtime-apis/rpc/ : a getter on the class is
    readable over RPC (``await stub.answer``); an instance field is not (workerd: 'The RPC receiver
    does not implement the method "counter".')."""
    assert run(rt, lambda: thing(rt).answer) == 42
    with pytest.raises(JsException, match='does not implement the method "counter"'):
        run(rt, lambda: thing(rt).counter)


def test_stub_fetch_without_handler_is_an_error(rt: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/stub/#fetch : an object without
    fetch() fails the call with workerd's Error "Handler does not export a fetch() function."."""
    with pytest.raises(JsException) as err:
        run(rt, lambda: thing(rt).fetch("https://do/"))
    assert (err.value.name, err.value.message) == ("Error", "Handler does not export a fetch() function.")
    assert getattr(err.value, "remote", None) is True
