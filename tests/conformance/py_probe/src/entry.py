"""The conformance probe as a Python Worker, for the course's emulator (``course serve``).

Written against Cloudflare's documented Python Workers API (``workers``, ``js``,
``pyodide.ffi``), exactly as it would be deployed. Every route exercises one platform behaviour and
answers with what it observed, as JSON; js_probe/src/index.js is the same probe in JavaScript for
``wrangler dev``, and both must answer every route identically. Values that legitimately differ
between runs (timestamps, random ids, durations) are normalised here, never in the assertions.
"""
import base64
import hashlib
import inspect
import json
import re
import time
import uuid
from urllib.parse import parse_qs, parse_qsl, urlsplit

from js import Headers, Object, WebSocketPair, WebSocketRequestResponsePair
from pyodide.ffi import create_proxy, to_js
from workers import DurableObject, Response, WorkerEntrypoint
from workflows_probe import ProbeWorkflow, workflow_route  # noqa: F401 - ProbeWorkflow is an export


def js(value):
    """A Python value as the JavaScript value the platform API expects (dicts as objects)."""
    return to_js(value, dict_converter=Object.fromEntries)


def opts(**options):
    """An options object: ``get(key, opts(type="json"))``."""
    return js(options)


def py(value):
    """A value from the platform as plain Python (dict, list, bytes, str, numbers, None)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if hasattr(value, "to_py"):
        value = value.to_py()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict):
        return {k: py(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [py(v) for v in value]
    return value


def describe(value):
    """A stored value described the same way by both probes: {type, value}."""
    v = py(value)
    if v is None:
        return {"type": "null", "value": None}
    if isinstance(v, bool):
        return {"type": "boolean", "value": v}
    if isinstance(v, (int, float)):
        return {"type": "number", "value": v}
    if isinstance(v, str):
        return {"type": "string", "value": v}
    if isinstance(v, bytes):
        return {"type": "bytes", "value": list(v)}
    if isinstance(v, list):
        return {"type": "array", "value": [describe(x) for x in v]}
    if isinstance(v, dict):
        return {"type": "object", "value": {k: describe(x) for k, x in v.items()}}
    return {"type": type(v).__name__, "value": repr(v)}


def js_type(value):
    """JavaScript's ``typeof`` of a value, as the JS probe reports it (null for None)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def error(exc):
    """An exception as the probe reports it: the JS error's name and message."""
    name = getattr(exc, "name", None)
    message = getattr(exc, "message", None)
    return {"threw": True, "name": name if isinstance(name, str) else type(exc).__name__,
            "message": message if isinstance(message, str) else str(exc)}


async def attempt(fn):
    try:
        value = fn()
        if inspect.isawaitable(value):
            value = await value
        return {"threw": False, "value": py(value)}
    except Exception as exc:  # noqa: BLE001 - the probe reports every failure
        return error(exc)


def now_ms():
    return int(time.time() * 1000)


def json_response(data, status=200, headers=None):
    if headers is None:
        return Response.json(data, status=status)
    return Response.json(data, status=status, headers=headers)


