"""Stand-in for Pyodide's ``js`` module: the JavaScript globals Python Workers code imports.

``from js import Response, Object, JSON`` keeps working unchanged. Constructors are called
with ``.new(...)`` as in Pyodide (``js.Response.new("hi")``), or directly.
"""
from __future__ import annotations

import json as _json
from typing import Any, Iterable

from .fetch import fetch
from .http import Headers, Request, Response
from .jsproxy import JsArray, JsObject, to_py, wrap


class Object:
    """``js.Object``: ``Object.fromEntries``, ``Object.new``, ``Object.keys/values/entries``."""

    @staticmethod
    def fromEntries(entries: Iterable[Any]) -> JsObject:  # noqa: N802
        if isinstance(entries, dict):
            entries = entries.items()
        return JsObject({k: wrap(v) for k, v in entries})

    @staticmethod
    def new() -> JsObject:
        return JsObject()

    @staticmethod
    def keys(obj: dict) -> JsArray:
        return JsArray(obj.keys())

    @staticmethod
    def values(obj: dict) -> JsArray:
        return JsArray(obj.values())

    @staticmethod
    def entries(obj: dict) -> JsArray:
        return JsArray([k, v] for k, v in obj.items())

    @staticmethod
    def assign(target: dict, *sources: dict) -> dict:
        for src in sources:
            target.update(src)
        return target


class JSON:
    """``js.JSON``: ``stringify`` and ``parse`` with JavaScript's compact output."""

    @staticmethod
    def stringify(value: Any, replacer: Any = None, space: Any = None) -> str:
        indent = space if isinstance(space, int) and space > 0 else None
        seps = (",", ":") if indent is None else (",", ": ")
        return _json.dumps(to_py(value), separators=seps, indent=indent, ensure_ascii=False)

    @staticmethod
    def parse(text: str) -> Any:
        return wrap(_json.loads(text))


class Date:
    """``js.Date.now()``: milliseconds since the epoch on the runtime's clock."""

    @staticmethod
    def now() -> int:
        import time

        return int(time.time() * 1000)


class console:  # noqa: N801 - JS name
    """``js.console``: log lines go to the runtime's log and trace."""

    @staticmethod
    def _emit(level: str, *args: Any) -> None:
        from .context import current_runtime

        message = " ".join(a if isinstance(a, str) else JSON.stringify(a) if isinstance(a, (dict, list)) else str(a)
                           for a in args)
        rt = current_runtime.get()
        if rt is not None:
            rt.log(level, message)
        else:
            print(message)

    @staticmethod
    def log(*args: Any) -> None:
        console._emit("log", *args)

    @staticmethod
    def info(*args: Any) -> None:
        console._emit("info", *args)

    @staticmethod
    def warn(*args: Any) -> None:
        console._emit("warn", *args)

    @staticmethod
    def error(*args: Any) -> None:
        console._emit("error", *args)

    debug = log


class Array:
    """``js.Array``: ``Array.new()`` and ``Array.of(...)``."""

    @staticmethod
    def new(*items: Any) -> JsArray:
        return JsArray(items)

    @staticmethod
    def of(*items: Any) -> JsArray:
        return JsArray(items)


def __getattr__(name: str) -> Any:
    # WebSocketPair lives with the WebSocket emulation; imported lazily so this module loads
    # without it.
    if name == "WebSocketPair":
        from course.runtime.websockets import WebSocketPair  # type: ignore[import-not-found]

        return WebSocketPair
    raise AttributeError(f"module 'js' has no attribute {name!r} in the course's emulated runtime")


__all__ = ["Response", "Request", "Headers", "Object", "JSON", "Date", "console", "Array", "fetch"]
