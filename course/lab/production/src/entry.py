"""The production lab Worker's HTTP API: every request validated at the edge, then the agents.

Routes (JSON unless said):
  GET  /                           what this Worker is and its routes
  GET  /healthz                    liveness: the isolate runs (never touches a dependency)
  GET  /readyz                     readiness: the coordinator and KV answer, else 503
  POST /chain                      run a ChainRequest through gateway > planner > data > analysis > notify
  POST /signed/tasks               a SignedTask, accepted only with a valid signature, fresh timestamp, new nonce
  POST /counters/{name}/hit        add 1 to a counter sharded over ?shards=N objects (by ?key=)
  GET  /counters/{name}            a sharded counter's exact total (?shards=N)
  GET  /coordinator/ping           one round trip to the coordinator placed by ?hint=, failing over to ?fallback=
  GET  /config/{key}               a configuration value from KV (as this region sees it)
  PUT  /config/{key}               write one (text body)
  GET  /monitor.json               per-agent traffic, errors, p50/p99, SLOs and alerts, from Analytics Engine
  GET  /monitor                    the same as an HTML page (text/html)
"""
import json
import re
import time
from urllib.parse import parse_qs, urlparse

from js import crypto
from pydantic import ValidationError
from workers import Response, WorkerEntrypoint, fetch

from agents import ChainAgent, CounterShard, Coordinator, NonceLedger  # noqa: F401  (exported Durable Object classes)
from agent_protocol.production import (
    CHAIN,
    MAX_CLOCK_SKEW_SECONDS,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TRACEPARENT,
    ChainRequest,
    HealthReport,
    SignedTask,
    check_signature,
)
from monitor import POINTS_SQL, render_page, summarize

NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
ROUTES = [
    ("GET", r"^/$", "index"),
    ("GET", r"^/healthz$", "healthz"),
    ("GET", r"^/readyz$", "readyz"),
    ("POST", r"^/chain$", "chain"),
    ("POST", r"^/signed/tasks$", "signed_task"),
    ("POST", rf"^/counters/{NAME}/hit$", "counter_hit"),
    ("GET", rf"^/counters/{NAME}$", "counter_total"),
    ("GET", r"^/coordinator/ping$", "coordinator_ping"),
    ("GET", rf"^/config/{NAME}$", "config_get"),
    ("PUT", rf"^/config/{NAME}$", "config_put"),
    ("GET", r"^/monitor\.json$", "monitor_json"),
    ("GET", r"^/monitor$", "monitor_page"),
]
#: Largest request body accepted anywhere (bytes): agents exchange small JSON messages.
MAX_BODY_BYTES = 16 * 1024
#: Most shards a counter may be split into.
MAX_SHARDS = 64
REGIONS = ("wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me")


