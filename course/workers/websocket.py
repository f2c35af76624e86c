"""WebSockets as Worker code sees them: ``WebSocketPair``, ``WebSocket`` and its events.

The model follows https://developers.cloudflare.com/workers/runtime-apis/websockets/ :

- ``client, server = WebSocketPair.new().object_values()`` makes two connected ends. A Worker
  (or a Durable Object) keeps ``server`` and returns ``Response(None, status=101,
  web_socket=client)``; the platform hands ``client`` to whoever made the upgrade request.
- The standard API: ``server.accept()``, then ``addEventListener("message" | "close" |
  "error", handler)``. Messages that arrive before ``accept()`` wait for it.
- The hibernation API's socket side: ``serializeAttachment`` / ``deserializeAttachment``; the
  ``ctx`` side (``ctx.acceptWebSocket``...) belongs to the Durable Object
  (``course.runtime.objects.hibernation``).

This module is the connection's state machine only (open, closing, closed; the close handshake;
frames buffered until accepted). Everything that needs the platform goes through a
:class:`WebSocketLink`, one per end, which the runtime attaches when a pair is made: putting a
frame on the wire (latency, partitions, drops), handing an arrived frame to listeners or to a
Durable Object through its gates, keeping an object in memory while a socket is open, tracing.
The runtime keeps its :class:`WebSocketWire` in ``runtime.services[WEBSOCKET_WIRE_SERVICE]``;
a pair finds it through :data:`course.workers.context.current_runtime`.
"""
from __future__ import annotations

import base64
import collections
import datetime as _dt
import json
from typing import Any, Callable, Protocol

from course.workers.context import require_runtime
from course.workers.jsproxy import JsArray, JsBuffer, JsException, wrap

# -- limits, with their sources ---------------------------------------------------------------
#: serializeAttachment: "Maximum serialized size is 16,384 bytes"
#: (https://developers.cloudflare.com/durable-objects/best-practices/websockets/#websocketserializeattachment;
#: older pages said 2,048 bytes). Sizes are measured on a JSON encoding (an approximation of V8's).
MAX_ATTACHMENT_BYTES = 16_384
#: setWebSocketAutoResponse: "Both request and response are limited to 2,048 characters each"
#: (https://developers.cloudflare.com/durable-objects/api/state/#setwebsocketautoresponse).
MAX_AUTO_RESPONSE_CHARS = 2_048
#: Received WebSocket message size: 32 MiB
#: (https://developers.cloudflare.com/durable-objects/platform/limits/).
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
#: RFC 6455 section 5.5: a control frame carries at most 125 bytes, 2 of them the close code.
MAX_CLOSE_REASON_BYTES = 123
#: Close codes an application may send (RFC 6455 section 7.4: 1000-1003, 1007-1014, 3000-4999).
SENDABLE_CLOSE_CODES = frozenset(set(range(1000, 1004)) | set(range(1007, 1015)) | set(range(3000, 5000)))
#: Close code reported when the connection dropped without a Close frame (RFC 6455 7.1.5).
ABNORMAL_CLOSURE = 1006
#: Close code for a message over the size limit (RFC 6455 7.4.1).
MESSAGE_TOO_BIG = 1009

CONNECTING, OPEN, CLOSING, CLOSED = 0, 1, 2, 3

#: The key of the runtime's :class:`WebSocketWire` in ``runtime.services``.
WEBSOCKET_WIRE_SERVICE = "websockets"


