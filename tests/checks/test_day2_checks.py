"""The Day 2 scenario checks: the solution passes every seed, each typical mistake fails with its reason.

The answers come from the solution notebook and from the fixed class of Day 2 submissions
(tests/grading/day2_class.py), run in one namespace after the released notebook's import cell,
as a learner's kernel would hold them.
"""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from course.checks import day2
from course.checks.harness import parse_log

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "grading"))

import day2_class  # noqa: E402  (the fixed class of Day 2 submissions)

_CACHE: dict[str, dict[str, Any]] = {}


def answers(student: str = "correct") -> dict[str, Any]:
    """That class member's notebook namespace: the release's import cell, then its answers."""
    if student not in _CACHE:
        release = json.loads(day2_class.EXERCISE_NB.read_text())
        setup = next("".join(c["source"]) for c in release["cells"]
                     if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup")
        code = day2_class.solution_answers() if student == "correct" else day2_class.edited(student)
        module = types.ModuleType("day2_student_" + student.replace("-", "_"))
        sys.modules[module.__name__] = module
        exec(compile(setup, "<setup>", "exec"), module.__dict__)
        for grade_id, source in code.items():
            exec(compile(source, f"<{grade_id}>", "exec"), module.__dict__)
        _CACHE[student] = module.__dict__
    return _CACHE[student]


SCENARIOS = [(day2.registry_scenario, "AgentRegistry"), (day2.task_agent_scenario, "TaskAgent"),
             (day2.pool_scenario, "PoolDispatcher"), (day2.ring_scenario, "HashRing"),
             (day2.tenant_scenario, "object_name"), (day2.design_scenario, "design")]


@pytest.mark.parametrize("scenario, answer", SCENARIOS, ids=[a for _, a in SCENARIOS])
def test_the_solution_passes_every_scenario_for_many_seeds(scenario: Any, answer: str) -> None:
    for seed in range(8):
        result = scenario(seed).run(answers()[answer])
        assert result.passed, result.message()


#: (class member, the scenario that fails for it, the answer, a phrase the reason must hold)
FAILING = [
    ("registry-no-sweep", "day2.registry_scenario(seed=0)", "AgentRegistry", "storage still holds"),
    ("registry-in-memory", "day2.registry_scenario(seed=0, faults=['evict'])", "AgentRegistry", "returned False, expected True"),
    ("task-no-alarm", "day2.task_agent_scenario(seed=0)", "TaskAgent", "has no alarm"),
    ("task-read-writes", "day2.task_agent_scenario(seed=0)", "TaskAgent", "still has key 'reads'"),
    ("pool-unbounded", "day2.pool_scenario(seed=0, faults=['burst'])", "PoolDispatcher", "expected Rejected"),
    ("pool-loses-on-crash", "day2.pool_scenario(seed=0, faults=['crash'])", "PoolDispatcher", "worker_crashed('"),
    ("ring-modulo", "day2.ring_scenario(seed=0)", "HashRing", "keys may only move to the new agent"),
    ("tenant-colon-join", "day2.tenant_scenario(seed=0)", "object_name", "which already belongs to tenant"),
    ("design-shared-kv", "day2.design_scenario(seed=0)", "design", "does not serialise writers"),
]


@pytest.mark.parametrize("student, call, answer, phrase", FAILING, ids=[s for s, *_ in FAILING])
def test_each_mistake_fails_with_its_reason_and_a_reproduce_line_that_runs_as_pasted(
        student: str, call: str, answer: str, phrase: str) -> None:
    namespace = answers(student)
    result = eval(call, {"day2": day2}).run(namespace[answer])  # noqa: S307 - our own call strings
    assert not result.passed and phrase in result.message(), result.message()
    assert result.reproduce == f"{call}.run({answer})"
    assert eval(result.reproduce, namespace) == result  # noqa: S307 - the line the learner pastes
    assert parse_log(result.message()) == list(result.diagram)


def test_every_visible_seed_runs_every_fault_kind_the_hidden_seeds_use() -> None:
    for scenario, kinds in ((day2.registry_scenario, day2.REGISTRY_FAULTS), (day2.task_agent_scenario, day2.TASK_AGENT_FAULTS),
                            (day2.pool_scenario, day2.POOL_FAULTS)):
        visible = {case.kind for case in scenario(0).cases()}
        for hidden_seed in (11, 12, 13, 21, 22, 23, 31, 32, 33, 34):
            assert {case.kind for case in scenario(hidden_seed).cases()} == visible == set(kinds)


def test_scenarios_are_deterministic_and_shrink_to_the_same_case() -> None:
    broken = answers("registry-in-memory")["AgentRegistry"]
    first = day2.registry_scenario(3).run(broken)
    assert first == day2.registry_scenario(3).run(broken) and not first.passed
    pool = answers("pool-loses-on-crash")["PoolDispatcher"]
    assert day2.pool_scenario(5).run(pool) == day2.pool_scenario(5).run(pool)


def test_an_evicted_registry_shrinks_to_one_agent_and_shows_the_eviction_in_its_messages() -> None:
    result = day2.registry_scenario(0, faults=["evict"]).run(answers("registry-in-memory")["AgentRegistry"])
    assert result.smallest_case.startswith("1 agent:") and "evict the registry" in result.smallest_case
    assert "memory lost, storage kept  [fault]" in result.message_log


def test_a_crashed_workers_lost_tasks_show_the_crash_and_the_expected_restart() -> None:
    result = day2.pool_scenario(0, faults=["crash"]).run(answers("pool-loses-on-crash")["PoolDispatcher"])
    assert "crashes at" in result.smallest_case and "[fault]" in result.message_log
    assert "expected [Assigned(" in result.reason


def test_a_ttl_kept_in_memory_is_caught_by_the_alarm_check() -> None:
    import asyncio

    base = answers()["TaskAgent"]

    class MemoryTimer(base):  # type: ignore[misc, valid-type]
        async def run(self, task: Any) -> Any:
            result = {"task_id": task["task_id"], "words": day2.count_words(task["items"])}
            await self.ctx.storage.put("result", result)

            async def later() -> None:
                await asyncio.sleep(day2.RESULT_TTL)
                await self.ctx.storage.deleteAll()

            self.ctx.waitUntil(later())
            return result

    result = day2.task_agent_scenario(0).run(MemoryTimer)
    assert not result.passed and "a timer in memory dies with the object" in result.reason


def test_not_implemented_propagates_so_the_grader_can_say_not_attempted() -> None:
    from course.workers import DurableObject

    class Stub(DurableObject):
        async def register(self, card: Any) -> Any:
            raise NotImplementedError()

    class StubPool:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        day2.registry_scenario(0).run(Stub)
    with pytest.raises(NotImplementedError):
        day2.pool_scenario(0).run(StubPool)


def test_unknown_fault_kinds_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'flood'"):
        day2.pool_scenario(0, faults=["flood"])


def test_the_design_check_lists_every_problem_at_once() -> None:
    design = answers("design-shared-kv")["design"]
    problems = day2.design_problems(design)
    assert any("'ANSWERS' (kv): written by ['coordinator', 'reader']" in p for p in problems)
    assert any("ephemeral" in p for p in day2.design_problems(design.model_copy(update={"agents": design.agents[:3]})))
    assert day2.design_problems({"agents": "nope"})[0].startswith("not a SystemDesign")


def test_sealed_day2_grades_like_the_package() -> None:
    from course.checks.sealed import sealed

    checks = sealed("day2")
    assert checks.grade_ring(answers()["HashRing"], seed=41).passed
    with pytest.raises(AssertionError, match=r"\[tenants seed=51\] FAILED"):
        checks.grade_tenants(answers("tenant-colon-join")["object_name"], seed=51)
