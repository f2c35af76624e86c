"""``js.WebSocket``: a Worker or Durable Object opening a WebSocket to an upstream.

On Cloudflare, ``new WebSocket(url)`` (``js.WebSocket.new(url)`` from Python) starts in the
``CONNECTING`` state and makes the connection with a subrequest (an upgrade ``fetch``); when the
upstream answers 101 the socket is open, ``open`` fires, then ``message`` for each frame, and
``close`` (and ``error`` when it failed). The other form is the upgrade ``fetch`` itself:
``resp = await fetch(url, headers={"Upgrade": "websocket"})``, then ``resp.webSocket.accept()``.
References: https://developers.cloudflare.com/workers/runtime-apis/websockets/ (the client
example), https://websockets.spec.whatwg.org/#the-websocket-interface (states, events, errors).

Here the upgrade request takes the one outbound path every subrequest takes
(``rt.network.outbound_fetch``: faults, latency, registered upstreams), so a test registers an
emulated upstream (``rt.network.upstream("wss://feed.example", "feed-worker")``: another Worker,
or a function returning a 101 with a ``WebSocketPair`` end) and no socket is opened; an
unregistered host is refused offline with fetch's error. Once connected, the socket is the client
end of the upstream's ``WebSocketPair``, accepted where the constructor ran: inside a Durable
Object its events run as events of the object (through its gates, keeping it in memory).
"""
from __future__ import annotations

import base64
import collections
from typing import Any, Callable
from urllib.parse import urlsplit

from course.workers.context import require_runtime
from course.workers.http import Request
from course.workers.jsproxy import JsException
from course.workers.streams import start_producer
from course.workers.websocket import ABNORMAL_CLOSURE, CLOSED, CLOSING, CONNECTING, OPEN, CloseEvent, ErrorEvent
from course.workers.websocket import WebSocket as WebSocketEnd
from course.workers.websocket import WebSocketListeners

#: Schemes a WebSocket URL may have; http(s) are allowed since the WHATWG spec change of 2023
#: (https://websockets.spec.whatwg.org/#dom-websocket-websocket, step "If urlRecord's scheme is
#: http, set it to ws").
HTTP_SCHEME_OF = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
#: RFC 6455 section 4.1: the version a client sends.
WEBSOCKET_VERSION = "13"
#: Close codes a client may pass to close() (WHATWG: 1000, or 3000-4999).
CLIENT_CLOSE_CODES = frozenset({1000} | set(range(3000, 5000)))