def error(status, message, **extra):
    return Response.json({"error": message, **extra}, status=status)


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        allowed = []
        for method, pattern, handler in ROUTES:
            match = re.match(pattern, url.path)
            if match:
                if method == request.method:
                    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                    return await getattr(self, handler)(request, query, **match.groupdict())
                allowed.append(method)
        if allowed:
            return Response.json({"error": f"method {request.method} not allowed on {url.path}"}, status=405,
                                 headers={"allow": ", ".join(allowed)})
        return error(404, f"no route for {request.method} {url.path}")

    async def read_body(self, request, model):
        text = await request.text()
        if len(text.encode()) > MAX_BODY_BYTES:
            return text, None, error(413, f"the request body is over {MAX_BODY_BYTES} bytes")
        try:
            return text, model.model_validate(json.loads(text or "null")), None
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "(body)"
                return text, None, error(422, f"invalid request: {field}: {first['msg']}")
            return text, None, error(400, f"the request body is not valid JSON: {exc}")

    async def index(self, request, query):
        routes = {f"{m} {p}": d for m, p, d in re.findall(r"^\s*(GET|POST|PUT)\s+(\S+)\s+(.*)$", __doc__, re.M)}
        return Response.json({"worker": "course-production", "version": self.env.COURSE_PRODUCTION_VERSION,
                              "routes": routes})

    # -- health --------------------------------------------------------------------------------
    async def healthz(self, request, query):
        return Response.json(HealthReport(status="ok", version=self.env.COURSE_PRODUCTION_VERSION).model_dump())

    async def readyz(self, request, query):
        checks = {}
        for name, probe in (("coordinator", self.env.COORDINATOR.getByName("main").ping()),
                            ("config", self.env.CONFIG.get("ready-probe"))):
            try:
                await probe
                checks[name] = "ok"
            except Exception as exc:  # a dependency that cannot answer makes this isolate not ready
                checks[name] = f"failing: {exc}"
        ok = all(v == "ok" for v in checks.values())
        report = HealthReport(status="ok" if ok else "unavailable", checks=checks,
                              version=self.env.COURSE_PRODUCTION_VERSION)
        return Response.json(report.model_dump(), status=200 if ok else 503)

    # -- the traced chain ----------------------------------------------------------------------
    async def chain(self, request, query):
        _, job, problem = await self.read_body(request, ChainRequest)
        if problem:
            return problem
        trace_id = crypto.randomUUID().replace("-", "")
        body = {"agent": CHAIN[0], "rest": list(CHAIN[1:]), "task": job.task, "flaky": job.flaky,
                "new_trace_id": trace_id}
        headers = {"x-attempt": "1"}
        if request.headers.get(TRACEPARENT):
            headers[TRACEPARENT] = request.headers.get(TRACEPARENT)
        reply = await self.env.AGENTS.getByName(CHAIN[0]).fetch("https://agents.internal/hop", method="POST",
                                                               headers=headers, body=json.dumps(body))
        return Response(await reply.text(), status=reply.status, headers={"content-type": "application/json"})

    # -- signed requests between agents ----------------------------------------------------------
    async def signed_task(self, request, query):
        text = await request.text()
        if len(text.encode()) > MAX_BODY_BYTES:
            return error(413, f"the request body is over {MAX_BODY_BYTES} bytes")
        headers = request.headers
        nonce = headers.get(NONCE_HEADER)
        why = check_signature(self.env.AGENT_SIGNING_KEY, request.method, urlparse(request.url).path, text,
                              signature=headers.get(SIGNATURE_HEADER), timestamp=headers.get(TIMESTAMP_HEADER),
                              nonce=nonce, now=time.time())
        if why:
            return error(401, why)
        fresh = await self.env.NONCES.getByName("nonces").remember(nonce, time.time() + MAX_CLOCK_SKEW_SECONDS)
        if not fresh:
            return error(401, "replayed: this nonce was already used")
        try:
            task = SignedTask.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            return error(422, f"invalid request: {'.'.join(str(p) for p in first['loc']) or '(body)'}: {first['msg']}")
        return Response.json({"accepted": task.task_id, "action": task.action}, status=202)

    # -- sharding --------------------------------------------------------------------------------
    def shards(self, query):
        try:
            n = int(query.get("shards", "1"))
        except ValueError:
            n = 0
        return n if 1 <= n <= MAX_SHARDS else None

    async def counter_hit(self, request, query, name):
        n = self.shards(query)
        if n is None:
            return error(400, f"shards must be a whole number from 1 to {MAX_SHARDS}")
        key = query.get("key", "")
        shard = int.from_bytes(key.encode()[-4:] or b"\0", "big") % n if key else 0
        value = await self.env.COUNTERS.getByName(f"{name}#{shard}").add(1)
        return Response.json({"shard": shard, "shard_value": value})

    async def counter_total(self, request, query, name):
        n = self.shards(query)
        if n is None:
            return error(400, f"shards must be a whole number from 1 to {MAX_SHARDS}")
        values = [await self.env.COUNTERS.getByName(f"{name}#{i}").value() for i in range(n)]
        return Response.json({"total": sum(values), "shards": values})

    # -- regions ---------------------------------------------------------------------------------
    async def coordinator_ping(self, request, query):
        hint = query.get("hint", self.env.COORDINATOR_HINT)
        if hint not in REGIONS:
            return error(400, f"hint must be one of {', '.join(REGIONS)}")
        fallback = query.get("fallback")
        if fallback is not None and fallback not in REGIONS:
            return error(400, f"fallback must be one of {', '.join(REGIONS)}")
        started = time.time()
        for region in (hint, fallback):
            if region is None:
                break
            try:
                await self.env.COORDINATOR.getByName(f"coordinator-{region}", locationHint=region).ping()
            except Exception as exc:  # the region is cut off: fail over if a fallback was named
                failure = str(exc)
                continue
            return Response.json({"hint": hint, "served_by": region, "ms": round((time.time() - started) * 1000, 3)})
        return error(503, f"coordinator unreachable: {failure}", hint=hint)

    async def config_get(self, request, query, name):
        value = await self.env.CONFIG.get(name)
        if value is None:
            return error(404, f"no configuration value {name!r} (yet, in this region)")
        return Response.json({"key": name, "value": value})

    async def config_put(self, request, query, name):
        text = await request.text()
        if not text or len(text.encode()) > MAX_BODY_BYTES:
            return error(400, f"send the value as a text body of 1 to {MAX_BODY_BYTES} bytes")
        await self.env.CONFIG.put(name, text)
        return Response.json({"key": name, "value": text}, status=201)

    # -- monitoring ------------------------------------------------------------------------------
    async def monitor_json(self, request, query):
        url = f"https://api.cloudflare.com/client/v4/accounts/{self.env.ACCOUNT_ID}/analytics_engine/sql"
        reply = await fetch(url, method="POST", headers={"Authorization": f"Bearer {self.env.AE_API_TOKEN}"},
                            body=POINTS_SQL + " FORMAT JSON")
        if reply.status != 200:
            return error(502, f"the Analytics Engine SQL API answered {reply.status}: {(await reply.text())[:200]}")
        rows = to_python(json.loads(await reply.text()))["data"]
        return Response.json(summarize(rows), headers={"cache-control": "no-store"})

    async def monitor_page(self, request, query):
        return Response(render_page(), headers={"content-type": "text/html; charset=utf-8"})
