"""The Workers AI model catalog: the text-generation models the course runtime emulates.

Each entry records what the model's page on developers.cloudflare.com says: the context window
(the page's ``context_window`` property), whether it supports function calling, JSON mode
(the JSON mode page's list of supported models) and the ``instructions``/``input`` Responses
form (the gpt-oss models). Worker code that names a model outside this catalog gets Workers AI's
"No such model" error; ``service(rt).register_model(ModelInfo(...))`` adds one.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Index of every model page.
MODELS_DOC = "https://developers.cloudflare.com/workers-ai/models/"
#: JSON mode page (its "Supported Models" list sets ``json_mode`` below).
JSON_MODE_DOC = "https://developers.cloudflare.com/workers-ai/features/json-mode/"
#: Traditional function calling: ``tools`` in, ``tool_calls`` out.
FUNCTION_CALLING_DOC = "https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/"
#: ``env.AI.run(model, inputs, options)`` and ``stream: true``.
BINDINGS_DOC = "https://developers.cloudflare.com/workers-ai/configuration/bindings/"
#: Error codes (5007 No such model, 3040 Out of capacity...).
ERRORS_DOC = "https://developers.cloudflare.com/workers-ai/platform/errors/"

#: ``max_tokens`` default in every text-generation model's input schema (model pages, "Parameters").
DEFAULT_MAX_TOKENS = 256
#: ``temperature`` bounds in the input schemas.
TEMPERATURE_RANGE = (0.0, 5.0)
#: ``top_k`` bounds in the input schemas.
TOP_K_RANGE = (1, 50)
#: ``seed`` bounds in the input schemas.
SEED_RANGE = (1, 9_999_999_999)
#: Message roles the chat template accepts (schema: "'user', 'assistant', 'system', 'tool'").
MESSAGE_ROLES = ("system", "user", "assistant", "tool")
#: gpt-oss ``reasoning.effort`` values and default (gpt-oss-120b page, "reasoning_effort").
REASONING_EFFORTS = ("low", "medium", "high")
DEFAULT_REASONING_EFFORT = "medium"


@dataclass(frozen=True)
class ModelInfo:
    """One text-generation model and the capabilities its Cloudflare page lists."""

    name: str
    context_window: int
    function_calling: bool = False
    json_mode: bool = False
    responses_api: bool = False
    reasoning: bool = False
    description: str = ""

    @property
    def doc_url(self) -> str:
        return MODELS_DOC + self.name.rsplit("/", 1)[-1] + "/"

    @property
    def family(self) -> str:
        """The vendor segment of the name (``meta``, ``openai``...)."""
        parts = self.name.split("/")
        return parts[1] if len(parts) > 2 else ""


def _m(name: str, context_window: int, description: str, **caps: bool) -> ModelInfo:
    return ModelInfo(name=name, context_window=context_window, description=description, **caps)


#: The models the offline runtime answers for, by name. Context windows from each model page.
CATALOG: dict[str, ModelInfo] = {m.name: m for m in (
    _m("@cf/meta/llama-3.1-8b-instruct", 7_968, "Llama 3.1 8B, multilingual dialogue.", json_mode=True),
    _m("@cf/meta/llama-3.1-8b-instruct-fast", 128_000, "Llama 3.1 8B, faster variant."),
    _m("@cf/meta/llama-3.1-8b-instruct-fp8", 32_000, "Llama 3.1 8B quantized to fp8."),
    _m("@cf/meta/llama-3-8b-instruct", 7_968, "Llama 3 8B instruct.", json_mode=True),
    _m("@cf/meta/llama-3.2-3b-instruct", 128_000, "Llama 3.2 3B, small multilingual model."),
    _m("@cf/meta/llama-3.2-1b-instruct", 60_000, "Llama 3.2 1B, the smallest Llama."),
    _m("@cf/meta/llama-3.3-70b-instruct-fp8-fast", 24_000, "Llama 3.3 70B quantized to fp8, optimized to be faster.",
       function_calling=True, json_mode=True),
    _m("@cf/meta/llama-4-scout-17b-16e-instruct", 131_000, "Llama 4 Scout, mixture of experts.",
       function_calling=True),
    _m("@cf/mistralai/mistral-small-3.1-24b-instruct", 128_000, "Mistral Small 3.1 24B.", function_calling=True),
    _m("@hf/nousresearch/hermes-2-pro-mistral-7b", 24_000, "Hermes 2 Pro on Mistral 7B, trained for function calling.",
       function_calling=True, json_mode=True),
    _m("@cf/qwen/qwen2.5-coder-32b-instruct", 32_768, "Qwen 2.5 Coder 32B, code generation."),
    _m("@cf/qwen/qwq-32b", 24_000, "QwQ 32B, a reasoning model.", reasoning=True),
    _m("@cf/qwen/qwen3-30b-a3b-fp8", 32_768, "Qwen3 30B A3B, reasoning and tool use.",
       function_calling=True, reasoning=True),
    _m("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", 80_000, "DeepSeek R1 distilled into Qwen 32B.",
       json_mode=True, reasoning=True),
    _m("@cf/google/gemma-3-12b-it", 80_000, "Gemma 3 12B instruct."),
    _m("@cf/openai/gpt-oss-120b", 128_000, "OpenAI open-weight model for production, high-reasoning use.",
       function_calling=True, responses_api=True, reasoning=True),
    _m("@cf/openai/gpt-oss-20b", 128_000, "OpenAI open-weight model for lower latency.",
       function_calling=True, responses_api=True, reasoning=True),
)}


def lookup(name: str, extra: dict[str, ModelInfo] | None = None) -> ModelInfo | None:
    """The catalog entry for ``name`` (models registered at runtime first), or None."""
    if extra and name in extra:
        return extra[name]
    return CATALOG.get(name)
