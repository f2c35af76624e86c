"""The offline model as an agent's brain: the evaluation set and the behaviours it rests on."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from course.runtime.bindings.ai import AiError, evaluation
from course.runtime.bindings.ai.models import lookup
from course.runtime.bindings.ai.offline import OfflineModel
from course.runtime.bindings.ai.request import parse

from _projects import ai_project

EVAL_DIR = Path(__file__).parent / "ai_eval"
#: The offline model must keep at least this accuracy on the evaluation set (bench/bench_ai_offline.py).
MIN_ACCURACY = 0.90
PROJECT = ai_project("ai-eval")
LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
OPS = [
    {"name": "assign_task", "description": "Assign a task to a worker agent",
     "parameters": {"type": "object", "properties": {
         "task": {"type": "string"}, "worker": {"type": "string"},
         "priority": {"type": "integer", "minimum": 1, "maximum": 5, "default": 3}}, "required": ["task", "worker"]}},
    {"name": "get_status", "description": "Get the current status of a worker agent",
     "parameters": {"type": "object", "properties": {"worker": {"type": "string"}}, "required": ["worker"]}},
]
REMIND = [{"name": "set_reminder", "description": "Remind the user of something later",
           "parameters": {"type": "object", "properties": {"text": {"type": "string"},
                                                           "minutes": {"type": "integer"}},
                          "required": ["text", "minutes"]}}]


@pytest.fixture
def rt(load_project):
    return load_project(PROJECT)


def run(rt, inputs, model=LLAMA):
    return rt.call(rt.env.AI.run(model, inputs)).to_py()


def complete(inputs, model=LLAMA):
    """The offline model's Completion (text, tool calls and the reasoning behind them)."""
    return OfflineModel().complete(parse(lookup(model, {}), inputs), random.Random(0))


def test_offline_model_reaches_the_accuracy_floor_on_the_evaluation_set(rt):
    """Tool choice, arguments, routing, extraction and answers, through env.AI.run end to end."""
    evalset = evaluation.load(EVAL_DIR)
    assert len(evalset.cases) >= 40
    report = evaluation.evaluate(evalset, lambda model, inputs: run(rt, inputs, model))
    failures = "\n".join(f"{f.id}: {'; '.join(f.problems)}" for f in report.failures())
    assert report.accuracy >= MIN_ACCURACY, f"accuracy {report.accuracy:.0%}\n{report.table()}\n{failures}"


def test_evaluation_answers_are_the_same_on_every_run(rt):
    """Determinism: the same seed and input give the same answer, so the evaluation cannot flake."""
    evalset = evaluation.load(EVAL_DIR)
    cases = evalset.cases[::7]
    first = [run(rt, c.inputs(evalset.toolsets), c.model) for c in cases]
    assert [run(rt, c.inputs(evalset.toolsets), c.model) for c in cases] == first


def test_tool_arguments_are_read_around_the_property_names(rt):
    """https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/ : arguments."""
    result = run(rt, {"messages": [{"role": "user", "content": "Assign the report task to worker-3 with priority 2"}],
                      "tools": OPS})
    assert result["tool_calls"] == [{"name": "assign_task",
                                     "arguments": {"task": "report", "worker": "worker-3", "priority": 2}}]


def test_optional_arguments_the_text_does_not_give_are_left_out(rt):
    """The schema default applies on the tool's side; digits inside ids (worker-12) are not a priority."""
    result = run(rt, {"messages": [{"role": "user", "content": "Give worker-12 the deploy task"}], "tools": OPS})
    assert result["tool_calls"][0]["arguments"] == {"task": "deploy", "worker": "worker-12"}


def test_numbers_with_time_units_are_converted_to_the_property_unit(rt):
    """"in 2 hours" fills a ``minutes`` argument with 120; "remind me to X" fills the text."""
    result = run(rt, {"messages": [{"role": "user", "content": "In 2 hours, remind me to call the bank"}],
                      "tools": REMIND})
    assert result["tool_calls"][0]["arguments"] == {"text": "call the bank", "minutes": 120}


def test_json_mode_classifies_by_cue_words_and_summarises_the_text(rt):
    """https://developers.cloudflare.com/workers-ai/features/json-mode/ : an enum chosen by meaning."""
    schema = {"type": "object", "properties": {"severity": {"type": "string", "enum": ["low", "high"]},
                                               "summary": {"type": "string"}}, "required": ["severity", "summary"]}
    result = run(rt, {"messages": [{"role": "user", "content": "Classify: the database is down, urgent!"}],
                      "response_format": {"type": "json_schema", "json_schema": schema}})
    assert result["response"] == {"severity": "high", "summary": "The database is down, urgent."}


