"""One ``env.AI.run`` call, parsed and validated against the model's input schema.

Workers AI text-generation models take one of three input forms (model pages, "Input"):
``prompt`` (a string), ``messages`` (a chat), or, on the gpt-oss models, the Responses form
``instructions`` + ``input``. Whatever the form, the call becomes an :class:`AiRequest` with a
normalized chat (system text, turns, the last user message) that every backend understands, and
a :class:`Completion` comes back, which :mod:`course.runtime.bindings.ai.wire` turns into the model's
output shape.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from course.runtime.bindings.ai import errors, tokens
from course.runtime.bindings.ai.models import (DEFAULT_MAX_TOKENS, DEFAULT_REASONING_EFFORT, MESSAGE_ROLES, REASONING_EFFORTS, SEED_RANGE,
                     TEMPERATURE_RANGE, TOP_K_RANGE, ModelInfo)

#: JSON mode's ``response_format.type`` values (JSON mode page, "Schema").
RESPONSE_FORMAT_TYPES = ("json_object", "json_schema")
#: ``tool_choice`` strings (the OpenAI-compatible form; a ``{"type": "function", ...}`` object names one tool).
TOOL_CHOICES = ("auto", "none", "required")
_MISSING = object()


@dataclass
class Tool:
    """A tool the model may call: Cloudflare's flat form and OpenAI's ``{"type": "function"}`` both map here."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class AiRequest:
    model: ModelInfo
    form: str  # "prompt" | "messages" | "responses"
    messages: list[dict[str, Any]]  # normalized chat: {"role", "content": str, "name"?, "tool_calls"?}
    raw: dict[str, Any]
    tools: list[Tool] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None
    json_mode: bool = False
    stream: bool = False
    max_tokens: int = DEFAULT_MAX_TOKENS
    seed: int | None = None
    reasoning_effort: str | None = None
    instructions: str | None = None
    tool_choice: str = "auto"  # "auto" | "none" | "required"
    forced_tool: str | None = None  # tool_choice {"type": "function", "function": {"name": ...}}

    @property
    def system(self) -> str:
        return "\n".join(m["content"] for m in self.messages if m["role"] == "system")

    @property
    def last_user(self) -> str:
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message["content"]
        return ""

    def prompt_tokens(self) -> int:
        extra = 0
        for tool in self.tools:
            # Tool definitions go into the prompt through the chat template.
            extra += tokens.count(json.dumps({"name": tool.name, "description": tool.description,
                                              "parameters": tool.parameters}))
        if self.json_schema is not None:
            extra += tokens.count(json.dumps(self.json_schema))
        return tokens.count_messages(self.messages) + extra


@dataclass
class Completion:
    """What a backend produced, before it is shaped into the model's output format."""

    text: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    json_value: Any = _MISSING
    reasoning: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    raw_result: dict[str, Any] | None = None  # a complete result from a script or a backend, used as is
    stream_body: bytes | None = None  # an SSE body a backend streamed back, passed through

    @property
    def has_json(self) -> bool:
        return self.json_value is not _MISSING

    def output_text(self) -> str:
        """The text the usage counts are taken from."""
        if self.has_json:
            return self.json_value if isinstance(self.json_value, str) else json.dumps(self.json_value)
        if self.tool_calls and not self.text:
            return json.dumps(self.tool_calls)
        return self.text or ""


