"""Workflows durability: a crash at any step boundary resumes from the last stored step without
running it again; instances survive a runtime restart over persist_to; seeded faults.

Docs: https://developers.cloudflare.com/workflows/build/rules-of-workflows/ (steps are retried
and replayed; a completed step's result is reused).
"""
from __future__ import annotations

import pytest

from course.runtime import load
from course.runtime.bindings.workflows import workflows
from workflows_fixtures import project

STEPS = [f"step {i}" for i in range(1, 6)]
BOUNDARIES = [(when, step) for step in STEPS for when in ("before", "after")]


def runs(rt):
    return rt.client().get("/runs").json()


@pytest.mark.parametrize("when,step", BOUNDARIES, ids=[f"{w}-{s.replace(' ', '')}" for w, s in BOUNDARIES])
def test_crash_at_every_step_boundary_resumes_without_rerunning_stored_steps(load_project, when, step):
    rt = load_project(project())
    wf = workflows(rt)
    wf.faults.crash(step=step, when=when)
    iid = wf.create_from_python("five-steps", params={"k": 1})
    rt.run_until_idle()
    assert wf.status(iid) == {"status": "complete", "output": {"total": 150, "payload": {"k": 1}}}
    assert runs(rt)["runs"] == {s: 1 for s in STEPS}
    assert [e.reason for e in rt.trace.events("workflow_crash")] == [f"fault: {when} {step!r}"]
    assert [e.reason for e in rt.trace.events("workflow_resume")] == ["after crash"]
    replayed = {e.step for e in rt.trace.events("workflow_step") if e.replayed}
    done_before_crash = STEPS[:STEPS.index(step) + (1 if when == "after" else 0)]
    assert replayed == set(done_before_crash)


def test_crash_during_an_attempt_runs_that_step_again_and_only_that_one(load_project):
    """The attempt in progress is lost (at-least-once); earlier steps are not re-run."""
    rt = load_project(project())
    wf = workflows(rt)
    wf.faults.crash(step="step 3", when="during")
    iid = wf.create_from_python("five-steps")
    rt.run_until_idle()
    assert wf.status(iid)["output"]["total"] == 150
    assert runs(rt)["runs"] == {"step 1": 1, "step 2": 1, "step 3": 2, "step 4": 1, "step 5": 1}
    lost = [e for e in rt.trace.events("workflow_attempt") if e.get("phase") == "lost"]
    assert [(e.step, e.attempt) for e in lost] == [("step 3", 1)]
    assert [s["attempts"] for s in wf.steps(iid)] == [1, 1, 2, 1, 1]


def test_crash_while_sleeping_keeps_the_wake_up_time(load_project):
    rt = load_project(project())
    wf = workflows(rt)
    iid = wf.create_from_python("sleeper")
    rt.clock.advance(3 * 86400)
    assert wf.crash(iid) is True
    rt.clock.advance(4 * 86400 + 2)
    assert wf.status(iid)["status"] == "complete"
    assert runs(rt)["runs"] == {"before": 1, "after": 1}
    assert wf.crash(iid) is False  # nothing running any more


def test_crash_while_waiting_to_retry_keeps_the_retry_time(load_project):
    rt = load_project(project())
    wf = workflows(rt)
    iid = wf.create_from_python("flaky", params={"config": {"retries": {"limit": 2, "delay": "1 hour"}},
                                                 "succeed_on": 2})
    rt.clock.advance(600)
    wf.crash(iid)
    rt.clock.advance(2999)
    assert wf.status(iid)["status"] == "running"
    rt.clock.advance(1)
    assert wf.status(iid) == {"status": "complete", "output": 2}
    assert [a["attempt"] for a in runs(rt)["attempts"]] == [1, 2]


def test_instance_survives_a_runtime_restart_over_persist_to(make_project, runtimes, tmp_path):
    folder = make_project(project())
    state = tmp_path / "state"
    rt1 = load(folder, virtual_time=True, persist_to=state)
    runtimes.append(rt1)
    iid = workflows(rt1).create_from_python("sleeper", id="durable-1")
    rt1.clock.advance(86400)
    assert workflows(rt1).status(iid)["status"] == "waiting"
    rt1.close()
    assert (state / "v3" / "workflows" / "sleeper.sqlite").is_file()

    rt2 = load(folder, virtual_time=True, persist_to=state)
    runtimes.append(rt2)
    assert [e.instance for e in rt2.trace.events("workflow_resume")] == ["durable-1"]
    rt2.run_until_idle()
    assert workflows(rt2).status(iid)["status"] == "complete"
    assert runs(rt2)["runs"] == {"after": 1}  # "before" ran in the first runtime only


def test_injected_failures_and_timeouts_are_retried(load_project):
    rt = load_project(project())
    wf = workflows(rt)
    wf.faults.fail(step="step 2", times=2)
    wf.faults.timeout(step="step 4")
    iid = wf.create_from_python("five-steps")
    rt.run_until_idle()
    assert wf.status(iid)["output"]["total"] == 150
    failed = [(e.step, e.error) for e in rt.trace.events("workflow_attempt") if e.get("phase") == "end" and not e.ok]
    assert failed == [("step 2", "Error"), ("step 2", "Error"), ("step 4", "WorkflowTimeoutError")]
    # default retry delay: 10 s, exponential (sleeping-and-retrying docs)
    assert [e.delay_ms for e in rt.trace.events("workflow_retry")] == [10_000, 20_000, 10_000]
    assert len(rt.trace.events("workflow_fault")) == 3


def test_seeded_fault_rates_give_the_same_trace_for_the_same_seed(load_project):
    def run(seed: int) -> list[tuple]:
        rt = load_project(project(), seed=seed)
        wf = workflows(rt)
        wf.faults.fail(rate=0.5, times=None)
        wf.create_from_python("five-steps", id="same")
        rt.run_until_idle()
        return [(e.kind, e.get("step"), e.get("attempt"), round(e.t, 6)) for e in rt.trace.events()
                if e.kind.startswith("workflow")]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_fault_rules_check_their_arguments(load_project):
    rt = load_project(project())
    with pytest.raises(ValueError, match="when must be one of"):
        workflows(rt).faults.crash(step="x", when="sometime")
    with pytest.raises(ValueError, match="rate must be a probability"):
        workflows(rt).faults.fail(rate=0)
