"""Workers AI binding: a Cloudflare-style Python Worker project calling env.AI, end to end."""
from __future__ import annotations

import json

import pytest

from course.runtime.bindings.ai import AiError, service

WRANGLER = """
name = "ai-demo"
main = "src/entry.py"
compatibility_date = "2025-01-01"
compatibility_flags = ["python_workers"]

[ai]
binding = "AI"
"""

ENTRY = '''
from urllib.parse import urlparse

from workers import Response, WorkerEntrypoint

TOOLS = [
    {"name": "get_weather", "description": "Get the current weather for a location",
     "parameters": {"type": "object", "properties": {"location": {"type": "string", "description": "City name"}},
                    "required": ["location"]}},
    {"name": "get_time", "description": "Get the current time in a timezone",
     "parameters": {"type": "object", "properties": {"timezone": {"type": "string", "description": "IANA zone"}},
                    "required": ["timezone"]}},
]


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path == "/chat":
            result = await self.env.AI.run("@cf/meta/llama-3.1-8b-instruct", {"messages": [
                {"role": "system", "content": "You are a helpful assistant. The office opens at 9 am on weekdays. "
                                              "Parking is free for visitors."},
                {"role": "user", "content": "When does the office open?"},
            ]})
            return Response.json(result)
        if path == "/tools":
            result = await self.env.AI.run("@cf/meta/llama-3.3-70b-instruct-fp8-fast", {
                "messages": [{"role": "user", "content": "What's the weather in Lisbon?"}],
                "tools": TOOLS,
            })
            return Response.json(result)
        if path == "/oss":
            result = await self.env.AI.run("@cf/openai/gpt-oss-120b", {
                "instructions": "You are a concise assistant. Workers run on Cloudflare's global network.",
                "input": "Where do Workers run?",
            })
            return Response.json(result)
        if path == "/stream":
            stream = await self.env.AI.run("@cf/meta/llama-3.1-8b-instruct", {
                "prompt": "Is parking free? Parking is free for visitors.", "stream": True})
            return Response(stream, headers={"content-type": "text/event-stream"})
        return Response("not found", status=404)
'''

FILES = {"wrangler.toml": WRANGLER, "src/entry.py": ENTRY}
ROUTES = ("/chat", "/tools", "/oss", "/stream")


def _bodies(rt) -> dict[str, bytes]:
    with rt.client() as client:
        out = {}
        for route in ROUTES:
            response = client.get(route)
            assert response.status_code == 200, response.text
            out[route] = response.content
        return out


def test_worker_project_chat_returns_response_and_usage(load_project):
    """https://developers.cloudflare.com/workers-ai/configuration/bindings/ : messages in, response + usage out."""
    rt = load_project(FILES)
    body = rt.client().get("/chat").json()
    assert "9 am" in body["response"]
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_worker_project_tools_call_get_weather_with_location(load_project):
    """https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/ : tool_calls name+arguments."""
    rt = load_project(FILES)
    body = rt.client().get("/tools").json()
    assert body["tool_calls"] == [{"name": "get_weather", "arguments": {"location": "Lisbon"}}]
    assert body["response"] is None
    event = rt.trace.last("ai", model="@cf/meta/llama-3.3-70b-instruct-fp8-fast")
    assert event.data["tool"] == "get_weather" and event.data["input_tokens"] > 0


def test_worker_project_gpt_oss_instructions_input_returns_responses_object(load_project):
    """https://developers.cloudflare.com/workers-ai/models/gpt-oss-120b/ : instructions/input -> Responses output."""
    rt = load_project(FILES)
    body = rt.client().get("/oss").json()
    assert body["object"] == "response" and body["status"] == "completed"
    assert body["model"] == "@cf/openai/gpt-oss-120b"
    kinds = [item["type"] for item in body["output"]]
    assert kinds == ["reasoning", "message"]
    message = body["output"][-1]
    assert message["role"] == "assistant"
    assert message["content"][0]["type"] == "output_text"
    assert "global network" in message["content"][0]["text"]
    assert body["usage"]["total_tokens"] == body["usage"]["input_tokens"] + body["usage"]["output_tokens"]


