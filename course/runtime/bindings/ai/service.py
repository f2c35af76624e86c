"""The Workers AI platform of one runtime: the ``env.AI`` binding, scripts, faults and backends.

There is one :class:`AiService` per runtime (``service(rt)``, also ``rt.ai``); every Worker's
``env.AI`` is an :class:`Ai` binding that calls it. A call goes: model lookup (5007) -> input
validation (5006) -> faults decided before the model (latency, 3040, 3043, 3007) -> the first
matching script, else the backend -> faults that damage the output -> the model's wire shape.
Every call is traced as kind ``"ai"`` and every fault as kind ``"fault"`` with target ``"ai"``.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import random
from typing import Any

from course.runtime.kernel.plugins import ServiceSlot
from course.workers.context import current_worker
from course.workers.jsproxy import wrap

from course.runtime.bindings.ai import errors, tokens, wire
from course.runtime.bindings.ai.backends import Backend, backend_from_env, make_backend
from course.runtime.bindings.ai.faults import AFTER, BEFORE, HALLUCINATED_NAMES, Fault, FaultPlan
from course.runtime.bindings.ai.models import ModelInfo, lookup
from course.runtime.bindings.ai.request import AiRequest, Completion, parse
from course.runtime.bindings.ai.scripts import Script, completion_for
from course.runtime.kernel.runtime import Kernel

SERVICE_NAME = "ai"


class AiService:
    """Workers AI for one runtime."""

    def __init__(self, runtime: Kernel) -> None:
        self.rt = runtime
        self.scripts: list[Script] = []
        self.faults = FaultPlan(runtime.rng("ai:faults"))
        self.models: dict[str, ModelInfo] = {}
        self.backend: Backend = backend_from_env()

    # -- configuration (from notebooks and tests) --------------------------------------------
    def script(self, pattern: Any, reply: Any, *, times: int | None = None, model: str | None = None) -> Script:
        """Answer messages matching ``pattern`` with ``reply`` (see :mod:`course.runtime.bindings.ai.scripts`)."""
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1, got {times!r}")
        script = Script(pattern, reply, times, model, _owner=self.scripts)
        self.scripts.append(script)
        return script

    def clear_scripts(self) -> None:
        self.scripts.clear()

    def fault(self, kind: str, rate: float = 1.0, *, times: int | None = None,
              seconds: float | tuple[float, float] = 1.0, model: str | None = None) -> Fault:
        """Inject a fault (see :mod:`course.runtime.bindings.ai.faults`) at ``rate`` per call."""
        return self.faults.add(kind, rate, times=times, seconds=seconds, model=model)

    def clear_faults(self) -> None:
        self.faults.clear()

    def use_backend(self, kind: str, **options: Any) -> Backend:
        """Switch to ``offline``, ``workers-ai`` (account_id, api_token, base_url) or ``openai``
        (base_url, api_key, model, model_map); ``transport=`` plugs in an httpx transport."""
        backend = make_backend(kind, **options)
        self.backend.close()
        self.backend = backend
        return backend

    def register_model(self, info: ModelInfo) -> None:
        self.models[info.name] = info

    def close(self) -> None:
        self.backend.close()

    # -- a call ------------------------------------------------------------------------------
    def _rng(self, model: str, raw: dict[str, Any]) -> random.Random:
        # Keyed by the request itself: the same seed and input give the same answer whatever
        # other calls happened before.
        digest = hashlib.sha256((model + json.dumps(raw, sort_keys=True, default=str)).encode()).hexdigest()[:16]
        return self.rt.rng(f"ai:model:{digest}")

    def _fault_event(self, fault: Fault, model: str, worker: str | None, **detail: Any) -> None:
        self.rt.trace.record("fault", target="ai", fault=fault.kind, model=model, worker=worker, **detail)

    async def run(self, model: Any, inputs: Any, options: Any = None) -> Any:
        worker = getattr(current_worker.get(), "name", None)
        trace = {"model": model, "worker": worker}
        try:
            return await self._run(model, inputs, options, worker, trace)
        except errors.AiError as exc:
            self.rt.trace.record("ai", status="error", code=exc.code, http_status=exc.status,
                                 error=exc.detail, **trace)
            raise

    async def _run(self, model: Any, inputs: Any, options: Any, worker: str | None, trace: dict[str, Any]) -> Any:
        if not isinstance(model, str) or not model:
            raise errors.invalid_input(f"the model must be a string such as '@cf/meta/llama-3.1-8b-instruct', "
                                       f"got {model!r}")
        info = lookup(model, self.models)
        if info is None:
            if getattr(self.backend, "needs_catalog", True):
                raise errors.no_such_model(model)
            info = ModelInfo(model, context_window=10**9, function_calling=True, json_mode=True,
                             responses_api="gpt-oss" in model)
        request = parse(info, inputs)
        trace.update(form=request.form, stream=request.stream, json_mode=request.json_mode,
                     backend=self.backend.name)
        prompt_tokens = request.prompt_tokens()
        if getattr(self.backend, "needs_catalog", True) and prompt_tokens + request.max_tokens > info.context_window:
            raise errors.context_window_exceeded(info.context_window, prompt_tokens, request.max_tokens)

        for fault in self.faults.draw(BEFORE, model):
            if fault.kind == "latency":
                seconds = self.faults.latency(fault)
                self._fault_event(fault, model, worker, seconds=seconds)
                await asyncio.sleep(seconds)
                continue
            self._fault_event(fault, model, worker)
            raise {"rate_limit": errors.out_of_capacity, "server_error": errors.internal_error,
                   "timeout": errors.timeout}[fault.kind]()

        rng = self._rng(model, request.raw)
        script = next((s for s in self.scripts if s.matches(request)), None)
        if script is not None:
            script.calls += 1
            trace["backend"] = "script"
            completion = completion_for(script.reply, request)
        else:
            completion = await self.backend.complete(request, rng)

        self._damage(request, completion, model, worker)

        if completion.prompt_tokens is not None:
            prompt_tokens = completion.prompt_tokens
        completion_tokens = completion.completion_tokens
        if completion_tokens is None:
            completion_tokens = tokens.count(completion.output_text())
        tool = completion.tool_calls[0].get("name") if completion.tool_calls else None
        self.rt.trace.record("ai", status="ok", input_tokens=prompt_tokens, output_tokens=completion_tokens,
                             tool=tool, tools_offered=[t.name for t in request.tools], **trace)

        if request.stream:
            if completion.stream_body is not None:
                return wire.EventStream(completion.stream_body)
            text = completion.text
            if text is None and completion.raw_result is not None:
                text = completion.raw_result.get("response") if isinstance(completion.raw_result.get("response"),
                                                                           str) else ""
            return wire.sse(text or "", prompt_tokens, completion_tokens, completion.tool_calls)
        if request.form == "responses":
            result = wire.responses_result(request, completion, prompt_tokens, completion_tokens, rng,
                                           int(self.rt.clock.wall()))
        else:
            result = wire.chat_result(request, completion, prompt_tokens, completion_tokens)
        return wrap(result)

    # -- output faults -----------------------------------------------------------------------
    def _damage(self, request: AiRequest, completion: Completion, model: str, worker: str | None) -> None:
        raw = completion.raw_result

        def has_text() -> bool:
            return bool(completion.text) or completion.has_json or (raw is not None and isinstance(raw.get("response"), str))

        def applicable(fault: Fault) -> bool:
            if completion.stream_body is not None:
                return False
            if fault.kind == "hallucinated_tool":
                return bool(completion.tool_calls)
            if fault.kind == "malformed":
                return has_text() or bool(completion.tool_calls)
            return has_text()

        for fault in self.faults.draw(AFTER, model, applicable):
            if fault.kind == "truncated":
                if completion.has_json:
                    text = completion.output_text()
                    completion.json_value = text[: max(1, len(text) // 2)]
                elif completion.text:
                    n = tokens.count(completion.text)
                    completion.text = tokens.truncate(completion.text, max(1, n // 2))
                if raw is not None and isinstance(raw.get("response"), str):
                    raw["response"] = tokens.truncate(raw["response"], max(1, tokens.count(raw["response"]) // 2))
                self._fault_event(fault, model, worker)
            elif fault.kind == "malformed":
                if completion.has_json:
                    # Single quotes and a trailing comma: text that looks like JSON and is not.
                    text = completion.output_text()
                    completion.json_value = text.replace('"', "'").rstrip("}]") + ",}"
                elif completion.tool_calls:
                    for call in completion.tool_calls:
                        args = call.get("arguments")
                        call["arguments"] = json.dumps(args).replace('"', "")[:-1] if isinstance(args, dict) else "{"
                elif completion.text:
                    completion.text = completion.text + "<|eot_id|><|start_header_id|>assistant"
                if raw is not None and isinstance(raw.get("response"), str):
                    raw["response"] += "<|eot_id|>"
                self._fault_event(fault, model, worker)
            elif fault.kind == "hallucinated_tool":
                offered = {t.name for t in request.tools}
                choices = [n for n in HALLUCINATED_NAMES if n not in offered]
                original = completion.tool_calls[0].get("name")
                invented = self.faults.rng.choice(choices)
                completion.tool_calls[0] = {**completion.tool_calls[0], "name": invented}
                self._fault_event(fault, model, worker, tool=invented, instead_of=original)
            if raw is not None and completion.raw_result is raw and completion.tool_calls:
                raw["tool_calls"] = completion.tool_calls


class Ai:
    """``env.AI``: the Workers AI binding a Worker sees."""

    def __init__(self, ai_service: AiService, binding: str = "AI") -> None:
        self._service = ai_service
        self._binding = binding

    async def run(self, model: str, inputs: Any = None, options: Any = None) -> Any:
        """Run ``model`` on ``inputs``; returns the model's output (a JS-like object) or, with
        ``stream: True``, a ``text/event-stream`` body to pass to ``Response``."""
        if inputs is None:
            raise errors.invalid_input("env.AI.run(model, inputs) needs an inputs object such as "
                                       "{'prompt': '...'} or {'messages': [...]}")
        return await self._service.run(model, inputs, options)

    def __repr__(self) -> str:
        return f"<Ai binding {self._binding!r} backend={self._service.backend.name}>"


#: The runtime's Workers AI service (``rt.ai``).
AI: ServiceSlot[AiService] = ServiceSlot(SERVICE_NAME, AiService)


def service(runtime: Kernel) -> AiService:
    """The runtime's Workers AI service (created on first use)."""
    return AI.of(runtime)
