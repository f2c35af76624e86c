"""Project 3's intake and workers: the HTTP API, and the queue consumer that runs the tasks.

Routes (JSON in, JSON out; an error is {"error": "..."}):
  GET  /                       what this Worker is
  POST /tasks                  a TaskRequest from a client: 202 Accepted (planned and queued)
  POST /internal/tasks         the same from a partner agent, signed (HMAC, timestamp, nonce): else 401
  GET  /tasks/{task_id}        the TaskResult of a finished task; 404 until it is done
  GET  /feed                   every finished task, each once
  GET  /healthz                liveness: this isolate runs
  GET  /readyz                 readiness: the caller's planner and the analysts' breakers
  GET  /monitor.json           counts, per-region latency and alerts, from Analytics Engine
  GET  /monitor                the same as an HTML page
Queues: "tasks" (the workers: analyse, then notify) and "tasks-dlq" (finish with the fallback).
"""
import asyncio
import json
import re
import time
from urllib.parse import urlparse

from pydantic import ValidationError
from js import crypto
from workers import Response, WorkerEntrypoint, fetch

from analyst import AnalystAgent  # noqa: F401  (Durable Object classes are exported from main)
from metrics import record
from monitor import PAGE, POINTS_SQL, summarize
from nonces import NonceLedger  # noqa: F401
from notifier import NotifierAgent  # noqa: F401
from planner import PlannerAgent  # noqa: F401
from protocol import (
    MAX_CLOCK_SKEW_SECONDS,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TRACEPARENT,
    TaskRequest,
    check_signature,
    fallback_summary,
    region_of_colo,
    shard_of,
    span,
    trace_id_of,
)

ROUTES = [
    ("GET", r"^/$", "index"),
    ("POST", r"^/tasks$", "submit"),
    ("POST", r"^/internal/tasks$", "submit_signed"),
    ("GET", r"^/tasks/(?P<task_id>[A-Za-z0-9._-]{1,64})$", "get_task"),
    ("GET", r"^/feed$", "feed"),
    ("GET", r"^/healthz$", "healthz"),
    ("GET", r"^/readyz$", "readyz"),
    ("GET", r"^/monitor\.json$", "monitor_json"),
    ("GET", r"^/monitor$", "monitor_page"),
]
#: Largest request body accepted (bytes): a task is a short text.
MAX_BODY_BYTES = 16 * 1024


