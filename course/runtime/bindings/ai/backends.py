"""Where answers come from: the offline model, Workers AI's REST API, or an OpenAI-compatible server.

* ``offline`` (default): :class:`course.runtime.bindings.ai.offline.OfflineModel`, no network.
* ``workers-ai``: ``POST {base_url}/accounts/{account_id}/ai/run/{model}`` with a Bearer token
  (https://developers.cloudflare.com/workers-ai/get-started/rest-api/), inputs sent as is; the
  envelope ``{"result", "success", "errors"}`` is unwrapped and its errors raised as AiError.
  Credentials from ``CLOUDFLARE_ACCOUNT_ID`` / ``CLOUDFLARE_API_TOKEN``, base URL from
  ``CLOUDFLARE_API_BASE_URL`` (default ``https://api.cloudflare.com/client/v4``).
* ``openai``: ``POST {base_url}/chat/completions`` on any OpenAI-compatible server (vLLM,
  Ollama, llama.cpp, OpenAI...). Messages, tools and ``response_format`` are mapped to the OpenAI
  shapes and the answer mapped back to Workers AI's. Settings from ``COURSE_AI_BASE_URL``,
  ``COURSE_AI_API_KEY`` and ``COURSE_AI_MODEL`` (the server's model name; default: the
  Workers AI name).

``COURSE_AI_BACKEND`` picks one of them when a runtime starts; ``service(rt).use_backend(...)``
changes it later. HTTP runs in a worker thread with a synchronous httpx client, so a Worker
awaiting it does not block the runtime's loop; tests pass ``transport=httpx.MockTransport(...)``.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
from typing import Any, Protocol

import httpx

from course.runtime.bindings.ai import errors
from course.runtime.bindings.ai.offline import OfflineModel
from course.runtime.bindings.ai.request import AiRequest, Completion
from course.workers.context import current_runtime

#: Cloudflare API base (https://developers.cloudflare.com/api/).
CLOUDFLARE_API_BASE = "https://api.cloudflare.com/client/v4"
#: Seconds to wait for a real backend before giving up with AiError 3007 (Request timeout).
HTTP_TIMEOUT = 120.0
BACKEND_ALIASES = {"offline": "offline", "workers-ai": "workers-ai", "workers_ai": "workers-ai",
                   "cloudflare": "workers-ai", "rest": "workers-ai", "openai": "openai",
                   "openai-compatible": "openai"}


class Backend(Protocol):
    name: str

    async def complete(self, request: AiRequest, rng: random.Random) -> Completion: ...

    def close(self) -> None: ...


class OfflineBackend:
    """The deterministic offline model (the default)."""

    name = "offline"
    needs_catalog = True

    def __init__(self, model: OfflineModel | None = None) -> None:
        self.model = model or OfflineModel()

    async def complete(self, request: AiRequest, rng: random.Random) -> Completion:
        return self.model.complete(request, rng)

    def close(self) -> None:
        pass


class _HttpBackend:
    needs_catalog = False

    def __init__(self, base_url: str, headers: dict[str, str], transport: httpx.BaseTransport | None,
                 timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(headers=headers, transport=transport, timeout=timeout)

    async def _post(self, url: str, body: dict[str, Any]) -> httpx.Response:
        loop = asyncio.get_running_loop()
        rt = current_runtime.get()
        clock = rt.clock if rt is not None else None
        if clock is not None:
            clock.external_io_started()  # virtual time waits for the real answer
        try:
            return await loop.run_in_executor(None, lambda: self._client.post(url, json=body))
        except httpx.TimeoutException:
            raise errors.timeout() from None
        except httpx.HTTPError as exc:
            raise errors.AiError(None, f"could not reach the {self.name} backend at {url}: {exc}", 502,
                                 "InferenceUpstreamError") from None
        finally:
            if clock is not None:
                clock.external_io_finished()

    def close(self) -> None:
        self._client.close()

    name = "http"


class WorkersAIRestBackend(_HttpBackend):
    """Cloudflare's Workers AI REST API."""

    name = "workers-ai"

    def __init__(self, account_id: str | None = None, api_token: str | None = None, *, base_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, timeout: float = HTTP_TIMEOUT) -> None:
        account_id = account_id or os.environ.get("CLOUDFLARE_ACCOUNT_ID")
        api_token = api_token or os.environ.get("CLOUDFLARE_API_TOKEN")
        if not account_id or not api_token:
            raise ValueError("the workers-ai backend needs an account id and an API token: set "
                             "CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN, or pass account_id= and api_token=")
        self.account_id = account_id
        super().__init__(base_url or os.environ.get("CLOUDFLARE_API_BASE_URL") or CLOUDFLARE_API_BASE,
                         {"Authorization": f"Bearer {api_token}"}, transport, timeout)

    async def complete(self, request: AiRequest, rng: random.Random) -> Completion:
        url = f"{self.base_url}/accounts/{self.account_id}/ai/run/{request.model.name}"
        response = await self._post(url, request.raw)
        if request.stream and response.status_code == 200 and \
                response.headers.get("content-type", "").startswith("text/event-stream"):
            return Completion(stream_body=response.content)
        try:
            envelope = response.json()
        except ValueError:
            raise errors.AiError(None, f"Workers AI answered HTTP {response.status_code} with a body that is not "
                                 f"JSON: {response.text[:200]!r}", response.status_code) from None
        if not envelope.get("success", response.is_success) or response.is_error:
            problems = envelope.get("errors") or [{"code": None, "message": f"HTTP {response.status_code}"}]
            first = problems[0]
            raise errors.AiError(first.get("code"), str(first.get("message")), response.status_code)
        result = envelope.get("result", envelope)
        completion = Completion(raw_result=result if isinstance(result, dict) else {"response": result})
        usage = completion.raw_result.get("usage") or {}
        completion.prompt_tokens = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion.completion_tokens = usage.get("completion_tokens", usage.get("output_tokens"))
        if isinstance(completion.raw_result.get("response"), str):
            completion.text = completion.raw_result["response"]
        completion.tool_calls = list(completion.raw_result.get("tool_calls") or [])
        return completion


