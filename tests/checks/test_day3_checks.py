"""The Day 3 scenario checks: the solution passes every seed, each typical mistake fails with its reason.

The answers come from the solution notebook and from the fixed class of Day 3 submissions
(tests/grading/day3_class.py), run in one namespace after the released notebook's import cell
(and its given cells), as a learner's kernel would hold them.
"""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from course.checks import day3
from course.checks.harness import parse_log

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "grading"))

import day3_class  # noqa: E402  (the fixed class of Day 3 submissions)

_CACHE: dict[str, dict[str, Any]] = {}
#: Locked code cells of the release that a learner's kernel runs before the answers.
GIVEN = ("setup", "q4_given")


def answers(student: str = "correct") -> dict[str, Any]:
    """That class member's notebook namespace: the release's given cells, then its answers."""
    if student not in _CACHE:
        release = json.loads(day3_class.EXERCISE_NB.read_text())
        given = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in release["cells"]
                 if c["metadata"].get("nbgrader", {}).get("grade_id") in GIVEN}
        code = day3_class.solution_answers() if student == "correct" else day3_class.edited(student)
        module = types.ModuleType("day3_student_" + student.replace("-", "_"))
        sys.modules[module.__name__] = module
        for grade_id in GIVEN:
            exec(compile(given[grade_id], f"<{grade_id}>", "exec"), module.__dict__)
        for grade_id, source in code.items():
            exec(compile(source, f"<{grade_id}>", "exec"), module.__dict__)
        _CACHE[student] = module.__dict__
    return _CACHE[student]


SCENARIOS = [(day3.schema_scenario, "MODELS", 6), (day3.upcast_scenario, "load_state", 6),
             (day3.crash_safe_scenario, "TaskRunner", 3), (day3.lost_update_scenario, "QuotaAgent", 4),
             (day3.cas_scenario, "(PlanStore, add_item)", 4), (day3.migration_scenario, "MemoryAgent", 2)]


def target(namespace: dict[str, Any], answer: str) -> Any:
    return eval(answer, namespace)  # noqa: S307 - our own names


@pytest.mark.parametrize("scenario, answer, seeds", SCENARIOS, ids=[a for _, a, _ in SCENARIOS])
def test_the_solution_passes_every_scenario_for_many_seeds(scenario: Any, answer: str, seeds: int) -> None:
    for seed in range(seeds):
        result = scenario(seed).run(target(answers(), answer))
        assert result.passed, result.message()


#: (class member, the scenario that fails for it, the answer, a phrase the reason must hold)
FAILING = [
    ("schema-no-rules", "day3.schema_scenario(seed=0)", "MODELS", "an assigned task names its worker"),
    ("upcast-accepts-future", "day3.upcast_scenario(seed=0)", "load_state", "raise UnknownSchemaVersion"),
    ("crash-key-per-attempt", "day3.crash_safe_scenario(seed=0)", "TaskRunner", "executed 2 times by the tool"),
    ("crash-task-in-memory", "day3.crash_safe_scenario(seed=0)", "TaskRunner", "the task was lost"),
    ("quota-unfixed", "day3.lost_update_scenario(seed=0)", "QuotaAgent", "a lost update"),
    ("cas-no-recheck", "day3.cas_scenario(seed=0, faults=['partition'])", "(PlanStore, add_item)", "twice"),
    ("migration-unguarded", "day3.migration_scenario(seed=0)", "MemoryAgent", "duplicate column name"),
]


@pytest.mark.parametrize("student, call, answer, phrase", FAILING, ids=[s for s, *_ in FAILING])
def test_each_mistake_fails_with_its_reason_and_a_reproduce_line_that_runs_as_pasted(
        student: str, call: str, answer: str, phrase: str) -> None:
    namespace = answers(student)
    result = eval(call, {"day3": day3}).run(target(namespace, answer))  # noqa: S307 - our own call strings
    assert not result.passed and phrase in result.message(), result.message()
    assert result.reproduce == f"{call}.run({answer})"
    assert eval(result.reproduce, namespace) == result  # noqa: S307 - the line the learner pastes
    assert parse_log(result.message()) == list(result.diagram)


def test_the_crash_search_covers_every_operation_of_the_reference_and_names_the_first_failing_point() -> None:
    points = day3.crash_points(answers()["TaskRunner"], 0)
    kinds = {p.split("(")[0] for p in points}
    assert {"storage.get", "storage.put", "storage.setAlarm", "tools.run"} <= kinds
    assert sum("request arrives" in p for p in points) == sum("effect applied" in p for p in points) >= 2
    scenario = day3.crash_safe_scenario(0, faults=["crash"])
    result = scenario.run(answers()["TaskRunner"])
    assert result.passed and result.cases_total == len(points)
    broken = scenario.run(answers("crash-key-per-attempt")["TaskRunner"])
    assert not broken.passed and "right after tools.run(step 0) effect applied  [fault]" in broken.message_log


def test_every_visible_seed_runs_every_fault_kind_the_hidden_seeds_use() -> None:
    for scenario, kinds, hidden in ((day3.lost_update_scenario, day3.LOST_UPDATE_FAULTS, (41, 42, 43)),
                                    (day3.cas_scenario, day3.CAS_FAULTS, (51, 52))):
        visible = {case.kind for case in scenario(0).cases()}
        for seed in hidden:
            assert {case.kind for case in scenario(seed).cases()} == visible == set(kinds)
    assert day3.crash_safe_scenario(0).kinds == day3.crash_safe_scenario(31).kinds == day3.CRASH_SAFE_FAULTS
    assert day3.migration_scenario(0).kinds == day3.migration_scenario(61).kinds == day3.MIGRATION_FAULTS


def test_scenarios_are_deterministic() -> None:
    broken = answers("quota-unfixed")["QuotaAgent"]
    assert day3.lost_update_scenario(3).run(broken) == day3.lost_update_scenario(3).run(broken)
    runner = answers("crash-task-in-memory")["TaskRunner"]
    assert day3.crash_safe_scenario(1).run(runner) == day3.crash_safe_scenario(1).run(runner)


def test_the_given_quota_agent_fails_and_not_implemented_propagates() -> None:
    assert not day3.lost_update_scenario(0).run(answers()["GivenQuotaAgent"]).passed
    from course.workers import DurableObject

    class Stub(DurableObject):
        async def start(self, task: Any) -> Any:
            raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        day3.crash_safe_scenario(0).run(Stub)


def test_sealed_day3_grades_like_the_package() -> None:
    from course.checks.sealed import sealed

    checks = sealed("day3")
    assert checks.grade_upcasters(answers()["load_state"], seed=21).passed
    with pytest.raises(AssertionError, match=r"\[sql-migration seed=61\] FAILED"):
        checks.grade_migration(answers("migration-unguarded")["MemoryAgent"], seed=61)
