// The conformance probe in JavaScript, for `wrangler dev` (workerd).
//
// Every route exercises one platform behaviour and answers with what it observed, as JSON.
// py_probe/src/entry.py is the same probe as a Python Worker for the course's emulator; both
// must answer every route identically. Values that legitimately differ between runs
// (timestamps, random ids, durations) are normalised here, never in the test's assertions.
import { DurableObject } from "cloudflare:workers";
import { workflowRoute } from "./workflows.js";

export { ProbeWorkflow } from "./workflows.js";

const json = (data, init) => Response.json(data, init);

// An exception as the probe reports it: JS name and message.
const err = (e) => ({ threw: true, name: e.name, message: e.message });

async function attempt(fn) {
  try {
    const value = await fn();
    return { threw: false, value: value === undefined ? null : value };
  } catch (e) {
    return err(e);
  }
}

// A stored value described the same way by both probes: {type, value}.
function describe(v) {
  if (v === undefined || v === null) return { type: "null", value: null };
  if (v instanceof ArrayBuffer) return { type: "bytes", value: [...new Uint8Array(v)] };
  if (ArrayBuffer.isView(v)) {
    return { type: "bytes", value: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  }
  if (Array.isArray(v)) return { type: "array", value: v.map(describe) };
  if (typeof v === "object") {
    return { type: "object", value: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x)])) };
  }
  return { type: typeof v, value: v };
}

const bytes = (buf) => [...new Uint8Array(buf)];

