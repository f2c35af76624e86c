"""A Worker with several Workflows, shared by the Workflows tests (tests/runtime/test_workflows*.py).

Written as a Cloudflare Python Worker: ``/create?wf=BINDING&id=...`` (JSON body: params),
``/status?wf=&id=``, ``/event?wf=&id=&type=`` (JSON body: payload), ``/op?wf=&id=&op=pause``,
``/runs`` (how many times each step function ran in this process: a re-run shows up here).
"""
from __future__ import annotations

ENTRY = '''
import json
import time
from urllib.parse import parse_qs, urlparse

from workers import Response, WorkerEntrypoint, WorkflowEntrypoint
from workers.workflows import NonRetryableError

RUNS = {}
ATTEMPTS = []


def ran(name):
    RUNS[name] = RUNS.get(name, 0) + 1


class FiveSteps(WorkflowEntrypoint):
    async def run(self, event, step):
        total = 0
        for i in range(1, 6):
            @step.do(f"step {i}")
            async def add():
                ran(f"step {i}")
                return i * 10

            total += await add()
        return {"total": total, "payload": event["payload"]}


class Flaky(WorkflowEntrypoint):
    async def run(self, event, step):
        p = event["payload"]

        @step.do("flaky", config=p.get("config"))
        async def flaky(ctx):
            ATTEMPTS.append({"attempt": ctx["attempt"], "t": time.time(), "step": ctx.step.name})
            if p.get("non_retryable"):
                raise NonRetryableError("give up")
            if ctx.attempt < p.get("succeed_on", 99):
                raise ValueError(f"boom {ctx.attempt}")
            return ctx.attempt

        if p.get("catch"):
            try:
                return await flaky()
            except Exception as exc:
                return {"caught": type(exc).__name__, "message": str(exc)}
        return await flaky()


class Waiter(WorkflowEntrypoint):
    async def run(self, event, step):
        try:
            got = await step.wait_for_event("approval", "approved", timeout=event["payload"].get("timeout", "1 hour"))
        except Exception as exc:
            return {"timed_out": str(exc)}

        @step.do("use it")
        async def use():
            ran("use it")
            return got["payload"]["by"]

        return {"by": await use(), "type": got["type"]}


class Sleeper(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("before")
        async def before():
            ran("before")
            return time.time()

        start = await before()
        await step.sleep("a week", "7 days")
        await step.sleep("and a bit", 1500)

        @step.do("after")
        async def after():
            ran("after")
            return time.time()

        return await after() - start


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            if url.path == "/runs":
                return Response.json({"runs": RUNS, "attempts": ATTEMPTS})
            binding = getattr(self.env, q["wf"])
            if url.path == "/create":
                body = await request.text()
                instance = await binding.create(id=q.get("id"), params=json.loads(body) if body else {})
                return Response.json({"id": instance.id})
            if url.path == "/batch":
                instances = await binding.createBatch(await request.json())
                return Response.json([i.id for i in instances])
            instance = await binding.get(q["id"])
            if url.path == "/status":
                return Response.json(await instance.status())
            if url.path == "/event":
                await instance.sendEvent({"type": q["type"], "payload": await request.json()})
                return Response.json(await instance.status())
            if url.path == "/op":
                await getattr(instance, q["op"])()
                return Response.json(await instance.status())
        except Exception as exc:
            return Response.json({"error": type(exc).__name__, "message": str(exc)}, status=400)
        return Response("not found", status=404)
'''

CONFIG = """
name = "workflows-test"
main = "src/entry.py"
compatibility_date = "{date}"
compatibility_flags = ["python_workers"]

[[workflows]]
name = "five-steps"
binding = "FIVE"
class_name = "FiveSteps"

[[workflows]]
name = "flaky"
binding = "FLAKY"
class_name = "Flaky"

[[workflows]]
name = "waiter"
binding = "WAITER"
class_name = "Waiter"

[[workflows]]
name = "sleeper"
binding = "SLEEPER"
class_name = "Sleeper"
"""


def project(date: str = "2025-11-02", entry: str = ENTRY, extra: str = "") -> dict[str, str]:
    return {"wrangler.toml": CONFIG.format(date=date) + extra, "src/entry.py": entry}