def test_worker_project_stream_is_server_sent_events_ending_with_done(load_project):
    """https://developers.cloudflare.com/workers-ai/configuration/bindings/ : stream: true -> text/event-stream."""
    rt = load_project(FILES)
    response = rt.client().get("/stream")
    assert response.headers["content-type"] == "text/event-stream"
    blocks = response.text.split("\n\n")
    assert blocks[-1] == "" and blocks[-2] == "data: [DONE]"
    events = [json.loads(b[len("data: "):]) for b in blocks[:-2]]
    assert all(b.startswith("data: ") for b in blocks[:-1])
    assert len(events) > 3
    text = "".join(e["response"] for e in events)
    assert text.startswith("Yes.") and "free" in text
    assert "usage" in events[-1]


def test_same_seed_gives_identical_bodies_across_runtimes(load_project):
    """https://developers.cloudflare.com/workers-ai/configuration/bindings/ : the offline model is deterministic."""
    first = _bodies(load_project(FILES, seed=7))
    second = _bodies(load_project(FILES, seed=7))
    assert first == second


def test_different_seed_can_change_the_wording(load_project):
    """https://developers.cloudflare.com/workers-ai/configuration/bindings/ : the seed drives the model's choices."""
    base = load_project(FILES, seed=0).client().get("/chat").content
    others = {load_project(FILES, seed=s).client().get("/chat").content for s in range(1, 6)}
    assert any(o != base for o in others)


def test_unknown_model_raises_ai_error_5007(load_project):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : 5007 No such model."""
    rt = load_project(FILES)
    with pytest.raises(AiError) as info:
        rt.call(rt.env.AI.run("@cf/acme/imaginary-model", {"prompt": "hi"}))
    assert info.value.code == 5007 and info.value.status == 400
    assert "No such model @cf/acme/imaginary-model" in str(info.value)
    assert str(info.value).startswith("AiError: 5007:")
    assert rt.trace.last("ai", status="error").data["code"] == 5007


@pytest.mark.parametrize("inputs, fragment", [
    ({}, "'prompt', 'messages'"),
    ({"prompt": "a", "messages": [{"role": "user", "content": "b"}]}, "more than one"),
    ({"prompt": ""}, "'/prompt'"),
    ({"prompt": 42}, "'/prompt' must be string"),
    ({"messages": "hello"}, "'/messages' must be array"),
    ({"messages": [{"content": "hi"}]}, "'/messages/0'"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "'/messages/0/role'"),
    ({"prompt": "hi", "max_tokens": 0}, "'/max_tokens'"),
    ({"prompt": "hi", "temperature": 9}, "'/temperature'"),
    ({"prompt": "hi", "tools": [{"description": "no name"}]}, "'/tools/0'"),
    ({"prompt": "hi", "response_format": {"type": "xml"}}, "'/response_format/type'"),
    ({"prompt": "hi", "response_format": {"type": "json_schema", "json_schema": {"type": 12}}},
     "not a valid JSON Schema"),
    ({"prompt": "hi", "stream": True, "response_format": {"type": "json_object"}}, "doesn't support streaming"),
    ({"instructions": "x", "input": "y"}, "Responses form"),
])
def test_bad_inputs_raise_ai_error_5006_naming_the_field(load_project, inputs, fragment):
    """https://developers.cloudflare.com/workers-ai/models/llama-3.1-8b-instruct/ : input schema violations."""
    rt = load_project(FILES)
    with pytest.raises(AiError) as info:
        rt.call(rt.env.AI.run("@cf/meta/llama-3.1-8b-instruct", inputs))
    assert info.value.code == 5006
    assert fragment in str(info.value)


def test_prompt_over_context_window_is_rejected(load_project):
    """https://developers.cloudflare.com/workers-ai/models/llama-3.1-8b-instruct/ : context window limit."""
    rt = load_project(FILES)
    with pytest.raises(AiError, match="maximum context length is 7968 tokens"):
        rt.call(rt.env.AI.run("@cf/meta/llama-3.1-8b-instruct", {"prompt": "word " * 9000}))


def test_results_allow_attribute_access_and_to_py(load_project):
    """https://developers.cloudflare.com/workers/languages/python/ffi/ : JS objects allow r.x and to_py()."""
    rt = load_project(FILES)
    result = rt.call(rt.env.AI.run("@cf/meta/llama-3.1-8b-instruct", {"prompt": "Hello"}))
    assert result.response == result["response"]
    assert result.usage.total_tokens > 0
    assert type(result.to_py()) is dict


def test_rt_ai_is_the_runtime_service(load_project):
    """https://developers.cloudflare.com/workers-ai/configuration/bindings/ : one Workers AI per runtime."""
    rt = load_project(FILES)
    assert rt.ai is service(rt)