# -- the port to the platform -------------------------------------------------------------------
class WebSocketLink(Protocol):
    """The platform's side of one WebSocket end (``course.runtime`` implements it).

    Frames are ``("message", str | JsBuffer)`` or ``("close", (code, reason, was_clean))``.
    """

    def accepted(self) -> None:
        """``accept()`` was called: settle where the end lives (a Worker, or the Durable Object
        it then keeps in memory)."""

    def transmit(self, kind: str, payload: Any) -> None:
        """Put a frame from this end on the wire to its peer."""

    def arrive(self, kind: str, payload: Any) -> None:
        """A frame reaches this end after the sender's current step, with no wire in between."""

    def fire(self, kind: str, payload: Any) -> None:
        """Hand a frame that reached this (accepted) end on: to listeners, an object, a client."""

    def released(self) -> None:
        """This end is closed: let go of what it held (an object in memory, a registration)."""

    def auto_reply_to_close(self) -> bool:
        """Whether the platform answers a received Close frame for this end."""

    def clone(self, value: Any) -> Any:
        """A structured clone of ``value`` as plain Python (for attachments)."""

    def trace(self, kind: str, **data: Any) -> None:
        """Record a trace event about this end."""


class WebSocketWire(Protocol):
    """The runtime's WebSocket service: numbers pairs and gives each end its link."""

    def next_pair(self) -> int: ...

    def link(self, ws: "WebSocket") -> WebSocketLink: ...


def current_wire(what: str) -> WebSocketWire:
    """The wire of the runtime running the current task."""
    rt = require_runtime(what)
    wire = rt.services.get(WEBSOCKET_WIRE_SERVICE)
    if wire is None:
        raise RuntimeError(f"{what} needs a runtime with WebSockets (course.runtime.Runtime)")
    return wire  # type: ignore[no-any-return]


# -- events ---------------------------------------------------------------------------------
class Event:
    """A plain event (``open``)."""

    def __init__(self, type: str) -> None:  # noqa: A002 - the DOM's name
        self.type = type

    def __repr__(self) -> str:
        return f"<Event {self.type}>"


class MessageEvent:
    """A ``message`` event: ``data`` is a str (text frame) or a JsBuffer (binary frame)."""

    type = "message"

    def __init__(self, data: Any) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"<MessageEvent {self.data!r:.60}>"


class CloseEvent:
    """A ``close`` event: ``code``, ``reason``, ``wasClean``."""

    type = "close"

    def __init__(self, code: int, reason: str, was_clean: bool) -> None:
        self.code, self.reason, self.wasClean = code, reason, was_clean

    @property
    def was_clean(self) -> bool:
        return self.wasClean

    def __repr__(self) -> str:
        return f"<CloseEvent code={self.code} reason={self.reason!r} wasClean={self.wasClean}>"


class ErrorEvent:
    """An ``error`` event: ``error`` (the exception) and ``message``."""

    type = "error"

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.message = str(error)

    def __repr__(self) -> str:
        return f"<ErrorEvent {self.message!r}>"


def event_for(kind: str, payload: Any) -> Event | MessageEvent | CloseEvent | ErrorEvent:
    """The event object listeners receive for a frame of ``kind``."""
    if kind == "open":
        return Event("open")
    if kind == "message":
        return MessageEvent(payload)
    if kind == "close":
        return CloseEvent(*payload)
    return ErrorEvent(payload)


def _text_or_buffer(message: Any) -> str | JsBuffer:
    if isinstance(message, str):
        return message
    if isinstance(message, (bytes, bytearray, memoryview)):
        return JsBuffer(bytes(message))
    if hasattr(message, "to_bytes") and callable(message.to_bytes):
        return JsBuffer(bytes(message.to_bytes()))
    raise JsException(f"WebSocket send() takes a string or bytes (ArrayBuffer), got {type(message).__name__}",
                      "TypeError")


def _size(data: str | bytes) -> int:
    return len(data.encode("utf-8")) if isinstance(data, str) else len(data)


def _check_close(code: Any, reason: Any) -> tuple[int, str]:
    if code is None:
        code = 1000
    if not isinstance(code, int) or isinstance(code, bool) or code not in SENDABLE_CLOSE_CODES:
        raise JsException(f"Invalid WebSocket close code {code!r}: use 1000, 1001-1003, 1007-1014 or 3000-4999 "
                          "(RFC 6455 section 7.4)", "InvalidAccessError")
    reason = "" if reason is None else str(reason)
    if len(reason.encode("utf-8")) > MAX_CLOSE_REASON_BYTES:
        raise JsException(f"WebSocket close reason is {len(reason.encode())} bytes; at most "
                          f"{MAX_CLOSE_REASON_BYTES} are allowed", "SyntaxError")
    return code, reason