def _text_of(content: Any, where: str) -> str:
    """Message content as text: a string, or a list of ``{"type": "text"|"input_text", "text"}`` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for i, part in enumerate(content):
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
            else:
                raise errors.invalid_input(f"{where}/{i} must be a text part {{type, text}}")
        return "\n".join(out)
    raise errors.invalid_input(f"type at '{where}' must be string")


def _tools(value: Any, where: str = "/tools") -> list[Tool]:
    if not isinstance(value, list):
        raise errors.invalid_input(f"type at '{where}' must be array")
    out = []
    for i, item in enumerate(value):
        path = f"{where}/{i}"
        if not isinstance(item, dict):
            raise errors.invalid_input(f"type at '{path}' must be object")
        spec = item.get("function") if isinstance(item.get("function"), dict) else item
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise errors.invalid_input(f"required properties at '{path}' are 'name', 'description', 'parameters' "
                                       "(or 'type' and 'function')")
        params = spec.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(params, dict):
            raise errors.invalid_input(f"type at '{path}/parameters' must be object")
        out.append(Tool(name=name, description=str(spec.get("description") or ""), parameters=params))
    return out


def _tool_choice(value: Any, tools: list[Tool]) -> tuple[str, str | None]:
    """OpenAI-compatible ``tool_choice``: "auto", "none", "required", or one named function."""
    if isinstance(value, str):
        if value not in TOOL_CHOICES:
            raise errors.invalid_input(f"'/tool_choice' must be one of {', '.join(TOOL_CHOICES)} or "
                                       f"{{type: 'function', function: {{name}}}}, got {value!r}")
        return value, None
    if isinstance(value, dict):
        spec = value.get("function") if isinstance(value.get("function"), dict) else value
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise errors.invalid_input("'/tool_choice' must name a function: {type: 'function', function: {name}}")
        if name not in {t.name for t in tools}:
            offered = ", ".join(t.name for t in tools) or "no tools"
            raise errors.invalid_input(f"'/tool_choice' names {name!r}, which is not among the tools ({offered})")
        return "required", name
    raise errors.invalid_input(f"type at '/tool_choice' must be string or object, got {type(value).__name__}")


def _number(raw: dict[str, Any], key: str, lo: float, hi: float, integer: bool = False) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        raise errors.invalid_input(f"type at '/{key}' must be {'integer' if integer else 'number'}, got {value!r}")
    if not lo <= value <= hi:
        raise errors.invalid_input(f"'/{key}' must be between {lo} and {hi}, got {value!r}")
    return int(value) if integer else value


def parse(model: ModelInfo, inputs: Any) -> AiRequest:
    """Validate ``inputs`` for ``model`` and normalize them; raises AiError 5006 naming the bad field."""
    if hasattr(inputs, "to_py"):
        inputs = inputs.to_py()
    if not isinstance(inputs, dict):
        raise errors.invalid_input(f"type at '/' must be object (the inputs of env.AI.run), got {type(inputs).__name__}")
    raw = dict(inputs)
    has_prompt, has_messages, has_input = "prompt" in raw, "messages" in raw, "input" in raw
    if sum((has_prompt, has_messages, has_input)) != 1:
        allowed = "'prompt', 'messages'" + (", 'input'" if model.responses_api else "")
        got = "none of them" if not (has_prompt or has_messages or has_input) else "more than one"
        raise errors.invalid_input(f"oneOf at '/' not met: required properties at '/' are one of {allowed} "
                                   f"({model.name}), got {got}")
    messages: list[dict[str, Any]] = []
    instructions = None
    effort = None
    if has_prompt:
        form = "prompt"
        prompt = raw["prompt"]
        if not isinstance(prompt, str):
            raise errors.invalid_input(f"type at '/prompt' must be string, got {type(prompt).__name__}")
        if not prompt:
            raise errors.invalid_input("'/prompt' must NOT have fewer than 1 characters")
        messages.append({"role": "user", "content": prompt})
    elif has_messages:
        form = "messages"
        items = raw["messages"]
        if not isinstance(items, list):
            raise errors.invalid_input(f"type at '/messages' must be array, got {type(items).__name__}")
        if not items:
            raise errors.invalid_input("'/messages' must NOT have fewer than 1 items")
        for i, item in enumerate(items):
            path = f"/messages/{i}"
            if not isinstance(item, dict):
                raise errors.invalid_input(f"type at '{path}' must be object, got {type(item).__name__}")
            role = item.get("role")
            if not isinstance(role, str) or "content" not in item and not item.get("tool_calls"):
                raise errors.invalid_input(f"required properties at '{path}' are 'role', 'content'")
            if role not in MESSAGE_ROLES:
                raise errors.invalid_input(f"'{path}/role' must be one of {', '.join(MESSAGE_ROLES)}, got {role!r}")
            message: dict[str, Any] = {"role": role, "content": _text_of(item.get("content"), f"{path}/content")}
            for key in ("name", "tool_call_id", "tool_calls"):
                if item.get(key) is not None:
                    message[key] = item[key]
            messages.append(message)
    else:
        if not model.responses_api:
            raise errors.invalid_input(f"oneOf at '/' not met: required properties at '/' are 'prompt' or "
                                       f"'messages'; {model.name} does not take the Responses form "
                                       "('instructions'/'input'), which the gpt-oss models do")
        form = "responses"
        instructions = raw.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise errors.invalid_input("type at '/instructions' must be string")
        if instructions:
            messages.append({"role": "system", "content": instructions})
        data = raw["input"]
        if isinstance(data, str):
            if not data:
                raise errors.invalid_input("'/input' must NOT be empty")
            messages.append({"role": "user", "content": data})
        elif isinstance(data, list):
            for i, item in enumerate(data):
                path = f"/input/{i}"
                if isinstance(item, str):
                    messages.append({"role": "user", "content": item})
                elif isinstance(item, dict) and item.get("type") == "function_call_output":
                    messages.append({"role": "tool", "content": _text_of(item.get("output"), path + "/output"),
                                     "tool_call_id": item.get("call_id")})
                elif isinstance(item, dict) and item.get("type") == "function_call":
                    args = item.get("arguments")
                    messages.append({"role": "assistant", "content": "", "tool_calls": [
                        {"name": item.get("name"), "arguments": json.loads(args) if isinstance(args, str) else args,
                         "id": item.get("call_id")}]})
                elif isinstance(item, dict) and isinstance(item.get("role"), str):
                    role = "system" if item["role"] == "developer" else item["role"]
                    messages.append({"role": role, "content": _text_of(item.get("content"), path + "/content")})
                else:
                    raise errors.invalid_input(f"'{path}' must be a message {{role, content}} or a "
                                               "function_call_output item")
        else:
            raise errors.invalid_input(f"anyOf at '/input' not met: must be string or array, got {type(data).__name__}")
        reasoning = raw.get("reasoning")
        if reasoning is not None:
            if not isinstance(reasoning, dict):
                raise errors.invalid_input("type at '/reasoning' must be object")
            effort = reasoning.get("effort", DEFAULT_REASONING_EFFORT)
            if effort not in REASONING_EFFORTS:
                raise errors.invalid_input(f"'/reasoning/effort' must be one of {', '.join(REASONING_EFFORTS)}, "
                                           f"got {effort!r}")
        effort = effort or DEFAULT_REASONING_EFFORT
    if not any(m["role"] in ("user", "tool") for m in messages):
        raise errors.invalid_input("the conversation has no 'user' message to answer")

    request = AiRequest(model=model, form=form, messages=messages, raw=raw, instructions=instructions,
                        reasoning_effort=effort)
    if raw.get("tools") is not None:
        request.tools = _tools(raw["tools"])
    if raw.get("tool_choice") is not None:
        request.tool_choice, request.forced_tool = _tool_choice(raw["tool_choice"], request.tools)
    fmt = raw.get("response_format")
    if fmt is None and form == "responses" and isinstance(raw.get("text"), dict):
        fmt = raw["text"].get("format")  # the Responses API puts JSON mode under text.format
    if fmt is not None:
        if not isinstance(fmt, dict):
            raise errors.invalid_input("type at '/response_format' must be object")
        kind = fmt.get("type")
        if kind not in RESPONSE_FORMAT_TYPES:
            if kind != "text":
                raise errors.invalid_input(f"'/response_format/type' must be one of "
                                           f"{', '.join(RESPONSE_FORMAT_TYPES)}, got {kind!r}")
        else:
            request.json_mode = True
            schema = fmt.get("json_schema", fmt.get("schema"))
            if isinstance(schema, dict) and "schema" in schema and isinstance(schema["schema"], dict):
                schema = schema["schema"]  # OpenAI's {"name", "schema"} wrapper
            if kind == "json_schema":
                if not isinstance(schema, dict):
                    raise errors.invalid_input("'/response_format/json_schema' must be a JSON Schema object")
                _check_schema(schema)
                request.json_schema = schema
    stream = raw.get("stream", False)
    if not isinstance(stream, bool):
        raise errors.invalid_input(f"type at '/stream' must be boolean, got {stream!r}")
    request.stream = stream
    if stream and request.json_mode:
        # JSON mode page: "JSON Mode currently doesn't support streaming."
        raise errors.invalid_input("JSON Mode currently doesn't support streaming: drop 'stream' or 'response_format'")
    max_tokens = raw.get("max_tokens", raw.get("max_output_tokens"))
    if max_tokens is not None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise errors.invalid_input(f"'/max_tokens' must be a positive integer, got {max_tokens!r}")
        request.max_tokens = max_tokens
    _number(raw, "temperature", *TEMPERATURE_RANGE)
    _number(raw, "top_k", *TOP_K_RANGE, integer=True)
    _number(raw, "top_p", 0, 2)
    request.seed = _number(raw, "seed", *SEED_RANGE, integer=True)
    return request


def _check_schema(schema: dict[str, Any]) -> None:
    # Imported on first use, not to dodge a cycle: jsonschema takes ~0.8 s to import and only JSON mode
    # needs it.
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise errors.invalid_input(f"'/response_format/json_schema' is not a valid JSON Schema"
                                   f"{' at ' + where if where else ''}: {exc.message}") from None