export class Probe extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const s = this.ctx.storage;
    switch (url.pathname) {
      case "/do/list-order": {
        await s.put({ b: 1, a: 1, c: 1, aa: 1, ab: 1, b1: 1, B: 1, "a/x": 1, "é": 1, "10": 1, "9": 1 });
        const keys = async (opts) => [...(await s.list(opts)).keys()];
        return json({
          all: await keys(),
          prefix: await keys({ prefix: "a" }),
          start_end: await keys({ start: "aa", end: "b1" }),
          start_after_limit: await keys({ startAfter: "aa", limit: 3 }),
          reverse_limit: await keys({ reverse: true, limit: 3 }),
          prefix_reverse: await keys({ prefix: "a", reverse: true }),
          limit: await keys({ limit: 2 }),
          get_many: [...(await s.get(["a", "zz", "b"])).keys()],
          delete_many: await s.delete(["a", "b", "zz"]),
          delete_missing: await s.delete("zz"),
        });
      }
      case "/do/transaction": {
        await s.put("x", 1);
        let thrown = null;
        try {
          await s.transaction(async (txn) => {
            await txn.put("x", 2);
            await txn.put("y", 2);
            throw new Error("abort txn");
          });
        } catch (e) {
          thrown = { threw: true, mentions_cause: String(e.message).includes("abort txn") };
        }
        const afterThrow = { x: await s.get("x"), y: (await s.get("y")) ?? null };
        await s.transaction(async (txn) => {
          await txn.put("x", 3);
          txn.rollback();
        });
        const afterRollback = await s.get("x");
        const committed = await s.transaction(async (txn) => {
          await txn.put("z", 4);
          return "done";
        });
        return json({ thrown, after_throw: afterThrow, after_rollback: afterRollback, committed,
                      z: await s.get("z") });
      }
      case "/do/delete-all": {
        await s.setAlarm(Date.now() + 3600_000);
        await s.put({ k1: 1, k2: 2 });
        this.ctx.storage.sql.exec("CREATE TABLE scratch (v)");
        this.ctx.storage.sql.exec("INSERT INTO scratch VALUES (1)");
        await s.deleteAll();
        const answer = {
          alarm_kept: (await s.getAlarm()) !== null,
          keys: [...(await s.list()).keys()],
          scratch_exists: this.ctx.storage.sql
            .exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'scratch'").one().n,
        };
        await s.deleteAlarm();
        answer.alarm_after_delete = await s.getAlarm();
        return json(answer);
      }
      case "/do/value-types": {
        const values = {
          str: "hello", empty: "", int: 42, zero: 0, float: 1.5, neg: -7, t: true, f: false,
          nul: null, list: [1, "two", null, [3]], dict: { a: 1, b: [true, { c: "d" }] },
          bytes: new Uint8Array([0, 1, 255]),
        };
        await s.put(values);
        const out = {};
        for (const k of Object.keys(values)) out[k] = describe(await s.get(k));
        out.missing_is_null = (await s.get("never-written")) == null;
        return json(out);
      }
      case "/do/sql": {
        const sql = this.ctx.storage.sql;
        sql.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, score REAL)");
        const ins = sql.exec("INSERT INTO items (name, score) VALUES (?, ?), (?, ?), (?, NULL)",
                             "a", 1.5, "b", 2, "c");
        ins.toArray();
        const sel = sql.exec("SELECT * FROM items ORDER BY id");
        const columnsBefore = sel.columnNames;
        const rows = sel.toArray();
        const upd = sql.exec("UPDATE items SET score = 0 WHERE id >= 2");
        upd.toArray();
        const typed = sql.exec("SELECT typeof(?) AS a, typeof(?) AS b, typeof(?) AS c, typeof(NULL) AS d, " +
                               "typeof(?) AS e, ? AS blob", 1, 1.5, "s", new Uint8Array([7, 8]),
                               new Uint8Array([7, 8])).one();
        return json({
          columns: columnsBefore,
          rows,
          insert: { rowsRead: ins.rowsRead, rowsWritten: ins.rowsWritten },
          select: { rowsRead: sel.rowsRead, rowsWritten: sel.rowsWritten },
          update: { rowsRead: upd.rowsRead, rowsWritten: upd.rowsWritten },
          raw: [...sql.exec("SELECT id, name FROM items ORDER BY id").raw()],
          one: sql.exec("SELECT name FROM items WHERE id = 1").one(),
          iterated: [...sql.exec("SELECT id FROM items ORDER BY id DESC")].map((r) => r.id),
          typed: { ...typed, blob: describe(typed.blob) },
        });
      }
      case "/do/sql-errors": {
        const sql = this.ctx.storage.sql;
        sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        sql.exec("INSERT INTO t VALUES (1), (2)");
        let txn;
        try {
          this.ctx.storage.transactionSync(() => {
            sql.exec("INSERT INTO t VALUES (3)");
            throw new Error("undo");
          });
        } catch (e) {
          txn = { threw: true, count: sql.exec("SELECT count(*) AS n FROM t").one().n };
        }
        return json({
          one_none: await attempt(() => sql.exec("SELECT * FROM t WHERE id = 99").one()),
          one_many: await attempt(() => sql.exec("SELECT * FROM t").one()),
          syntax: await attempt(() => sql.exec("SELEC 1")),
          begin: await attempt(() => sql.exec("BEGIN TRANSACTION")),
          missing_table: await attempt(() => sql.exec("SELECT * FROM nope")),
          transaction_sync: txn,
        });
      }
      case "/do/alarm/start": {
        const mode = url.searchParams.get("mode") ?? "ok";
        await s.put({ alarm_mode: mode, alarm_log: [], alarm_started: Date.now() });
        // "past": a time already gone fires promptly; "delete": deleteAlarm() cancels it.
        await s.setAlarm(Date.now() + (mode === "past" ? -60_000 : mode === "delete" ? 500 : 1000));
        const scheduled = (await s.getAlarm()) !== null;
        if (mode === "delete") await s.deleteAlarm();
        return json({ scheduled });
      }
      case "/do/alarm/observe": {
        const log = (await s.get("alarm_log")) ?? [];
        const answer = { log: log.map(({ at, ...entry }) => entry), pending: (await s.getAlarm()) !== null };
        const mode = await s.get("alarm_mode");
        if (mode === "delete") answer.waited_2s = Date.now() - (await s.get("alarm_started")) >= 2000;
        if (mode === "throw-twice") {
          // The retry backoff, robust to scheduling jitter: about 2 s first, then at least 1.5x longer.
          const gaps = log.slice(1).map((e, i) => (e.at - log[i].at) / 1000);
          answer.first_retry_after_about_2s = gaps.length > 0 && gaps[0] >= 1.5 && gaps[0] < 3.5;
          answer.backoff_grows = gaps.length > 1 && gaps[1] >= 1.5 * gaps[0];
        }
        return json(answer);
      }
      case "/do/echo": {
        const body = await request.text();
        return new Response(`${request.method} ${body} ${request.headers.get("x-a")}`, {
          status: 201, headers: { "X-From-Object": "yes" },
        });
      }
      case "/do/counter": {
        // Read-modify-write, the route bench/bench_conformance_do.py measures.
        const n = ((await s.get("n")) ?? 0) + 1;
        await s.put("n", n);
        return json({ n });
      }
      case "/do/queue-log":
        return json((await s.get("deliveries")) ?? []);
      case "/ws/hib": {
        // Hibernation API: tags, an attachment, and an auto-response that does not wake the object.
        const tag = url.searchParams.get("tag");
        const [client, server] = Object.values(new WebSocketPair());
        this.ctx.acceptWebSocket(server, [tag, "all"]);
        server.serializeAttachment({ tag, nested: { ok: true, none: null, list: [1, "two"] } });
        this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
        return new Response(null, { status: 101, webSocket: client });
      }
    }
    return json({ error: `no object route ${url.pathname}` }, { status: 404 });
  }

  async alarm(alarmInfo) {
    const s = this.ctx.storage;
    const log = (await s.get("alarm_log")) ?? [];
    log.push({ retryCount: alarmInfo?.retryCount ?? 0, isRetry: alarmInfo?.isRetry ?? false, at: Date.now() });
    await s.put("alarm_log", log);
    const mode = await s.get("alarm_mode");
    if ((mode === "throw-once" && log.length === 1) || (mode === "throw-twice" && log.length <= 2)) {
      throw new Error("alarm fails");
    }
  }

  async webSocketMessage(ws, message) {
    const s = this.ctx.storage;
    const seen = ((await s.get("ws_messages")) ?? 0) + 1;
    await s.put("ws_messages", seen);
    if (message === "info") {
      ws.send(JSON.stringify({
        tags: this.ctx.getTags(ws),
        all: this.ctx.getWebSockets("all").length,
        tag_a: this.ctx.getWebSockets("a").length,
        tag_b: this.ctx.getWebSockets("b").length,
        tag_none: this.ctx.getWebSockets("zzz").length,
        attachment: ws.deserializeAttachment(),
        messages_seen: seen,
        auto_response_timestamp_set: this.ctx.getWebSocketAutoResponseTimestamp(ws) !== null,
      }));
    } else if (message === "closes") {
      ws.send(JSON.stringify((await s.get("ws_closes")) ?? []));
    } else if (typeof message === "string") {
      ws.send(`got:${message}`);
    } else {
      ws.send(new Uint8Array(message).reverse());
    }
  }

  async webSocketClose(ws, code, reason, wasClean) {
    const closes = (await this.ctx.storage.get("ws_closes")) ?? [];
    closes.push({ code, reason, wasClean });
    await this.ctx.storage.put("ws_closes", closes);
    ws.close(code, reason); // before web_socket_auto_reply_to_close, the object completes the handshake
  }

  // RPC methods.
  nothing() {}

  add(a, b) {
    return a + b;
  }

  echo(value) {
    return value;
  }

  explode(message) {
    throw new Error(message);
  }

  async record(entries) {
    const log = (await this.ctx.storage.get("deliveries")) ?? [];
    log.push(...entries);
    await this.ctx.storage.put("deliveries", log);
    return log.length;
  }
}

