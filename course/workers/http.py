"""Request, Response and Headers with the semantics of the Workers Fetch API.

Cloudflare's Python Workers wrap the JavaScript Fetch API; these classes reproduce what Python
code observes of it: case-insensitive headers that iterate lowercased and sorted, bodies that
can be read once (``bodyUsed``), ``Response.json`` / ``Response.redirect``, and ``web_socket``
on a 101 response. Reference: https://developers.cloudflare.com/workers/runtime-apis/request/
and https://developers.cloudflare.com/workers/runtime-apis/response/
"""
from __future__ import annotations

import json as _json
from http import HTTPStatus
from types import MethodType
from typing import Any, Iterable, Iterator, Mapping, TypedDict
from urllib.parse import quote, urlsplit

from course.workers.jsproxy import JsArray, JsBuffer, JsException, JsObject, to_py, wrap
from course.workers.streams import LiveReadableStream, ReadableStream

HeadersInit = "Headers | Mapping[str, str] | Iterable[tuple[str, str]] | None"

# Response.redirect accepts only these statuses (Fetch standard, "redirect status").
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Statuses that must not carry a body (Fetch standard, "null body status").
NULL_BODY_STATUSES = frozenset({101, 204, 205, 304})

#: What the WHATWG URL serializer leaves unescaped in a path, a special-scheme query and a
#: fragment (https://url.spec.whatwg.org/#percent-encoded-bytes); existing %XX escapes stay.
_PATH_SAFE = "!$%&'()*+,-./:;=@[]\\^_|~"
_QUERY_SAFE = "!$%&()*+,-./:;=?@[]\\^_`{|}~"
_FRAGMENT_SAFE = "!#$%&'()*+,-./:;=?@[]\\^_{|}~"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
#: Characters a header name may not hold (RFC 9110 token), as a set: one intersection per check.
_BAD_HEADER_NAME_CHARS = frozenset(" \t\r\n:()<>@,;\\\"/[]?={}")
#: Each status's reason phrase, the default ``statusText`` (http.HTTPStatus), looked up once.
_REASON_PHRASES = {s.value: s.phrase for s in HTTPStatus}


def serialize_url(url: Any) -> str:
    """``new URL(url).href`` for an absolute URL: lower-case scheme and host, no default port,
    ``/`` for an empty path, and spaces and non-ASCII characters percent-encoded (UTF-8).

    A relative or malformed URL raises workerd's ``TypeError: Unable to parse URL: ...``.
    """
    text = str(url).strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise JsException(f"Unable to parse URL: {text}", "TypeError") from None
    scheme = parts.scheme.lower()
    if not scheme or (scheme in _DEFAULT_PORTS and not parts.hostname):
        raise JsException(f"Unable to parse URL: {text}", "TypeError")
    netloc = ""
    if parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (userinfo + "@" if userinfo else "") + (parts.hostname or "")
        if port is not None and port != _DEFAULT_PORTS.get(scheme):
            netloc += f":{port}"
    path = quote(parts.path, safe=_PATH_SAFE) or ("/" if scheme in _DEFAULT_PORTS else "")
    out = f"{scheme}://{netloc}{path}" if parts.netloc or scheme in _DEFAULT_PORTS else f"{scheme}:{path}"
    if "?" in text.split("#", 1)[0]:
        out += "?" + quote(parts.query, safe=_QUERY_SAFE)
    if "#" in text:
        out += "#" + quote(parts.fragment, safe=_FRAGMENT_SAFE)
    return out


