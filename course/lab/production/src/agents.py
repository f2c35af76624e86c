"""The production system's Durable Objects: the chain's agents, the nonce ledger, counter shards, the coordinator.

- :class:`ChainAgent`: one per role (``gateway`` .. ``notify``). It continues the caller's
  W3C trace (``traceparent``), logs one structured JSON line, calls the next agent with *its*
  span as the parent (retrying a failed hop as a new attempt of the same trace), and writes one
  Analytics Engine data point per hop: blobs (route, agent, outcome), double (milliseconds),
  index (trace id).
- :class:`NonceLedger`: the nonces of signed requests seen within the clock-skew window (a
  replayed request reuses one).
- :class:`CounterShard`: one shard of a sharded counter (a hot object split in N).
- :class:`Coordinator`: placed with a ``locationHint`` near its data; answers pings.
"""
import json
import time

from workers import DurableObject, Response

from agent_protocol.production import TRACEPARENT, continue_trace

#: Tries per hop before the chain gives up (the first and two retries).
HOP_ATTEMPTS = 3


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


def log(**fields):
    """One structured log line: JSON on stdout, as Workers Logs and `wrangler tail` show it."""
    print(json.dumps(fields, sort_keys=True))


class ChainAgent(DurableObject):
    async def fetch(self, request):
        body = json.loads(await request.text())
        agent, rest, flaky = body["agent"], body["rest"], body.get("flaky", {})
        attempt = int(request.headers.get("x-attempt") or 1)
        started = time.time()
        span = continue_trace(request.headers.get(TRACEPARENT), agent, body["new_trace_id"], attempt)
        failures = await self.ctx.storage.get("failures") or 0
        if failures < int(flaky.get(agent, 0)):
            await self.ctx.storage.put("failures", failures + 1)
            self.record(span, agent, "error", started, attempt)
            return Response.json({"error": f"{agent} failed (attempt {attempt})"}, status=503)
        spans = []
        if rest:
            nxt, tries, reply = rest[0], 0, None
            while tries < HOP_ATTEMPTS:
                tries += 1
                reply = await self.env.AGENTS.getByName(nxt).fetch(
                    "https://agents.internal/hop", method="POST",
                    headers={TRACEPARENT: span.traceparent(), "x-attempt": str(tries)},
                    body=json.dumps({**body, "agent": nxt, "rest": rest[1:]}))
                if reply.status < 500:
                    break
            if reply.status >= 400:
                self.record(span, agent, "error", started, attempt)
                return Response.json({"error": f"{nxt} failed {tries} times"}, status=502)
            spans = to_python(json.loads(await reply.text()))["spans"]
        self.record(span, agent, "ok", started, attempt)
        mine = {"agent": agent, "trace_id": span.trace_id, "span_id": span.span_id, "parent_id": span.parent_id,
                "attempt": attempt}
        return Response.json({"spans": [mine, *spans]})

    def record(self, span, agent, outcome, started, attempt):
        ms = (time.time() - started) * 1000
        log(level="info" if outcome == "ok" else "error", msg="hop", agent=agent, outcome=outcome,
            trace_id=span.trace_id, span_id=span.span_id, parent_id=span.parent_id, attempt=attempt, ms=round(ms, 3))
        self.env.METRICS.writeDataPoint({"blobs": ["/chain", agent, outcome], "doubles": [ms],
                                         "indexes": [span.trace_id]})


class NonceLedger(DurableObject):
    async def remember(self, nonce, expires_at):
        """True the first time ``nonce`` is seen (until ``expires_at``), False for a replay."""
        now = time.time()
        seen = await self.ctx.storage.get(f"n:{nonce}")
        if seen is not None and seen > now:
            return False
        await self.ctx.storage.put(f"n:{nonce}", expires_at)
        if await self.ctx.storage.getAlarm() is None:
            await self.ctx.storage.setAlarm(expires_at * 1000)
        return True

    async def alarm(self):
        now = time.time()
        entries = to_python(await self.ctx.storage.list(prefix="n:"))
        await self.ctx.storage.delete([k for k, until in entries.items() if until <= now])
        later = [until for until in entries.values() if until > now]
        if later:
            await self.ctx.storage.setAlarm(min(later) * 1000)


class CounterShard(DurableObject):
    async def add(self, n):
        value = (await self.ctx.storage.get("value") or 0) + int(n)
        await self.ctx.storage.put("value", value)
        return value

    async def value(self):
        return await self.ctx.storage.get("value") or 0


class Coordinator(DurableObject):
    async def ping(self):
        return "pong"