const objectFor = (env, name) => env.PROBE.get(env.PROBE.idFromName(name));
const recorder = (env) => objectFor(env, "queue-recorder");

async function doId(env) {
  const a = env.PROBE.idFromName("alpha");
  const b = env.PROBE.idFromName("alpha");
  const u = env.PROBE.newUniqueId();
  const u2 = env.PROBE.newUniqueId();
  const hex = (id) => /^[0-9a-f]{64}$/.test(id.toString());
  return {
    name_hex64: hex(a),
    name_stable: a.toString() === b.toString(),
    equals: a.equals(b),
    other_name_differs: a.toString() !== env.PROBE.idFromName("beta").toString(),
    name_property: a.name ?? null,
    unique_hex64: hex(u),
    unique_differs: u.toString() !== u2.toString(),
    unique_name_property: u.name ?? null,
    from_string_roundtrip: env.PROBE.idFromString(a.toString()).toString() === a.toString(),
    bad_string: await attempt(() => env.PROBE.idFromString("not-an-id").toString()),
  };
}

async function doRpc(env, run) {
  const stub = objectFor(env, `rpc-${run}`);
  let thrown;
  try {
    await stub.explode("boom from the object");
  } catch (e) {
    thrown = { threw: true, mentions_message: String(e.message).includes("boom from the object") };
  }
  return {
    add: await stub.add(2, 3),
    echo: await stub.echo({ a: [1, 2], s: "x", n: null }),
    thrown,
    missing_method: await attempt(() => stub.noSuchMethod()),
  };
}

async function doStubFetch(env, run) {
  const stub = objectFor(env, `fetch-${run}`);
  const r = await stub.fetch("http://object/do/echo", { method: "POST", body: "hi", headers: { "X-A": "1" } });
  return { status: r.status, header: r.headers.get("x-from-object"), body: await r.text() };
}

async function kvTypes(env, run) {
  const k = `${run}:types`;
  await env.KV.put(k, '{"a":[1,2]}');
  await env.KV.put(`${k}:bin`, new Uint8Array([1, 2, 3]));
  const ab = await env.KV.get(k, "arrayBuffer");
  return {
    text: await env.KV.get(k),
    text_type: await env.KV.get(k, "text"),
    json: await env.KV.get(k, "json"),
    json_options: await env.KV.get(k, { type: "json" }),
    array_buffer: bytes(ab),
    binary: bytes(await env.KV.get(`${k}:bin`, "arrayBuffer")),
    missing: await env.KV.get(`${run}:missing`),
    bad_type: await attempt(() => env.KV.get(k, "xml")),
  };
}

