"""Stand-in for Pyodide's ``js`` module: the JavaScript globals Python Workers code imports.

``from js import Response, Object, JSON`` keeps working unchanged. Constructors are called
with ``.new(...)`` as in Pyodide (``js.Response.new("hi")``), or directly.
"""
from __future__ import annotations

import json as _json
import sys
from typing import Any, Iterable

from course.workers.fetch import fetch
from course.workers.http import Headers, Request
from course.workers.http import Response as _WorkersResponse
from course.workers.http import _ClassOrInstanceMethod
from course.workers.jsproxy import JsArray, JsBuffer, JsObject, to_py, wrap
from course.workers.streams import IdentityTransformStream, ReadableStream, TransformStream, WritableStream
from course.workers.websocket import WebSocketPair, WebSocketRequestResponsePair


def _js_string(value: Any) -> str:
    """``String(value)`` for a value Python passed to a JavaScript API (a PyProxy's ``toString``
    is Python's ``str``; a JS object is ``[object Object]``)."""
    if isinstance(value, JsObject):
        return "[object Object]"
    if isinstance(value, JsArray):
        return ",".join("" if v is None else _js_string(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Response(_WorkersResponse):
    """``js.Response``: JavaScript's Response, as Pyodide code calls it.

    Two things differ from the Python SDK's ``workers.Response``: a body JavaScript cannot take
    as a body (a dict, a number...) is converted with ``String()`` instead of refused, and the
    static ``Response.json(data)`` is JavaScript's (``JSON.stringify``: compact, non-ASCII kept).
    https://developers.cloudflare.com/workers/runtime-apis/response/
    """

    @classmethod
    def new(cls, body: Any = None, *args: Any, **kwargs: Any) -> "Response":  # type: ignore[override]
        if body is not None and not isinstance(body, (str, bytes, bytearray, memoryview)) \
                and not hasattr(body, "to_bytes") and not _is_body_type(body):
            body = _js_string(body)
        return cls(body, *args, **kwargs)

    @staticmethod
    def _js_json(cls: type, data: Any = None, init: Any = None, **kwargs: Any) -> "Response":
        text = _json.dumps(to_py(data), separators=(",", ":"), ensure_ascii=False)
        options = dict(init or {}) | kwargs
        headers = Headers(options.pop("headers", None))
        if not headers.has("content-type"):
            headers.set("content-type", "application/json")
        return cls(text, headers=headers, init=options)

    json = _ClassOrInstanceMethod(_js_json.__func__, _WorkersResponse.__dict__["json"].on_instance)  # type: ignore[attr-defined]


def _is_body_type(body: Any) -> bool:
    from course.workers.blob import Blob
    from course.workers.formdata import FormData

    return isinstance(body, (Blob, FormData))


class Uint8Array:
    """``js.Uint8Array``: ``Uint8Array.new(length | bytes | array)`` as a ``JsBuffer``."""

    @staticmethod
    def new(source: Any = 0, *_: Any) -> JsBuffer:
        if isinstance(source, int):
            return JsBuffer(bytes(source))
        return JsBuffer(bytes(source))

    @staticmethod
    def of(*items: int) -> JsBuffer:
        return JsBuffer(bytes(items))


ArrayBuffer = Uint8Array


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
        from course.workers.context import current_runtime

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


class URLSearchParams:
    """``js.URLSearchParams``: ordered query parameters (``get``, ``getAll``, ``has``, ``set``...)."""

    def __init__(self, init: Any = "") -> None:
        from urllib.parse import parse_qsl

        if isinstance(init, str):
            self._pairs = parse_qsl(init.lstrip("?"), keep_blank_values=True)
        elif isinstance(init, dict):
            self._pairs = [(str(k), str(v)) for k, v in init.items()]
        else:
            self._pairs = [(str(k), str(v)) for k, v in init]

    @classmethod
    def new(cls, init: Any = "") -> "URLSearchParams":
        return cls(init)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self._pairs if k == name), None)

    def getAll(self, name: str) -> JsArray:  # noqa: N802
        return JsArray(v for k, v in self._pairs if k == name)

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self._pairs)

    def set(self, name: str, value: Any) -> None:
        rest = [(k, v) for k, v in self._pairs if k != name]
        first = next((i for i, (k, _) in enumerate(self._pairs) if k == name), len(rest))
        rest.insert(min(first, len(rest)), (name, str(value)))
        self._pairs = rest

    def append(self, name: str, value: Any) -> None:
        self._pairs.append((name, str(value)))

    def delete(self, name: str) -> None:
        self._pairs = [(k, v) for k, v in self._pairs if k != name]

    def entries(self) -> JsArray:
        return JsArray([k, v] for k, v in self._pairs)

    def keys(self) -> JsArray:
        return JsArray(k for k, _ in self._pairs)

    def toString(self) -> str:  # noqa: N802
        from urllib.parse import urlencode

        return urlencode(self._pairs)

    __str__ = toString

    @property
    def size(self) -> int:
        return len(self._pairs)


