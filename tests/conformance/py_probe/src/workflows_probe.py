"""Workflows routes of the conformance probe (Python, for the emulator); js_probe/src/workflows.js
is the same in JavaScript for ``wrangler dev``.

One Workflow class whose ``run`` does what the instance's ``params["kind"]`` asks; ``/wf/start``
creates the instance, ``/wf/observe`` reads its status, ``/wf/api`` and ``/wf/duplicate`` exercise
the binding synchronously. Written against Cloudflare's Python Workflows API, exactly as deployed
(compatibility date before 2026-02-25: ``step.do(name, depends, concurrent, config)``).
"""
import datetime
import time

from js import Object
from pyodide.ffi import to_js
from workers import WorkflowEntrypoint
from workers.workflows import NonRetryableError

RETRY_DELAY_MS = 500


def js(value):
    return to_js(value, dict_converter=Object.fromEntries)


def plain(value):
    if hasattr(value, "to_py"):
        value = value.to_py()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class ProbeWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        kind = event["payload"]["kind"]
        if kind == "memo":
            def where(ctx):
                return {"name": ctx["step"]["name"], "count": ctx["step"]["count"], "attempt": ctx["attempt"]}

            @step.do("a")
            async def a1(ctx):
                return where(ctx)

            @step.do("a")
            async def a2(ctx):
                return where(ctx)

            @step.do("b")
            async def b():
                return [1, "x", None, {"k": True}]

            return {"a1": await a1(), "a2": await a2(), "b": await b(),
                    "instance": event["instanceId"] == event["payload"]["id"]}
        if kind == "retry":
            times = []

            @step.do("flaky", config={"retries": {"limit": 2, "delay": RETRY_DELAY_MS, "backoff": "linear"}})
            async def flaky(ctx):
                times.append(time.time() * 1000)
                raise ValueError(f"boom {ctx['attempt']}")

            error = None
            try:
                await flaky()
            except Exception as exc:  # noqa: BLE001 - the probe reports the error
                error = str(exc)
            gaps = [round((b - a) / RETRY_DELAY_MS) for a, b in zip(times, times[1:])]
            return {"attempts": len(times), "gap_units": gaps, "error": error}
        if kind == "event":
            ev = await step.wait_for_event("w", "go", timeout="1 minute")
            return {"payload": plain(ev["payload"]), "type": ev["type"],
                    "has_timestamp": isinstance(ev["timestamp"], datetime.datetime)}
        if kind == "timeout":
            try:
                await step.wait_for_event("w2", "never", timeout="1 second")
                return {"timed_out": False}
            except Exception as exc:  # noqa: BLE001 - the probe reports the error
                return {"timed_out": True, "message": str(exc)}
        if kind == "nonretryable":
            @step.do("stop", config={"retries": {"limit": 3, "delay": 100}})
            async def stop():
                raise NonRetryableError("stop here")

            await stop()
            return "unreachable"
        if kind == "sleep":
            await step.sleep("nap", "1 hour")
            return "woke"
        if kind == "defaults":
            @step.do("d")
            async def d(ctx):
                return plain(ctx["config"])

            return await d()
        raise ValueError(f"unknown kind {kind}")


async def caught(fn):
    try:
        value = await fn()
        return {"threw": False, "value": value}
    except Exception as exc:  # noqa: BLE001 - the probe reports the error
        message = getattr(exc, "message", None)
        message = message if isinstance(message, str) else str(exc)
        return {"threw": True, "message": message.removeprefix("WorkflowError: ")}


def plain_status(status):
    s = plain(status)
    out = {"status": s["status"], "output": s.get("output")}
    if s.get("error") is not None:
        out["error"] = s["error"]
    return out


async def workflow_route(path, params, env):
    """The answer of a /wf/ route, or None when ``path`` is not one."""
    run = params.get("run", "default")
    if path == "/wf/start":
        kind = params.get("kind")
        instance_id = f"{run}-{kind}"
        instance = await env.WF.create(js({"id": instance_id, "params": {"kind": kind, "id": instance_id}}))
        if kind == "event":
            await instance.sendEvent(js({"type": "go", "payload": {"n": 42}}))
        return {"id": instance.id}
    if path == "/wf/observe":
        instance = await env.WF.get(f"{run}-{params.get('kind')}")
        return plain_status(await instance.status())
    if path == "/wf/api":
        instance_id = f"{run}-api"
        created = await env.WF.create(js({"id": instance_id, "params": {"kind": "sleep"}}))
        out = {"id_kept": created.id == instance_id}
        got = await env.WF.get(instance_id)
        out["get_id"] = got.id == instance_id
        await got.terminate()
        out["after_terminate"] = plain(await got.status())["status"]
        out["terminate_again"] = (await caught(got.terminate))["threw"]

        async def get_missing():
            await env.WF.get(f"{run}-missing")
            return "found"

        async def create_id(instance_id, kind="memo"):
            instance = await env.WF.create(js({"id": instance_id, "params": {"kind": kind}}))
            return len(instance.id)

        out["get_missing"] = await caught(get_missing)
        out["invalid_id"] = (await caught(lambda: create_id("not valid!")))["threw"]
        out["long_id"] = (await caught(lambda: create_id("x" * 101)))["threw"]
        out["max_id"] = (await caught(lambda: create_id(f"{run}-".ljust(100, "y"))))["value"]

        async def empty_batch():
            await env.WF.createBatch(js([]))
            return "created"

        out["empty_batch"] = (await caught(empty_batch))["threw"]
        batch = await env.WF.createBatch(js([{"id": f"{run}-b1", "params": {"kind": "memo"}},
                                             {"id": f"{run}-b2", "params": {"kind": "memo"}}]))
        out["batch_ids"] = [i.id[len(run):] for i in batch]
        return out
    if path == "/wf/duplicate":
        instance_id = f"{run}-dup"
        await env.WF.create(js({"id": instance_id, "params": {"kind": "memo"}}))

        async def again():
            await env.WF.create(js({"id": instance_id, "params": {"kind": "memo"}}))
            return "created"

        return {"second_create": (await caught(again))["threw"]}
    return None