class OpenAICompatibleBackend(_HttpBackend):
    """Any server speaking OpenAI's ``/chat/completions``."""

    name = "openai"

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, model: str | None = None,
                 model_map: dict[str, str] | None = None, transport: httpx.BaseTransport | None = None,
                 timeout: float = HTTP_TIMEOUT) -> None:
        base_url = base_url or os.environ.get("COURSE_AI_BASE_URL")
        if not base_url:
            raise ValueError("the openai backend needs a server URL: set COURSE_AI_BASE_URL "
                             "(e.g. http://localhost:11434/v1) or pass base_url=")
        api_key = api_key or os.environ.get("COURSE_AI_API_KEY")
        self.model = model or os.environ.get("COURSE_AI_MODEL")
        self.model_map = dict(model_map or {})
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(base_url, headers, transport, timeout)

    def body(self, request: AiRequest) -> dict[str, Any]:
        """The ``/chat/completions`` request for a Workers AI request."""
        messages = []
        for m in request.messages:
            out: dict[str, Any] = {"role": m["role"], "content": m["content"]}
            if m.get("tool_call_id"):
                out["tool_call_id"] = m["tool_call_id"]
            if m.get("name") and m["role"] == "tool":
                out["name"] = m["name"]
            if m.get("tool_calls"):
                out["tool_calls"] = [{
                    "id": call.get("id") or f"call_{i}", "type": "function",
                    "function": {"name": call.get("function", call).get("name"),
                                 "arguments": json.dumps(call.get("function", call).get("arguments") or {})}}
                    for i, call in enumerate(m["tool_calls"])]
            messages.append(out)
        body: dict[str, Any] = {
            "model": self.model_map.get(request.model.name) or self.model or request.model.name,
            "messages": messages,
            "max_tokens": request.max_tokens,
        }
        for key in ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty"):
            if request.raw.get(key) is not None:
                body[key] = request.raw[key]
        if request.tools:
            body["tools"] = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                               "parameters": t.parameters}} for t in request.tools]
        if request.json_mode:
            if request.json_schema is not None:
                body["response_format"] = {"type": "json_schema",
                                           "json_schema": {"name": "response", "schema": request.json_schema}}
            else:
                body["response_format"] = {"type": "json_object"}
        return body

    async def complete(self, request: AiRequest, rng: random.Random) -> Completion:
        url = f"{self.base_url}/chat/completions"
        response = await self._post(url, self.body(request))
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_error or not isinstance(data, dict):
            detail = (data or {}).get("error") if isinstance(data, dict) else None
            message = detail.get("message") if isinstance(detail, dict) else str(detail or response.text[:200])
            code, status = (errors.OUT_OF_CAPACITY if response.status_code == 429 else (None, response.status_code))
            raise errors.AiError(code, f"the OpenAI-compatible server answered HTTP {response.status_code}: {message}",
                                 status)
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        completion = Completion()
        content = message.get("content")
        calls = []
        for call in message.get("tool_calls") or []:
            fn = call.get("function") or {}
            args = fn.get("arguments")
            try:
                parsed = json.loads(args) if isinstance(args, str) else (args or {})
            except ValueError:
                parsed = args  # keep what the server sent: the Worker sees malformed arguments as they are
            calls.append({"name": fn.get("name"), "arguments": parsed})
        completion.tool_calls = calls
        if request.json_mode and isinstance(content, str):
            try:
                completion.json_value = json.loads(content)
            except ValueError:
                completion.json_value = content
        else:
            completion.text = content
        completion.reasoning = message.get("reasoning_content") or message.get("reasoning")
        usage = data.get("usage") or {}
        completion.prompt_tokens = usage.get("prompt_tokens")
        completion.completion_tokens = usage.get("completion_tokens")
        return completion


def make_backend(kind: str, **options: Any) -> Backend:
    """A backend by name: ``offline``, ``workers-ai`` (alias ``cloudflare``) or ``openai``."""
    name = BACKEND_ALIASES.get(kind.lower().strip()) if isinstance(kind, str) else None
    if name is None:
        raise ValueError(f"unknown Workers AI backend {kind!r}; choose offline, workers-ai or openai")
    if name == "offline":
        return OfflineBackend(**options)
    if name == "workers-ai":
        return WorkersAIRestBackend(**options)
    return OpenAICompatibleBackend(**options)


def backend_from_env() -> Backend:
    """The backend ``COURSE_AI_BACKEND`` names (offline when unset)."""
    return make_backend(os.environ.get("COURSE_AI_BACKEND") or "offline")
