"""The Day 5 scenario checks: the solution passes every seed, each typical mistake fails with its reason.

The answers come from the solution notebook and from the fixed class of Day 5 submissions
(tests/grading/day5_class.py), run in one namespace after the released notebook's import cell,
as a learner's kernel would hold them.
"""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from course.checks import day5
from course.checks.harness import parse_log

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "grading"))

import day5_class  # noqa: E402  (the fixed class of Day 5 submissions)

_CACHE: dict[str, dict[str, Any]] = {}


def answers(student: str = "correct") -> dict[str, Any]:
    """That class member's notebook namespace: the release's import cell, then its answers."""
    if student not in _CACHE:
        release = json.loads(day5_class.EXERCISE_NB.read_text())
        setup = next("".join(c["source"]) for c in release["cells"]
                     if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup")
        code = day5_class.solution_answers() if student == "correct" else day5_class.edited(student)
        module = types.ModuleType("day5_student_" + student.replace("-", "_"))
        sys.modules[module.__name__] = module
        exec(compile(setup, "<setup>", "exec"), module.__dict__)
        for grade_id, source in code.items():
            exec(compile(source, f"<{grade_id}>", "exec"), module.__dict__)
        _CACHE[student] = module.__dict__
    return _CACHE[student]


SCENARIOS = [(day5.task_api_scenario, "TaskAgent"), (day5.idempotency_scenario, "IdempotentAgent"),
             (day5.retry_scenario, "call_with_retries"), (day5.breaker_scenario, "CircuitBreaker"),
             (day5.discovery_scenario, "DiscoveringClient"), (day5.deadline_scenario, "run_chain")]


@pytest.mark.parametrize("scenario, answer", SCENARIOS, ids=[a for _, a in SCENARIOS])
def test_the_solution_passes_every_scenario_for_many_seeds(scenario: Any, answer: str) -> None:
    for seed in range(6):
        result = scenario(seed).run(answers()[answer])
        assert result.passed, result.message()


#: (class member, the scenario that fails for it, the answer, a phrase the reason must hold)
FAILING = [
    ("task-cancel-after-end", "day5.task_api_scenario(seed=0, faults=['cancel'])", "TaskAgent",
     "a terminal task cannot be canceled answered 200, expected 409"),
    ("idempotency-ignores-body", "day5.idempotency_scenario(seed=0, faults=['conflict'])", "IdempotentAgent",
     "a key reused for a different request answered 201, expected 422"),
    ("retries-no-jitter", "day5.retry_scenario(seed=0, faults=['server_error'])", "call_with_retries",
     "full jitter: wait rng.uniform(0, 0.5)"),
    ("breaker-many-trials", "day5.breaker_scenario(seed=0, faults=['concurrent'])", "CircuitBreaker",
     "one trial call is already out"),
    ("discovery-no-health-timeout", "day5.discovery_scenario(seed=0, faults=['partition'])", "DiscoveringClient",
     "an agent that never answers needs a timeout"),
    ("deadline-waits-for-hops", "day5.deadline_scenario(seed=0, faults=['tight'])", "run_chain",
     "the call was not cancelled when the deadline passed"),
]


@pytest.mark.parametrize("student, call, answer, phrase", FAILING, ids=[s for s, *_ in FAILING])
def test_each_mistake_fails_with_its_reason_and_a_reproduce_line_that_runs_as_pasted(
        student: str, call: str, answer: str, phrase: str) -> None:
    namespace = answers(student)
    result = eval(call, {"day5": day5}).run(namespace[answer])  # noqa: S307 - our own call strings
    assert not result.passed and phrase in result.message(), result.message()
    assert result.reproduce == f"{call}.run({answer})"
    assert eval(result.reproduce, namespace) == result  # noqa: S307 - the line the learner pastes
    assert parse_log(result.message()) == list(result.diagram)


def test_every_visible_seed_runs_every_fault_kind_the_hidden_seeds_use() -> None:
    pairs = ((day5.task_api_scenario, day5.TASK_API_FAULTS, (11, 12, 13)),
             (day5.idempotency_scenario, day5.IDEMPOTENCY_FAULTS, (21, 22, 23)),
             (day5.retry_scenario, day5.RETRY_FAULTS, (31, 32, 33)),
             (day5.breaker_scenario, day5.BREAKER_FAULTS, (41, 42, 43)),
             (day5.discovery_scenario, day5.DISCOVERY_FAULTS, (51, 52, 53)),
             (day5.deadline_scenario, day5.DEADLINE_FAULTS, (61, 62, 63)))
    for scenario, kinds, hidden in pairs:
        visible = {case.kind for case in scenario(0).cases()}
        assert visible == set(kinds)
        for seed in hidden:
            assert {case.kind for case in scenario(seed).cases()} == visible


def test_the_hidden_seeds_in_the_solution_notebook_are_the_ones_this_test_names() -> None:
    text = day5_class.SOLUTION_NB.read_text()
    for seeds in ("(11, 12, 13)", "(21, 22, 23)", "(31, 32, 33)", "(41, 42, 43)", "(51, 52, 53)", "(61, 62, 63)"):
        assert f"for seed in {seeds}:" in text, seeds


def test_scenarios_are_deterministic_and_shrink_to_the_same_case() -> None:
    for student, scenario, answer in (("breaker-many-trials", day5.breaker_scenario, "CircuitBreaker"),
                                      ("task-cancel-after-end", day5.task_api_scenario, "TaskAgent"),
                                      ("deadline-waits-for-hops", day5.deadline_scenario, "run_chain")):
        broken = answers(student)[answer]
        first = scenario(3).run(broken)
        assert first == scenario(3).run(broken) and not first.passed


def test_a_retry_of_an_unsafe_post_or_a_4xx_is_caught() -> None:
    async def retries_everything(send: Any, call: Any, rng: Any, budget: Any) -> Any:
        for _ in range(day5.MAX_ATTEMPTS - 1):
            try:
                reply = await send(call)
            except day5.NetworkError:
                continue
            if reply.status < 400:
                return reply
        return await send(call)

    for kind, phrase in (("unsafe", "without an idempotency key is not safe"), ("client_error", "the request is wrong")):
        result = day5.retry_scenario(0, faults=[kind]).run(retries_everything)
        assert not result.passed and phrase in result.reason, result.message()


def test_a_retry_loop_that_ignores_the_budget_is_caught() -> None:
    base = answers()["call_with_retries"]

    async def no_budget(send: Any, call: Any, rng: Any, budget: Any) -> Any:
        return await base(send, call, rng, day5.RetryBudget(10 ** 6))

    result = day5.retry_scenario(0, faults=["budget"]).run(no_budget)
    assert not result.passed and "attempt(s), expected" in result.reason, result.message()


def test_the_breaker_timeline_is_the_rules_for_the_solution() -> None:
    timeline, down = day5.breaker_timeline(answers()["CircuitBreaker"], seed=0, kind="flapping")
    states = [s for _, s in timeline]
    assert states[:4] == ["closed", "open", "half-open", "open"] and states[-1] == "closed"
    assert down and timeline[1][0] >= down[0][0]
