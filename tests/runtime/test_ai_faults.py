"""Workers AI fault injection: latency, capacity and server errors, damaged output; all traced."""
from __future__ import annotations

import json

import pytest

from course.runtime.bindings.ai import AiError

from _projects import ai_project

ENTRY = """
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        try:
            result = await self.env.AI.run("@cf/meta/llama-3.1-8b-instruct", {"prompt": "Hello"})
        except Exception as exc:
            return Response(str(exc), status=503)
        return Response.json(result)
"""
PROJECT = ai_project("ai-faults", ENTRY)
MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
TOOLS = [{"name": "get_weather", "description": "Get the weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City"}},
                         "required": ["city"]}}]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "summary": {"type": "string"}},
          "required": ["city", "summary"]}
FACTS = "The Lisbon office opens at 9 am. It has a rooftop terrace with a view of the river Tagus."


@pytest.fixture
def rt(load_project):
    return load_project(PROJECT)


def run(rt, inputs, model=MODEL):
    return rt.call(rt.env.AI.run(model, inputs)).to_py()


def faults(rt, kind):
    return rt.trace.events("fault", target="ai", fault=kind)


def test_latency_fault_sleeps_on_the_virtual_clock(rt):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : slow inference, seen on the clock."""
    rt.ai.fault("latency", seconds=3.0)
    before = rt.clock.now()
    response = rt.client().get("/")
    assert response.status_code == 200
    assert rt.clock.now() - before == pytest.approx(3.0)
    assert faults(rt, "latency")[0].data["seconds"] == 3.0


def test_rate_limit_fault_raises_3040_then_recovers(rt):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : 3040 Out of capacity, HTTP 429."""
    rt.ai.fault("rate_limit", times=1)
    with pytest.raises(AiError) as info:
        run(rt, {"prompt": "hi"})
    assert info.value.code == 3040 and info.value.status == 429
    assert run(rt, {"prompt": "hi"})["response"]
    assert len(faults(rt, "rate_limit")) == 1
    assert rt.trace.events("ai", status="error")[0].data["code"] == 3040


def test_fault_reaches_the_worker_as_an_exception_it_can_catch(rt):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : errors surface from env.AI.run."""
    rt.ai.fault("rate_limit")
    response = rt.client().get("/")
    assert response.status_code == 503 and response.text.startswith("AiError: 3040:")


@pytest.mark.parametrize("kind, code, status", [("server_error", 3043, 500), ("timeout", 3007, 408)])
def test_server_error_and_timeout_faults_raise_their_codes(rt, kind, code, status):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : upstream failures."""
    rt.ai.fault(kind)
    with pytest.raises(AiError) as info:
        run(rt, {"prompt": "hi"})
    assert (info.value.code, info.value.status) == (code, status)
    assert faults(rt, kind)[0].data["model"] == MODEL


def test_truncated_fault_cuts_the_text_in_half(rt):
    """https://developers.cloudflare.com/workers-ai/models/llama-3.3-70b-instruct-fp8-fast/ : max_tokens cut-off."""
    inputs = {"messages": [{"role": "system", "content": FACTS}, {"role": "user", "content": "What about the office?"}]}
    whole = run(rt, inputs)
    rt.ai.fault("truncated")
    cut = run(rt, inputs)
    assert whole["response"].startswith(cut["response"]) and len(cut["response"]) < len(whole["response"])
    assert cut["usage"]["completion_tokens"] < whole["usage"]["completion_tokens"]
    assert faults(rt, "truncated")


def test_truncated_json_mode_returns_unparseable_text(rt):
    """https://developers.cloudflare.com/workers-ai/features/json-mode/ : the model may not meet the schema."""
    rt.ai.fault("truncated")
    result = run(rt, {"prompt": "Lisbon: " + FACTS, "response_format": {"type": "json_schema", "json_schema": SCHEMA}})
    assert isinstance(result["response"], str)
    with pytest.raises(json.JSONDecodeError):
        json.loads(result["response"])


def test_malformed_fault_breaks_json_mode_and_tool_arguments(rt):
    """https://developers.cloudflare.com/workers-ai/features/json-mode/ : malformed structured output."""
    rt.ai.fault("malformed")
    result = run(rt, {"prompt": "Lisbon: " + FACTS, "response_format": {"type": "json_schema", "json_schema": SCHEMA}})
    with pytest.raises(json.JSONDecodeError):
        json.loads(result["response"])
    call = run(rt, {"messages": [{"role": "user", "content": "Weather in Lisbon?"}], "tools": TOOLS})["tool_calls"][0]
    assert isinstance(call["arguments"], str)
    with pytest.raises(json.JSONDecodeError):
        json.loads(call["arguments"])
    assert len(faults(rt, "malformed")) == 2


def test_hallucinated_tool_names_a_tool_that_was_not_offered(rt):
    """https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/ : check tool names."""
    rt.ai.fault("hallucinated_tool")
    plain = run(rt, {"prompt": "hello"})  # no tool call: the fault does not apply and is not spent
    assert "tool_calls" not in plain and not faults(rt, "hallucinated_tool")
    call = run(rt, {"messages": [{"role": "user", "content": "Weather in Lisbon?"}], "tools": TOOLS})["tool_calls"][0]
    assert call["name"] != "get_weather"
    event = faults(rt, "hallucinated_tool")[0]
    assert event.data["tool"] == call["name"] and event.data["instead_of"] == "get_weather"
    assert rt.trace.last("ai").data["tool"] == call["name"]


def _pattern(load_project, seed):
    rt = load_project(PROJECT, seed=seed)
    rt.ai.fault("server_error", rate=0.5)
    out = []
    for _ in range(20):
        try:
            run(rt, {"prompt": "hi"})
            out.append("ok")
        except AiError:
            out.append("fail")
    return out


def test_fault_rate_is_seeded_and_reproducible(load_project):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : same seed, same faults."""
    first, again = _pattern(load_project, 3), _pattern(load_project, 3)
    assert first == again
    assert 3 <= first.count("fail") <= 17
    assert any(_pattern(load_project, s) != first for s in (4, 5))


def test_unknown_fault_kind_is_rejected(rt):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : only known fault kinds."""
    with pytest.raises(ValueError, match="unknown Workers AI fault 'meteor'"):
        rt.ai.fault("meteor")
