"""The Day 7 scenario checks: the solution passes every seed, each mistake fails with its reason, seeds cover every fault.

The answers come from the solution notebook and from the fixed class of Day 7 submissions
(tests/grading/day7_class.py), run in one namespace after the released notebook's import cell.
"""
from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from course.checks import day7
from course.checks.harness import parse_log

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "grading"))

import day7_class  # noqa: E402  (the fixed class of Day 7 submissions)

_CACHE: dict[str, dict[str, Any]] = {}
SOLUTION = json.loads(day7_class.SOLUTION_NB.read_text())


def answers(student: str = "correct") -> dict[str, Any]:
    if student not in _CACHE:
        release = json.loads(day7_class.EXERCISE_NB.read_text())
        setup = next("".join(c["source"]) for c in release["cells"]
                     if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup")
        code = day7_class.solution_answers() if student == "correct" else day7_class.edited(student)
        module = types.ModuleType("day7_student_" + student.replace("-", "_"))
        sys.modules[module.__name__] = module
        exec(compile(setup, "<setup>", "exec"), module.__dict__)
        for grade_id, source in code.items():
            exec(compile(source, f"<{grade_id}>", "exec"), module.__dict__)
        _CACHE[student] = module.__dict__
    return _CACHE[student]


#: (scenario, answer, fault kinds, test cell)
SCENARIOS = [(day7.trace_scenario, "hop", day7.TRACE_FAULTS, "q1_trace_tests"),
             (day7.signing_scenario, "RequestVerifier", day7.SIGNING_FAULTS, "q2_signing_tests"),
             (day7.alert_scenario, "ErrorRateAlert", day7.ALERT_FAULTS, "q3_alert_tests"),
             (day7.placement_scenario, "choose_location", day7.PLACEMENT_FAULTS, "q4_placement_tests"),
             (day7.sharding_scenario, "ShardedCounter", day7.SHARDING_FAULTS, "q5_sharding_tests"),
             (day7.shedding_scenario, "LoadShedder", day7.SHEDDING_FAULTS, "q6_shedding_tests")]
IDS = [a for _, a, _, _ in SCENARIOS]


def _cell(grade_id: str) -> str:
    return next("".join(c["source"]) for c in SOLUTION["cells"] if c["metadata"]["nbgrader"]["grade_id"] == grade_id)


@pytest.mark.parametrize("scenario, answer, faults, cell", SCENARIOS, ids=IDS)
def test_the_solution_passes_every_scenario_for_many_seeds(scenario: Any, answer: str, faults: Any, cell: str) -> None:
    for seed in range(10):
        result = scenario(seed).run(answers()[answer])
        assert result.passed, result.message()


@pytest.mark.parametrize("scenario, answer, faults, cell", SCENARIOS, ids=IDS)
def test_each_visible_seed_covers_every_fault_kind_the_hidden_seeds_use(scenario: Any, answer: str, faults: Any,
                                                                        cell: str) -> None:
    visible, hidden = _cell(cell).split("### BEGIN HIDDEN TESTS")
    visible_seeds = [int(s) for s in re.findall(r"seed=(\d+)\)", visible)]
    hidden_seeds = [int(s) for s in re.findall(r"for seed in \(([\d, ]+)\)", hidden)[0].split(",")]
    assert visible_seeds and hidden_seeds
    hidden_kinds = {case.fault for seed in hidden_seeds for case in scenario(seed).cases()}
    for seed in visible_seeds:
        assert {case.fault for case in scenario(seed).cases()} >= hidden_kinds == set(faults)


@pytest.mark.parametrize("scenario, answer, faults, cell", SCENARIOS, ids=IDS)
def test_same_seed_same_cases_and_unknown_faults_refused(scenario: Any, answer: str, faults: Any, cell: str) -> None:
    assert [c.describe() for c in scenario(3).cases()] == [c.describe() for c in scenario(3).cases()]
    assert [c.describe() for c in scenario(3).cases()] != [c.describe() for c in scenario(4).cases()]
    with pytest.raises(ValueError, match="unknown fault kind"):
        scenario(0, faults=["meteor"])


#: (class member, the scenario that fails for it, the answer, a phrase the reason must hold)
FAILING = [
    ("trace-forwards-inbound", "day7.trace_scenario(seed=0)", "hop", "this span as the next hop's parent"),
    ("signing-burns-nonce", "day7.signing_scenario(seed=0, faults=['burn'])", "RequestVerifier", "refused a genuine request"),
    ("signing-no-replay-memory", "day7.signing_scenario(seed=0)", "RequestVerifier", "you accepted a replay"),
    ("alert-last-sample", "day7.alert_scenario(seed=0)", "ErrorRateAlert", "on a quiet stream"),
    ("placement-busiest-region", "day7.placement_scenario(seed=0)", "choose_location", "meets the budget"),
    ("sharding-no-headroom", "day7.sharding_scenario(seed=0)", "ShardedCounter", "over the ~1000 req/s"),
    ("shedding-liveness-fails", "day7.shedding_scenario(seed=0)", "LoadShedder", "liveness failing restarts"),
]


@pytest.mark.parametrize("student, call, answer, phrase", FAILING, ids=[s for s, *_ in FAILING])
def test_each_mistake_fails_with_its_reason_and_a_reproduce_line_that_runs_as_pasted(
        student: str, call: str, answer: str, phrase: str) -> None:
    namespace = answers(student)
    result = eval(call, {"day7": day7}).run(namespace[answer])  # noqa: S307 - our own call strings
    assert not result.passed and phrase in result.message(), result.message()
    assert f"[{result.scenario} seed=0] FAILED" in result.message() and "smallest failing case:" in result.message()
    assert result.reproduce == f"{call}.run({answer})"
    assert eval(result.reproduce, namespace) == result  # noqa: S307 - the line the learner pastes
    assert parse_log(result.message()) == list(result.diagram)


@pytest.mark.parametrize("student, call, answer, phrase", FAILING, ids=[s for s, *_ in FAILING])
def test_each_mistake_fails_every_hidden_seed_of_its_question(student: str, call: str, answer: str, phrase: str) -> None:
    scenario, cell = next((s, c) for s, a, _, c in SCENARIOS if a == answer)
    hidden = _cell(cell).split("### BEGIN HIDDEN TESTS")[1]
    for seed in (int(s) for s in re.findall(r"for seed in \(([\d, ]+)\)", hidden)[0].split(",")):
        assert not scenario(seed).run(answers(student)[answer]).passed, (student, seed)


def test_a_not_attempted_answer_raises_not_implemented() -> None:
    def hop(agent: str, headers: dict, attempt: int, new_trace_id: str) -> Any:
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        day7.trace_scenario(0).run(hop)