# -- a WebSocket end --------------------------------------------------------------------------
class WebSocketListeners:
    """``addEventListener`` / ``removeEventListener`` of a WebSocket (either end, or a client's):
    the four events of the WebSocket API, handlers kept in ``self._listeners``."""

    _listeners: dict[str, list[Callable[..., Any]]]

    def addEventListener(self, type: str, handler: Callable[..., Any], *_: Any) -> None:  # noqa: N802
        if type not in ("open", "message", "close", "error"):
            raise JsException(f"WebSocket has no {type!r} event; use 'open', 'message', 'close' or 'error'",
                              "TypeError")
        if not callable(handler):
            raise JsException(f"addEventListener() needs a function, got {type(handler).__name__}", "TypeError")
        self._listeners[type].append(handler)

    def removeEventListener(self, type: str, handler: Callable[..., Any], *_: Any) -> None:  # noqa: N802
        try:
            self._listeners[type].remove(handler)
        except ValueError:
            pass

    add_event_listener, remove_event_listener = addEventListener, removeEventListener


class WebSocket(WebSocketListeners):
    """One end of a WebSocket connection, as Worker code sees it."""

    READY_STATE_CONNECTING = CONNECTING_STATE = CONNECTING
    READY_STATE_OPEN = OPEN
    READY_STATE_CLOSING = CLOSING
    READY_STATE_CLOSED = CLOSED
    CONNECTING, OPEN, CLOSING, CLOSED = CONNECTING, OPEN, CLOSING, CLOSED

    def __init__(self, label: str, wire: WebSocketWire) -> None:
        self.label = label
        self._peer: WebSocket | None = None
        self.readyState = OPEN
        self.url: str | None = None
        self.protocol = ""
        self.extensions = ""
        #: None (not accepted), "standard" (accept()), "hibernatable" (ctx.acceptWebSocket)
        #: or "external" (the platform holds it for a client connection).
        self._mode: str | None = None
        self._listeners: dict[str, list[Callable[..., Any]]] = collections.defaultdict(list)
        self._buffer: list[tuple[str, Any]] = []
        self._close_sent = False
        self._close_received = False
        self._tags: tuple[str, ...] = ()
        self._attachment: str | None = None
        #: The platform's side of this end.
        self.link: WebSocketLink = wire.link(self)

    # -- the standard API -------------------------------------------------------------------
    def accept(self) -> None:
        """Start delivering this socket's events to listeners added with addEventListener()."""
        self._take("standard")
        self.link.accepted()
        self.link.trace("ws_accept", mode="standard")
        self._flush()


    def send(self, message: Any) -> None:
        """Send a text (str) or binary (bytes) message to the other end."""
        if self._mode is None:
            raise JsException("You must call one of accept() or state.acceptWebSocket() on this WebSocket "
                              "before sending messages.", "TypeError")
        if self._close_sent or self.readyState == CLOSED:
            raise JsException("Can't call WebSocket send() after close().", "TypeError")
        self.link.transmit("message", _text_or_buffer(message))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake (a no-op once this end has sent its Close frame)."""
        code, reason = _check_close(code, reason)
        if self._close_sent or self.readyState == CLOSED:
            return
        self._close_sent = True
        self.readyState = CLOSED if self._close_received else CLOSING
        self.link.trace("ws_close", code=code, reason=reason, side="sent")
        self.link.transmit("close", (code, reason, True))
        self._settle()

    # -- the hibernation API's socket extensions ------------------------------------------------
    def serializeAttachment(self, value: Any) -> None:  # noqa: N802
        """Keep a structured-clone copy of ``value`` with the connection (survives hibernation)."""
        encoded = json.dumps(self.link.clone(value), default=_json_default, separators=(",", ":"))
        if len(encoded.encode("utf-8")) > MAX_ATTACHMENT_BYTES:
            raise JsException(f"serializeAttachment(): the serialized value is {len(encoded.encode())} bytes; "
                              f"the limit is {MAX_ATTACHMENT_BYTES}. Keep larger state in ctx.storage and "
                              "attach its key.", "RangeError")
        self._attachment = encoded

    def deserializeAttachment(self) -> Any:  # noqa: N802
        """A fresh copy of the last value given to serializeAttachment(), or None."""
        if self._attachment is None:
            return None
        return wrap(json.loads(self._attachment, object_hook=_json_hook))

    serialize_attachment, deserialize_attachment = serializeAttachment, deserializeAttachment

    @property
    def ready_state(self) -> int:
        return self.readyState

    # -- what the platform reads and does (course.runtime) ------------------------------------
    @property
    def peer(self) -> "WebSocket | None":
        """The other end of the pair."""
        return self._peer

    @property
    def mode(self) -> str | None:
        """How this end was taken: None, "standard", "hibernatable" or "external"."""
        return self._mode

    @property
    def close_sent(self) -> bool:
        """This end has sent its Close frame (or the connection dropped)."""
        return self._close_sent

    @property
    def tags(self) -> tuple[str, ...]:
        """The tags given to ``ctx.acceptWebSocket``."""
        return self._tags

    def listeners(self, kind: str) -> list[Callable[..., Any]]:
        """The handlers added for ``kind`` ("message", "close", "error"), in order."""
        return list(self._listeners.get(kind, ()))

    def accept_outbound(self) -> None:
        """A Worker's own ``js.WebSocket`` connected (the client end of the upstream's 101): take
        it as ``accept()`` does, fire ``open``, then the frames the upstream sent first."""
        self._take("standard")
        self.link.accepted()
        self.link.trace("ws_accept", mode="outbound")
        self.link.fire("open", None)
        self._flush()

    def accept_hibernatable(self, tags: tuple[str, ...]) -> None:
        """``ctx.acceptWebSocket(ws, tags)`` took this end (the link is already bound to the object)."""
        self._take("hibernatable")
        self._tags = tags
        self._flush()

    def accept_external(self) -> None:
        """The platform took this end (from a 101 response) for a client connection."""
        if self._mode is not None:
            raise JsException("The WebSocket in a 101 response must not be accepted by the Worker: return the "
                              "client end and accept the server end", "TypeError")
        self._mode = "external"
        self._flush()

    def receive_frame(self, kind: str, payload: Any) -> None:
        """A frame reached this end: buffer it until accepted, run the close handshake, or fire it."""
        if self.readyState == CLOSED and not (kind == "close" and not self._close_received):
            return
        if self._mode is None:
            self._buffer.append((kind, payload))
            return
        if kind == "message" and self._mode != "external" and _size(payload) > MAX_MESSAGE_BYTES:
            err = JsException(f"WebSocket message of {_size(payload)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte "
                              "limit", "Error")
            self.link.trace("ws_error", error=str(err))
            self.link.fire("error", err)
            self.drop_connection(MESSAGE_TOO_BIG, "Message too big")
            return
        if kind == "close":
            code, reason, clean = payload
            if self._close_received:  # the connection dropped after a close handshake began
                self._close_sent, self.readyState = True, CLOSED
                self._settle()
                return
            self._close_received = True
            self.link.trace("ws_close", code=code, reason=reason, side="received", clean=clean)
            if not clean:
                self._close_sent = True
            elif not self._close_sent and self.link.auto_reply_to_close():
                self._close_sent = True
                self.link.transmit("close", (code, reason, True))
            self.readyState = CLOSED if self._close_sent else CLOSING
            self.link.fire("close", payload)
            self._settle()
            return
        self.link.fire(kind, payload)

    def drop_connection(self, code: int = ABNORMAL_CLOSURE, reason: str = "") -> None:
        """The connection is gone without a closing handshake (reset, disconnect, error)."""
        if self.readyState == CLOSED:
            return
        self._close_sent = self._close_received = True
        self.readyState = CLOSED
        self.link.trace("ws_disconnect", code=code, reason=reason)
        peer = self._peer
        if peer is not None and peer.readyState != CLOSED:
            peer.link.arrive("close", (code, reason, False))
        self._settle()

    # -- internals ------------------------------------------------------------------------------
    def _take(self, mode: str) -> None:
        if self._mode is not None:
            raise JsException("The WebSocket has already been accepted (accept() or ctx.acceptWebSocket()).",
                              "TypeError")
        self._mode = mode

    def _flush(self) -> None:
        pending, self._buffer = self._buffer, []
        for kind, payload in pending:
            self.receive_frame(kind, payload)

    def _settle(self) -> None:
        """After a state change: release what a closed socket held."""
        if self.readyState != CLOSED:
            return
        self.link.released()
        self._attachment = None  # "If either side closes the connection, attachments are lost"

    def __repr__(self) -> str:
        state = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")[self.readyState]
        return f"<WebSocket {self.label} {state}{' ' + self._mode if self._mode else ''}>"


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (_dt.datetime, _dt.date)):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, (set, frozenset)):
        return {"__set__": list(value)}
    raise JsException(f"serializeAttachment(): {type(value).__name__} cannot be cloned", "DataCloneError")


def _json_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "__bytes__" in obj:
            return base64.b64decode(obj["__bytes__"])
        if "__datetime__" in obj:
            return _dt.datetime.fromisoformat(obj["__datetime__"])
        if "__set__" in obj:
            return set(obj["__set__"])
    return obj


# -- the pair -----------------------------------------------------------------------------------
class WebSocketPair:
    """``new WebSocketPair()``: two connected ends, ``[0]`` the client's and ``[1]`` the server's.

    Python Workers write ``client, server = WebSocketPair.new().object_values()``.
    """

    def __init__(self) -> None:
        wire = current_wire("WebSocketPair")
        n = wire.next_pair()
        self.client = WebSocket(f"ws{n}.client", wire)
        self.server = WebSocket(f"ws{n}.server", wire)
        self.client._peer, self.server._peer = self.server, self.client

    @classmethod
    def new(cls) -> "WebSocketPair":
        return cls()

    def object_values(self) -> JsArray:
        """``Object.values(pair)``: ``[client, server]``."""
        return JsArray([self.client, self.server])

    values = object_values

    def __getitem__(self, index: Any) -> WebSocket:
        if index in (0, "0"):
            return self.client
        if index in (1, "1"):
            return self.server
        raise IndexError(f"WebSocketPair has ends 0 (client) and 1 (server), not {index!r}")

    def __iter__(self) -> Any:
        return iter((self.client, self.server))

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return f"<WebSocketPair {self.client.label} <-> {self.server.label}>"


class WebSocketRequestResponsePair:
    """An auto-response (``ctx.setWebSocketAutoResponse``): a message equal to ``request`` is
    answered with ``response`` by the platform, without waking the object."""

    def __init__(self, request: str, response: str) -> None:
        for what, text in (("request", request), ("response", response)):
            if not isinstance(text, str):
                raise JsException(f"WebSocketRequestResponsePair {what} must be a string", "TypeError")
            if len(text) > MAX_AUTO_RESPONSE_CHARS:
                raise JsException(f"WebSocketRequestResponsePair {what} is {len(text)} characters; the limit is "
                                  f"{MAX_AUTO_RESPONSE_CHARS}", "RangeError")
        self.request, self.response = request, response

    @classmethod
    def new(cls, request: str, response: str) -> "WebSocketRequestResponsePair":
        return cls(request, response)

    def getRequest(self) -> str:  # noqa: N802
        return self.request

    def getResponse(self) -> str:  # noqa: N802
        return self.response

    def __repr__(self) -> str:
        return f"WebSocketRequestResponsePair({self.request!r}, {self.response!r})"


__all__ = ["CloseEvent", "ErrorEvent", "Event", "MessageEvent", "WebSocket", "WebSocketLink", "WebSocketPair",
           "WebSocketRequestResponsePair", "WebSocketWire", "event_for"]
