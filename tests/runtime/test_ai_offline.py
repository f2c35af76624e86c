"""Workers AI offline model and scripted replies: tools, JSON mode, text answers, scripts."""
from __future__ import annotations

import json
import re

import jsonschema
import pytest

from course.runtime.bindings.ai import AiError, tool_call

from _projects import ai_project

PROJECT = ai_project("ai-offline")
LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
SMALL = "@cf/meta/llama-3.1-8b-instruct"


@pytest.fixture
def rt(load_project):
    return load_project(PROJECT)


def run(rt, model, inputs):
    return rt.call(rt.env.AI.run(model, inputs)).to_py()


def ask(rt, text, tools, model=LLAMA):
    return run(rt, model, {"messages": [{"role": "user", "content": text}], "tools": tools})


def fn(name, description, props, required=None):
    return {"name": name, "description": description,
            "parameters": {"type": "object", "properties": props, "required": required or list(props)}}


AGENT_TOOLS = [
    fn("get_weather", "Get the weather forecast for a city", {"city": {"type": "string", "description": "City"}}),
    fn("convert_currency", "Convert an amount of money between currencies", {
        "amount": {"type": "number", "description": "Amount"},
        "from_currency": {"type": "string", "enum": ["USD", "EUR", "GBP"], "description": "From"},
        "to_currency": {"type": "string", "enum": ["USD", "EUR", "GBP"], "description": "To"}}),
    fn("send_email", "Send an email message to a recipient", {
        "to": {"type": "string", "format": "email", "description": "Recipient address"},
        "subject": {"type": "string", "description": "Subject line"}}),
    fn("search_docs", "Search the documentation for a query", {"query": {"type": "string", "description": "Query"}}),
]


@pytest.mark.parametrize("text, name, args", [
    ("Will it rain in Porto?", "get_weather", {"city": "Porto"}),
    ("Convert 250 USD to EUR please", "convert_currency", {"amount": 250, "from_currency": "USD",
                                                           "to_currency": "EUR"}),
    ("Send an email to ada@example.com with subject \"Launch plan\"", "send_email",
     {"to": "ada@example.com", "subject": "Launch plan"}),
    ("Search the docs for Durable Object alarms", "search_docs", {"query": "Durable Object alarms"}),
])
def test_offline_model_picks_the_matching_tool_and_fills_required_arguments(rt, text, name, args):
    """https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/ : tool_calls out."""
    call = ask(rt, text, AGENT_TOOLS)["tool_calls"][0]
    assert call["name"] == name
    assert call["arguments"] == args
    tool = next(t for t in AGENT_TOOLS if t["name"] == name)
    jsonschema.validate(call["arguments"], tool["parameters"])


def test_openai_style_tools_are_accepted(rt):
    """https://developers.cloudflare.com/workers-ai/models/llama-3.3-70b-instruct-fp8-fast/ : {type, function} tools."""
    tools = [{"type": "function", "function": t} for t in AGENT_TOOLS]
    result = ask(rt, "What's the forecast for Berlin?", tools)
    assert result["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Berlin"}}]


def test_no_tool_is_called_when_nothing_matches(rt):
    """https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/ : tools are optional."""
    result = ask(rt, "Hello there!", AGENT_TOOLS)
    assert result["tool_calls"] == [] and result["response"]


def test_after_a_tool_result_the_model_answers_in_text(rt):
    """https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/ : tool role messages."""
    result = run(rt, LLAMA, {"tools": AGENT_TOOLS, "messages": [
        {"role": "user", "content": "Will it rain in Porto?"},
        {"role": "assistant", "content": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Porto"}}]},
        {"role": "tool", "name": "get_weather", "content": json.dumps({"forecast": "light rain", "high_c": 17})},
    ]})
    assert result["tool_calls"] == []
    assert "get_weather returned forecast light rain, high c 17" in result["response"]


SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string"}, "capital": {"type": "string"},
                                      "languages": {"type": "array", "items": {"type": "string"}}},
     "required": ["name", "capital", "languages"]},
    {"type": "object", "properties": {
        "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "summary": {"type": "string", "maxLength": 80}}, "required": ["sentiment", "score", "summary"]},
    {"type": "object", "properties": {
        "title": {"type": "string", "minLength": 3},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4, "uniqueItems": True},
        "done": {"type": "boolean"},
        "owner": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string",
                                                                                       "format": "email"}},
                  "required": ["name", "email"], "additionalProperties": False}},
     "required": ["title", "priority", "tags", "done", "owner"], "additionalProperties": False},
    {"$defs": {"step": {"type": "object", "properties": {"n": {"type": "integer"}, "text": {"type": "string"}},
                        "required": ["n", "text"]}},
     "type": "object", "properties": {"steps": {"type": "array", "items": {"$ref": "#/$defs/step"}, "minItems": 1},
                                      "status": {"anyOf": [{"type": "null"}, {"type": "string",
                                                                              "const": "ok"}]}},
     "required": ["steps", "status"]},
    {"type": "array", "items": {"type": "string"}, "minItems": 3},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=["country", "sentiment", "ticket", "refs", "array"])
def test_json_mode_returns_a_value_valid_against_the_schema(rt, schema):
    """https://developers.cloudflare.com/workers-ai/features/json-mode/ : response follows the JSON schema."""
    result = run(rt, LLAMA, {"messages": [
        {"role": "system", "content": "Extract data. Grace Hopper owns it. Contact grace@example.com."},
        {"role": "user", "content": "I love the new Lisbon office, priority 3: move desks, order chairs."}],
        "response_format": {"type": "json_schema", "json_schema": schema}})
    jsonschema.validate(result["response"], schema)