async function kvMetadata(env, run) {
  const k = `${run}:meta`;
  await env.KV.put(k, "v", { metadata: { tag: "x", n: 1 } });
  await env.KV.put(`${k}:ttl`, "v", { expirationTtl: 3600 });
  const withMeta = await env.KV.getWithMetadata(k);
  const listed = await env.KV.list({ prefix: `${run}:meta` });
  const now = Date.now() / 1000;
  return {
    with_metadata: { value: withMeta.value, metadata: withMeta.metadata },
    with_metadata_json: (await env.KV.getWithMetadata(k, "text")).value,
    missing: await env.KV.getWithMetadata(`${run}:nothing`),
    listed: listed.keys.map((key) => ({
      name: key.name.slice(run.length),
      metadata: key.metadata ?? null,
      expiration_in_an_hour: key.expiration === undefined ? null : Math.abs(key.expiration - now - 3600) < 30,
    })),
  };
}

async function kvList(env, run) {
  for (let i = 0; i < 5; i++) await env.KV.put(`${run}:p:${i}`, String(i));
  await env.KV.put(`${run}:q`, "other");
  const pages = [];
  let cursor;
  for (let i = 0; i < 5; i++) {
    const page = await env.KV.list({ prefix: `${run}:p:`, limit: 2, cursor });
    pages.push({
      names: page.keys.map((k) => k.name.slice(run.length)),
      list_complete: page.list_complete,
      has_cursor: typeof page.cursor === "string" && page.cursor.length > 0,
    });
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  return { pages, over_limit: await attempt(() => env.KV.list({ limit: 1001 }).then(() => "ok")) };
}

async function kvLimits(env, run) {
  const put = (k, v, o) => attempt(() => env.KV.put(k, v, o));
  return {
    key_512: await put("k".repeat(512), "v"),
    key_513: await put("k".repeat(513), "v"),
    key_empty: await put("", "v"),
    key_dot: await put(".", "v"),
    key_dotdot: await put("..", "v"),
    ttl_59: await put(`${run}:ttl`, "v", { expirationTtl: 59 }),
    ttl_60: await put(`${run}:ttl`, "v", { expirationTtl: 60 }),
    metadata_1025: await put(`${run}:m`, "v", { metadata: { m: "x".repeat(1025) } }),
    get_key_513: await attempt(() => env.KV.get("k".repeat(513))),
  };
}

async function kvReadAfterWrite(env, run) {
  const k = `${run}:raw`;
  await env.KV.put(k, "first");
  const first = await env.KV.get(k);
  await env.KV.put(k, "second");
  const second = await env.KV.get(k);
  await env.KV.delete(k);
  return { first, second, after_delete: await env.KV.get(k) };
}

async function d1Migrations(env) {
  const applied = await env.DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all();
  const seeded = await env.DB.prepare("SELECT body FROM notes ORDER BY id").all();
  return { applied: applied.results.map((r) => r.name), seeded: seeded.results.map((r) => r.body) };
}

async function d1Types(env, run) {
  const t = `types_${run}`;
  await env.DB.prepare(`CREATE TABLE ${t} (i INTEGER, r REAL, s TEXT, b BLOB, n, flag INTEGER)`).run();
  await env.DB.prepare(`INSERT INTO ${t} VALUES (?, ?, ?, ?, NULL, ?)`)
    .bind(42, 1.5, "txt", new Uint8Array([1, 2, 3]), true).run();
  const row = await env.DB.prepare(`SELECT * FROM ${t}`).first();
  const types = await env.DB.prepare(
    `SELECT typeof(i) AS i, typeof(r) AS r, typeof(s) AS s, typeof(b) AS b, typeof(n) AS n, typeof(flag) AS flag FROM ${t}`,
  ).first();
  return { row: { ...row, b: describe(row.b) }, types, int_as_real: await env.DB.prepare("SELECT 2.0 AS x").first("x") };
}

function metaShape(meta) {
  return Object.fromEntries(Object.keys(meta).sort().map((k) => [k, meta[k] === null ? "null" : typeof meta[k]]));
}

async function d1Meta(env, run) {
  const t = `meta_${run}`;
  await env.DB.prepare(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT)`).run();
  const ins = await env.DB.prepare(`INSERT INTO ${t} (v) VALUES (?), (?)`).bind("a", "b").run();
  const sel = await env.DB.prepare(`SELECT * FROM ${t} ORDER BY id`).all();
  return {
    run_keys: Object.keys(ins).sort(),
    run_success: ins.success,
    run_results: ins.results,
    meta_shape: metaShape(ins.meta),
    changes: ins.meta.changes,
    last_row_id: ins.meta.last_row_id,
    changed_db: ins.meta.changed_db,
    rows_written: ins.meta.rows_written,
    select_rows_read: sel.meta.rows_read,
    select_results: sel.results,
    select_keys: Object.keys(sel).sort(),
  };
}

async function d1Batch(env, run) {
  const t = `batch_${run}`;
  await env.DB.prepare(`CREATE TABLE ${t} (name TEXT UNIQUE)`).run();
  const ins = env.DB.prepare(`INSERT INTO ${t} VALUES (?)`);
  const ok = await env.DB.batch([ins.bind("a"), ins.bind("b"), env.DB.prepare(`SELECT count(*) AS n FROM ${t}`)]);
  const failed = await attempt(() => env.DB.batch([ins.bind("c"), ins.bind("a")]));
  const count = await env.DB.prepare(`SELECT count(*) AS n FROM ${t}`).first("n");
  const exec = await env.DB.exec(`INSERT INTO ${t} VALUES ('x');\nINSERT INTO ${t} VALUES ('y')`);
  return {
    ok_length: ok.length,
    ok_last: ok[2].results,
    ok_changes: ok.map((r) => r.meta.changes),
    failed,
    count_after_failed_batch: count,
    exec_count: exec.count,
    count_after_exec: await env.DB.prepare(`SELECT count(*) AS n FROM ${t}`).first("n"),
  };
}

async function d1FirstRaw(env, run) {
  const t = `first_${run}`;
  await env.DB.prepare(`CREATE TABLE ${t} (id INTEGER, name TEXT)`).run();
  await env.DB.prepare(`INSERT INTO ${t} VALUES (1, 'one'), (2, 'two')`).run();
  const q = env.DB.prepare(`SELECT id, name FROM ${t} ORDER BY id`);
  return {
    first: await q.first(),
    first_col: await q.first("name"),
    first_none: await env.DB.prepare(`SELECT * FROM ${t} WHERE id = 99`).first(),
    first_none_col: await env.DB.prepare(`SELECT * FROM ${t} WHERE id = 99`).first("name"),
    first_missing_col: await attempt(() => q.first("nope")),
    raw: await q.raw(),
    raw_names: await q.raw({ columnNames: true }),
  };
}

async function d1Errors(env) {
  return {
    syntax: await attempt(() => env.DB.prepare("SELEC 1").all().then(() => "ok")),
    missing_table: await attempt(() => env.DB.prepare("SELECT * FROM nope").all().then(() => "ok")),
    too_few_bindings: await attempt(() => env.DB.prepare("SELECT ?1 + ?2 AS x").bind(1).first("x")),
  };
}

function r2Shape(obj) {
  if (obj === null) return null;
  return {
    key: obj.key,
    size: obj.size,
    etag: obj.etag,
    http_etag_quoted: obj.httpEtag === `"${obj.etag}"`,
    has_version: typeof obj.version === "string" && obj.version.length > 0,
    uploaded_is_date: obj.uploaded instanceof Date,
    http_metadata: obj.httpMetadata,
    custom_metadata: obj.customMetadata,
    has_body: "body" in obj,
    range: obj.range ?? null,
  };
}

async function r2Metadata(env, run) {
  const k = `${run}/meta.txt`;
  const put = await env.BUCKET.put(k, "hello", {
    httpMetadata: { contentType: "text/plain", cacheControl: "max-age=60" },
    customMetadata: { owner: "probe", n: "1" },
  });
  const got = await env.BUCKET.get(k);
  const headers = new Headers();
  got.writeHttpMetadata(headers);
  return {
    put: { ...r2Shape(put), key: put.key.slice(run.length) },
    head: { ...r2Shape(await env.BUCKET.head(k)), key: null },
    get_text: await got.text(),
    written_headers: [...headers],
    head_missing: await env.BUCKET.head(`${run}/nothing`),
    get_missing: await env.BUCKET.get(`${run}/nothing`),
  };
}

async function r2Conditional(env, run) {
  const k = `${run}/cond.txt`;
  const first = await env.BUCKET.put(k, "v1");
  const summary = async (opts) => {
    const o = await env.BUCKET.get(k, opts);
    if (o === null) return null;
    return { has_body: "body" in o, text: "body" in o ? await o.text() : null };
  };
  const putIf = async (etag) => {
    const r = await env.BUCKET.put(k, "v2", { onlyIf: { etagMatches: etag } });
    return r === null ? null : "stored";
  };
  return {
    etag_matches_wrong: await summary({ onlyIf: { etagMatches: "wrong" } }),
    etag_matches_right: await summary({ onlyIf: { etagMatches: first.etag } }),
    etag_does_not_match_right: await summary({ onlyIf: { etagDoesNotMatch: first.etag } }),
    put_if_wrong: await putIf("wrong"),
    put_if_right: await putIf(first.etag),
    final: await (await env.BUCKET.get(k)).text(),
  };
}

async function r2Ranges(env, run) {
  const k = `${run}/range.txt`;
  await env.BUCKET.put(k, "0123456789");
  const get = async (range) => {
    const o = await env.BUCKET.get(k, { range });
    return { text: await o.text(), range: o.range ?? null, size: o.size };
  };
  return {
    offset_length: await get({ offset: 2, length: 3 }),
    offset_only: await get({ offset: 7 }),
    suffix: await get({ suffix: 3 }),
    length_only: await get({ length: 2 }),
  };
}

async function r2List(env, run) {
  const root = `${run}/list/`;
  for (const key of ["a/1", "a/2", "b", "c/d/e"]) await env.BUCKET.put(`${root}${key}`, key);
  const strip = (page) => ({
    keys: page.objects.map((o) => o.key.slice(root.length)),
    prefixes: page.delimitedPrefixes.map((p) => p.slice(root.length)),
    truncated: page.truncated,
    has_cursor: typeof page.cursor === "string" && page.cursor.length > 0,
  });
  const first = await env.BUCKET.list({ prefix: root, limit: 2 });
  const second = await env.BUCKET.list({ prefix: root, limit: 2, cursor: first.cursor });
  const answer = {
    delimited: strip(await env.BUCKET.list({ prefix: root, delimiter: "/" })),
    prefix: strip(await env.BUCKET.list({ prefix: `${root}a/` })),
    start_after: strip(await env.BUCKET.list({ prefix: root, startAfter: `${root}a/2` })),
    page1: strip(first),
    page2: strip(second),
  };
  await env.BUCKET.delete([`${root}a/1`, `${root}b`]);
  answer.after_delete = strip(await env.BUCKET.list({ prefix: root }));
  return answer;
}

async function queueSend(env, run, kind) {
  if (kind === "batch") {
    await env.BATCH_Q.sendBatch([...Array(7).keys()].map((i) => ({ body: { run, id: `m${i}` } })));
    return { sent: 7 };
  }
  if (kind === "retry") {
    const modes = ["ack", "retry", "retry-once", "implicit"];
    await env.RETRY_Q.sendBatch(modes.map((mode) => ({ body: { run, id: mode, mode } })));
    await env.RETRY_Q.send({ run, id: "text-body", mode: "ack" }, { contentType: "json" });
    return { sent: modes.length + 1 };
  }
  if (kind === "defaults") {
    await env.DEFAULTS_Q.sendBatch([...Array(12).keys()].map((i) => ({ body: { run, id: `d${i}` } })));
    return { sent: 12 };
  }
  return { error: `unknown queue kind ${kind}` };
}

async function queueObserve(env, run, queues) {
  const r = await recorder(env).fetch("http://object/do/queue-log");
  const log = (await r.json()).filter((d) => d.run === run && queues.includes(d.queue));
  const batches = {};
  const attempts = {};
  for (const d of log) {
    const key = `${d.queue}#${d.batch}`;
    batches[key] = batches[key] ?? { queue: d.queue, size: d.size };
    const id = `${d.queue}:${d.id}`;
    (attempts[id] = attempts[id] ?? []).push(d.attempts);
  }
  const sizes = {};
  for (const b of Object.values(batches)) (sizes[b.queue] = sizes[b.queue] ?? []).push(b.size);
  for (const q of Object.keys(sizes)) sizes[q].sort((x, y) => y - x);
  for (const id of Object.keys(attempts)) attempts[id].sort((x, y) => x - y);
  return { deliveries: log.length, batch_sizes: sizes, attempts };
}