class WebSocket(WebSocketListeners):
    """``js.WebSocket``: ``WebSocket.new(url, protocols)``, ``addEventListener``, ``send``, ``close``."""

    CONNECTING, OPEN, CLOSING, CLOSED = CONNECTING, OPEN, CLOSING, CLOSED

    def __init__(self, url: Any, protocols: Any = None) -> None:
        rt = require_runtime("WebSocket")
        text = str(url)
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in HTTP_SCHEME_OF or not parts.netloc:
            raise JsException(f"Failed to construct 'WebSocket': the URL {text!r} is not a ws://, wss://, http:// "
                              "or https:// URL", "SyntaxError")
        if parts.fragment:
            raise JsException(f"Failed to construct 'WebSocket': the URL {text!r} contains a fragment",
                              "SyntaxError")
        if isinstance(protocols, str):
            protocols = [protocols]
        self._protocols = [str(p) for p in (protocols or [])]
        if len(set(self._protocols)) != len(self._protocols):
            raise JsException(f"Failed to construct 'WebSocket': duplicate subprotocols {self._protocols}",
                              "SyntaxError")
        self.url = text
        self._upgrade_url = HTTP_SCHEME_OF[scheme] + text[len(scheme):]
        self.protocol = ""
        self.extensions = ""
        self.binaryType = "arraybuffer"
        self.bufferedAmount = 0
        self.onopen: Callable[..., Any] | None = None
        self.onmessage: Callable[..., Any] | None = None
        self.onclose: Callable[..., Any] | None = None
        self.onerror: Callable[..., Any] | None = None
        self._listeners: dict[str, list[Callable[..., Any]]] = collections.defaultdict(list)
        self._end: WebSocketEnd | None = None
        self._state = CONNECTING
        self._close_requested: tuple[int | None, str | None] | None = None
        self._key = base64.b64encode(bytes(rt.rng("websocket-key").getrandbits(8) for _ in range(16))).decode()
        start_producer(self._connect(rt), label=f"WebSocket({text})")

    @classmethod
    def new(cls, url: Any, protocols: Any = None) -> "WebSocket":
        return cls(url, protocols)

    # -- the API ----------------------------------------------------------------------------
    @property
    def readyState(self) -> int:  # noqa: N802 - the DOM's name
        if self._end is not None:
            return self._end.readyState
        return self._state

    ready_state = readyState

    def send(self, message: Any) -> None:
        if self._end is None:
            if self._state == CONNECTING:
                raise JsException("Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.",
                                  "InvalidStateError")
            raise JsException("Can't call WebSocket send() after the connection failed.", "TypeError")
        self._end.send(message)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        if code is not None and (not isinstance(code, int) or code not in CLIENT_CLOSE_CODES):
            raise JsException(f"Failed to execute 'close' on 'WebSocket': the code must be either 1000, or "
                              f"between 3000 and 4999. {code!r} is neither.", "InvalidAccessError")
        if self._end is not None:
            self._end.close(code, reason)
        elif self._state == CONNECTING:
            self._close_requested = (code, reason)  # closed as soon as the connection is made
            self._state = CLOSING

    # -- connecting --------------------------------------------------------------------------
    def _upgrade_request(self) -> Request:
        headers = [("upgrade", "websocket"), ("connection", "Upgrade"),
                   ("sec-websocket-version", WEBSOCKET_VERSION), ("sec-websocket-key", self._key)]
        if self._protocols:
            headers.append(("sec-websocket-protocol", ", ".join(self._protocols)))
        return Request(self._upgrade_url, method="GET", headers=headers)

    async def _connect(self, rt: Any) -> None:
        try:
            response = await rt.network.outbound_fetch(self._upgrade_request())
        except Exception as exc:  # noqa: BLE001 - a refused or failed connection is an error event
            await self._fail(exc)
            return
        end = response.webSocket
        if response.status != 101 or not isinstance(end, WebSocketEnd):
            await self._fail(JsException(f"WebSocket connection to {self.url!r} failed: the upstream answered "
                                         f"{response.status} instead of 101 Switching Protocols", "Error"))
            return
        self.protocol = response.headers.get("sec-websocket-protocol") or ""
        self._end = end
        for kind in ("open", "message", "close", "error"):
            end.addEventListener(kind, self._relay)
        end.accept_outbound()
        if self._close_requested is not None:
            end.close(*self._close_requested)

    async def _fail(self, error: BaseException) -> None:
        """The connection could not be made: ``error``, then ``close`` with 1006 (WHATWG "fail the
        WebSocket connection")."""
        self._state = CLOSED
        rt = require_runtime("WebSocket")
        rt.log("warn", f"WebSocket {self.url}: {error}")
        await self._relay(ErrorEvent(error))
        await self._relay(CloseEvent(ABNORMAL_CLOSURE, "", False))

    async def _relay(self, event: Any) -> None:
        """Hand an event of the connection to this socket's listeners (and its ``on<type>``)."""
        handlers = list(self._listeners.get(event.type, ()))
        prop = getattr(self, f"on{event.type}", None)
        if prop is not None:
            handlers.append(prop)
        for handler in handlers:
            result = handler(event)
            if hasattr(result, "__await__"):
                await result

    def __repr__(self) -> str:
        state = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")[self.readyState]
        return f"<js.WebSocket {self.url} {state}>"


__all__ = ["WebSocket"]