class Headers:
    """A Fetch ``Headers``: case-insensitive, multi-valued, iterates lowercased and sorted."""

    def __init__(self, init: Any = None) -> None:
        self._items: list[tuple[str, str]] = []
        if init is None:
            return
        if isinstance(init, Headers):
            self._items = list(init._items)
        elif type(init) is dict or isinstance(init, Mapping):
            for k, v in init.items():
                self.append(k, v)
        else:
            for pair in init:
                k, v = pair
                self.append(k, v)

    @staticmethod
    def _check(name: str, value: Any) -> tuple[str, str]:
        if not isinstance(name, str) or not name or not _BAD_HEADER_NAME_CHARS.isdisjoint(name):
            raise TypeError(f"Invalid header name: {name!r}")
        value = str(value).strip(" \t")
        if "\n" in value or "\r" in value or "\0" in value:
            raise TypeError(f"Invalid header value for {name!r}")
        return name.lower(), value

    def append(self, name: str, value: Any) -> None:
        self._items.append(self._check(name, value))

    def set(self, name: str, value: Any) -> None:
        key, value = self._check(name, value)
        if self.has(key):
            self._items = [(k, v) for k, v in self._items if k != key]
        self._items.append((key, value))

    def delete(self, name: str) -> None:
        key = name.lower()
        self._items = [(k, v) for k, v in self._items if k != key]

    def get(self, name: str, default: Any = None) -> str | None:
        key = name.lower()
        found = None
        for k, v in self._items:
            if k == key:
                found = v if found is None else f"{found}, {v}"
        return default if found is None else found

    def getAll(self, name: str) -> list[str]:  # noqa: N802 - Cloudflare's name
        key = name.lower()
        return [v for k, v in self._items if k == key]

    def getSetCookie(self) -> list[str]:  # noqa: N802
        return self.getAll("set-cookie")

    def has(self, name: str) -> bool:
        key = name.lower()
        for k, _ in self._items:
            if k == key:
                return True
        return False

    def raw_items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair in insertion order, repeated names kept (for the wire)."""
        return list(self._items)

    def items(self) -> list[tuple[str, str]]:
        names = sorted({k for k, _ in self._items})
        out: list[tuple[str, str]] = []
        for name in names:
            if name == "set-cookie":
                out.extend((name, v) for v in self.getAll(name))
            else:
                out.append((name, self.get(name)))  # type: ignore[arg-type]
        return out

    entries = items

    def keys(self) -> list[str]:
        return [k for k, _ in self.items()]

    def values(self) -> list[str]:
        return [v for _, v in self.items()]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.has(name)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        self.delete(name)

    def __len__(self) -> int:
        return len(self.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self.items() == other.items()
        if isinstance(other, Mapping):
            return dict(self.items()) == {k.lower(): str(v) for k, v in other.items()}
        return NotImplemented

    def to_dict(self) -> dict[str, str]:
        return dict(self.items())

    @classmethod
    def new(cls, *args: Any, **kwargs: Any) -> "Headers":
        """``js.Headers.new(...)``, the spelling Pyodide uses for JS constructors."""
        return cls(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class RequestHeaders(Headers):
    """A Request's headers as the Python SDK gives them (an ``email.message.Message``): a
    missing name reads as None with ``headers["x"]`` too, instead of raising KeyError."""

    def __getitem__(self, name: str) -> str | None:  # type: ignore[override]
        return self.get(name)


def _encode_body(body: Any) -> tuple[bytes | None, str | None]:
    """Body bytes and the content-type the Fetch API would infer for that body type."""
    if body is None:
        return None, None
    if isinstance(body, LiveReadableStream):
        if body.locked:
            raise JsException("This ReadableStream is locked to a reader and cannot be used as a body.",
                              "TypeError")
        return body, None  # type: ignore[return-value]
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain;charset=UTF-8"
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), None
    if hasattr(body, "to_bytes") and callable(body.to_bytes):
        return bytes(body.to_bytes()), None
    from course.workers.blob import Blob
    from course.workers.formdata import FormData

    if isinstance(body, FormData):
        return body.encode()
    if isinstance(body, Blob):
        return body._data, body.content_type or None
    if isinstance(body, (dict, list)):
        raise TypeError(
            "Response/Request body must be str, bytes or None; to send JSON use "
            "Response.json(data) or json.dumps(data)"
        )
    raise TypeError(f"Unsupported body type {type(body).__name__}: use str, bytes or None")


class _Body:
    """The readable-once body shared by Request and Response.

    The bytes are in memory (``_body``), or still arriving (``_live``, a
    :class:`~course.workers.streams.LiveReadableStream`): Worker code then reads them as they come
    (``body.getReader()``, ``async for``) or whole (``await text()``...), and the platform outside
    the runtime's loop (an in-process client, ``course serve``) reads ``body`` as the whole bytes.
    """

    headers: Headers

    # The body's state, in plain attributes: ``_incoming`` (a live stream, or None), ``_data``
    # (the bytes, or None) and ``_stream`` (the ReadableStream ``body`` gave, made once).
    _incoming: "LiveReadableStream | None"
    _data: bytes | None
    _stream: "ReadableStream | None"

    def _init_body(self, body: "bytes | LiveReadableStream | None") -> None:
        if isinstance(body, LiveReadableStream):
            self._incoming, self._data = body, None
            body._on_read = self._mark_used
        else:
            self._incoming, self._data = None, body
        self._stream = None
        self._used = False

    @property
    def _body(self) -> bytes | None:
        """The body's bytes (a streaming body is read whole first: only off the runtime's loop)."""
        live = self._incoming
        if live is not None:
            self._data = live.read_all_blocking()
            self._incoming = self._stream = None
        return self._data

    @_body.setter
    def _body(self, value: bytes | None) -> None:
        self._incoming, self._data, self._stream = None, value, None

    @property
    def _live(self) -> "LiveReadableStream | None":
        return self._incoming

    @property
    def has_body(self) -> bool:
        """Whether there is a body (in memory or streaming), without reading it."""
        return self._incoming is not None or self._data is not None

    @property
    def streaming(self) -> bool:
        """Whether the body is a stream still being produced."""
        return self._incoming is not None

    @property
    def bodyUsed(self) -> bool:  # noqa: N802 - Fetch name
        return self._used

    @property
    def body_used(self) -> bool:
        return self._used

    @property
    def body(self) -> "ReadableStream | LiveReadableStream | None":
        """The body as a ``ReadableStream``, or None when there is none.

        In Worker code a streaming body is its live stream; outside the runtime's loop (the
        platform sending the response) it is read whole and given as bytes.
        """
        live = self._incoming
        if live is not None:
            rt = live.runtime
            if rt is not None and not rt.on_loop_thread():
                self._body  # noqa: B018 - reads the stream whole (off the loop)
            else:
                return live  # type: ignore[no-any-return]
        if self._body is None:
            return None
        stream = self._stream
        if stream is None:
            stream = self._stream = ReadableStream(self._body, on_read=self._mark_used)
        return stream

    def _mark_used(self) -> None:
        self._used = True

    def _consume(self) -> bytes:
        if self._used:
            raise JsException("Body has already been used. It can only be used once. Use tee() "
                              "first if you need to read it twice.", "TypeError")
        self._used = True
        return self._body or b""

    async def _take(self) -> bytes:
        """The whole body, read once (waiting for a streaming body to end)."""
        live = self._incoming
        if live is None:
            return self._consume()
        if self._used:
            self._consume()  # raises the "already used" TypeError
        self._used = True
        return await live.read_all()

    async def bytes(self) -> JsBuffer:
        return JsBuffer(await self._take())

    async def arrayBuffer(self) -> JsBuffer:  # noqa: N802
        return await self.bytes()

    async def text(self) -> str:
        return (await self._take()).decode("utf-8", errors="replace")

    async def buffer(self) -> JsBuffer:
        """The Python SDK's name for ``arrayBuffer()``."""
        return await self.bytes()

    async def json(self, **kwargs: Any) -> Any:
        raw = await self._take()
        try:
            return wrap(_json.loads(raw.decode("utf-8") if raw else "", **kwargs))
        except ValueError as exc:
            raise JsException(f"Unexpected token in JSON: {exc}", "SyntaxError") from None

    async def form_data(self) -> Any:
        """The body as ``workers.FormData`` (url-encoded or multipart/form-data)."""
        from course.workers.formdata import FormData

        return FormData.parse(await self._take(), self.headers.get("content-type"))

    formData = form_data  # noqa: N815 - Fetch name

    async def blob(self) -> Any:
        from course.workers.blob import Blob

        return Blob([await self._take()], content_type=self.headers.get("content-type") or "")


