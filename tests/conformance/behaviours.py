"""The behaviours the conformance suite checks: one probe route each, with the docs that define it.

A :class:`Behaviour` names a platform behaviour, the probe route that observes it and the
Cloudflare page that documents it. Asynchronous behaviours (alarms, queues) have a ``start``
route, fired once per session as early as possible, and are observed by polling until ``settled``
says the answer is final. A :class:`KnownDifference` records where the local workerd (Miniflare)
deliberately differs from production and the emulator follows production: each target is then
held to its own documented answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import drivers

DOCS = "https://developers.cloudflare.com"
DO_STORAGE = f"{DOCS}/durable-objects/api/sqlite-storage-api/"
KV_READ = f"{DOCS}/kv/api/read-key-value-pairs/"
KV_WRITE = f"{DOCS}/kv/api/write-key-value-pairs/"
KV_LIST = f"{DOCS}/kv/api/list-keys/"
D1_STATEMENTS = f"{DOCS}/d1/worker-api/prepared-statements/"
D1_DATABASE = f"{DOCS}/d1/worker-api/d1-database/"
R2_API = f"{DOCS}/r2/api/workers/workers-api-reference/"
QUEUES_BATCHING = f"{DOCS}/queues/configuration/batching-retries/"
MINIFLARE_QUEUE_DEFAULTS = ("https://github.com/cloudflare/workers-sdk/blob/main/packages/miniflare/"
                            "src/workers/queues/broker.worker.ts")

WORKFLOWS_API = f"{DOCS}/workflows/build/workers-api/"
WORKFLOWS_RETRY = f"{DOCS}/workflows/build/sleeping-and-retrying/"
WORKFLOWS_EVENTS = f"{DOCS}/workflows/build/events-and-parameters/"
MINIFLARE_WORKFLOWS = ("https://github.com/cloudflare/workers-sdk/tree/main/packages/workflows-shared/src")

#: Queue names of the probe (wrangler configs of js_probe/ and py_probe/).
BATCH_QUEUE, RETRY_QUEUE, DLQ, DEFAULTS_QUEUE = "probe-batch", "probe-retry", "probe-dlq", "probe-defaults"


@dataclass(frozen=True)
class KnownDifference:
    """workerd (local) and production differ by design; the emulator follows production."""

    why: str
    doc: str
    workerd: Any
    emulator: Any
    #: Picks the part of the answer the difference is about (the rest must still be equal).
    select: Callable[[Any], Any] = lambda answer: answer


@dataclass(frozen=True)
class Behaviour:
    id: str
    title: str
    route: str
    doc: str
    method: str = "GET"
    #: The status the probe answers with (a probe failure shows up as a 500).
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    #: Async behaviours: fired once per session before polling ``route``.
    start: tuple[str, ...] = ()
    #: Async behaviours: the observed answer is final (then the suite re-reads once to be sure).
    settled: Callable[[Any], bool] | None = None
    known_difference: KnownDifference | None = None
    #: Client-side view: which response headers the answer includes.
    response_headers: tuple[str, ...] = ()
    #: Client-side view: the body as its length and SHA-256 (large bodies).
    digest_body: bool = False
    #: Client-side view: the answer includes the HTTP reason phrase.
    reason: bool = False
    #: Behaviours a client drives itself (WebSocket sessions, trigger routes): called with the
    #: target and the run id, returns the answer ({"status", "body"}); ``route`` is documentation.
    drive: Callable[[Any, str], Any] | None = None
    notes: str = ""


def _deliveries(n: int) -> Callable[[Any], bool]:
    return lambda answer: answer["body"]["deliveries"] >= n


def _workflow_done(answer: Any) -> bool:
    return answer["body"].get("status") in ("complete", "errored")


def _alarm_log(n: int) -> Callable[[Any], bool]:
    return lambda answer: len(answer["body"]["log"]) >= n and not answer["body"]["pending"]


def _waited(answer: Any) -> bool:
    return bool(answer["body"].get("waited_2s"))


#: 1 MiB of every byte value, for the large-body behaviour.
LARGE_BODY = bytes(i % 251 for i in range(1 << 20))
#: Every byte value, then a truncated UTF-8 sequence and a valid 4-byte one.
BINARY_BODY = bytes(range(256)) + b"\xe2\x82" + "ok😀".encode()
ALARMS = f"{DOCS}/durable-objects/api/alarms/"
WEBSOCKETS_DO = f"{DOCS}/durable-objects/best-practices/websockets/"


BEHAVIOURS: list[Behaviour] = [
    # -- Durable Objects ---------------------------------------------------------------------
    Behaviour("do_list_order", "DO storage list(): UTF-8 key order with prefix/start/end/startAfter/reverse/limit; "
              "get/delete of many keys", "/do/list-order", DO_STORAGE),
    Behaviour("do_transaction_rollback", "DO storage transaction(): a throw rolls back, txn.rollback() rolls "
              "back, a return value commits", "/do/transaction", DO_STORAGE),
    Behaviour("do_delete_all_keeps_alarm", "DO deleteAll() clears KV and SQL data but keeps the alarm "
              "(compatibility date before 2026-02-24)", "/do/delete-all",
              f"{DOCS}/changelog/2026-02-24-deleteall-deletes-alarms"),
    Behaviour("do_value_types", "DO storage values round-trip (string, number, boolean, null, array, object, "
              "bytes)", "/do/value-types", DO_STORAGE),
    Behaviour("do_sql_cursor", "DO SQL cursor: columnNames, rowsRead, rowsWritten, raw(), one(), iteration, "
              "binding types", "/do/sql", DO_STORAGE),
    Behaviour("do_sql_errors", "DO SQL errors: one() with zero or many rows, syntax errors, BEGIN refused, "
              "transactionSync rollback", "/do/sql-errors", DO_STORAGE),
    Behaviour("do_id_format", "DO ids: 64 hex digits, idFromName stable, newUniqueId unique, idFromString, "
              "id.name", "/do/id", f"{DOCS}/durable-objects/api/id/"),
    Behaviour("do_rpc", "DO RPC: results and arguments cross the boundary, the object's error reaches the "
              "caller, a missing method is a TypeError", "/do/rpc", f"{DOCS}/workers/runtime-apis/rpc/"),
    Behaviour("do_stub_fetch", "DO stub.fetch(): method, body, headers and status", "/do/stub-fetch",
              f"{DOCS}/durable-objects/api/stub/"),
    Behaviour("do_rpc_values", "DO RPC values: null, bytes, nested, unicode, 2^53-1, no return value; the "
              "object's error name; the stub still works after an error; missing method", "/do/rpc-values",
              f"{DOCS}/workers/runtime-apis/rpc/#structured-clonable-types-and-more"),
    # -- KV ----------------------------------------------------------------------------------
    Behaviour("kv_get_types", "KV get() as text, json, arrayBuffer; missing key; unknown type", "/kv/types",
              KV_READ),
    Behaviour("kv_metadata", "KV metadata: getWithMetadata(), list() metadata and expiration", "/kv/metadata",
              KV_READ),
    Behaviour("kv_list_pagination", "KV list(): prefix, limit, cursor pages, list_complete; limit above 1000",
              "/kv/list", KV_LIST),
    Behaviour("kv_limits", "KV limits: 512-byte keys, empty and '.' keys, TTL >= 60 s, 1024-byte metadata",
              "/kv/limits", f"{DOCS}/kv/platform/limits/"),
    Behaviour("kv_read_after_write", "KV reads its own writes at the location that wrote them",
              "/kv/read-after-write", f"{DOCS}/kv/concepts/how-kv-works/",
              notes="Both answer the writer's own location immediately. The emulator's cross-region "
                    "propagation (up to 60 s, production) is not observable through one local endpoint."),
    # -- D1 ----------------------------------------------------------------------------------
    Behaviour("d1_migrations", "D1 migrations from migrations_dir are applied and recorded in d1_migrations",
              "/d1/migrations", f"{DOCS}/d1/reference/migrations/",
              notes="wrangler needs `wrangler d1 migrations apply --local`; the emulator applies pending "
                    "migrations when it loads the Worker."),
    Behaviour("d1_column_types", "D1 type conversion: INTEGER, REAL, TEXT, BLOB (as an array of numbers), "
              "NULL, booleans", "/d1/types", f"{DOCS}/d1/worker-api/#type-conversion"),
    Behaviour("d1_meta", "D1 result object: success, results, meta fields and their types",
              "/d1/meta", f"{DOCS}/d1/worker-api/return-object/",
              known_difference=KnownDifference(
                  why="Local workerd's D1 meta has no served_by_region, served_by_primary or timings; "
                      "Cloudflare's return-object docs list them (read replication), and the emulator "
                      "returns them (served_by_region is null: there is no region locally).",
                  doc=f"{DOCS}/d1/worker-api/return-object/",
                  workerd={"changed_db": "boolean", "changes": "number", "duration": "number",
                           "last_row_id": "number", "rows_read": "number", "rows_written": "number",
                           "served_by": "string", "size_after": "number"},
                  emulator={"changed_db": "boolean", "changes": "number", "duration": "number",
                            "last_row_id": "number", "rows_read": "number", "rows_written": "number",
                            "served_by": "string", "served_by_primary": "boolean", "served_by_region": "null",
                            "size_after": "number", "timings": "object"},
                  select=lambda answer: answer["body"]["meta_shape"])),
    Behaviour("d1_batch_rollback", "D1 batch() is one transaction: a failing statement rolls back the "
              "batch; exec() counts statements", "/d1/batch", D1_DATABASE),
    Behaviour("d1_first_raw", "D1 first(), first(column), raw(), raw({columnNames: true})",
              "/d1/first-raw", D1_STATEMENTS),
    Behaviour("d1_errors", "D1 error messages: syntax, missing table, missing bindings", "/d1/errors",
              f"{DOCS}/d1/observability/debug-d1/"),
    # -- R2 ----------------------------------------------------------------------------------
    Behaviour("r2_metadata", "R2 put/head/get: size, etag (MD5), httpEtag, version, http and custom "
              "metadata, writeHttpMetadata", "/r2/metadata", R2_API),
    Behaviour("r2_conditional", "R2 onlyIf: conditional get returns the object without a body, "
              "conditional put returns null", "/r2/conditional", R2_API),
    Behaviour("r2_ranges", "R2 ranged reads: offset/length, offset, suffix, length", "/r2/ranges", R2_API),
    Behaviour("r2_list_delimiter", "R2 list(): delimiter and delimitedPrefixes, prefix, startAfter, limit and "
              "cursor, delete of many keys", "/r2/list", R2_API),
    # -- Request / Response --------------------------------------------------------------------
    Behaviour("http_headers", "Headers: case-insensitive, iterate lowercased and sorted, repeated values "
              "joined, Set-Cookie kept apart", "/http/headers", f"{DOCS}/workers/runtime-apis/headers/",
              headers=(("X-Probe-One", "a"), ("x-probe-one", "b"), ("X-Probe-Two", "c")),
              response_headers=("set-cookie", "x-multi", "x-resp-upper", "content-type")),
    Behaviour("http_json_body", "Request.json(), a body read twice is a TypeError, Response.json() with a "
              "status and headers", "/http/json", f"{DOCS}/workers/runtime-apis/request/", method="POST", status=201,
              headers=(("content-type", "application/json"),), body=b'{"a":[1,2],"b":"x"}',
              response_headers=("content-type", "x-echo")),
    Behaviour("http_status", "Response status range 200-599, redirect statuses, null-body statuses",
              "/http/status", f"{DOCS}/workers/runtime-apis/response/", status=418,
              response_headers=("content-type",)),
    Behaviour("http_redirect", "Response.redirect(url, 301): status and Location", "/http/redirect",
              f"{DOCS}/workers/runtime-apis/response/", status=301, response_headers=("location",)),
    Behaviour("http_head", "HEAD request: the handler sees HEAD, the client gets headers and no body",
              "/http/head", f"{DOCS}/workers/runtime-apis/request/", method="HEAD",
              response_headers=("x-method",)),
    Behaviour("http_redirect_statuses", "Response.redirect(): default 302, 301/303/307/308, URL normalised, "
              "relative URL refused", "/http/redirects", f"{DOCS}/workers/runtime-apis/response/"),
    Behaviour("http_redirect_307", "A 307 redirect reaches the client unfollowed, with its Location",
              "/http/redirect-307", f"{DOCS}/workers/runtime-apis/response/", status=307,
              response_headers=("location",)),
    Behaviour("http_status_text", "statusText: defaults for 200/404, custom, Response.json, redirect; the "
              "reason phrase the client sees for a custom status", "/http/status-text",
              f"{DOCS}/workers/runtime-apis/response/", status=299, reason=True),
    Behaviour("http_set_cookie", "Several Set-Cookie headers (one with a comma in Expires): getSetCookie(), "
              "get() joins, iteration and the client keep them apart; the request's Cookie",
              "/http/cookies", f"{DOCS}/workers/runtime-apis/headers/", headers=(("Cookie", "x=1; y=2"),),
              response_headers=("set-cookie",)),
    Behaviour("http_empty_body", "An empty POST body; Response(null) and Response('') bodies", "/http/empty",
              f"{DOCS}/workers/runtime-apis/request/", method="POST", body=b""),
    Behaviour("http_binary_body", "Non-UTF-8 request bytes: arrayBuffer() exact, text() decodes with U+FFFD",
              "/http/binary", f"{DOCS}/workers/runtime-apis/request/", method="POST", body=BINARY_BODY,
              headers=(("content-type", "application/octet-stream"),)),
    Behaviour("http_large_request", "A 1 MiB request body arrives whole (length and SHA-256)", "/http/large",
              f"{DOCS}/workers/platform/limits/#request-limits", method="POST", body=LARGE_BODY,
              headers=(("content-type", "application/octet-stream"),)),
    Behaviour("http_large_response", "A 1 MiB binary response reaches the client whole (length and SHA-256)",
              "/http/large-response", f"{DOCS}/workers/runtime-apis/response/", digest_body=True,
              response_headers=("content-type",)),
    Behaviour("http_query_repeated", "URL and query: repeated keys kept in order, percent-decoding, '+' as "
              "space, empty values", "/http/url?a=1&a=2&b=%C3%A9&c=x+y&d=&e&f=%2F",
              f"{DOCS}/workers/runtime-apis/request/"),
    Behaviour("http_request_cf", "request.cf on an incoming request: present, and the JS type of each "
              "documented field", "/http/cf", f"{DOCS}/workers/runtime-apis/request/#incomingrequestcfproperties"),
    # -- WebSockets (driven by a real WebSocket client) ------------------------------------------
    Behaviour("ws_standard_echo", "WebSocketPair with accept()/addEventListener: text and binary frames, an "
              "empty message, the server's close code and reason", "/ws/echo",
              f"{DOCS}/workers/runtime-apis/websockets/", drive=drivers.ws_standard_echo),
    Behaviour("ws_hibernation", "DO hibernation API: acceptWebSocket tags, getWebSockets(tag), getTags, "
              "serializeAttachment round-trip, setWebSocketAutoResponse answers without waking the object, "
              "webSocketClose sees the client's code and reason", "/ws/hib", WEBSOCKETS_DO,
              drive=drivers.ws_hibernation),
    # -- Service bindings (a second Worker in the same dev server) -----------------------------
    Behaviour("service_fetch", "Service binding fetch(): method, URL, repeated query, body, headers and "
              "status reach the other Worker and back", "/svc/fetch",
              f"{DOCS}/workers/runtime-apis/bindings/service-bindings/http/"),
    Behaviour("service_rpc", "Service binding RPC to a WorkerEntrypoint: values, errors propagated, missing "
              "method, a named entrypoint", "/svc/rpc",
              f"{DOCS}/workers/runtime-apis/bindings/service-bindings/rpc/"),
    # -- Cron (trigger routes of the dev server) ------------------------------------------------
    Behaviour("cron_trigger_routes", "scheduled handler fired by /cdn-cgi/handler/scheduled (cron, time, "
              "'exception' 500 on a throw) and /__scheduled (--test-scheduled): controller.cron and "
              "scheduledTime", "/cdn-cgi/handler/scheduled", f"{DOCS}/workers/runtime-apis/handlers/scheduled/",
              drive=drivers.cron_triggers),
    # -- Alarms (asynchronous) ----------------------------------------------------------------
    Behaviour("alarm_fires", "DO alarm fires once at its time, then getAlarm() is null", "/do/alarm/observe?run={run}-ok",
              f"{DOCS}/durable-objects/api/alarms/", start=("/do/alarm/start?run={run}-ok",), settled=_alarm_log(1)),
    Behaviour("alarm_retry_after_throw", "DO alarm that throws is retried with retryCount 1 and isRetry true",
              "/do/alarm/observe?run={run}-retry", f"{DOCS}/durable-objects/api/alarms/",
              start=("/do/alarm/start?run={run}-retry&mode=throw-once",), settled=_alarm_log(2)),
    Behaviour("alarm_retry_backoff", "DO alarm that throws twice: retryCount 0, 1, 2 and exponential backoff "
              "(about 2 s, then growing)", "/do/alarm/observe?run={run}-backoff", ALARMS,
              start=("/do/alarm/start?run={run}-backoff&mode=throw-twice",), settled=_alarm_log(3)),
    Behaviour("alarm_in_the_past", "DO setAlarm() with a time in the past fires promptly, once",
              "/do/alarm/observe?run={run}-past", ALARMS, start=("/do/alarm/start?run={run}-past&mode=past",),
              settled=_alarm_log(1)),
    Behaviour("alarm_delete_cancels", "DO deleteAlarm() cancels a pending alarm: nothing runs",
              "/do/alarm/observe?run={run}-delete", ALARMS,
              start=("/do/alarm/start?run={run}-delete&mode=delete",), settled=_waited),
    # -- Queues (asynchronous) ----------------------------------------------------------------
    Behaviour("queue_batch_size", "Queue batches honour max_batch_size (7 messages, batches of 3: 3, 3, 1)",
              f"/queue/observe?run={{run}}&queues={BATCH_QUEUE}", QUEUES_BATCHING,
              start=("/queue/send?run={run}&kind=batch",), settled=_deliveries(7)),
    Behaviour("queue_retry_dead_letter", "Queue ack/retry per message: attempts counted, max_retries 2 gives "
              "3 attempts, then the dead-letter queue", f"/queue/observe?run={{run}}&queues={RETRY_QUEUE},{DLQ}",
              f"{DOCS}/queues/configuration/dead-letter-queues/", start=("/queue/send?run={run}&kind=retry",),
              settled=_deliveries(9)),
    Behaviour("queue_default_batching", "Queue consumer without settings: the platform's default batch size "
              "and timeout", f"/queue/observe?run={{run}}&queues={DEFAULTS_QUEUE}", QUEUES_BATCHING,
              start=("/queue/send?run={run}&kind=defaults",), settled=_deliveries(12),
              known_difference=KnownDifference(
                  why="Miniflare's local queue broker defaults to batches of 5 with a 1 s timeout and 2 "
                      "retries; production defaults to 10 messages, 5 s and 3 retries. The emulator follows "
                      "production.",
                  doc=f"{QUEUES_BATCHING} ; Miniflare: {MINIFLARE_QUEUE_DEFAULTS}",
                  workerd={DEFAULTS_QUEUE: [5, 5, 2]}, emulator={DEFAULTS_QUEUE: [10, 2]},
                  select=lambda answer: answer["body"]["batch_sizes"])),
    # -- Workflows (asynchronous: the probe's ProbeWorkflow, JS vs Python) ------------------------
    Behaviour("workflow_step_memoised", "Workflow step.do: results returned to run(), the step context "
              "(name, count per name, attempt), a repeated name is a new step, event.instanceId",
              "/wf/observe?run={run}&kind=memo", WORKFLOWS_API, start=("/wf/start?run={run}&kind=memo",),
              settled=_workflow_done),
    Behaviour("workflow_retry_backoff", "Workflow step retries: limit 2 gives 3 attempts, linear backoff "
              "(delay, then 2 x delay), the last error reaches run()", "/wf/observe?run={run}&kind=retry",
              WORKFLOWS_RETRY, start=("/wf/start?run={run}&kind=retry",), settled=_workflow_done),
    Behaviour("workflow_event_delivered", "Workflow waitForEvent: an event sent with sendEvent (even before "
              "the wait) is delivered with its type, payload and timestamp", "/wf/observe?run={run}&kind=event",
              WORKFLOWS_EVENTS, start=("/wf/start?run={run}&kind=event",), settled=_workflow_done),
    Behaviour("workflow_event_timeout", "Workflow waitForEvent times out: WorkflowTimeoutError reaches run()",
              "/wf/observe?run={run}&kind=timeout", WORKFLOWS_EVENTS, start=("/wf/start?run={run}&kind=timeout",),
              settled=_workflow_done),
    Behaviour("workflow_non_retryable", "Workflow NonRetryableError: no retries, the instance is errored with "
              "the engine's error", "/wf/observe?run={run}&kind=nonretryable", WORKFLOWS_RETRY,
              start=("/wf/start?run={run}&kind=nonretryable",), settled=_workflow_done),
    Behaviour("workflow_binding_api", "Workflow binding: create with an id, get, terminate (twice: an error), "
              "status terminated, get of a missing id, invalid and 101-character ids, a 100-character id, "
              "createBatch", "/wf/api", WORKFLOWS_API),
    Behaviour("workflow_status_sleeping", "Workflow status while step.sleep waits", "/wf/observe?run={run}&kind=sleep",
              WORKFLOWS_API, start=("/wf/start?run={run}&kind=sleep",), settled=lambda answer: True,
              known_difference=KnownDifference(
                  why="Local workerd reports a sleeping instance as running; the InstanceStatus docs define "
                      "'waiting' (the instance is hibernating, waiting for a sleep or an event), which the "
                      "emulator reports.",
                  doc=f"{WORKFLOWS_API}#instancestatus ; Miniflare: {MINIFLARE_WORKFLOWS}",
                  workerd="running", emulator="waiting", select=lambda answer: answer["body"]["status"])),
    Behaviour("workflow_default_step_config", "Workflow step without config: the retry policy and timeout in "
              "ctx.config", "/wf/observe?run={run}&kind=defaults", WORKFLOWS_RETRY,
              start=("/wf/start?run={run}&kind=defaults",), settled=_workflow_done,
              known_difference=KnownDifference(
                  why="Local workerd's engine retries with a 1 s base delay by default; the docs' defaults (and "
                      "the emulator) use 10 s (limit 5, exponential, timeout 10 minutes).",
                  doc=f"{WORKFLOWS_RETRY} ; Miniflare: {MINIFLARE_WORKFLOWS}",
                  workerd=1000, emulator=10000, select=lambda answer: answer["body"]["output"]["retries"]["delay"])),
    Behaviour("workflow_duplicate_id", "Workflow create() with an id that already exists", "/wf/duplicate",
              WORKFLOWS_API, known_difference=KnownDifference(
                  why="Local workerd returns the existing instance; Cloudflare's types say 'If a provided id "
                      "exists, an error will be thrown', which the emulator does.",
                  doc=f"{WORKFLOWS_API}#create ; Miniflare: {MINIFLARE_WORKFLOWS}",
                  workerd=False, emulator=True, select=lambda answer: answer["body"]["second_create"])),
]

BY_ID = {b.id: b for b in BEHAVIOURS}
assert len(BY_ID) == len(BEHAVIOURS), "behaviour ids must be unique"


@dataclass
class Outcome:
    """What the suite observed for one behaviour on both targets."""

    behaviour: Behaviour
    workerd: Any
    emulator: Any
    verdict: str  # "same", "known difference", "different"
    detail: str = ""
    differences: list[str] = field(default_factory=list)
