"""Workflows: step.do memoisation and dependencies, retries and backoff, timeouts, sleeps, events,
status transitions, the binding's API and its limits, config errors.

Docs: https://developers.cloudflare.com/workflows/build/workers-api/ ,
https://developers.cloudflare.com/workflows/build/sleeping-and-retrying/ ,
https://developers.cloudflare.com/workflows/python/python-workers-api/
"""
from __future__ import annotations

import pytest

from course.runtime import ConfigError
from course.runtime.bindings.workflows import workflows
from workflows_fixtures import project


def create(rt, wf: str, params=None, id=None):  # noqa: A002
    r = rt.client().post("/create", params={"wf": wf, **({"id": id} if id else {})}, json=params or {})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def status(rt, wf: str, iid: str):
    return rt.client().get("/status", params={"wf": wf, "id": iid}).json()


def runs(rt):
    return rt.client().get("/runs").json()


def test_five_steps_complete_with_run_output_and_each_step_runs_once(load_project):
    """run()'s return value is the instance output; each step's result is stored once."""
    rt = load_project(project())
    iid = create(rt, "FIVE", {"order": 7})
    rt.run_until_idle()
    assert status(rt, "FIVE", iid) == {"status": "complete", "output": {"total": 150, "payload": {"order": 7}}}
    assert runs(rt)["runs"] == {f"step {i}": 1 for i in range(1, 6)}
    assert [s["key"] for s in workflows(rt).steps(iid)] == [f"do:step {i}:1" for i in range(1, 6)]