class Request(_Body):
    """A Workers ``Request``: ``Request(url_or_request, method=, headers=, body=)``."""

    def __init__(self, input: Any, init: Mapping[str, Any] | None = None, *, method: str | None = None,
                 headers: Any = None, body: Any = None, cf: Mapping[str, Any] | None = None,
                 redirect: str = "follow", **_: Any) -> None:
        if init:
            options = dict(init)
            method = method or options.get("method")
            headers = headers if headers is not None else options.get("headers")
            body = body if body is not None else options.get("body")
            cf = cf if cf is not None else options.get("cf")
        if isinstance(input, Request):
            base = input
            url = base.url
            method = method or base.method
            if headers is None:
                headers = base.headers  # copied below
            if body is None and base._live is not None:
                body = base._live  # the new Request takes over the stream, as in JavaScript
                base._used = True
            elif body is None and base.has_body:
                body = base._body
            cf = cf if cf is not None else base.cf
        else:
            url = str(input)
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc:
            raise JsException(f"Invalid URL: {url!r} (Workers need an absolute URL, e.g. "
                              "'https://example.com/path')", "TypeError")
        self.url = url
        self.method = (method or "GET").upper()
        self.headers = RequestHeaders(headers)
        if body is not None:
            data, ctype = _encode_body(body)
            if data is not None and self.method in ("GET", "HEAD"):
                raise JsException("Request with a GET or HEAD method cannot have a body.", "TypeError")
            if ctype and not self.headers.has("content-type"):
                self.headers.set("content-type", ctype)
            self._init_body(data)
        else:
            self._incoming = self._data = self._stream = None
            self._used = False
        self.cf = wrap(dict(cf)) if cf else JsObject()
        self.redirect = redirect

    @classmethod
    def copy_of(cls, base: "Request") -> "Request":
        """``Request(base)``, without the checks ``base`` passed already: the copy a Durable
        Object or a service receives of its caller's request (a body stream moves to it)."""
        request = object.__new__(cls)
        request.url = base.url
        request.method = base.method
        headers = request.headers = RequestHeaders()
        headers._items = list(base.headers._items)
        live = base._live
        if live is not None:
            request._init_body(live)
            base._used = True
        else:
            request._init_body(base._body)
        cf = base.cf
        request.cf = wrap(dict(cf)) if cf else JsObject()
        request.redirect = "follow"
        return request

    def clone(self) -> "Request":
        if self._used:
            raise JsException("Cannot clone a Request whose body has been used.", "TypeError")
        if self._live is not None:
            mine, theirs = self._live.tee()
            self._init_body(mine)
            return Request(self, body=theirs)
        return Request(self)

    @property
    def js_object(self) -> "Request":
        return self

    #: The Python SDK keeps the JavaScript Request here; examples pass it on to other APIs.
    _js_request = js_object

    @classmethod
    def new(cls, *args: Any, **kwargs: Any) -> "Request":
        """``js.Request.new(...)``, the spelling Pyodide uses for JS constructors."""
        return cls(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


class _ClassOrInstanceMethod:
    """A method that does one thing on the class and another on an instance."""

    def __init__(self, on_class: Any, on_instance: Any) -> None:
        self.on_class, self.on_instance = on_class, on_instance

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return MethodType(self.on_class, owner)
        return MethodType(self.on_instance, obj)


class Response(_Body):
    """A Workers ``Response``: ``Response(body, status=200, headers=..., web_socket=...)``."""

    def __init__(self, body: Any = None, status: Any = None, status_text: str | None = None, headers: Any = None,
                 web_socket: Any = None, *, statusText: str | None = None, webSocket: Any = None,
                 init: Mapping[str, Any] | None = None, _content_type: str | None = None, **_: Any) -> None:
        # The Python SDK's order is (body, status, status_text, headers, web_socket); the
        # JavaScript one is (body, init): a mapping in second place is a JS init object.
        if status is not None and type(status) is not int and isinstance(status, Mapping):
            init, status = status, None
        if init:
            options = dict(init)
            status = status if status is not None else options.get("status", 200)
            headers = headers if headers is not None else options.get("headers")
            web_socket = web_socket or webSocket or options.get("webSocket") or options.get("web_socket")
            text = statusText or status_text or options.get("statusText")
        else:
            if status is None:
                status = 200
            web_socket = web_socket or webSocket
            text = statusText or status_text
        if type(status) is not int and (not isinstance(status, int) or isinstance(status, bool)):
            raise JsException(f"Response status must be an integer, got {status!r}", "TypeError")
        status = int(status)  # an http.HTTPStatus is accepted, as by the Python SDK
        if status == 101:
            if web_socket is None:
                raise JsException("Responses with status 101 must carry a webSocket "
                                  "(Response(None, status=101, web_socket=client))", "RangeError")
        elif not 200 <= status <= 599:
            # workerd's exact message (tests/conformance: http_status)
            raise JsException("Responses may only be constructed with status codes in the "
                              "range 200 to 599, inclusive.", "RangeError")
        self.status = status
        self.headers = Headers(headers)
        data, ctype = _encode_body(body)
        if data is not None and status in NULL_BODY_STATUSES:
            raise JsException("Response with null body status (101, 204, 205, or 304) cannot have a "
                              "body.", "TypeError")
        if _content_type is not None:  # Response.json: its type unless the headers name one
            ctype = _content_type
        if ctype and not self.headers.has("content-type"):
            self.headers.append("content-type", ctype)
        self._init_body(data)
        self.statusText = text if text is not None else _REASON_PHRASES.get(status, "")
        self.webSocket = web_socket
        self.url = ""
        self.redirected = False

    @property
    def web_socket(self) -> Any:
        return self.webSocket

    @property
    def status_text(self) -> str:
        return self.statusText

    @property
    def type(self) -> str:
        return "default"

    @property
    def js_object(self) -> "Response":
        """The JavaScript Response under the Python SDK's (examples pass it to JS APIs such as
        ``HTMLRewriter.transform``); here the same object."""
        return self

    def raise_for_status(self) -> None:
        """Raise ``OSError`` for a 4xx/5xx status (pyodide.http.FetchResponse behaviour)."""
        if 400 <= self.status < 600:
            kind = "Client" if self.status < 500 else "Server"
            raise OSError(f"{self.status} {kind} Error: {self.statusText} for url: {self.url}")

    def replace_body(self, body: Any) -> "Response":
        """A new Response with this one's status and headers and another body."""
        headers = Headers(self.headers)
        if isinstance(body, (str, bytes)) or body is None:
            headers.delete("content-length")
        return Response(body, status=self.status, status_text=self.statusText, headers=headers)

    @classmethod
    def from_json(cls, data: Any, status: int = 200, status_text: str = "", headers: Any = None) -> "Response":
        """``Response.from_json(data, status=200, status_text="", headers=None)``."""
        return cls._json_factory(cls, data, None, status_text or None, headers, status=status)

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299

    @staticmethod
    def _json_factory(cls: type, data: Any = None, init: Any = None, status_text: str | None = None,
                      headers: Any = None, *, status: int | None = None, **kwargs: Any) -> "Response":
        # Python SDK order: Response.json(data, status, status_text, headers); JS: (data, init).
        if init is not None and not isinstance(init, Mapping):
            init, status = None, init if status is None else status
        if cls is Response and init is None and headers is None and not status_text and not kwargs and (
                status is None or (type(status) is int and 200 <= status <= 599 and status not in NULL_BODY_STATUSES)):
            # The common ``Response.json(data)`` / ``Response.json(data, status=...)``: nothing to
            # validate beyond the status, one header.
            response = object.__new__(Response)
            response.status = status = 200 if status is None else status
            headers = response.headers = Headers()
            headers._items.append(("content-type", "application/json"))
            response._init_body(json_body(data).encode("utf-8"))
            response.statusText = _REASON_PHRASES.get(status, "")
            response.webSocket = None
            response.url = ""
            response.redirected = False
            return response
        if status_text:
            kwargs["statusText"] = status_text
        return cls(json_body(data), status=status, headers=headers, init=init, _content_type="application/json",
                   **kwargs)

    # `Response.json(data)` builds a response; `await response.json()` reads one.
    json = _ClassOrInstanceMethod(_json_factory.__func__, _Body.json)  # type: ignore[attr-defined]

    @classmethod
    def redirect(cls, url: str, status: int = 302) -> "Response":
        if status not in REDIRECT_STATUSES:
            raise JsException(f"{status} is not a redirect status code. It must be one of: 301, 302, "
                              "303, 307, or 308.", "RangeError")
        # workerd parses the URL and sends its serialization (tests/conformance:
        # http_redirect_statuses); a relative URL is a TypeError.
        return cls(None, status=status, headers={"location": serialize_url(url)})

    @classmethod
    def new(cls, *args: Any, **kwargs: Any) -> "Response":
        """``js.Response.new(...)``, the spelling Pyodide uses for JS constructors."""
        return cls(*args, **kwargs)

    def clone(self) -> "Response":
        if self._used:
            raise JsException("Cannot clone a Response whose body has been used.", "TypeError")
        body: Any = self._body if self._live is None else None
        if self._live is not None:
            body, theirs = self._live.tee()
            self._init_body(theirs)
        r = Response(body, status=self.status, headers=Headers(self.headers), web_socket=self.webSocket)
        r.statusText = self.statusText
        return r

    def __repr__(self) -> str:
        return f"<Response [{self.status}]>"


def json_body(data: Any) -> str:
    """The text ``Response.json(data)`` sends, as the Python SDK makes it.

    The SDK (workers-py, ``Response.from_json``) sends ``json.dumps(data)`` for Python values:
    ``", "`` and ``": "`` separators and non-ASCII escaped (``"\\u00e9"``). A JavaScript value
    (a ``JsProxy``: what ``to_js`` returns or a binding gave) goes to JavaScript's
    ``Response.json``, that is ``JSON.stringify``: compact, non-ASCII kept.
    """
    if isinstance(data, (JsObject, JsArray)):
        return _json.dumps(to_py(data), separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return _PY_JSON.encode(data)


def _json_default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    import datetime

    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: ``json.dumps(data, default=_json_default)``, one encoder for every call
_PY_JSON = _json.JSONEncoder(default=_json_default)

#: What ``workers.fetch`` returns (the Python SDK's base class of Response).
FetchResponse = Response


class RequestInitCfProperties(TypedDict, total=False):
    """``cf`` options of a subrequest
    (https://developers.cloudflare.com/workers/runtime-apis/request/#the-cf-property-requestinitcfproperties)."""

    apps: bool | None
    cacheEverything: bool | None
    cacheKey: str | None
    cacheTags: list[str] | None
    cacheTtl: int
    cacheTtlByStatus: dict[str, int]
    image: Any
    mirage: bool | None
    polish: str | None
    resolveOverride: str | None
    scrapeShield: bool | None
    webp: bool | None


class FetchKwargs(TypedDict, total=False):
    """Keyword options of ``fetch`` and ``Request``
    (https://developers.cloudflare.com/workers/runtime-apis/request/#options)."""

    headers: Any
    body: Any
    method: str | None
    redirect: str | None
    cf: RequestInitCfProperties | None


#: Body types, as the Python SDK names them (documentation aliases).
JSBody = "Blob | JsBuffer | FormData"
Body = "str | bytes | FormData | JSBody"