def error(status, message):
    return Response.json({"error": message}, status=status)


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        allowed = []
        for method, pattern, handler in ROUTES:
            match = re.match(pattern, path)
            if match:
                if method == request.method:
                    return await getattr(self, handler)(request, **match.groupdict())
                allowed.append(method)
        if allowed:
            return Response.json({"error": f"method {request.method} not allowed on {path}"}, status=405,
                                 headers={"allow": ", ".join(allowed)})
        return error(404, f"no route for {request.method} {path}")

    async def index(self, request):
        return Response.json({"worker": "project3-production", "routes": [f"{m} {p}" for m, p, _ in ROUTES]})

    # -- configuration ---------------------------------------------------------------------------
    def setting(self, name, default):
        return int(getattr(self.env, name, default) or default)

    def region(self, request):
        cf = getattr(request, "cf", None) or {}
        colo = cf.get("colo") if hasattr(cf, "get") else getattr(cf, "colo", None)
        return region_of_colo(colo, self.env.DEFAULT_REGION)

    def plan_for(self, region):
        """The planner regions for a caller region: primary first, then the failover."""
        # BEGIN SOLUTION
        plan = json.loads(self.env.REGION_PLAN)
        return plan.get(region) or plan[self.env.DEFAULT_REGION]
        # END SOLUTION
        # STARTER: return [self.env.DEFAULT_REGION]  # TODO: read the region plan from wrangler.toml

    def planner(self, hint, shard):
        """The planner stub ``planner-<hint>-<shard>``, placed in ``hint`` (EU planners in the EU jurisdiction)."""
        name = f"planner-{hint}-{shard}"
        # BEGIN SOLUTION
        namespace = self.env.PLANNER
        if hint in self.env.EU_REGIONS.split(","):
            namespace = namespace.jurisdiction("eu")
        return name, namespace.getByName(name, locationHint=hint)
        # END SOLUTION
        # STARTER: return name, self.env.PLANNER.getByName(name)

    # -- intake ----------------------------------------------------------------------------------
    async def read_task(self, text):
        """(TaskRequest, None) or (None, an error Response)."""
        if len(text.encode()) > MAX_BODY_BYTES:
            return None, error(413, f"the request body is over {MAX_BODY_BYTES} bytes")
        # BEGIN SOLUTION
        if not text.strip():
            return None, error(400, "the request body is empty; send a TaskRequest as JSON")
        try:
            body = json.loads(text)
        except ValueError as exc:
            return None, error(400, f"the request body is not JSON: {exc}")
        try:
            return TaskRequest.model_validate(body), None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(body)"
            return None, error(422, f"invalid TaskRequest: {where}: {first['msg']}")
        # END SOLUTION
        # STARTER: return TaskRequest.model_construct(**json.loads(text)), None  # TODO: 400/422 for bad input

    def incoming_trace(self, request):
        """The caller's ``traceparent`` if it is valid, else the root of a new trace."""
        # BEGIN SOLUTION
        header = request.headers.get(TRACEPARENT)
        if trace_id_of(header):
            return header
        return f"00-{crypto.randomUUID().replace('-', '')}-{'0' * 15}1-01"
        # END SOLUTION
        # STARTER: return None  # TODO: continue the caller's trace, or start one

    async def submit(self, request):
        started = time.time()
        region = self.region(request)
        trace = self.incoming_trace(request)
        task, problem = await self.read_task(await request.text())
        response = problem or await self.hand_over(task, region, trace)
        record(self.env, "intake", "request", region=region, ms=(time.time() - started) * 1000,
               task_id=task.task_id if task else "", trace=trace)
        return response

    async def submit_signed(self, request):
        started = time.time()
        region = self.region(request)
        text = await request.text()
        # BEGIN SOLUTION
        headers = request.headers
        nonce = headers.get(NONCE_HEADER)
        why = check_signature(self.env.AGENT_SIGNING_KEY, request.method, urlparse(request.url).path, text,
                              signature=headers.get(SIGNATURE_HEADER), timestamp=headers.get(TIMESTAMP_HEADER),
                              nonce=nonce, now=time.time())
        if why is None and not await self.env.NONCES.getByName("nonces").remember(
                nonce, time.time() + MAX_CLOCK_SKEW_SECONDS):
            why = "replayed: this nonce was already used"
        if why is not None:
            record(self.env, "intake", "rejected", region=region)
            record(self.env, "intake", "request", region=region, ms=(time.time() - started) * 1000)
            return error(401, why)
        # END SOLUTION
        # STARTER: # TODO: refuse (401) an unsigned, forged, stale or replayed call before reading its task
        trace = self.incoming_trace(request)
        task, problem = await self.read_task(text)
        response = problem or await self.hand_over(task, region, trace)
        record(self.env, "intake", "request", region=region, ms=(time.time() - started) * 1000,
               task_id=task.task_id if task else "", trace=trace)
        return response

    async def hand_over(self, task, region, trace):
        """Give ``task`` to a planner of ``region`` (failing over along the plan); 202 or 503."""
        # BEGIN SOLUTION
        shard = shard_of(task.task_id, self.setting("PLANNER_SHARDS", 1))
        child = span(trace_id_of(trace), "intake", task.task_id)[1]
        failures = []
        for hint in self.plan_for(region):
            name, stub = self.planner(hint, shard)
            try:
                await stub.accept(name, task.model_dump(mode="json"), region, child)
            except Exception as exc:  # this region's planner is cut off or restarting: fail over
                failures.append(f"{name}: {exc}")
                continue
            record(self.env, "intake", "accepted", region=region, task_id=task.task_id, trace=trace)
            return Response.json({"task_id": task.task_id, "region": region, "planner": name}, status=202)
        return error(503, "no planner could take the task: " + "; ".join(failures))
        # END SOLUTION
        # STARTER: return error(501, "TODO: hand the task to a planner of the caller's region (with failover)")

    # -- results ---------------------------------------------------------------------------------
    def feed_shard(self, task_id):
        return self.env.FEED.getByName(f"feed-{shard_of(task_id, self.setting('FEED_SHARDS', 1))}")

    async def get_task(self, request, task_id):
        result = to_python(await self.feed_shard(task_id).get(task_id))
        if result is None:
            return error(404, f"task {task_id!r} is not finished (or was never accepted)")
        return Response.json(result)

    async def feed(self, request):
        shards = self.setting("FEED_SHARDS", 1)
        parts = await asyncio.gather(*(self.env.FEED.getByName(f"feed-{i}").completions() for i in range(shards)))
        return Response.json({"completions": [r for part in parts for r in to_python(part)]})

    # -- health ----------------------------------------------------------------------------------
    async def healthz(self, request):
        return Response.json({"status": "ok", "checks": {}})

    async def readyz(self, request):
        # BEGIN SOLUTION
        region = self.region(request)
        checks, reachable = {}, []
        for hint in self.plan_for(region):
            name, stub = self.planner(hint, 0)
            try:
                await stub.ping()
                reachable.append(name)
            except Exception as exc:  # cut off: the intake will fail over
                checks.setdefault("planner", f"{name} unreachable ({exc})")
        if "planner" in checks and reachable:
            checks["planner"] += f"; failing over to {reachable[0]}"
        checks.setdefault("planner", "ok")
        states = await asyncio.gather(*(self.env.ANALYST.getByName(f"analyst-{i}").state()
                                        for i in range(self.setting("ANALYST_SHARDS", 1))),
                                      return_exceptions=True)
        checks["ai"] = "ok" if all(s == "closed" for s in states) else "open"
        if not reachable:
            return Response.json({"status": "unavailable", "checks": checks}, status=503)
        status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
        return Response.json({"status": status, "checks": checks})
        # END SOLUTION
        # STARTER: return Response.json({"status": "ok", "checks": {}})  # TODO: check what the system depends on

    # -- monitoring ------------------------------------------------------------------------------
    async def monitor_json(self, request):
        url = f"https://api.cloudflare.com/client/v4/accounts/{self.env.ACCOUNT_ID}/analytics_engine/sql"
        reply = await fetch(url, method="POST", headers={"Authorization": f"Bearer {self.env.AE_API_TOKEN}"},
                            body=POINTS_SQL + " FORMAT JSON")
        if reply.status != 200:
            return error(502, f"the Analytics Engine SQL API answered {reply.status}: {(await reply.text())[:200]}")
        rows = to_python(json.loads(await reply.text()))["data"]
        return Response.json(summarize(rows), headers={"cache-control": "no-store"})

    async def monitor_page(self, request):
        return Response(PAGE, headers={"content-type": "text/html; charset=utf-8"})

    # -- the workers: queue consumers ------------------------------------------------------------
    async def queue(self, batch, env, ctx):
        dead = batch.queue.endswith("-dlq")
        for message in batch.messages:
            plan = to_python(message.body)
            try:
                await (self.finish_dead(plan, message.attempts) if dead else self.work(plan))
            except Exception:  # a partition or a restarting agent: try again later
                record(self.env, "worker", "retry", region=plan.get("region", ""), task_id=plan.get("task_id", ""),
                       trace=plan.get("traceparent"))
                # BEGIN SOLUTION
                message.retry(delaySeconds=min(60, 2 ** message.attempts))
                # END SOLUTION
                # STARTER: message.ack()  # TODO: retry with backoff instead of dropping the task
                continue
            message.ack()

    async def work(self, plan):
        """One task: skip it if it is already done, else analyse it and notify."""
        feed = self.feed_shard(plan["task_id"])
        received = plan.get("traceparent")
        plan = dict(plan, traceparent=self.child_trace(plan, "worker"))
        record(self.env, "worker", "processing", region=plan["region"], task_id=plan["task_id"], trace=received)
        # BEGIN SOLUTION
        if to_python(await feed.get(plan["task_id"])) is not None:
            record(self.env, "worker", "duplicate", region=plan["region"], task_id=plan["task_id"], trace=received)
            return
        analyst = self.env.ANALYST.getByName(f"analyst-{shard_of(plan['task_id'], self.setting('ANALYST_SHARDS', 1))}")
        answer = to_python(await analyst.analyze(plan))
        # END SOLUTION
        # STARTER: answer = to_python(await self.env.ANALYST.getByName("analyst-0").analyze(plan))
        await feed.complete(self.result(plan, answer["summary"], answer["fallback"]), plan["traceparent"])

    def child_trace(self, plan, agent):
        """The ``traceparent`` this agent passes on (None if the plan carries no trace)."""
        trace_id = trace_id_of(plan.get("traceparent"))
        return span(trace_id, agent, plan["task_id"])[1] if trace_id else None

    @staticmethod
    def result(plan, summary, fallback):
        """The TaskResult of a planned task."""
        return {"task_id": plan["task_id"], "status": "done", "summary": summary, "fallback": fallback,
                "region": plan["region"], "planner": plan["planner"], "trace_id": plan.get("trace_id") or ""}

    async def finish_dead(self, plan, attempts):
        """A dead-lettered task: finish it with the fallback summary (never lose it)."""
        # BEGIN SOLUTION
        if attempts == 1:  # count each dead letter once, not each retry of finishing it
            record(self.env, "worker", "dead_lettered", region=plan["region"], task_id=plan["task_id"],
                   trace=plan.get("traceparent"))
        await self.feed_shard(plan["task_id"]).complete(self.result(plan, fallback_summary(plan["text"]), True),
                                                        self.child_trace(plan, "worker"))
        # END SOLUTION
        # STARTER: pass  # TODO: a task that failed every retry must still finish
