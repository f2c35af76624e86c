"""Workers AI output shapes: chat results, the Responses object, and server-sent event streams.

* Chat models (``prompt``/``messages``): ``{"response", "tool_calls"?, "usage": {prompt_tokens,
  completion_tokens, total_tokens}}`` (model pages, "Output"). With JSON mode ``response`` is the
  object itself (JSON mode page). When the model calls tools, ``tool_calls`` is a list of
  ``{"name", "arguments": {...}}`` (traditional function calling page) and ``response`` is null.
* The Responses form (gpt-oss ``instructions``/``input``): an OpenAI Responses object whose
  ``output`` holds a ``reasoning`` item and a ``message`` item with ``output_text`` content, or
  ``function_call`` items (arguments as a JSON string, as the Responses API sends them).
* ``stream: true``: ``text/event-stream`` bytes, one ``data: {"response": "..."}`` event per
  word, a last event with ``usage``, then ``data: [DONE]`` (bindings page, "stream").
"""
from __future__ import annotations

import json
import random
from typing import Any, Iterator

from course.runtime.bindings.ai import tokens
from course.runtime.bindings.ai.request import AiRequest, Completion

SSE_DONE = b"data: [DONE]\n\n"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def chat_result(request: AiRequest, completion: Completion, prompt_tokens: int, completion_tokens: int) -> dict:
    if completion.raw_result is not None:
        result = dict(completion.raw_result)
        result.setdefault("usage", usage(prompt_tokens, completion_tokens))
        return result
    if completion.has_json:
        return {"response": completion.json_value, "usage": usage(prompt_tokens, completion_tokens)}
    result: dict[str, Any] = {"response": completion.text if completion.text or not completion.tool_calls else None}
    if request.tools or completion.tool_calls:
        result["tool_calls"] = [dict(call) for call in completion.tool_calls]
    result["usage"] = usage(prompt_tokens, completion_tokens)
    return result


def _id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice("0123456789abcdef") for _ in range(24))


def responses_result(request: AiRequest, completion: Completion, prompt_tokens: int, completion_tokens: int,
                     rng: random.Random, created_at: int) -> dict:
    if completion.raw_result is not None:
        return dict(completion.raw_result)
    output: list[dict[str, Any]] = []
    if completion.reasoning:
        output.append({"id": _id(rng, "rs_"), "type": "reasoning", "summary": [],
                       "content": [{"type": "reasoning_text", "text": completion.reasoning}]})
    for call in completion.tool_calls:
        args = call.get("arguments")
        output.append({"id": _id(rng, "fc_"), "type": "function_call", "status": "completed",
                       "call_id": _id(rng, "call_"), "name": call.get("name"),
                       "arguments": args if isinstance(args, str) else json.dumps(args)})
    if not completion.tool_calls or completion.text:
        text = completion.output_text() if completion.has_json else (completion.text or "")
        output.append({"id": _id(rng, "msg_"), "type": "message", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": text, "annotations": []}]})
    return {
        "id": _id(rng, "resp_"),
        "object": "response",
        "created_at": created_at,
        "model": request.model.name,
        "status": "completed",
        "instructions": request.instructions,
        "output": output,
        "reasoning": {"effort": request.reasoning_effort, "summary": None},
        "tools": request.raw.get("tools") or [],
        "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


class EventStream(bytes):
    """A ``text/event-stream`` body from ``env.AI.run(..., {"stream": True})``.

    On Cloudflare this is a ReadableStream you hand to ``Response``; here it is the complete
    body as bytes, which ``Response(stream, headers={"content-type": "text/event-stream"})``
    accepts. ``events()`` parses it and ``text()`` joins the streamed ``response`` pieces.
    """

    content_type = "text/event-stream"

    def to_bytes(self) -> bytes:
        return bytes(self)

    def events(self) -> list[Any]:
        out: list[Any] = []
        for block in bytes(self).decode("utf-8").split("\n\n"):
            for line in block.splitlines():
                if line.startswith("data: "):
                    data = line[len("data: "):]
                    out.append(data if data == "[DONE]" else json.loads(data))
        return out

    def text(self) -> str:
        return "".join(e.get("response") or "" for e in self.events() if isinstance(e, dict))

    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
        """Chunks, one event each, as a stream reader would see them."""
        for block in bytes(self).split(b"\n\n"):
            if block:
                yield block + b"\n\n"


def sse(text: str, prompt_tokens: int, completion_tokens: int,
        tool_calls: list[dict[str, Any]] | None = None) -> EventStream:
    chunks = [b"data: " + json.dumps({"response": piece}).encode() + b"\n\n" for piece in tokens.stream_chunks(text)]
    if tool_calls:
        chunks.append(b"data: " + json.dumps({"response": "", "tool_calls": tool_calls}).encode() + b"\n\n")
    chunks.append(b"data: " + json.dumps({"response": "", "usage": usage(prompt_tokens, completion_tokens)}).encode()
                  + b"\n\n")
    chunks.append(SSE_DONE)
    return EventStream(b"".join(chunks))
