"""Workers AI real backends against local fakes: Cloudflare's REST API and OpenAI-compatible servers."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import httpx
import pytest

from course.runtime.bindings.ai import AiError

from _projects import ai_project

PROJECT = ai_project("ai-backends")
LLAMA = "@cf/meta/llama-3.1-8b-instruct"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string", "description": "City"}},
                   "required": ["location"]}}}]


def run(rt, model, inputs):
    return rt.call(rt.env.AI.run(model, inputs))


@pytest.fixture
def fake_server() -> Iterator[Callable[[Callable[[str, dict, dict], tuple[int, dict | bytes, str]]], str]]:
    """``fake_server(handler)`` -> base URL of a real HTTP server on a free local port."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: Callable[[str, dict, dict], tuple[int, Any, str]]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["content-length"])) or b"{}")
                status, payload, ctype = handler(self.path, dict(self.headers), body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_workers_ai_rest_backend_posts_inputs_with_bearer_token(load_project):
    """https://developers.cloudflare.com/workers-ai/get-started/rest-api/ : POST /accounts/{id}/ai/run/{model}."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": {"response": "From Cloudflare.", "usage": {
            "prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}, "success": True, "errors": [],
            "messages": []})

    rt = load_project(PROJECT)
    rt.ai.use_backend("workers-ai", account_id="acct123", api_token="tok", base_url="https://cf.test/client/v4",
                      transport=httpx.MockTransport(handler))
    result = run(rt, LLAMA, {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 20})
    assert result.response == "From Cloudflare." and result.usage.total_tokens == 8
    request = seen[0]
    assert request.url.path == "/client/v4/accounts/acct123/ai/run/@cf/meta/llama-3.1-8b-instruct"
    assert request.headers["authorization"] == "Bearer tok"
    assert json.loads(request.content) == {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}
    event = rt.trace.last("ai")
    assert event.data["backend"] == "workers-ai" and event.data["input_tokens"] == 5


def test_workers_ai_rest_errors_become_ai_errors(load_project):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : the envelope's errors are raised."""
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"result": None, "success": False, "errors": [
            {"code": 5007, "message": "No such model @cf/x/y or task"}], "messages": []})

    rt = load_project(PROJECT)
    rt.ai.use_backend("cloudflare", account_id="a", api_token="t", transport=httpx.MockTransport(handler))
    with pytest.raises(AiError) as info:
        run(rt, "@cf/x/y", {"prompt": "hi"})  # unknown to the catalog: the real backend decides
    assert info.value.code == 5007 and info.value.status == 400


def test_workers_ai_rest_from_env_vars_against_a_real_local_server(load_project, fake_server, monkeypatch):
    """https://developers.cloudflare.com/workers-ai/get-started/rest-api/ : streamed SSE passes through."""
    sse = b'data: {"response":"Hi"}\n\ndata: {"response":" there"}\n\ndata: [DONE]\n\n'
    paths: list[str] = []

    def handler(path: str, headers: dict, body: dict) -> tuple[int, Any, str]:
        paths.append(path)
        assert headers["Authorization"] == "Bearer env-token" and body["stream"] is True
        return 200, sse, "text/event-stream"

    base = fake_server(handler)
    monkeypatch.setenv("COURSE_AI_BACKEND", "workers-ai")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "env-acct")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "env-token")
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", base + "/client/v4")
    rt = load_project(PROJECT)
    stream = run(rt, LLAMA, {"prompt": "hi", "stream": True})
    assert bytes(stream) == sse and stream.text() == "Hi there"
    assert paths == ["/client/v4/accounts/env-acct/ai/run/@cf/meta/llama-3.1-8b-instruct"]


def test_workers_ai_backend_without_credentials_is_a_clear_error(load_project, monkeypatch):
    """https://developers.cloudflare.com/workers-ai/get-started/rest-api/ : account id and API token needed."""
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    rt = load_project(PROJECT)
    with pytest.raises(ValueError, match="CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN"):
        rt.ai.use_backend("workers-ai")


def test_openai_backend_maps_tools_and_tool_calls(load_project, fake_server):
    """https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/ : mapped to OpenAI."""
    bodies: list[dict] = []

    def handler(path: str, headers: dict, body: dict) -> tuple[int, Any, str]:
        assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-local"
        bodies.append(body)
        return 200, {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"location\": \"Lisbon\"}"}}]}}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}}, "application/json"

    rt = load_project(PROJECT)
    rt.ai.use_backend("openai", base_url=fake_server(handler) + "/v1", api_key="sk-local",
                      model_map={"@cf/meta/llama-3.3-70b-instruct-fp8-fast": "llama3.3"})
    result = run(rt, "@cf/meta/llama-3.3-70b-instruct-fp8-fast", {
        "messages": [{"role": "user", "content": "What's the weather in Lisbon?"}], "tools": TOOLS}).to_py()
    assert result["tool_calls"] == [{"name": "get_weather", "arguments": {"location": "Lisbon"}}]
    assert result["usage"] == {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}
    sent = bodies[0]
    assert sent["model"] == "llama3.3"
    assert sent["tools"][0] == TOOLS[0]
    assert sent["messages"] == [{"role": "user", "content": "What's the weather in Lisbon?"}]


def test_openai_backend_json_mode_and_responses_form(load_project, fake_server):
    """https://developers.cloudflare.com/workers-ai/features/json-mode/ : response_format mapped both ways."""
    bodies: list[dict] = []

    def handler(path: str, headers: dict, body: dict) -> tuple[int, Any, str]:
        bodies.append(body)
        content = json.dumps({"capital": "Lisbon"}) if "response_format" in body else "Cloudflare's network."
        return 200, {"choices": [{"message": {"role": "assistant", "content": content}}],
                     "usage": {"prompt_tokens": 4, "completion_tokens": 2}}, "application/json"

    rt = load_project(PROJECT)
    rt.ai.use_backend("openai", base_url=fake_server(handler), model="local-model")
    schema = {"type": "object", "properties": {"capital": {"type": "string"}}, "required": ["capital"]}
    result = run(rt, LLAMA, {"prompt": "Capital of Portugal?",
                             "response_format": {"type": "json_schema", "json_schema": schema}})
    assert result.response == {"capital": "Lisbon"}
    assert bodies[0]["response_format"] == {"type": "json_schema",
                                            "json_schema": {"name": "response", "schema": schema}}
    oss = run(rt, "@cf/openai/gpt-oss-120b", {"instructions": "Be brief.", "input": "Where do Workers run?"}).to_py()
    assert oss["object"] == "response"
    assert oss["output"][-1]["content"][0] == {"type": "output_text", "text": "Cloudflare's network.",
                                               "annotations": []}
    assert bodies[1]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_openai_backend_429_becomes_capacity_error(load_project):
    """https://developers.cloudflare.com/workers-ai/platform/errors/ : 3040 for an overloaded backend."""
    rt = load_project(PROJECT)
    rt.ai.use_backend("openai", base_url="http://llm.test/v1", transport=httpx.MockTransport(
        lambda request: httpx.Response(429, json={"error": {"message": "slow down"}})))
    with pytest.raises(AiError) as info:
        run(rt, LLAMA, {"prompt": "hi"})
    assert info.value.code == 3040 and "slow down" in str(info.value)


def test_unknown_backend_name_is_rejected(load_project):
    """https://developers.cloudflare.com/workers-ai/configuration/bindings/ : offline, workers-ai or openai."""
    rt = load_project(PROJECT)
    with pytest.raises(ValueError, match="unknown Workers AI backend 'gpt5'"):
        rt.ai.use_backend("gpt5")