def test_retries_follow_exponential_backoff_on_the_virtual_clock(load_project):
    """limit 3, delay 1 s, exponential: waits 1, 2, 4 s; the 4th attempt succeeds (RETRY doc)."""
    rt = load_project(project())
    cfg = {"retries": {"limit": 3, "delay": "1 second", "backoff": "exponential"}}
    iid = create(rt, "FLAKY", {"config": cfg, "succeed_on": 4})
    rt.run_until_idle()
    assert status(rt, "FLAKY", iid) == {"status": "complete", "output": 4}
    attempts = runs(rt)["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    gaps = [round(b["t"] - a["t"], 6) for a, b in zip(attempts, attempts[1:])]
    assert gaps == [1.0, 2.0, 4.0]
    assert [e.delay_ms for e in rt.trace.events("workflow_retry")] == [1000, 2000, 4000]


@pytest.mark.parametrize("backoff,gaps", [("constant", [0.5, 0.5]), ("linear", [0.5, 1.0])])
def test_constant_and_linear_backoff(load_project, backoff, gaps):
    """constant: delay each time; linear: delay * attempts failed so far."""
    rt = load_project(project())
    iid = create(rt, "FLAKY", {"config": {"retries": {"limit": 2, "delay": 500, "backoff": backoff}}, "succeed_on": 3})
    rt.run_until_idle()
    attempts = runs(rt)["attempts"]
    assert status(rt, "FLAKY", iid)["status"] == "complete"
    assert [round(b["t"] - a["t"], 6) for a, b in zip(attempts, attempts[1:])] == gaps


def test_a_step_out_of_retries_errors_the_instance_with_the_last_error(load_project):
    """limit 2 means 3 attempts; the uncaught error ends the instance as errored."""
    rt = load_project(project())
    iid = create(rt, "FLAKY", {"config": {"retries": {"limit": 2, "delay": 10, "backoff": "constant"}}})
    rt.run_until_idle()
    assert status(rt, "FLAKY", iid) == {"status": "errored", "output": None,
                                        "error": {"name": "ValueError", "message": "boom 3"}}
    assert len(runs(rt)["attempts"]) == 3


def test_step_error_reaches_run_as_the_same_python_type(load_project):
    """ValueError and TypeError cross back into run() as themselves (the SDK's _from_js_error)."""
    rt = load_project(project())
    iid = create(rt, "FLAKY", {"config": {"retries": {"limit": 0, "delay": 10}}, "catch": True})
    rt.run_until_idle()
    assert status(rt, "FLAKY", iid)["output"] == {"caught": "ValueError", "message": "boom 1"}


def test_non_retryable_error_fails_the_step_at_once(load_project):
    """NonRetryableError: one attempt, then the instance errors (engine's wording by default)."""
    rt = load_project(project())
    iid = create(rt, "FLAKY", {"non_retryable": True})
    rt.run_until_idle()
    st = status(rt, "FLAKY", iid)
    assert st["status"] == "errored" and st["error"]["name"] == "WorkflowFatalError"
    assert "NonRetryableError" in st["error"]["message"]
    assert len(runs(rt)["attempts"]) == 1


def test_non_retryable_message_is_kept_with_the_compatibility_flag(load_project):
    files = project()
    files["wrangler.toml"] = files["wrangler.toml"].replace(
        '["python_workers"]', '["python_workers", "workflows_preserve_non_retryable_error_message"]')
    rt = load_project(files)
    iid = create(rt, "FLAKY", {"non_retryable": True})
    rt.run_until_idle()
    assert status(rt, "FLAKY", iid)["error"] == {"name": "NonRetryableError", "message": "give up"}


def test_step_timeout_counts_as_a_failed_attempt(load_project):
    """A step longer than its timeout fails with WorkflowTimeoutError and is retried."""
    entry = '''
import asyncio
from workers import WorkflowEntrypoint, WorkerEntrypoint, Response
TRIES = []
class Slow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("slow", config={"timeout": "2 seconds", "retries": {"limit": 1, "delay": 0}})
        async def slow(ctx):
            TRIES.append(ctx.attempt)
            await asyncio.sleep(10 if ctx.attempt == 1 else 0)
            return "done"
        return await slow()
class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response.json(TRIES)
'''
    rt = load_project({"wrangler.toml": 'name = "t"\nmain = "src/entry.py"\ncompatibility_date = "2025-11-02"\n'
                                        '[[workflows]]\nname = "slow"\nbinding = "SLOW"\nclass_name = "Slow"\n',
                       "src/entry.py": entry})
    iid = workflows(rt).create_from_python("slow")
    rt.run_until_idle()
    assert workflows(rt).status(iid) == {"status": "complete", "output": "done"}
    failed = [e for e in rt.trace.events("workflow_attempt") if e.get("phase") == "end" and not e.ok]
    assert [(e.error, e.message, e.t) for e in failed] == [("WorkflowTimeoutError", "Execution timed out after 2000ms",
                                                            2.0)]
    assert rt.client().get("/").json() == [1, 2]


def test_a_week_of_sleeps_takes_no_real_time_and_replays_nothing(load_project):
    """step.sleep runs on the runtime clock; status is waiting meanwhile (production)."""
    rt = load_project(project())
    iid = create(rt, "SLEEPER")
    rt.clock.advance(3600)
    assert status(rt, "SLEEPER", iid)["status"] == "waiting"
    rt.run_until_idle()
    st = status(rt, "SLEEPER", iid)
    assert st["status"] == "complete" and st["output"] == pytest.approx(7 * 86400 + 1.5)
    assert runs(rt)["runs"] == {"before": 1, "after": 1}


def test_wait_for_event_receives_the_payload_sent_to_the_instance(load_project):
    rt = load_project(project())
    iid = create(rt, "WAITER")
    rt.clock.advance(60)
    assert status(rt, "WAITER", iid)["status"] == "waiting"
    r = rt.client().post("/event", params={"wf": "WAITER", "id": iid, "type": "approved"}, json={"by": "ana"})
    assert r.status_code == 200
    rt.run_until_idle()
    assert status(rt, "WAITER", iid)["output"] == {"by": "ana", "type": "approved"}


def test_an_event_sent_before_the_wait_is_kept_for_it(load_project):
    rt = load_project(project())
    iid = create(rt, "WAITER")
    workflows(rt).send_event_from_python(iid, "other", {"by": "nobody"})
    workflows(rt).send_event_from_python(iid, "approved", {"by": "early"})
    rt.run_until_idle()
    assert workflows(rt).status(iid)["output"] == {"by": "early", "type": "approved"}


def test_wait_for_event_times_out_on_the_clock(load_project):
    """No event within the timeout: WorkflowTimeoutError into run()."""
    rt = load_project(project())
    iid = create(rt, "WAITER", {"timeout": "10 minutes"})
    rt.clock.advance(599)
    assert status(rt, "WAITER", iid)["status"] == "waiting"
    rt.clock.advance(1)
    rt.run_until_idle()
    assert status(rt, "WAITER", iid)["output"] == {"timed_out": "WorkflowTimeoutError: Execution timed out after 600000ms"}


def test_status_transitions_are_traced_in_order(load_project):
    rt = load_project(project())
    iid = create(rt, "SLEEPER")
    rt.run_until_idle()
    seen = [e.status for e in rt.trace.events("workflow_status") if e.instance == iid]
    assert seen == ["queued", "running", "waiting", "running", "waiting", "running", "complete"]


def test_pause_resume_terminate_and_restart(load_project):
    """pause while sleeping -> paused; resume continues; terminate ends; restart runs again."""
    rt = load_project(project())
    iid = create(rt, "SLEEPER")
    rt.clock.advance(86400)
    op = lambda name: rt.client().get("/op", params={"wf": "SLEEPER", "id": iid, "op": name}).json()  # noqa: E731
    assert op("pause")["status"] == "paused"
    rt.clock.advance(30 * 86400)
    assert status(rt, "SLEEPER", iid)["status"] == "paused"
    assert op("resume")["status"] in ("queued", "running", "waiting")
    rt.clock.advance(5 * 86400)
    assert status(rt, "SLEEPER", iid)["status"] == "waiting"  # the paused month does not count
    rt.clock.advance(86400 + 2)
    assert status(rt, "SLEEPER", iid)["status"] == "complete"
    assert op("terminate") == {"error": "JsException", "message":
                               "WorkflowError: (instance.cannot_terminate) Cannot terminate instance since its on a "
                               "finite state"}
    assert op("restart")["status"] in ("queued", "running", "waiting")
    assert runs(rt)["runs"]["before"] == 2
    assert op("terminate")["status"] == "terminated"
    rt.run_until_idle()
    assert status(rt, "SLEEPER", iid)["status"] == "terminated"


def test_pause_during_a_step_waits_for_the_step_to_finish(load_project):
    rt = load_project(project())
    iid = create(rt, "FLAKY", {"config": {"retries": {"limit": 5, "delay": "1 minute"}}, "succeed_on": 2})
    rt.client().get("/op", params={"wf": "FLAKY", "id": iid, "op": "pause"})
    rt.run_until_idle()
    assert status(rt, "FLAKY", iid)["status"] == "paused"
    rt.client().get("/op", params={"wf": "FLAKY", "id": iid, "op": "resume"})
    rt.run_until_idle()
    assert status(rt, "FLAKY", iid) == {"status": "complete", "output": 2}


def test_binding_create_get_batch_and_their_errors(load_project):
    rt = load_project(project())
    client = rt.client()
    assert create(rt, "FIVE", id="order_1") == "order_1"
    dup = client.post("/create", params={"wf": "FIVE", "id": "order_1"}, json={})
    assert dup.status_code == 400 and "instance.already_exists" in dup.json()["message"]
    bad = client.post("/create", params={"wf": "FIVE", "id": "not valid!"}, json={})
    assert "Workflow instance has invalid id" in bad.json()["message"]
    missing = client.get("/status", params={"wf": "FIVE", "id": "nope"})
    assert missing.json() == {"error": "JsException", "message": "Error: instance.not_found"}
    ids = client.post("/batch", params={"wf": "FIVE"}, json=[{"id": "b1", "params": {"n": 1}}, {"id": "b2"}]).json()
    assert ids == ["b1", "b2"]
    empty = client.post("/batch", params={"wf": "FIVE"}, json=[])
    assert "at least 1 instance" in empty.json()["message"]
    too_many = client.post("/batch", params={"wf": "FIVE"}, json=[{} for _ in range(101)])
    assert "at most 100" in too_many.json()["message"]
    rt.run_until_idle()
    assert workflows(rt).status("b1")["output"] == {"total": 150, "payload": {"n": 1}}


def test_generated_instance_ids_are_seeded_uuids(load_project):
    a = load_project(project(), seed=3)
    b = load_project(project(), seed=3)
    assert create(a, "FIVE") == create(b, "FIVE")


def test_implicit_dependencies_by_parameter_name_from_2026_02_25(load_project):
    """From compatibility date 2026-02-25 a parameter named like an earlier step gets its result,
    dependencies run once, ctx is injected (python_workflows_implicit_dependencies)."""
    entry = '''
from workers import WorkflowEntrypoint, WorkerEntrypoint, Response
CALLS = []
class Dag(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def dep_1():
            CALLS.append("dep_1")
            return "a"
        @step.do()
        async def dep_2(ctx):
            CALLS.append("dep_2")
            return f"b{ctx.attempt}"
        @step.do("final", concurrent=True)
        async def final(dep_1, dep_2, ctx):
            return [dep_1, dep_2, ctx.step.name]
        first = await dep_1()
        return {"first": first, "final": await final()}
class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response.json(CALLS)
'''
    rt = load_project({"wrangler.toml": 'name = "t"\nmain = "src/entry.py"\ncompatibility_date = "2026-03-01"\n'
                                        '[[workflows]]\nname = "dag"\nbinding = "DAG"\nclass_name = "Dag"\n',
                       "src/entry.py": entry})
    iid = workflows(rt).create_from_python("dag")
    rt.run_until_idle()
    assert workflows(rt).status(iid)["output"] == {"first": "a", "final": ["a", "b1", "final"]}
    assert rt.client().get("/").json() == ["dep_1", "dep_2"]


def test_legacy_depends_needs_one_dependency_per_parameter(load_project):
    entry = '''
from workers import WorkflowEntrypoint, WorkerEntrypoint, Response
class Bad(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("a")
        async def a():
            return 1
        @step.do("b")
        async def b(x):
            return x
        return await b()
class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("")
'''
    rt = load_project({"wrangler.toml": 'name = "t"\nmain = "src/entry.py"\ncompatibility_date = "2025-11-02"\n'
                                        '[[workflows]]\nname = "bad"\nbinding = "BAD"\nclass_name = "Bad"\n',
                       "src/entry.py": entry})
    iid = workflows(rt).create_from_python("bad")
    rt.run_until_idle()
    st = workflows(rt).status(iid)
    assert st["status"] == "errored" and st["error"]["name"] == "TypeError"
    assert "no 'depends' list provided" in st["error"]["message"]


def test_invalid_step_config_is_a_workflow_fatal_error(load_project):
    rt = load_project(project())
    iid = create(rt, "FLAKY", {"config": {"retries": {"limit": 1, "delay": 5, "backoff": "quadratic"}}})
    rt.run_until_idle()
    st = status(rt, "FLAKY", iid)
    assert st["error"]["name"] == "WorkflowFatalError" and "invalid format" in st["error"]["message"]


@pytest.mark.parametrize("extra,key", [
    ('[[workflows]]\nname = "x"\nbinding = "X"\n', "workflows[4].class_name"),
    ('[[workflows]]\nname = "x"\nbinding = "X"\nclass_name = "Missing"\n', "workflows[4].class_name"),
    ('[[workflows]]\nname = "bad name!"\nbinding = "X"\nclass_name = "Flaky"\n', "workflows[4].name"),
    ('[[workflows]]\nname = "x"\nbinding = "FIVE"\nclass_name = "Flaky"\n', "workflows[4].binding"),
    ('[[workflows]]\nname = "x"\nbinding = "X"\nclass_name = "Flaky"\nlimits = { steps = 30000 }\n',
     "workflows[4].limits.steps"),
])
def test_bad_workflows_config_is_a_config_error_naming_the_key(load_project, extra, key):
    with pytest.raises(ConfigError) as info:
        load_project(project(extra=extra))
    assert key in str(info.value)


def test_step_limit_from_config_stops_the_instance(load_project):
    files = project()
    files["wrangler.toml"] = files["wrangler.toml"].replace('class_name = "FiveSteps"',
                                                            'class_name = "FiveSteps"\nlimits = { steps = 3 }')
    rt = load_project(files)
    iid = create(rt, "FIVE")
    rt.run_until_idle()
    st = status(rt, "FIVE", iid)
    assert st["status"] == "errored" and "The limit of 3 steps has been reached" in st["error"]["message"]


def test_workflows_is_no_longer_named_unsupported(load_project, capsys):
    rt = load_project(project())
    assert "does not emulate" not in capsys.readouterr().err
    assert type(rt.env.FIVE).__name__ == "WorkflowBinding"