async function httpHeaders(request) {
  const entries = [...request.headers].filter(([k]) => k.startsWith("x-probe-"));
  const headers = new Headers({ "X-Resp-Upper": "Value" });
  headers.append("Set-Cookie", "a=1");
  headers.append("Set-Cookie", "b=2");
  headers.append("X-Multi", "one");
  headers.append("X-Multi", "two");
  const seen = {
    entries,
    get_mixed_case: request.headers.get("X-PROBE-ONE"),
    has_mixed_case: request.headers.has("x-Probe-Two"),
    get_missing: request.headers.get("x-probe-none"),
    response_keys: [...headers.keys()],
  };
  return json(seen, { headers });
}

async function httpJson(request) {
  const body = await request.json();
  const again = await attempt(() => request.text());
  return json({ received: body, method: request.method, read_twice: { threw: again.threw, name: again.name } },
              { status: 201, headers: { "X-Echo": "1" } });
}

async function httpStatus() {
  const build = (status) => attempt(() => new Response("x", { status }).status);
  return json({
    status_200: await build(200),
    status_599: await build(599),
    status_199: await build(199),
    status_600: await build(600),
    redirect_bad_status: await attempt(() => Response.redirect("https://example.com/", 200).status),
    no_body_204: await attempt(() => new Response("body", { status: 204 }).status),
  }, { status: 418, statusText: "I'm a teapot" });
}