def test_json_mode_reason_field_explains_the_routing_decision(rt):
    """A router's ``reason`` names the cue words that chose the agent, for a lesson to show."""
    schema = {"type": "object", "properties": {
        "agent": {"type": "string", "enum": ["weather_agent", "billing_agent", "calendar_agent"]},
        "reason": {"type": "string"}}, "required": ["agent", "reason"]}
    value = run(rt, {"messages": [{"role": "user", "content": "Move my 3pm meeting with Ana to Friday"}],
                     "response_format": {"type": "json_schema", "json_schema": schema}})["response"]
    assert value["agent"] == "calendar_agent"
    assert "meeting" in value["reason"] and "calendar_agent" in value["reason"]


def test_tool_whose_required_arguments_are_missing_is_not_called_when_the_context_answers(rt):
    """tool_choice "auto": a question the system prompt answers gets a text answer, not a tool call."""
    result = run(rt, {"messages": [
        {"role": "system", "content": "Workers report their status every 30 seconds."},
        {"role": "user", "content": "How often do workers report?"}], "tools": OPS})
    assert result["tool_calls"] == [] and "30 seconds" in result["response"]


def test_tool_choice_none_answers_in_text_and_a_named_tool_is_forced(rt):
    """OpenAI-compatible ``tool_choice``: "none", or {"type": "function", "function": {"name"}}."""
    text = {"role": "user", "content": "Check on worker-9 for me"}
    none = run(rt, {"messages": [text], "tools": OPS, "tool_choice": "none"})
    assert none["tool_calls"] == [] and none["response"]
    forced = run(rt, {"messages": [text], "tools": OPS,
                      "tool_choice": {"type": "function", "function": {"name": "get_status"}}})
    assert forced["tool_calls"] == [{"name": "get_status", "arguments": {"worker": "worker-9"}}]
    required = run(rt, {"messages": [{"role": "user", "content": "Hello!"}], "tools": OPS,
                        "tool_choice": "required"})
    assert required["tool_calls"]


@pytest.mark.parametrize("choice, message", [
    ("sometimes", "'/tool_choice' must be one of auto, none, required"),
    ({"type": "function", "function": {"name": "launch_rocket"}}, "names 'launch_rocket', which is not among"),
    (3, "type at '/tool_choice' must be string or object"),
])
def test_bad_tool_choice_is_rejected_naming_the_problem(rt, choice, message):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : 5006 names the bad field."""
    with pytest.raises(AiError, match="5006") as info:
        run(rt, {"messages": [{"role": "user", "content": "hi"}], "tools": OPS, "tool_choice": choice})
    assert message in str(info.value)


def test_tool_call_reasoning_says_where_each_argument_came_from():
    """The reasoning a lesson shows names the rule behind every argument."""
    completion = complete({"messages": [{"role": "user", "content": "Assign the report task to worker-3"}],
                           "tools": OPS})
    assert "token 'worker-3' contains 'worker'" in completion.reasoning
    assert '"the report task"' in completion.reasoning


def test_evaluation_check_lists_what_a_result_gets_wrong():
    """A failing case explains itself: wrong tool, wrong argument, missing phrase."""
    case = evaluation.EvalCase.model_validate({
        "id": "c", "category": "tools", "user": "x",
        "expect": {"tool": "assign_task", "args": {"worker": "worker-3"}, "args_contain": {"task": "report"}}})
    assert evaluation.check(case, {"tool_calls": [{"name": "get_status", "arguments": {}}]}) == \
        ["called get_status, expected assign_task"]
    problems = evaluation.check(case, {"tool_calls": [{"name": "assign_task",
                                                       "arguments": {"worker": "worker-4", "task": "deploy"}}]})
    assert problems == ["worker='worker-4', expected 'worker-3'", "task='deploy' lacks ['report']"]
    text_case = evaluation.EvalCase.model_validate({"id": "t", "category": "text", "user": "x",
                                                    "expect": {"tool": None, "text_contains": ["basement"]}})
    assert evaluation.check(text_case, {"response": "Bikes go in the basement.", "tool_calls": []}) == []


def test_evaluation_set_names_only_defined_toolsets():
    """Bad data fails loudly: an unknown toolset is named."""
    evalset = evaluation.load(EVAL_DIR)
    case = evaluation.EvalCase.model_validate({"id": "c", "category": "tools", "user": "x", "toolset": "nope",
                                               "expect": {"tool": None}})
    with pytest.raises(ValueError, match="toolset 'nope'"):
        case.inputs(evalset.toolsets)