def query(request):
    parts = urlsplit(request.url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


class Probe(DurableObject):
    async def fetch(self, request):
        path, params = query(request)
        s = self.ctx.storage
        sql = self.ctx.storage.sql
        if path == "/do/list-order":
            await s.put(js({"b": 1, "a": 1, "c": 1, "aa": 1, "ab": 1, "b1": 1, "B": 1, "a/x": 1,
                            "é": 1, "10": 1, "9": 1}))

            async def keys(**options):
                result = await s.list(opts(**options)) if options else await s.list()
                return list(result.keys())

            return json_response({
                "all": await keys(),
                "prefix": await keys(prefix="a"),
                "start_end": await keys(start="aa", end="b1"),
                "start_after_limit": await keys(startAfter="aa", limit=3),
                "reverse_limit": await keys(reverse=True, limit=3),
                "prefix_reverse": await keys(prefix="a", reverse=True),
                "limit": await keys(limit=2),
                "get_many": list((await s.get(js(["a", "zz", "b"]))).keys()),
                "delete_many": await s.delete(js(["a", "b", "zz"])),
                "delete_missing": await s.delete("zz"),
            })
        if path == "/do/transaction":
            await s.put("x", 1)
            thrown = None

            async def failing(txn):
                await txn.put("x", 2)
                await txn.put("y", 2)
                raise RuntimeError("abort txn")

            try:
                await s.transaction(failing)
            except Exception as exc:  # noqa: BLE001
                thrown = {"threw": True, "mentions_cause": "abort txn" in str(exc)}
            after_throw = {"x": await s.get("x"), "y": await s.get("y")}

            async def rolled_back(txn):
                await txn.put("x", 3)
                txn.rollback()

            await s.transaction(rolled_back)
            after_rollback = await s.get("x")

            async def committing(txn):
                await txn.put("z", 4)
                return "done"

            committed = await s.transaction(committing)
            return json_response({"thrown": thrown, "after_throw": after_throw,
                                  "after_rollback": after_rollback, "committed": committed,
                                  "z": await s.get("z")})
        if path == "/do/delete-all":
            await s.setAlarm(now_ms() + 3_600_000)
            await s.put(js({"k1": 1, "k2": 2}))
            sql.exec("CREATE TABLE scratch (v)")
            sql.exec("INSERT INTO scratch VALUES (1)")
            await s.deleteAll()
            answer = {
                "alarm_kept": (await s.getAlarm()) is not None,
                "keys": list((await s.list()).keys()),
                "scratch_exists": sql.exec(
                    "SELECT count(*) AS n FROM sqlite_master WHERE name = 'scratch'").one().n,
            }
            await s.deleteAlarm()
            answer["alarm_after_delete"] = await s.getAlarm()
            return json_response(answer)
        if path == "/do/value-types":
            values = {
                "str": "hello", "empty": "", "int": 42, "zero": 0, "float": 1.5, "neg": -7,
                "t": True, "f": False, "nul": None, "list": [1, "two", None, [3]],
                "dict": {"a": 1, "b": [True, {"c": "d"}]}, "bytes": b"\x00\x01\xff",
            }
            await s.put(js(values))
            out = {k: describe(await s.get(k)) for k in values}
            out["missing_is_null"] = (await s.get("never-written")) is None
            return json_response(out)
        if path == "/do/sql":
            sql.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
            ins = sql.exec("INSERT INTO items (name, score) VALUES (?, ?), (?, ?), (?, NULL)",
                           "a", 1.5, "b", 2, "c")
            ins.toArray()
            sel = sql.exec("SELECT * FROM items ORDER BY id")
            columns_before = py(sel.columnNames)
            rows = py(sel.toArray())
            upd = sql.exec("UPDATE items SET score = 0 WHERE id >= 2")
            upd.toArray()
            typed = py(sql.exec("SELECT typeof(?) AS a, typeof(?) AS b, typeof(?) AS c, typeof(NULL) AS d, "
                                "typeof(?) AS e, ? AS blob", 1, 1.5, "s", js(b"\x07\x08"),
                                js(b"\x07\x08")).one())
            typed["blob"] = describe(typed["blob"])
            return json_response({
                "columns": columns_before,
                "rows": rows,
                "insert": {"rowsRead": ins.rowsRead, "rowsWritten": ins.rowsWritten},
                "select": {"rowsRead": sel.rowsRead, "rowsWritten": sel.rowsWritten},
                "update": {"rowsRead": upd.rowsRead, "rowsWritten": upd.rowsWritten},
                "raw": [py(r) for r in sql.exec("SELECT id, name FROM items ORDER BY id").raw()],
                "one": py(sql.exec("SELECT name FROM items WHERE id = 1").one()),
                "iterated": [py(r)["id"] for r in sql.exec("SELECT id FROM items ORDER BY id DESC")],
                "typed": typed,
            })
        if path == "/do/sql-errors":
            sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            sql.exec("INSERT INTO t VALUES (1), (2)")
            txn = None

            def undo():
                sql.exec("INSERT INTO t VALUES (3)")
                raise RuntimeError("undo")

            try:
                self.ctx.storage.transactionSync(undo)
            except Exception:  # noqa: BLE001
                txn = {"threw": True, "count": sql.exec("SELECT count(*) AS n FROM t").one().n}
            return json_response({
                "one_none": await attempt(lambda: sql.exec("SELECT * FROM t WHERE id = 99").one()),
                "one_many": await attempt(lambda: sql.exec("SELECT * FROM t").one()),
                "syntax": await attempt(lambda: sql.exec("SELEC 1") and None),
                "begin": await attempt(lambda: sql.exec("BEGIN TRANSACTION") and None),
                "missing_table": await attempt(lambda: sql.exec("SELECT * FROM nope") and None),
                "transaction_sync": txn,
            })
        if path == "/do/alarm/start":
            mode = params.get("mode", "ok")
            await s.put(js({"alarm_mode": mode, "alarm_log": [], "alarm_started": now_ms()}))
            # "past": a time already gone fires promptly; "delete": deleteAlarm() cancels it.
            await s.setAlarm(now_ms() + {"past": -60_000, "delete": 500}.get(mode, 1000))
            scheduled = (await s.getAlarm()) is not None
            if mode == "delete":
                await s.deleteAlarm()
            return json_response({"scheduled": scheduled})
        if path == "/do/alarm/observe":
            log = py(await s.get("alarm_log")) or []
            answer = {"log": [{k: v for k, v in e.items() if k != "at"} for e in log],
                      "pending": (await s.getAlarm()) is not None}
            mode = await s.get("alarm_mode")
            if mode == "delete":
                answer["waited_2s"] = now_ms() - (await s.get("alarm_started")) >= 2000
            if mode == "throw-twice":
                # The retry backoff, robust to scheduling jitter: about 2 s first, then at least
                # 1.5x longer.
                gaps = [(b["at"] - a["at"]) / 1000 for a, b in zip(log, log[1:])]
                answer["first_retry_after_about_2s"] = len(gaps) > 0 and 1.5 <= gaps[0] < 3.5
                answer["backoff_grows"] = len(gaps) > 1 and gaps[1] >= 1.5 * gaps[0]
            return json_response(answer)
        if path == "/do/echo":
            body = await request.text()
            return Response(f"{request.method} {body} {request.headers.get('x-a')}", status=201,
                            headers={"X-From-Object": "yes"})
        if path == "/do/counter":
            # Read-modify-write, the route bench/bench_conformance_do.py measures.
            n = ((await s.get("n")) or 0) + 1
            await s.put("n", n)
            return json_response({"n": n})
        if path == "/do/queue-log":
            return json_response(py(await s.get("deliveries")) or [])
        if path == "/ws/hib":
            # Hibernation API: tags, an attachment, and an auto-response that does not wake the object.
            tag = params.get("tag")
            client, server = WebSocketPair.new().object_values()
            self.ctx.acceptWebSocket(server, js([tag, "all"]))
            server.serializeAttachment(js({"tag": tag, "nested": {"ok": True, "none": None, "list": [1, "two"]}}))
            self.ctx.setWebSocketAutoResponse(WebSocketRequestResponsePair.new("ping", "pong"))
            return Response(None, status=101, web_socket=client)
        return json_response({"error": f"no object route {path}"}, status=404)

    async def alarm(self, alarm_info=None):
        s = self.ctx.storage
        log = py(await s.get("alarm_log")) or []
        log.append({"retryCount": getattr(alarm_info, "retryCount", 0) if alarm_info else 0,
                    "isRetry": getattr(alarm_info, "isRetry", False) if alarm_info else False,
                    "at": now_ms()})
        await s.put("alarm_log", js(log))
        mode = await s.get("alarm_mode")
        if (mode == "throw-once" and len(log) == 1) or (mode == "throw-twice" and len(log) <= 2):
            raise RuntimeError("alarm fails")

    async def webSocketMessage(self, ws, message):
        s = self.ctx.storage
        seen = ((await s.get("ws_messages")) or 0) + 1
        await s.put("ws_messages", seen)
        if message == "info":
            ws.send(json.dumps({
                "tags": py(self.ctx.getTags(ws)),
                "all": len(self.ctx.getWebSockets("all")),
                "tag_a": len(self.ctx.getWebSockets("a")),
                "tag_b": len(self.ctx.getWebSockets("b")),
                "tag_none": len(self.ctx.getWebSockets("zzz")),
                "attachment": py(ws.deserializeAttachment()),
                "messages_seen": seen,
                "auto_response_timestamp_set": self.ctx.getWebSocketAutoResponseTimestamp(ws) is not None,
            }, separators=(",", ":")))
        elif message == "closes":
            ws.send(json.dumps(py(await s.get("ws_closes")) or [], separators=(",", ":")))
        elif isinstance(message, str):
            ws.send(f"got:{message}")
        else:
            ws.send(js(bytes(py(message))[::-1]))

    async def webSocketClose(self, ws, code, reason, wasClean):
        closes = py(await self.ctx.storage.get("ws_closes")) or []
        closes.append({"code": code, "reason": reason, "wasClean": wasClean})
        await self.ctx.storage.put("ws_closes", js(closes))
        ws.close(code, reason)  # before web_socket_auto_reply_to_close, the object completes the handshake

    # RPC methods.
    def nothing(self):
        return None

    def add(self, a, b):
        return a + b

    def echo(self, value):
        return value

    def explode(self, message):
        raise RuntimeError(message)

    async def record(self, entries):
        log = py(await self.ctx.storage.get("deliveries")) or []
        log.extend(py(entries))
        await self.ctx.storage.put("deliveries", js(log))
        return len(log)


def object_for(env, name):
    return env.PROBE.get(env.PROBE.idFromName(name))


def recorder(env):
    return object_for(env, "queue-recorder")


HEX64 = re.compile(r"[0-9a-f]{64}")


async def do_id(env):
    a = env.PROBE.idFromName("alpha")
    b = env.PROBE.idFromName("alpha")
    u = env.PROBE.newUniqueId()
    u2 = env.PROBE.newUniqueId()
    return {
        "name_hex64": bool(HEX64.fullmatch(a.toString())),
        "name_stable": a.toString() == b.toString(),
        "equals": a.equals(b),
        "other_name_differs": a.toString() != env.PROBE.idFromName("beta").toString(),
        "name_property": getattr(a, "name", None),
        "unique_hex64": bool(HEX64.fullmatch(u.toString())),
        "unique_differs": u.toString() != u2.toString(),
        "unique_name_property": getattr(u, "name", None),
        "from_string_roundtrip": env.PROBE.idFromString(a.toString()).toString() == a.toString(),
        "bad_string": await attempt(lambda: env.PROBE.idFromString("not-an-id").toString()),
    }


async def do_rpc(env, run):
    stub = object_for(env, f"rpc-{run}")
    thrown = None
    try:
        await stub.explode("boom from the object")
    except Exception as exc:  # noqa: BLE001
        thrown = {"threw": True, "mentions_message": "boom from the object" in str(exc)}
    return {
        "add": await stub.add(2, 3),
        "echo": py(await stub.echo(js({"a": [1, 2], "s": "x", "n": None}))),
        "thrown": thrown,
        "missing_method": await attempt(lambda: stub.noSuchMethod()),
    }


async def do_stub_fetch(env, run):
    stub = object_for(env, f"fetch-{run}")
    r = await stub.fetch("http://object/do/echo", opts(method="POST", body="hi", headers={"X-A": "1"}))
    return {"status": r.status, "header": r.headers.get("x-from-object"), "body": await r.text()}


async def kv_types(env, run):
    k = f"{run}:types"
    await env.KV.put(k, '{"a":[1,2]}')
    await env.KV.put(f"{k}:bin", js(b"\x01\x02\x03"))
    return {
        "text": await env.KV.get(k),
        "text_type": await env.KV.get(k, "text"),
        "json": py(await env.KV.get(k, "json")),
        "json_options": py(await env.KV.get(k, opts(type="json"))),
        "array_buffer": list(py(await env.KV.get(k, "arrayBuffer"))),
        "binary": list(py(await env.KV.get(f"{k}:bin", "arrayBuffer"))),
        "missing": await env.KV.get(f"{run}:missing"),
        "bad_type": await attempt(lambda: env.KV.get(k, "xml")),
    }


async def kv_metadata(env, run):
    k = f"{run}:meta"
    await env.KV.put(k, "v", opts(metadata={"tag": "x", "n": 1}))
    await env.KV.put(f"{k}:ttl", "v", opts(expirationTtl=3600))
    with_meta = await env.KV.getWithMetadata(k)
    listed = await env.KV.list(opts(prefix=f"{run}:meta"))
    now = time.time()

    def expires_in_an_hour(key):
        expiration = getattr(key, "expiration", None)
        return None if expiration is None else abs(expiration - now - 3600) < 30

    return {
        "with_metadata": {"value": with_meta.value, "metadata": py(with_meta.metadata)},
        "with_metadata_json": (await env.KV.getWithMetadata(k, "text")).value,
        "missing": py(await env.KV.getWithMetadata(f"{run}:nothing")),
        "listed": [{"name": key.name[len(run):], "metadata": py(getattr(key, "metadata", None)),
                    "expiration_in_an_hour": expires_in_an_hour(key)} for key in listed.keys],
    }


async def kv_list(env, run):
    for i in range(5):
        await env.KV.put(f"{run}:p:{i}", str(i))
    await env.KV.put(f"{run}:q", "other")
    pages = []
    cursor = None
    for _ in range(5):
        options = {"prefix": f"{run}:p:", "limit": 2}
        if cursor:
            options["cursor"] = cursor
        page = await env.KV.list(opts(**options))
        cursor = getattr(page, "cursor", None)
        pages.append({"names": [key.name[len(run):] for key in page.keys],
                      "list_complete": page.list_complete,
                      "has_cursor": isinstance(cursor, str) and len(cursor) > 0})
        if page.list_complete:
            break

    async def over_limit():
        await env.KV.list(opts(limit=1001))
        return "ok"

    return {"pages": pages, "over_limit": await attempt(over_limit)}


async def kv_limits(env, run):
    def put(key, value, **options):
        return attempt(lambda: env.KV.put(key, value, opts(**options)) if options else env.KV.put(key, value))

    return {
        "key_512": await put("k" * 512, "v"),
        "key_513": await put("k" * 513, "v"),
        "key_empty": await put("", "v"),
        "key_dot": await put(".", "v"),
        "key_dotdot": await put("..", "v"),
        "ttl_59": await put(f"{run}:ttl", "v", expirationTtl=59),
        "ttl_60": await put(f"{run}:ttl", "v", expirationTtl=60),
        "metadata_1025": await put(f"{run}:m", "v", metadata={"m": "x" * 1025}),
        "get_key_513": await attempt(lambda: env.KV.get("k" * 513)),
    }


async def kv_read_after_write(env, run):
    k = f"{run}:raw"
    await env.KV.put(k, "first")
    first = await env.KV.get(k)
    await env.KV.put(k, "second")
    second = await env.KV.get(k)
    await env.KV.delete(k)
    return {"first": first, "second": second, "after_delete": await env.KV.get(k)}


async def d1_migrations(env):
    applied = await env.DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all()
    seeded = await env.DB.prepare("SELECT body FROM notes ORDER BY id").all()
    return {"applied": [r["name"] for r in py(applied.results)],
            "seeded": [r["body"] for r in py(seeded.results)]}


async def d1_types(env, run):
    t = f"types_{run}"
    await env.DB.prepare(f"CREATE TABLE {t} (i INTEGER, r REAL, s TEXT, b BLOB, n, flag INTEGER)").run()
    await env.DB.prepare(f"INSERT INTO {t} VALUES (?, ?, ?, ?, NULL, ?)").bind(
        42, 1.5, "txt", js(b"\x01\x02\x03"), True).run()
    row = py(await env.DB.prepare(f"SELECT * FROM {t}").first())
    types = py(await env.DB.prepare(
        f"SELECT typeof(i) AS i, typeof(r) AS r, typeof(s) AS s, typeof(b) AS b, typeof(n) AS n, "
        f"typeof(flag) AS flag FROM {t}").first())
    row["b"] = describe(row["b"])
    return {"row": row, "types": types,
            "int_as_real": await env.DB.prepare("SELECT 2.0 AS x").first("x")}


def meta_shape(meta):
    return {k: js_type(meta[k]) for k in sorted(meta)}


async def d1_meta(env, run):
    t = f"meta_{run}"
    await env.DB.prepare(f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, v TEXT)").run()
    ins = await env.DB.prepare(f"INSERT INTO {t} (v) VALUES (?), (?)").bind("a", "b").run()
    sel = await env.DB.prepare(f"SELECT * FROM {t} ORDER BY id").all()
    ins_d, sel_d = py(ins), py(sel)
    return {
        "run_keys": sorted(ins_d),
        "run_success": ins.success,
        "run_results": ins_d["results"],
        "meta_shape": meta_shape(ins_d["meta"]),
        "changes": ins.meta.changes,
        "last_row_id": ins.meta.last_row_id,
        "changed_db": ins.meta.changed_db,
        "rows_written": ins.meta.rows_written,
        "select_rows_read": sel.meta.rows_read,
        "select_results": sel_d["results"],
        "select_keys": sorted(sel_d),
    }


async def d1_batch(env, run):
    t = f"batch_{run}"
    await env.DB.prepare(f"CREATE TABLE {t} (name TEXT UNIQUE)").run()
    ins = env.DB.prepare(f"INSERT INTO {t} VALUES (?)")
    ok = await env.DB.batch(js([ins.bind("a"), ins.bind("b"), env.DB.prepare(f"SELECT count(*) AS n FROM {t}")]))
    failed = await attempt(lambda: env.DB.batch(js([ins.bind("c"), ins.bind("a")])))
    count = await env.DB.prepare(f"SELECT count(*) AS n FROM {t}").first("n")
    result = await env.DB.exec(f"INSERT INTO {t} VALUES ('x');\nINSERT INTO {t} VALUES ('y')")
    return {
        "ok_length": len(ok),
        "ok_last": py(ok[2].results),
        "ok_changes": [r.meta.changes for r in ok],
        "failed": failed,
        "count_after_failed_batch": count,
        "exec_count": result.count,
        "count_after_exec": await env.DB.prepare(f"SELECT count(*) AS n FROM {t}").first("n"),
    }


async def d1_first_raw(env, run):
    t = f"first_{run}"
    await env.DB.prepare(f"CREATE TABLE {t} (id INTEGER, name TEXT)").run()
    await env.DB.prepare(f"INSERT INTO {t} VALUES (1, 'one'), (2, 'two')").run()
    q = env.DB.prepare(f"SELECT id, name FROM {t} ORDER BY id")
    return {
        "first": py(await q.first()),
        "first_col": await q.first("name"),
        "first_none": py(await env.DB.prepare(f"SELECT * FROM {t} WHERE id = 99").first()),
        "first_none_col": await env.DB.prepare(f"SELECT * FROM {t} WHERE id = 99").first("name"),
        "first_missing_col": await attempt(lambda: q.first("nope")),
        "raw": py(await q.raw()),
        "raw_names": py(await q.raw(opts(columnNames=True))),
    }


async def d1_errors(env):
    async def run_all(sql):
        await env.DB.prepare(sql).all()
        return "ok"

    return {
        "syntax": await attempt(lambda: run_all("SELEC 1")),
        "missing_table": await attempt(lambda: run_all("SELECT * FROM nope")),
        "too_few_bindings": await attempt(lambda: env.DB.prepare("SELECT ?1 + ?2 AS x").bind(1).first("x")),
    }


def r2_shape(obj):
    if obj is None:
        return None
    etag = obj.etag
    return {
        "key": obj.key,
        "size": obj.size,
        "etag": etag,
        "http_etag_quoted": obj.httpEtag == f'"{etag}"',
        "has_version": isinstance(obj.version, str) and len(obj.version) > 0,
        # A JS Date on Cloudflare: portable code calls getTime().
        "uploaded_is_date": callable(getattr(obj.uploaded, "getTime", None)),
        "http_metadata": py(obj.httpMetadata),
        "custom_metadata": py(obj.customMetadata),
        "has_body": hasattr(obj, "body"),
        "range": py(getattr(obj, "range", None)),
    }


async def r2_metadata(env, run):
    k = f"{run}/meta.txt"
    put = await env.BUCKET.put(k, "hello", opts(
        httpMetadata={"contentType": "text/plain", "cacheControl": "max-age=60"},
        customMetadata={"owner": "probe", "n": "1"}))
    got = await env.BUCKET.get(k)
    headers = Headers.new()
    got.writeHttpMetadata(headers)
    put_shape = r2_shape(put)
    put_shape["key"] = put.key[len(run):]
    head_shape = r2_shape(await env.BUCKET.head(k))
    head_shape["key"] = None
    return {
        "put": put_shape,
        "head": head_shape,
        "get_text": await got.text(),
        "written_headers": [[name, value] for name, value in headers],
        "head_missing": await env.BUCKET.head(f"{run}/nothing"),
        "get_missing": await env.BUCKET.get(f"{run}/nothing"),
    }


async def r2_conditional(env, run):
    k = f"{run}/cond.txt"
    first = await env.BUCKET.put(k, "v1")

    async def summary(**options):
        obj = await env.BUCKET.get(k, opts(**options))
        if obj is None:
            return None
        has_body = hasattr(obj, "body")
        return {"has_body": has_body, "text": await obj.text() if has_body else None}

    async def put_if(etag):
        stored = await env.BUCKET.put(k, "v2", opts(onlyIf={"etagMatches": etag}))
        return None if stored is None else "stored"

    return {
        "etag_matches_wrong": await summary(onlyIf={"etagMatches": "wrong"}),
        "etag_matches_right": await summary(onlyIf={"etagMatches": first.etag}),
        "etag_does_not_match_right": await summary(onlyIf={"etagDoesNotMatch": first.etag}),
        "put_if_wrong": await put_if("wrong"),
        "put_if_right": await put_if(first.etag),
        "final": await (await env.BUCKET.get(k)).text(),
    }


async def r2_ranges(env, run):
    k = f"{run}/range.txt"
    await env.BUCKET.put(k, "0123456789")

    async def get(**range_):
        obj = await env.BUCKET.get(k, opts(range=range_))
        return {"text": await obj.text(), "range": py(getattr(obj, "range", None)), "size": obj.size}

    return {
        "offset_length": await get(offset=2, length=3),
        "offset_only": await get(offset=7),
        "suffix": await get(suffix=3),
        "length_only": await get(length=2),
    }


async def r2_list(env, run):
    root = f"{run}/list/"
    for key in ("a/1", "a/2", "b", "c/d/e"):
        await env.BUCKET.put(f"{root}{key}", key)

    def strip(page):
        cursor = getattr(page, "cursor", None)
        return {"keys": [o.key[len(root):] for o in page.objects],
                "prefixes": [p[len(root):] for p in py(page.delimitedPrefixes)],
                "truncated": page.truncated,
                "has_cursor": isinstance(cursor, str) and len(cursor) > 0}

    first = await env.BUCKET.list(opts(prefix=root, limit=2))
    second = await env.BUCKET.list(opts(prefix=root, limit=2, cursor=first.cursor))
    answer = {
        "delimited": strip(await env.BUCKET.list(opts(prefix=root, delimiter="/"))),
        "prefix": strip(await env.BUCKET.list(opts(prefix=f"{root}a/"))),
        "start_after": strip(await env.BUCKET.list(opts(prefix=root, startAfter=f"{root}a/2"))),
        "page1": strip(first),
        "page2": strip(second),
    }
    await env.BUCKET.delete(js([f"{root}a/1", f"{root}b"]))
    answer["after_delete"] = strip(await env.BUCKET.list(opts(prefix=root)))
    return answer


async def queue_send(env, run, kind):
    if kind == "batch":
        await env.BATCH_Q.sendBatch(js([{"body": {"run": run, "id": f"m{i}"}} for i in range(7)]))
        return {"sent": 7}
    if kind == "retry":
        modes = ["ack", "retry", "retry-once", "implicit"]
        await env.RETRY_Q.sendBatch(js([{"body": {"run": run, "id": m, "mode": m}} for m in modes]))
        await env.RETRY_Q.send(js({"run": run, "id": "text-body", "mode": "ack"}), opts(contentType="json"))
        return {"sent": len(modes) + 1}
    if kind == "defaults":
        await env.DEFAULTS_Q.sendBatch(js([{"body": {"run": run, "id": f"d{i}"}} for i in range(12)]))
        return {"sent": 12}
    return {"error": f"unknown queue kind {kind}"}


async def queue_observe(env, run, queues):
    r = await recorder(env).fetch("http://object/do/queue-log")
    log = [d for d in py(await r.json()) if d["run"] == run and d["queue"] in queues]
    batches, attempts = {}, {}
    for d in log:
        batches.setdefault(f"{d['queue']}#{d['batch']}", {"queue": d["queue"], "size": d["size"]})
        attempts.setdefault(f"{d['queue']}:{d['id']}", []).append(d["attempts"])
    sizes = {}
    for b in batches.values():
        sizes.setdefault(b["queue"], []).append(b["size"])
    return {"deliveries": len(log),
            "batch_sizes": {q: sorted(v, reverse=True) for q, v in sizes.items()},
            "attempts": {k: sorted(v) for k, v in attempts.items()}}


def http_headers(request):
    entries = [[k, v] for k, v in request.headers if k.startswith("x-probe-")]
    headers = Headers.new()
    headers.set("X-Resp-Upper", "Value")
    headers.append("Set-Cookie", "a=1")
    headers.append("Set-Cookie", "b=2")
    headers.append("X-Multi", "one")
    headers.append("X-Multi", "two")
    seen = {
        "entries": entries,
        "get_mixed_case": request.headers.get("X-PROBE-ONE"),
        "has_mixed_case": request.headers.has("x-Probe-Two"),
        "get_missing": request.headers.get("x-probe-none"),
        "response_keys": list(headers.keys()),
    }
    return json_response(seen, headers=headers)


async def http_json(request):
    body = py(await request.json())
    again = await attempt(lambda: request.text())
    return json_response({"received": body, "method": request.method,
                          "read_twice": {"threw": again["threw"], "name": again.get("name")}},
                         status=201, headers={"X-Echo": "1"})


async def http_status():
    def build(status):
        return attempt(lambda: Response("x", status=status).status)

    return Response.json({
        "status_200": await build(200),
        "status_599": await build(599),
        "status_199": await build(199),
        "status_600": await build(600),
        "redirect_bad_status": await attempt(lambda: Response.redirect("https://example.com/", 200).status),
        "no_body_204": await attempt(lambda: Response("body", status=204).status),
    }, status=418, statusText="I'm a teapot")


async def do_rpc_values(env, run):
    stub = object_for(env, f"rpc-values-{run}")
    values = {
        "nul": None, "bytes": b"\x00\x01\xff", "nested": {"a": [1, [2, {"b": None}]], "e": [], "o": {}},
        "unicode": "é✓", "big": 9007199254740991, "float": -0.5, "t": True, "empty": "",
    }
    out = {k: describe(await stub.echo(js(v))) for k, v in values.items()}
    out["no_return_value"] = describe(await stub.nothing())
    failed = await attempt(lambda: stub.explode("boom"))
    out["error"] = {"threw": failed["threw"], "name": failed.get("name"),
                    "mentions_message": "boom" in str(failed.get("message"))}
    out["stub_usable_after_error"] = await stub.add(1, 1)
    out["missing_method"] = await attempt(lambda: stub.noSuchMethod(1))
    return out


def ws_echo():
    client, server = WebSocketPair.new().object_values()
    server.accept()

    def on_message(event):
        data = event.data
        if not isinstance(data, str):
            server.send(js(bytes(py(data))[::-1]))
        elif data == "close-me":
            server.close(4001, "server bye")
        else:
            server.send(f"echo:{data}")

    server.addEventListener("message", create_proxy(on_message))
    return Response(None, status=101, web_socket=client)


async def svc_fetch(env):
    r = await env.HELPER.fetch("https://helper.example/echo?x=1&x=2",
                               opts(method="POST", body="ping", headers={"X-Probe": "yes"}))
    return {"status": r.status, "header": r.headers.get("x-helper"), "body": py(await r.json())}


async def svc_rpc(env):
    failed = await attempt(lambda: env.HELPER.explode("boom from the helper"))
    return {
        "add": await env.HELPER.add(2, 3),
        "echo": describe(await env.HELPER.echo(js({"n": None, "b": b"\x01\x02", "nested": [[1], {"a": "é"}]}))),
        "error": {"threw": failed["threw"], "name": failed.get("name"),
                  "mentions_message": "boom from the helper" in str(failed.get("message"))},
        "missing_method": await attempt(lambda: env.HELPER.noSuchMethod()),
        "named_entrypoint": await env.ADMIN.whoami(),
    }


async def cron_observe(env):
    r = await object_for(env, "cron-recorder").fetch("http://object/do/queue-log")
    return {"runs": py(await r.json())}


def http_redirects():
    def build(url, status=None):
        def make():
            r = Response.redirect(url) if status is None else Response.redirect(url, status)
            return {"status": r.status, "location": r.headers.get("location"), "body_is_null": r.body is None}
        return attempt(make)

    return {
        "default_status": build("https://example.com/a"),
        "s301": build("https://example.com/a", 301),
        "s303": build("https://example.com/a", 303),
        "s307": build("https://example.com/a", 307),
        "s308": build("https://example.com/a", 308),
        "normalised": build("https://EXAMPLE.com/é?q=a b#frag", 302),
        "relative": build("/relative", 301),
    }


async def http_redirects_answer():
    return {k: await v for k, v in http_redirects().items()}


def http_status_text():
    return Response.json({
        "default_200": Response("x").statusText,
        "default_404": Response("x", status=404).statusText,
        "custom": Response("x", status=201, statusText="Made").statusText,
        "json_default": Response.json({}).statusText,
        "redirect": Response.redirect("https://example.com/", 301).statusText,
    }, status=299, statusText="Custom Reason")


def http_cookies(request):
    h = Headers.new()
    h.append("Set-Cookie", "a=1; Path=/")
    h.append("Set-Cookie", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT")
    h.append("Set-Cookie", "c=3; HttpOnly")
    return json_response({
        "get": h.get("set-cookie"),
        "get_set_cookie": py(h.getSetCookie()),
        "entries": [v for k, v in h if k == "set-cookie"],
        "request_cookie": request.headers.get("cookie"),
    }, headers=h)


async def http_empty(request):
    body_is_null = request.body is None
    return json_response({
        "request_body_is_null": body_is_null,
        "request_text": await request.text(),
        "null_body_text": await Response(None).text(),
        "null_body_is_null": Response(None).body is None,
        "empty_string_body_is_null": Response("").body is None,
    })


async def http_binary(request):
    copy = request.clone()
    data = bytes(py(await request.arrayBuffer()))
    text = await copy.text()
    return json_response({
        "length": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "head": list(data[:4]),
        "tail": list(data[-6:]),
        "replacement_chars": text.count("\ufffd"),
        "text_length": len(text),
    })


async def http_large(request):
    data = bytes(py(await request.arrayBuffer()))
    return json_response({"length": len(data), "sha256": hashlib.sha256(data).hexdigest()})


def http_large_response():
    data = bytes(97 + i % 26 for i in range(1 << 20))
    return Response(js(data), headers={"content-type": "application/octet-stream"})


# Documented request.cf fields (https://developers.cloudflare.com/workers/runtime-apis/request/#incomingrequestcfproperties).
CF_FIELDS = ["asn", "asOrganization", "colo", "country", "city", "continent", "latitude", "longitude",
             "timezone", "region", "postalCode", "httpProtocol", "tlsVersion", "tlsCipher", "clientTcpRtt",
             "requestPriority", "edgeRequestKeepAliveStatus"]


def http_cf(request):
    cf = getattr(request, "cf", None)
    fields = {k: "absent" if cf is None or getattr(cf, k, None) is None else js_type(getattr(cf, k))
              for k in CF_FIELDS}
    return json_response({"cf_type": "absent" if cf is None else "object", "fields": fields})


def http_url(request):
    parts = urlsplit(request.url)
    params = [[k, v] for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "run"]
    return json_response({
        "pathname": parts.path,
        "params": params,
        "get_all_a": [v for k, v in params if k == "a"],
        "get_missing": None,
    })


OBJECT_ROUTES_SERVED_BY_THE_WORKER = ("/do/id", "/do/rpc", "/do/rpc-values", "/do/stub-fetch")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        env = self.env
        path, params = query(request)
        run = params.get("run", "default")
        if path == "/ws/hib":
            return await object_for(env, f"ws-{run}-{params.get('room')}").fetch(request)
        if path.startswith("/do/") and path not in OBJECT_ROUTES_SERVED_BY_THE_WORKER:
            return await object_for(env, f"{path}-{run}".replace("/observe", "/start")).fetch(request)
        if path.startswith("/wf/"):
            answer = await workflow_route(path, params, env)
            if answer is not None:
                return json_response(answer)
        routes = {
            "/do/id": lambda: do_id(env),
            "/do/rpc": lambda: do_rpc(env, run),
            "/do/stub-fetch": lambda: do_stub_fetch(env, run),
            "/do/rpc-values": lambda: do_rpc_values(env, run),
            "/svc/fetch": lambda: svc_fetch(env),
            "/svc/rpc": lambda: svc_rpc(env),
            "/cron/observe": lambda: cron_observe(env),
            "/kv/types": lambda: kv_types(env, run),
            "/kv/metadata": lambda: kv_metadata(env, run),
            "/kv/list": lambda: kv_list(env, run),
            "/kv/limits": lambda: kv_limits(env, run),
            "/kv/read-after-write": lambda: kv_read_after_write(env, run),
            "/d1/migrations": lambda: d1_migrations(env),
            "/d1/types": lambda: d1_types(env, run),
            "/d1/meta": lambda: d1_meta(env, run),
            "/d1/batch": lambda: d1_batch(env, run),
            "/d1/first-raw": lambda: d1_first_raw(env, run),
            "/d1/errors": lambda: d1_errors(env),
            "/r2/metadata": lambda: r2_metadata(env, run),
            "/r2/conditional": lambda: r2_conditional(env, run),
            "/r2/ranges": lambda: r2_ranges(env, run),
            "/r2/list": lambda: r2_list(env, run),
            "/queue/send": lambda: queue_send(env, run, params.get("kind")),
            "/queue/observe": lambda: queue_observe(env, run, params.get("queues", "").split(",")),
        }
        if path in routes:
            return json_response(await routes[path]())
        if path == "/http/headers":
            return http_headers(request)
        if path == "/http/json":
            return await http_json(request)
        if path == "/http/status":
            return await http_status()
        if path == "/http/redirect":
            return Response.redirect("https://example.com/next?x=1", 301)
        if path == "/http/redirect-307":
            return Response.redirect("https://example.com/kept?method=post", 307)
        if path == "/http/redirects":
            return json_response(await http_redirects_answer())
        if path == "/http/head":
            return Response("a body the client must not see", headers={"X-Method": request.method})
        if path == "/http/status-text":
            return http_status_text()
        if path == "/http/cookies":
            return http_cookies(request)
        if path == "/http/empty":
            return await http_empty(request)
        if path == "/http/binary":
            return await http_binary(request)
        if path == "/http/large":
            return await http_large(request)
        if path == "/http/large-response":
            return http_large_response()
        if path == "/http/url":
            return http_url(request)
        if path == "/http/cf":
            return http_cf(request)
        if path == "/ws/echo":
            return ws_echo()
        if path == "/":
            return Response("conformance probe (python)")
        return json_response({"error": f"no route {path}"}, status=404)

    async def scheduled(self, controller, env, ctx):
        near = abs(now_ms() - controller.scheduledTime) < 60_000
        await object_for(self.env, "cron-recorder").record(js([{
            "cron": controller.cron,
            "scheduledTime": "now" if near else controller.scheduledTime,
            "no_retry_is_function": callable(getattr(controller, "noRetry", None)),
        }]))
        if controller.cron == "59 23 31 12 *":
            raise RuntimeError("scheduled handler fails")

    async def queue(self, batch, env, ctx):
        batch_id = str(uuid.uuid4())
        messages = list(batch.messages)
        entries = []
        for m in messages:
            body = py(m.body)
            entries.append({"queue": batch.queue, "batch": batch_id, "size": len(messages),
                            "run": body["run"], "id": body["id"], "attempts": m.attempts})
        await recorder(self.env).record(js(entries))
        if batch.queue == "probe-dlq":
            return  # dead letters are recorded and acknowledged
        for m in messages:
            mode = py(m.body).get("mode")
            if mode == "ack":
                m.ack()
            elif mode == "retry":
                m.retry()
            elif mode == "retry-once":
                if m.attempts == 1:
                    m.retry()
                else:
                    m.ack()