async function doRpcValues(env, run) {
  const stub = objectFor(env, `rpc-values-${run}`);
  const values = {
    nul: null, bytes: new Uint8Array([0, 1, 255]), nested: { a: [1, [2, { b: null }]], e: [], o: {} },
    unicode: "é✓", big: 9007199254740991, float: -0.5, t: true, empty: "",
  };
  const out = {};
  for (const [k, v] of Object.entries(values)) out[k] = describe(await stub.echo(v));
  out.no_return_value = describe(await stub.nothing());
  const failed = await attempt(() => stub.explode("boom"));
  out.error = { threw: failed.threw, name: failed.name, mentions_message: String(failed.message).includes("boom") };
  out.stub_usable_after_error = await stub.add(1, 1);
  out.missing_method = await attempt(() => stub.noSuchMethod(1));
  return out;
}

function wsEcho() {
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  server.addEventListener("message", (event) => {
    if (typeof event.data !== "string") server.send(new Uint8Array(event.data).reverse());
    else if (event.data === "close-me") server.close(4001, "server bye");
    else server.send(`echo:${event.data}`);
  });
  return new Response(null, { status: 101, webSocket: client });
}

async function svcFetch(env) {
  const r = await env.HELPER.fetch("https://helper.example/echo?x=1&x=2", {
    method: "POST", body: "ping", headers: { "X-Probe": "yes" },
  });
  return { status: r.status, header: r.headers.get("x-helper"), body: await r.json() };
}