class URL:
    """``js.URL``: ``URL.new(request.url).pathname``, ``.searchParams``, ``.hostname``..."""

    def __init__(self, url: str, base: str | None = None) -> None:
        from urllib.parse import urljoin, urlsplit

        from course.workers.jsproxy import JsException

        text = urljoin(str(base), str(url)) if base is not None else str(url)
        parts = urlsplit(text)
        if not parts.scheme or (parts.scheme in ("http", "https", "ws", "wss") and not parts.netloc):
            raise JsException(f"Invalid URL string: {url!r}", "TypeError")
        self.protocol = parts.scheme + ":"
        self.username = parts.username or ""
        self.password = parts.password or ""
        self.hostname = parts.hostname or ""
        default_ports = {"http": 80, "https": 443, "ws": 80, "wss": 443}
        self.port = "" if parts.port in (None, default_ports.get(parts.scheme)) else str(parts.port)
        self.pathname = parts.path or "/"
        self.searchParams = URLSearchParams(parts.query)
        self.hash = f"#{parts.fragment}" if parts.fragment else ""

    @classmethod
    def new(cls, url: str, base: str | None = None) -> "URL":
        return cls(url, base)

    @property
    def host(self) -> str:
        return f"{self.hostname}:{self.port}" if self.port else self.hostname

    @property
    def origin(self) -> str:
        return f"{self.protocol}//{self.host}"

    @property
    def search(self) -> str:
        query = self.searchParams.toString()
        return f"?{query}" if query else ""

    @property
    def href(self) -> str:
        auth = f"{self.username}:{self.password}@" if self.username or self.password else ""
        return f"{self.protocol}//{auth}{self.host}{self.pathname}{self.search}{self.hash}"

    def toString(self) -> str:  # noqa: N802
        return self.href

    __str__ = toString

    def __repr__(self) -> str:
        return f"URL({self.href!r})"


class crypto:  # noqa: N801 - JS name
    """``js.crypto``: ``randomUUID()`` and ``getRandomValues()``, seeded by the runtime."""

    @staticmethod
    def _rng() -> Any:
        import random

        from course.workers.context import current_runtime

        rt = current_runtime.get()
        return rt.rng("js.crypto") if rt is not None else random.SystemRandom()

    @staticmethod
    def randomUUID() -> str:  # noqa: N802
        import uuid

        return str(uuid.UUID(int=crypto._rng().getrandbits(128), version=4))

    @staticmethod
    def getRandomValues(array: Any) -> Any:  # noqa: N802
        rng = crypto._rng()
        for i in range(len(array)):
            array[i] = rng.getrandbits(8)
        return array


class Map(dict):
    """``js.Map``: ``Map.new()`` / ``Map.new(entries)`` with ``get``, ``set``, ``has``, ``delete``, ``size``."""

    @classmethod
    def new(cls, entries: Any = None) -> "Map":
        return cls(entries or [])

    def set(self, key: Any, value: Any) -> "Map":
        self[key] = value
        return self

    def has(self, key: Any) -> bool:
        return key in self

    def delete(self, key: Any) -> bool:
        return self.pop(key, _MISSING) is not _MISSING

    @property
    def size(self) -> int:
        return len(self)

    def to_py(self, **_: Any) -> dict:
        return to_py(dict(self))


_MISSING = object()


class Error:
    """``js.Error.new(message)``: the JavaScript error type, as ``pyodide.ffi.JsException``."""

    @staticmethod
    def new(message: str = "") -> Any:
        from course.workers.jsproxy import JsException

        return JsException(message, "Error")


def __getattr__(name: str) -> Any:
    if name in ("Blob", "File", "FormData"):
        from course.workers import blob, formdata

        cls = getattr(blob, name, None) or getattr(formdata, name)
        return _with_new(cls)
    if name == "WebSocketPair":
        return WebSocketPair
    if name == "WebSocketRequestResponsePair":
        return WebSocketRequestResponsePair
    if name == "HTMLRewriter":
        from course.workers.html_rewriter import HTMLRewriter

        return HTMLRewriter
    if name == "WebSocket":
        from course.workers.websocket_client import WebSocket

        return WebSocket
    if name in ("globalThis", "self"):
        return sys.modules[__name__]
    raise AttributeError(f"module 'js' has no attribute {name!r} in the course's emulated runtime")


def _with_new(cls: type) -> type:
    """The class with a ``new`` classmethod (``js.Blob.new(...)``), set once."""
    if "new" not in cls.__dict__:
        cls.new = classmethod(lambda c, *a, **k: c(*a, **k))  # type: ignore[attr-defined]
    return cls


__all__ = ["Response", "Request", "Headers", "ReadableStream", "TransformStream", "IdentityTransformStream",
           "WritableStream", "Uint8Array", "ArrayBuffer", "Object", "JSON", "Date", "console", "Array", "fetch",
           "URL", "URLSearchParams", "crypto", "Map", "Error"]
