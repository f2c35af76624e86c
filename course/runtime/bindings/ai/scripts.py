"""Scripted replies: lessons and tests decide what the model says to a given message.

``service(rt).script(pattern, reply)`` matches ``pattern`` against the last user message: a
string matches as a case-insensitive substring, a compiled ``re.Pattern`` by ``search``, a
callable gets the request's inputs dict and returns True to match. The first matching script
wins. ``reply`` is a string (the response text), a tool call (``tool_call("get_weather",
location="Lisbon")`` or ``{"name", "arguments"}``), a list of tool calls, a full result dict
(anything with ``response``, ``tool_calls`` or ``output``: returned as is), in JSON mode any
other dict (the JSON value), an exception instance (raised), or a callable taking the inputs
and returning one of those. ``times=1`` makes a script one-shot; the default repeats.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from course.runtime.bindings.ai.request import AiRequest, Completion

Matcher = "str | re.Pattern[str] | Callable[[dict[str, Any]], bool]"


def tool_call(name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """A tool call reply: ``tool_call("get_weather", location="Lisbon")``."""
    return {"name": name, "arguments": {**(arguments or {}), **kwargs}}


@dataclass
class Script:
    pattern: Any
    reply: Any
    times: int | None = None
    model: str | None = None
    calls: int = 0
    _owner: list["Script"] | None = field(default=None, repr=False)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.calls >= self.times

    def matches(self, request: AiRequest) -> bool:
        if self.exhausted or (self.model is not None and self.model != request.model.name):
            return False
        text = request.last_user
        if isinstance(self.pattern, re.Pattern):
            return self.pattern.search(text) is not None
        if isinstance(self.pattern, str):
            return self.pattern.lower() in text.lower()
        if callable(self.pattern):
            return bool(self.pattern(request.raw))
        raise TypeError(f"a script pattern must be a str, a re.Pattern or a callable, got {type(self.pattern).__name__}")

    def remove(self) -> None:
        if self._owner is not None and self in self._owner:
            self._owner.remove(self)


def _is_tool_call(value: Any) -> bool:
    return isinstance(value, dict) and "name" in value and set(value) <= {"name", "arguments", "id"}


def completion_for(reply: Any, request: AiRequest) -> Completion:
    """Turn a script's reply into a Completion (or raise the scripted exception)."""
    if callable(reply) and not isinstance(reply, (str, dict, list)):
        reply = reply(request.raw)
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, str):
        if request.json_mode:
            return Completion(json_value=reply)
        return Completion(text=reply)
    if _is_tool_call(reply):
        return Completion(tool_calls=[{"name": reply["name"], "arguments": reply.get("arguments") or {}}])
    if isinstance(reply, list) and reply and all(_is_tool_call(r) for r in reply):
        return Completion(tool_calls=[{"name": r["name"], "arguments": r.get("arguments") or {}} for r in reply])
    if isinstance(reply, dict):
        if {"response", "tool_calls", "output"} & set(reply):
            return Completion(raw_result=reply, text=reply.get("response") if isinstance(reply.get("response"), str)
                              else None)
        if request.json_mode:
            return Completion(json_value=reply)
    raise TypeError(f"a script reply must be a str, a tool call, a list of tool calls, a result dict, an "
                    f"exception or a callable returning one; got {reply!r}")