async function svcRpc(env) {
  const failed = await attempt(() => env.HELPER.explode("boom from the helper"));
  return {
    add: await env.HELPER.add(2, 3),
    echo: describe(await env.HELPER.echo({ n: null, b: new Uint8Array([1, 2]), nested: [[1], { a: "é" }] })),
    error: { threw: failed.threw, name: failed.name,
             mentions_message: String(failed.message).includes("boom from the helper") },
    missing_method: await attempt(() => env.HELPER.noSuchMethod()),
    named_entrypoint: await env.ADMIN.whoami(),
  };
}

async function cronObserve(env) {
  const r = await objectFor(env, "cron-recorder").fetch("http://object/do/queue-log");
  return { runs: await r.json() };
}

async function httpRedirects() {
  const build = (url, status) => attempt(() => {
    const r = status === undefined ? Response.redirect(url) : Response.redirect(url, status);
    return { status: r.status, location: r.headers.get("location"), body_is_null: r.body === null };
  });
  return {
    default_status: await build("https://example.com/a"),
    s301: await build("https://example.com/a", 301),
    s303: await build("https://example.com/a", 303),
    s307: await build("https://example.com/a", 307),
    s308: await build("https://example.com/a", 308),
    normalised: await build("https://EXAMPLE.com/é?q=a b#frag", 302),
    relative: await build("/relative", 301),
  };
}

function httpStatusText() {
  return json({
    default_200: new Response("x").statusText,
    default_404: new Response("x", { status: 404 }).statusText,
    custom: new Response("x", { status: 201, statusText: "Made" }).statusText,
    json_default: Response.json({}).statusText,
    redirect: Response.redirect("https://example.com/", 301).statusText,
  }, { status: 299, statusText: "Custom Reason" });
}

