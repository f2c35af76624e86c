"""The Day 4 scenario checks: the solution passes every seed, each typical mistake fails with its reason.

The answers come from the solution notebook and from the fixed class of Day 4 submissions
(tests/grading/day4_class.py), run in one namespace after the released notebook's import cell,
as a learner's kernel would hold them.
"""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from course.checks import day4
from course.checks.harness import parse_log
from course.runtime.bindings.ai import FAULT_KINDS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "grading"))

import day4_class  # noqa: E402  (the fixed class of Day 4 submissions)

_CACHE: dict[str, dict[str, Any]] = {}


def answers(student: str = "correct") -> dict[str, Any]:
    """That class member's notebook namespace: the release's import cell, then its answers."""
    if student not in _CACHE:
        release = json.loads(day4_class.EXERCISE_NB.read_text())
        setup = next("".join(c["source"]) for c in release["cells"]
                     if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup")
        code = day4_class.solution_answers() if student == "correct" else day4_class.edited(student)
        module = types.ModuleType("day4_student_" + student.replace("-", "_"))
        sys.modules[module.__name__] = module
        exec(compile(setup, "<setup>", "exec"), module.__dict__)
        for grade_id, source in code.items():
            exec(compile(source, f"<{grade_id}>", "exec"), module.__dict__)
        _CACHE[student] = module.__dict__
    return _CACHE[student]


SCENARIOS = [(day4.prompt_scenario, "fit_prompt"), (day4.parser_scenario, "ask_json"),
             (day4.tool_loop_scenario, "run_tool_loop"), (day4.fallback_scenario, "answer_question"),
             (day4.conversation_scenario, "Conversation"), (day4.planner_scenario, "plan_and_run")]


@pytest.mark.parametrize("scenario, answer", SCENARIOS, ids=[a for _, a in SCENARIOS])
def test_the_solution_passes_every_scenario_for_many_seeds(scenario: Any, answer: str) -> None:
    for seed in range(6):
        result = scenario(seed).run(answers()[answer])
        assert result.passed, result.message()


#: (class member, the scenario that fails for it, the answer, a phrase the reason must hold)
FAILING = [
    ("prompt-history-first", "day4.prompt_scenario(seed=0, faults=['long_history'])", "fit_prompt",
     "although it fits: facts come before history"),
    ("parser-no-validation", "day4.parser_scenario(seed=0, faults=['wrong_schema'])", "ask_json",
     "a wrong_schema reply was passed on"),
    ("tools-no-step-limit", "day4.tool_loop_scenario(seed=0, faults=['loop'])", "run_tool_loop",
     "did not stop"),
    ("fallback-no-timeout", "day4.fallback_scenario(seed=0, faults=['latency'])", "answer_question",
     "took 30 s of virtual time"),
    ("conversation-in-memory", "day4.conversation_scenario(seed=0, faults=['evict'])", "Conversation",
     "has forgotten note"),
    ("planner-runs-while-checking", "day4.planner_scenario(seed=0, faults=['unknown_tool'])", "plan_and_run",
     "never run a step of a plan you refused"),
]


@pytest.mark.parametrize("student, call, answer, phrase", FAILING, ids=[s for s, *_ in FAILING])
def test_each_mistake_fails_with_its_reason_and_a_reproduce_line_that_runs_as_pasted(
        student: str, call: str, answer: str, phrase: str) -> None:
    namespace = answers(student)
    result = eval(call, {"day4": day4}).run(namespace[answer])  # noqa: S307 - our own call strings
    assert not result.passed and phrase in result.message(), result.message()
    assert result.reproduce == f"{call}.run({answer})"
    assert eval(result.reproduce, namespace) == result  # noqa: S307 - the line the learner pastes
    assert parse_log(result.message()) == list(result.diagram)


def test_every_visible_seed_runs_every_fault_kind_the_hidden_seeds_use() -> None:
    pairs = ((day4.prompt_scenario, day4.PROMPT_FAULTS, (11, 12, 13)),
             (day4.parser_scenario, day4.PARSER_FAULTS, (21, 22, 23)),
             (day4.tool_loop_scenario, day4.TOOL_LOOP_FAULTS, (31, 32, 33)),
             (day4.fallback_scenario, day4.FALLBACK_FAULTS, (41, 42, 43)),
             (day4.conversation_scenario, day4.CONVERSATION_FAULTS, (51, 52, 53)),
             (day4.planner_scenario, day4.PLANNER_FAULTS, (61, 62, 63)))
    for scenario, kinds, hidden in pairs:
        visible = {case.kind for case in scenario(0).cases()}
        assert visible == set(kinds)
        for seed in hidden:
            assert {case.kind for case in scenario(seed).cases()} == visible


def test_the_workers_ai_faults_the_checks_inject_are_the_emulators_own() -> None:
    used = {"malformed", "truncated", "hallucinated_tool", "rate_limit", "server_error", "timeout", "latency"}
    assert used <= set(FAULT_KINDS)


def test_scenarios_are_deterministic_and_shrink_to_the_same_case() -> None:
    broken = answers("conversation-in-memory")["Conversation"]
    first = day4.conversation_scenario(3).run(broken)
    assert first == day4.conversation_scenario(3).run(broken) and not first.passed
    parser = answers("parser-no-validation")["ask_json"]
    assert day4.parser_scenario(5).run(parser) == day4.parser_scenario(5).run(parser)


def test_a_failure_shows_the_prompts_and_replies_with_the_injected_fault() -> None:
    result = day4.parser_scenario(0, faults=["wrong_schema"]).run(answers("parser-no-validation")["ask_json"])
    assert "agent -> model  ai.run" in result.message_log and "model -> agent  ai.reply" in result.message_log
    result = day4.tool_loop_scenario(0, faults=["hallucinated_tool"]).run(_runs_any_tool)
    assert "[fault: hallucinated_tool]" in result.message_log, result.message()


async def _runs_any_tool(ai: Any, question: str, tools: Any, max_steps: int = day4.MAX_STEPS) -> Any:
    """A loop that trusts the model's tool names (a KeyError on the invented one)."""
    by_name = {t.name: t for t in tools}
    messages = [{"role": "user", "content": question}]
    for step in range(1, max_steps + 1):
        reply = (await ai.run(day4.MODEL, {"messages": messages, "tools": [t.spec() for t in tools]})).to_py()
        if not reply.get("tool_calls"):
            return day4.LoopResult(reply["response"], "answer", step)
        for call in reply["tool_calls"]:
            by_name[call["name"]].fn(**call["arguments"])
    return day4.LoopResult(None, "step_limit", max_steps)


def test_a_truncated_reply_repaired_into_an_answer_is_caught() -> None:
    base = answers()["ask_json"]

    async def closes_brackets(ai: Any, messages: Any, schema: Any) -> Any:
        reply = (await ai.run(day4.MODEL, {"messages": messages, "response_format": {
            "type": "json_schema", "json_schema": schema.model_json_schema()}})).to_py()["response"]
        for tail in ('"}', "}", ', "summary": "unknown"}', '", "summary": "unknown"}'):
            try:
                return schema.model_validate(json.loads(reply + tail))
            except (TypeError, ValueError):  # not repaired by this tail: try the next
                continue
        return await base(ai, messages, schema)

    result = day4.parser_scenario(0, faults=["truncated"]).run(closes_brackets)
    assert not result.passed and "'summary': 'unknown'" in result.reason, result.message()
    assert "passed on" in result.reason or "must raise NoValidReply" in result.reason, result.message()