def test_json_mode_fills_strings_from_the_prompt(rt):
    """https://developers.cloudflare.com/workers-ai/features/json-mode/ : the example calendar event schema."""
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "date": {"type": "string"},
                                               "participants": {"type": "array", "items": {"type": "string"}}},
              "required": ["name", "date", "participants"]}
    value = run(rt, LLAMA, {"messages": [
        {"role": "system", "content": "Extract the event information."},
        {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."}],
        "response_format": {"type": "json_schema", "json_schema": schema}})["response"]
    assert value["participants"] == ["Alice", "Bob"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value["date"])


def test_json_mode_that_cannot_be_met_raises(rt):
    """https://developers.cloudflare.com/workers-ai/features/json-mode/ : "JSON Mode couldn't be met"."""
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^ZX-[0-9]{6}$"}},
              "required": ["code"]}
    with pytest.raises(AiError, match="JSON Mode couldn't be met"):
        run(rt, LLAMA, {"prompt": "no codes here", "response_format": {"type": "json_schema", "json_schema": schema}})


@pytest.mark.parametrize("question, expected", [
    ("Is parking free for visitors?", "Yes. Parking is free for visitors."),
    ("Is the office open on Sunday?", "No. The office is not open on Sunday."),
    ("Summarize the policy.", "In short:"),
    ("Hi!", "!"),
])
def test_text_answers_read_as_plain_sentences(rt, question, expected):
    """https://developers.cloudflare.com/workers-ai/models/llama-3.1-8b-instruct/ : response is the answer text."""
    result = run(rt, SMALL, {"messages": [
        {"role": "system", "content": "You are a helpful assistant. Parking is free for visitors. "
                                      "The office is not open on Sunday. Badges are issued at reception."},
        {"role": "user", "content": question}]})
    assert expected in result["response"]


def test_list_items_are_counted_and_named(rt):
    """https://developers.cloudflare.com/workers-ai/models/llama-3.1-8b-instruct/ : prompt input form."""
    result = run(rt, SMALL, {"prompt": "Which options do I have?\n- KV\n- D1\n- R2"})
    assert result["response"] == "There are 3 items: KV, D1 and R2."


def test_max_tokens_caps_the_answer(rt):
    """https://developers.cloudflare.com/workers-ai/models/llama-3.1-8b-instruct/ : max_tokens (default 256)."""
    result = run(rt, SMALL, {"prompt": "Tell me about quantum gravity", "max_tokens": 5})
    assert result["usage"]["completion_tokens"] == 5


# -- scripts ---------------------------------------------------------------------------------------
def test_script_substring_reply_repeats_by_default(rt):
    """https://developers.cloudflare.com/workers-ai/configuration/bindings/ : scripted response text."""
    rt.ai.script("capital of france", "Paris.")
    for _ in range(2):
        assert run(rt, SMALL, {"prompt": "What is the Capital of France?"})["response"] == "Paris."
    assert rt.trace.last("ai").data["backend"] == "script"


def test_one_shot_script_is_used_once_then_the_model_answers(rt):
    """https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/ : scripted tool call."""
    rt.ai.script(re.compile(r"weather in \w+"), tool_call("get_weather", city="Oslo"), times=1)
    first = ask(rt, "What is the weather in Porto?", AGENT_TOOLS)
    second = ask(rt, "What is the weather in Porto?", AGENT_TOOLS)
    assert first["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Oslo"}}]
    assert second["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Porto"}}]


def test_first_matching_script_wins_and_callables_match(rt):
    """https://developers.cloudflare.com/workers-ai/configuration/bindings/ : scripts in order."""
    rt.ai.script(lambda inputs: "prompt" in inputs, "from the callable")
    rt.ai.script("hello", "from the substring")
    assert run(rt, SMALL, {"prompt": "hello"})["response"] == "from the callable"
    assert run(rt, SMALL, {"messages": [{"role": "user", "content": "hello"}]})["response"] == "from the substring"


def test_script_full_result_dict_is_returned_as_is_with_usage(rt):
    """https://developers.cloudflare.com/workers-ai/models/llama-3.3-70b-instruct-fp8-fast/ : output shape."""
    rt.ai.script("plan", {"response": "Step 1.", "tool_calls": []}, model=LLAMA)
    result = run(rt, LLAMA, {"prompt": "make a plan"})
    assert result["response"] == "Step 1." and result["usage"]["total_tokens"] > 0
    assert run(rt, SMALL, {"prompt": "make a plan"})["response"] != "Step 1."


def test_script_exception_is_raised_to_the_worker(rt):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : scripted AiError."""
    rt.ai.script("boom", AiError(3040, "No more data centers to forward the request to", 429))
    with pytest.raises(AiError, match="3040"):
        run(rt, SMALL, {"prompt": "boom"})


def test_script_dict_in_json_mode_is_the_json_value(rt):
    """https://developers.cloudflare.com/workers-ai/features/json-mode/ : response is the object."""
    rt.ai.script("india", {"name": "India", "capital": "New Delhi", "languages": ["Hindi"]})
    result = run(rt, LLAMA, {"prompt": "Tell me about India.", "response_format": {
        "type": "json_schema", "json_schema": SCHEMAS[0]}})
    assert result["response"]["capital"] == "New Delhi"


def test_removed_script_no_longer_matches(rt):
    """https://developers.cloudflare.com/workers-ai/configuration/bindings/ : script lifecycle."""
    script = rt.ai.script("ping", "pong")
    assert run(rt, SMALL, {"prompt": "ping"})["response"] == "pong"
    script.remove()
    assert run(rt, SMALL, {"prompt": "ping"})["response"] != "pong"
    assert script.calls == 1