function httpCookies(request) {
  const h = new Headers();
  h.append("Set-Cookie", "a=1; Path=/");
  h.append("Set-Cookie", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT");
  h.append("Set-Cookie", "c=3; HttpOnly");
  return json({
    get: h.get("set-cookie"),
    get_set_cookie: h.getSetCookie(),
    entries: [...h].filter(([k]) => k === "set-cookie").map(([, v]) => v),
    request_cookie: request.headers.get("cookie"),
  }, { headers: h });
}

async function httpEmpty(request) {
  const bodyIsNull = request.body === null;
  return json({
    request_body_is_null: bodyIsNull,
    request_text: await request.text(),
    null_body_text: await new Response(null).text(),
    null_body_is_null: new Response(null).body === null,
    empty_string_body_is_null: new Response("").body === null,
  });
}

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

async function httpBinary(request) {
  const copy = request.clone();
  const buf = new Uint8Array(await request.arrayBuffer());
  const text = await copy.text();
  return json({
    length: buf.length,
    sha256: hex(await crypto.subtle.digest("SHA-256", buf)),
    head: [...buf.slice(0, 4)],
    tail: [...buf.slice(-6)],
    replacement_chars: [...text].filter((c) => c === "\uFFFD").length,
    text_length: [...text].length,
  });
}

async function httpLarge(request) {
  const buf = await request.arrayBuffer();
  return json({ length: buf.byteLength, sha256: hex(await crypto.subtle.digest("SHA-256", buf)) });
}

function httpLargeResponse() {
  const data = new Uint8Array(1 << 20);
  for (let i = 0; i < data.length; i++) data[i] = 97 + (i % 26);
  return new Response(data, { headers: { "content-type": "application/octet-stream" } });
}

// Documented request.cf fields (https://developers.cloudflare.com/workers/runtime-apis/request/#incomingrequestcfproperties).
const CF_FIELDS = ["asn", "asOrganization", "colo", "country", "city", "continent", "latitude", "longitude",
                   "timezone", "region", "postalCode", "httpProtocol", "tlsVersion", "tlsCipher", "clientTcpRtt",
                   "requestPriority", "edgeRequestKeepAliveStatus"];

function httpCf(request) {
  const cf = request.cf;
  const types = {};
  for (const k of CF_FIELDS) types[k] = cf == null || cf[k] === undefined ? "absent" : typeof cf[k];
  return json({ cf_type: cf == null ? "absent" : typeof cf, fields: types });
}

function httpUrl(request) {
  const url = new URL(request.url);
  const params = [...url.searchParams].filter(([k]) => k !== "run");
  return json({
    pathname: url.pathname,
    params,
    get_all_a: url.searchParams.getAll("a"),
    get_missing: url.searchParams.get("zzz"),
  });
}

async function dispatch(request, env) {
  const url = new URL(request.url);
  const run = url.searchParams.get("run") ?? "default";
  const path = url.pathname;
  if (path === "/ws/hib") {
    return objectFor(env, `ws-${run}-${url.searchParams.get("room")}`).fetch(request);
  }
  if (path.startsWith("/do/") && !path.startsWith("/do/id") && !path.startsWith("/do/rpc") &&
      !path.startsWith("/do/stub-fetch")) {
    return objectFor(env, `${path}-${run}`.replace("/observe", "/start")).fetch(request);
  }
  if (path.startsWith("/wf/")) {
    const answer = await workflowRoute(path, url.searchParams, env);
    if (answer !== null) return json(answer);
  }
  switch (path) {
    case "/do/id": return json(await doId(env));
    case "/do/rpc": return json(await doRpc(env, run));
    case "/do/rpc-values": return json(await doRpcValues(env, run));
    case "/ws/echo": return wsEcho();
    case "/svc/fetch": return json(await svcFetch(env));
    case "/svc/rpc": return json(await svcRpc(env));
    case "/cron/observe": return json(await cronObserve(env));
    case "/do/stub-fetch": return json(await doStubFetch(env, run));
    case "/kv/types": return json(await kvTypes(env, run));
    case "/kv/metadata": return json(await kvMetadata(env, run));
    case "/kv/list": return json(await kvList(env, run));
    case "/kv/limits": return json(await kvLimits(env, run));
    case "/kv/read-after-write": return json(await kvReadAfterWrite(env, run));
    case "/d1/migrations": return json(await d1Migrations(env));
    case "/d1/types": return json(await d1Types(env, run));
    case "/d1/meta": return json(await d1Meta(env, run));
    case "/d1/batch": return json(await d1Batch(env, run));
    case "/d1/first-raw": return json(await d1FirstRaw(env, run));
    case "/d1/errors": return json(await d1Errors(env));
    case "/r2/metadata": return json(await r2Metadata(env, run));
    case "/r2/conditional": return json(await r2Conditional(env, run));
    case "/r2/ranges": return json(await r2Ranges(env, run));
    case "/r2/list": return json(await r2List(env, run));
    case "/queue/send": return json(await queueSend(env, run, url.searchParams.get("kind")));
    case "/queue/observe":
      return json(await queueObserve(env, run, (url.searchParams.get("queues") ?? "").split(",")));
    case "/http/headers": return httpHeaders(request);
    case "/http/json": return httpJson(request);
    case "/http/status": return httpStatus();
    case "/http/redirect": return Response.redirect("https://example.com/next?x=1", 301);
    case "/http/redirect-307": return Response.redirect("https://example.com/kept?method=post", 307);
    case "/http/redirects": return json(await httpRedirects());
    case "/http/head": return new Response("a body the client must not see", { headers: { "X-Method": request.method } });
    case "/http/status-text": return httpStatusText();
    case "/http/cookies": return httpCookies(request);
    case "/http/empty": return httpEmpty(request);
    case "/http/binary": return httpBinary(request);
    case "/http/large": return httpLarge(request);
    case "/http/large-response": return httpLargeResponse();
    case "/http/url": return httpUrl(request);
    case "/http/cf": return httpCf(request);
    case "/": return new Response("conformance probe (js)");
  }
  return json({ error: `no route ${path}` }, { status: 404 });
}

export default {
  fetch: dispatch,

  async scheduled(controller, env) {
    const near = Math.abs(Date.now() - controller.scheduledTime) < 60_000;
    await objectFor(env, "cron-recorder").record([{
      cron: controller.cron,
      scheduledTime: near ? "now" : controller.scheduledTime,
      no_retry_is_function: typeof controller.noRetry === "function",
    }]);
    if (controller.cron === "59 23 31 12 *") throw new Error("scheduled handler fails");
  },

  async queue(batch, env) {
    const batchId = crypto.randomUUID();
    const entries = batch.messages.map((m) => ({
      queue: batch.queue, batch: batchId, size: batch.messages.length,
      run: m.body.run, id: m.body.id, attempts: m.attempts,
    }));
    await recorder(env).record(entries);
    if (batch.queue === "probe-dlq") return; // dead letters are recorded and acknowledged
    for (const m of batch.messages) {
      const mode = m.body.mode;
      if (mode === "ack") m.ack();
      else if (mode === "retry") m.retry();
      else if (mode === "retry-once") (m.attempts === 1 ? m.retry() : m.ack());
    }
  },
};
