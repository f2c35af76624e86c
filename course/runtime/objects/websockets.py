"""WebSockets: ``WebSocketPair``, accept/send/close and events, the Durable Object hibernation
API, and the clients that connect to them (in-process sessions and ``course serve``).

The model follows https://developers.cloudflare.com/workers/runtime-apis/websockets/ and
https://developers.cloudflare.com/durable-objects/best-practices/websockets/ :

- ``client, server = WebSocketPair.new().object_values()`` makes two connected ends. A Worker
  (or a Durable Object) keeps ``server`` and returns ``Response(None, status=101,
  web_socket=client)``; the platform hands ``client`` to whoever made the upgrade request.
- The standard API: ``server.accept()``, then ``addEventListener("message" | "close" |
  "error", handler)``. Messages that arrive before ``accept()`` wait for it. A Durable Object
  with an accepted standard socket stays in memory while the socket is open.
- The hibernation API: ``ctx.acceptWebSocket(server, tags)``; messages, closes and errors are
  delivered as events of the object (``webSocketMessage(ws, message)``,
  ``webSocketClose(ws, code, reason, wasClean)``, ``webSocketError(ws, error)``), through the
  same input/output gates as a fetch. With only hibernatable sockets open, an idle object is
  evicted after :data:`HIBERNATION_IDLE_SECONDS` and rebuilt (constructor again) on the next
  message; its sockets, tags and attachments stay.

Every delivery runs on the runtime's loop, asynchronously after ``send`` returns (as over a
wire), in order. Between a client in one region and an object placed in another
(``course.runtime.net.regions``), each message and Close frame takes the one-way latency of the
matrix (plus any ``rt.faults.latency``) on the runtime clock, traced as a ``"net"`` leg
(``leg="ws:message"`` / ``"ws:close"``). A message sent across an ``rt.faults.partition``
breaks the connection as a lost TCP connection does: both ends close with code 1006
(``wasClean`` false; ``webSocketClose``, not ``webSocketError``, which is for
"non-disconnection related errors",
https://developers.cloudflare.com/durable-objects/api/websockets/#websocketerror). With one
region and no faults nothing of this applies: deliveries are immediate, as before.

``ctx.setHibernatableWebSocketEventTimeout(ms)`` bounds how long one ``webSocketMessage`` /
``webSocketClose`` / ``webSocketError`` event may run, on the runtime clock: past it the
event is cancelled and the object is reset ("Actor exceeded event execution time and was
disconnected.", as workerd does), which also drops its WebSockets (1006).

Clients: ``rt.websocket("/chat?room=a")`` (blocking, for notebooks and tests) and
``rt.async_websocket(...)``; over real HTTP, :meth:`WebSocketService.serve_asgi` bridges
uvicorn's ASGI WebSocket to the same ends.
"""
from __future__ import annotations

import asyncio
import base64
import collections
import datetime as _dt
import inspect
import json
import os
from typing import Any, Callable, Iterable

from course.runtime.net.faults import FAULTS
from course.runtime.net.regions import NETWORK
from course.runtime.kernel.plugins import ServiceSlot
from course.runtime.kernel.clone import structured_clone
from course.workers.context import current_actor, current_runtime, current_worker
from course.workers.http import Request
from course.workers.jsproxy import JsArray, JsBuffer, JsException, to_py

# -- limits, with their sources ---------------------------------------------------------------
#: "The WebSocket Hibernation API permits a maximum of 32,768 WebSocket connections per Durable
#: Object" (https://developers.cloudflare.com/durable-objects/api/state/#acceptwebsocket).
MAX_HIBERNATABLE_WEBSOCKETS = 32_768
#: "Each tag is a maximum of 256 characters and there can be at most 10 tags associated with a
#: WebSocket" (same page).
MAX_TAGS_PER_WEBSOCKET = 10
MAX_TAG_LENGTH = 256
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
#: An idle object whose only connections are hibernatable hibernates "after 10 seconds of
#: inactivity" (https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/).
HIBERNATION_IDLE_SECONDS = 10.0
#: From this compatibility date the runtime answers a received Close frame itself
#: (``web_socket_auto_reply_to_close``,
#: https://developers.cloudflare.com/workers/configuration/compatibility-flags/#websocket-auto-reply-to-close).
AUTO_REPLY_TO_CLOSE_SINCE = "2026-04-07"
#: setHibernatableWebSocketEventTimeout: "sets the maximum amount of time in milliseconds that a
#: WebSocket event can run for ... The maximum value of timeout is 604,800,000 ms (7 days)"
#: (https://developers.cloudflare.com/durable-objects/api/state/#sethibernatablewebsocketeventtimeout).
MAX_EVENT_TIMEOUT_MS = 604_800_000
#: What an event past that timeout does: the docs do not say; workerd (Cloudflare's open-source
#: runtime) shuts the object down with this error, so in-flight work fails and memory is lost.
EVENT_TIMEOUT_MESSAGE = "Actor exceeded event execution time and was disconnected."
#: RFC 6455 section 5.5: a control frame carries at most 125 bytes, 2 of them the close code.
MAX_CLOSE_REASON_BYTES = 123
#: Close codes an application may send (RFC 6455 section 7.4: 1000-1003, 1007-1014, 3000-4999).
_SENDABLE_CLOSE_CODES = set(range(1000, 1004)) | set(range(1007, 1015)) | set(range(3000, 5000))
#: Close code reported when the connection dropped without a Close frame (RFC 6455 7.1.5).
ABNORMAL_CLOSURE = 1006
MESSAGE_TOO_BIG = 1009

CONNECTING, OPEN, CLOSING, CLOSED = 0, 1, 2, 3
_HANDLERS = {"message": "webSocketMessage", "close": "webSocketClose", "error": "webSocketError"}


# -- events ---------------------------------------------------------------------------------
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
    if not isinstance(code, int) or isinstance(code, bool) or code not in _SENDABLE_CLOSE_CODES:
        raise JsException(f"Invalid WebSocket close code {code!r}: use 1000, 1001-1003, 1007-1014 or 3000-4999 "
                          "(RFC 6455 section 7.4)", "InvalidAccessError")
    reason = "" if reason is None else str(reason)
    if len(reason.encode("utf-8")) > MAX_CLOSE_REASON_BYTES:
        raise JsException(f"WebSocket close reason is {len(reason.encode())} bytes; at most "
                          f"{MAX_CLOSE_REASON_BYTES} are allowed", "SyntaxError")
    return code, reason


# -- a WebSocket end --------------------------------------------------------------------------
class WebSocket:
    """One end of a WebSocket connection, as Worker code sees it."""

    READY_STATE_CONNECTING = CONNECTING_STATE = CONNECTING
    READY_STATE_OPEN = OPEN
    READY_STATE_CLOSING = CLOSING
    READY_STATE_CLOSED = CLOSED
    CONNECTING, OPEN, CLOSING, CLOSED = CONNECTING, OPEN, CLOSING, CLOSED

    def __init__(self, runtime: Any, label: str) -> None:
        self._rt = runtime
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
        self._live: Any = None  # the LiveObject pinned by a standard accept() inside an object
        self._worker: Any = None
        self._object: tuple[Any, str] | None = None  # (ObjectClass, hex id) for hibernatable
        self._tags: tuple[str, ...] = ()
        self._attachment: str | None = None
        self._auto_response_at: float | None = None
        self._queue: asyncio.Queue[tuple[str, Any]] | None = None  # external ends
        #: Where this end is, when not inside a Durable Object (whose placement says): the
        #: client's region for an external end, the Worker's for one accepted in a Worker.
        self._region: str | None = None
        #: Frames on the wire towards this end (arrival time on the loop clock, kind, payload),
        #: carried in order by one background task; only used when a leg has latency.
        self._inflight: collections.deque[tuple[float, str, Any]] = collections.deque()
        self._courier: asyncio.Task[Any] | None = None
        self._broken = False  # the connection failed (a partition); its 1006 close is on the way

    # -- the standard API -------------------------------------------------------------------
    def accept(self) -> None:
        """Start delivering this socket's events to listeners added with addEventListener()."""
        if self._mode is not None:
            raise JsException("The WebSocket has already been accepted (accept() or ctx.acceptWebSocket()).",
                              "TypeError")
        from course.runtime.objects.durable_objects import current_object

        self._mode = "standard"
        self._worker = current_worker.get()
        live = current_object.get()
        if live is not None and not live.dead:
            # "WebSocket connections pin your Durable Object to memory" (standard API).
            self._live = live
            live.pinned_sockets.add(self)
            live.touch()
        else:
            from course.runtime.net.links import caller_endpoint

            self._region = caller_endpoint(self._rt).region  # a Worker runs where it was called
        self._trace("ws_accept", mode="standard")
        self._flush()

    def addEventListener(self, type: str, handler: Callable[..., Any], *_: Any) -> None:  # noqa: N802
        if type not in ("message", "close", "error"):
            raise JsException(f"WebSocket has no {type!r} event; use 'message', 'close' or 'error'", "TypeError")
        if not callable(handler):
            raise JsException(f"addEventListener() needs a function, got {type(handler).__name__}", "TypeError")
        self._listeners[type].append(handler)

    def removeEventListener(self, type: str, handler: Callable[..., Any], *_: Any) -> None:  # noqa: N802
        try:
            self._listeners[type].remove(handler)
        except ValueError:
            pass

    def send(self, message: Any) -> None:
        """Send a text (str) or binary (bytes) message to the other end."""
        if self._mode is None:
            raise JsException("You must call one of accept() or state.acceptWebSocket() on this WebSocket "
                              "before sending messages.", "TypeError")
        if self._close_sent or self.readyState == CLOSED:
            raise JsException("Can't call WebSocket send() after close().", "TypeError")
        data = _text_or_buffer(message)
        self._transmit("message", data)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake (a no-op once this end has sent its Close frame)."""
        code, reason = _check_close(code, reason)
        if self._close_sent or self.readyState == CLOSED:
            return
        self._close_sent = True
        self.readyState = CLOSED if self._close_received else CLOSING
        self._trace("ws_close", code=code, reason=reason, side="sent")
        self._transmit("close", (code, reason, True))
        self._settle()

    # -- the hibernation API's socket extensions ------------------------------------------------
    def serializeAttachment(self, value: Any) -> None:  # noqa: N802
        """Keep a structured-clone copy of ``value`` with the connection (survives hibernation)."""
        clone = to_py(structured_clone(value))
        encoded = json.dumps(clone, default=_json_default, separators=(",", ":"))
        if len(encoded.encode("utf-8")) > MAX_ATTACHMENT_BYTES:
            raise JsException(f"serializeAttachment(): the serialized value is {len(encoded.encode())} bytes; "
                              f"the limit is {MAX_ATTACHMENT_BYTES}. Keep larger state in ctx.storage and "
                              "attach its key.", "RangeError")
        self._attachment = encoded

    def deserializeAttachment(self) -> Any:  # noqa: N802
        """A fresh copy of the last value given to serializeAttachment(), or None."""
        from course.workers.jsproxy import wrap

        if self._attachment is None:
            return None
        return wrap(json.loads(self._attachment, object_hook=_json_hook))

    add_event_listener, remove_event_listener = addEventListener, removeEventListener
    serialize_attachment, deserialize_attachment = serializeAttachment, deserializeAttachment

    @property
    def ready_state(self) -> int:
        return self.readyState

    # -- delivery (runtime loop only) -----------------------------------------------------------
    def _trace(self, kind: str, **data: Any) -> None:
        self._rt.trace.record(kind, socket=self.label, **data)

    def _fault_names(self) -> tuple[str, ...]:
        owner = self._owner_label()
        if owner is None:
            return (f"ws:{self.label}", "websocket")
        return (owner, f"ws:{owner}", "websocket")

    def _owner_label(self) -> str | None:
        if self._object is not None:
            host, hex_id = self._object
            return f"{host.binding_name}:{host.names.get(hex_id, hex_id)}"
        if self._live is not None:
            return f"{self._live.host.binding_name}:{self._live.label}"
        if self._mode == "external":
            return "client"
        return None

    def _endpoint(self) -> Any:
        """This end as a network endpoint (course.runtime.net.regions.Endpoint): region and names."""
        from course.runtime.net.endpoints import Endpoint

        if self._mode == "external":
            return Endpoint(self._region, "client")
        where = self._object if self._object is not None else (
            (self._live.host, self._live.hex) if self._live is not None else None)
        if where is not None:
            host, hex_id = where
            return Endpoint(host.placement.get(hex_id), f"{host.binding_name}:{host.names.get(hex_id, hex_id)}",
                            host.binding_name)
        return Endpoint(self._region, getattr(self._worker, "name", None) or self.label)

    def _transmit(self, kind: str, payload: Any) -> None:
        """Put a frame on the wire to the other end: partitions, drops, duplicates, latency."""
        peer = self._peer
        if peer is None or self._broken:
            return
        rt = self._rt
        faults = FAULTS.peek(rt)
        # An end not taken yet (the client end inside a 101 response) gets the frame right
        # behind that response, which already crossed the network: no leg of its own.
        wired = peer._mode is not None
        src = dst = None
        if wired:
            src, dst = self._endpoint(), peer._endpoint()
            if faults is not None and faults.partitioned(src, dst, leg=f"ws:{kind}"):
                self._break_connection("partition")
                return
        copies = 1
        if kind == "message" and faults is not None:
            names = peer._fault_names()
            if faults.should_drop(*names):
                return
            if faults.should_duplicate(*names):
                copies = 2
        delay = 0.0
        if src is not None and dst is not None and (faults is not None or src.region is not None
                                                    or dst.region is not None):
            from course.runtime.net.links import leg_ms

            delay = leg_ms(rt, src, dst, leg=f"ws:{kind}", socket=self.label) / 1000.0
        for _ in range(copies):
            peer._arrive_after(delay, kind, payload)

    def _arrive(self, kind: str, payload: Any) -> None:
        # Deliver after the sender's current step, in order, as over a wire.
        self._rt.loop.call_soon(self._dispatch, kind, payload)

    def _arrive_after(self, delay: float, kind: str, payload: Any) -> None:
        """Deliver ``delay`` seconds from now, never before a frame sent earlier (TCP keeps order)."""
        if delay <= 0 and not self._inflight:
            self._arrive(kind, payload)
            return
        loop = self._rt.loop
        at = loop.time() + max(delay, 0.0)
        if self._inflight:
            at = max(at, self._inflight[-1][0])
        self._inflight.append((at, kind, payload))
        if self._courier is None or self._courier.done():
            # A background task, so run_until_idle() waits for frames still on the wire.
            self._courier = self._rt.spawn(self._carry(), label=f"websocket:wire:{self.label}")

    async def _carry(self) -> None:
        loop = self._rt.loop
        while self._inflight:
            wait = self._inflight[0][0] - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            _, kind, payload = self._inflight.popleft()
            self._dispatch(kind, payload)

    def _break_connection(self, cause: str) -> None:
        """The connection failed in the network: both ends see an abnormal close (1006)."""
        for end in (self, self._peer):
            if end is None or end.readyState == CLOSED or end._broken:
                continue
            end._broken = True
            end._inflight.clear()  # frames in flight are lost with the connection
            end._trace("ws_disconnect", code=ABNORMAL_CLOSURE, reason="", cause=cause)
            end._arrive("close", (ABNORMAL_CLOSURE, "", False))

    def _dispatch(self, kind: str, payload: Any) -> None:
        if self.readyState == CLOSED and not (kind == "close" and not self._close_received):
            return
        if self._mode is None:
            self._buffer.append((kind, payload))
            return
        if kind == "message" and self._mode != "external" and _size(payload) > MAX_MESSAGE_BYTES:
            err = JsException(f"WebSocket message of {_size(payload)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte "
                              "limit", "Error")
            self._trace("ws_error", error=str(err))
            self._fire("error", err)
            self._drop_connection(MESSAGE_TOO_BIG, "Message too big")
            return
        if kind == "close":
            code, reason, clean = payload
            if self._close_received:  # the connection dropped after a close handshake began
                self._close_sent, self.readyState = True, CLOSED
                self._settle()
                return
            self._close_received = True
            self._trace("ws_close", code=code, reason=reason, side="received", clean=clean)
            if not clean:
                self._close_sent = True
            elif not self._close_sent and self._auto_reply_to_close():
                self._close_sent = True
                self._transmit("close", (code, reason, True))
            self.readyState = CLOSED if self._close_sent else CLOSING
            self._fire("close", payload)
            self._settle()
            return
        self._fire(kind, payload)

    def _auto_reply_to_close(self) -> bool:
        if self._mode == "external":
            return True  # client libraries answer a Close frame themselves
        worker = self._worker
        if worker is None and self._object is not None:
            worker = self._object[0].worker
        date = getattr(getattr(worker, "config", None), "compatibility_date", None) or ""
        return date >= AUTO_REPLY_TO_CLOSE_SINCE

    def _flush(self) -> None:
        pending, self._buffer = self._buffer, []
        for kind, payload in pending:
            self._dispatch(kind, payload)

    def _settle(self) -> None:
        """After a state change: release what a closed socket held."""
        if self.readyState != CLOSED:
            return
        if self._live is not None:
            live, self._live = self._live, None
            live.pinned_sockets.discard(self)
            if not live.dead:
                live.touch()
        if self._object is not None:
            host, hex_id = self._object
            sockets = object_sockets(host, hex_id)
            if self in sockets.sockets:
                sockets.sockets.remove(self)
            self._attachment = None  # "If either side closes the connection, attachments are lost"

    def _drop_connection(self, code: int = ABNORMAL_CLOSURE, reason: str = "") -> None:
        """The connection is gone without a closing handshake (reset, disconnect, error)."""
        if self.readyState == CLOSED:
            return
        self._close_sent = self._close_received = True
        self.readyState = CLOSED
        self._trace("ws_disconnect", code=code, reason=reason)
        peer = self._peer
        if peer is not None and peer.readyState != CLOSED:
            peer._arrive("close", (code, reason, False))
        self._settle()

    def _fire(self, kind: str, payload: Any) -> None:
        rt = self._rt
        if self._mode == "external":
            assert self._queue is not None
            self._queue.put_nowait((kind, payload))
            return
        if self._mode == "hibernatable":
            self._deliver_to_object(kind, payload)
            return
        event: Any
        if kind == "message":
            event = MessageEvent(payload)
        elif kind == "close":
            event = CloseEvent(*payload)
        else:
            event = ErrorEvent(payload)
        handlers = list(self._listeners.get(kind, ()))
        if not handlers:
            return

        async def fire(_instance: Any = None) -> None:
            from course.runtime.kernel.worker import call_relaxed

            for handler in handlers:
                await call_relaxed(handler, event)

        live = self._live
        if live is not None:
            if live.dead:
                return
            host = live.host

            async def as_event() -> None:
                current_actor.set(self._peer._owner_label() if self._peer is not None else "client")
                try:
                    await host.deliver(live.id, "websocket", kind, fire)
                except Exception as exc:  # noqa: BLE001 - a listener's failure is logged
                    rt.log("error", f"WebSocket {kind} listener failed: {type(exc).__name__}: {exc}",
                           worker=host.worker.name)
            rt.spawn(as_event(), label=f"websocket:{kind}", worker=host.worker)
        else:
            rt.spawn(fire(), label=f"websocket:{kind}", worker=self._worker)

    def _deliver_to_object(self, kind: str, payload: Any) -> None:
        rt = self._rt
        assert self._object is not None
        host, hex_id = self._object
        sockets = object_sockets(host, hex_id)
        if kind == "message" and sockets.auto_response is not None and payload == sockets.auto_response.request:
            # Answered by the runtime: the object is not woken, nothing runs in it.
            self._auto_response_at = rt.clock.wall()
            self._trace("ws_auto_response", object=self._owner_label())
            self.send(sockets.auto_response.response)
            return
        method = _HANDLERS[kind]
        if kind == "message":
            args: tuple[Any, ...] = (self, payload)
        elif kind == "close":
            args = (self, *payload)
        else:
            args = (self, payload)
        timeout_ms = sockets.event_timeout_ms  # the one set when the event is dispatched

        def call(instance: Any) -> Any:
            from course.runtime.kernel.worker import call_relaxed

            handler = getattr(instance, method, None)
            if handler is None or not callable(handler):
                return None
            result = call_relaxed(handler, *args)
            if timeout_ms and inspect.isawaitable(result):
                return _within_event_timeout(host, hex_id, method, timeout_ms, result)
            return result

        async def run() -> None:
            current_actor.set(self._peer._owner_label() or "client" if self._peer is not None else "client")
            try:
                await host.deliver(host._id(hex_id), "websocket", method, call)
            except Exception as exc:  # noqa: BLE001 - logged; the connection stays
                rt.log("error", f"{host.class_name}.{method} failed: {type(exc).__name__}: {exc}",
                       worker=host.worker.name)

        rt.spawn(run(), label=f"websocket:{method}", worker=host.worker)

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
        rt = current_runtime.get()
        if rt is None:
            raise RuntimeError("WebSocketPair needs a running Worker: create it inside a handler")
        svc = service(rt)
        n = svc.next_pair()
        self.client = WebSocket(rt, f"ws{n}.client")
        self.server = WebSocket(rt, f"ws{n}.server")
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


# -- hibernation: per-object registry and ctx methods -----------------------------------------
class WebSocketRequestResponsePair:
    """An auto-response: a message equal to ``request`` is answered with ``response``."""

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


class ObjectSockets:
    """The hibernatable sockets of one Durable Object; lives outside the instance, so it
    survives hibernation (eviction) and the constructor running again."""

    def __init__(self) -> None:
        self.sockets: list[WebSocket] = []
        self.auto_response: WebSocketRequestResponsePair | None = None
        self.event_timeout_ms: int | None = None


def object_sockets(host: Any, hex_id: str) -> ObjectSockets:
    registry = host.__dict__.setdefault("hibernation", {})
    if hex_id not in registry:
        registry[hex_id] = ObjectSockets()
    return registry[hex_id]


def hibernatable_count(host: Any, hex_id: str) -> int:
    registry = host.__dict__.get("hibernation") or {}
    sockets = registry.get(hex_id)
    return len(sockets.sockets) if sockets is not None else 0


async def _within_event_timeout(host: Any, hex_id: str, method: str, timeout_ms: float, handler: Any) -> Any:
    """Run one hibernatable WebSocket event's handler under ``timeout_ms`` of the runtime clock.

    Past it the object is reset with :data:`EVENT_TIMEOUT_MESSAGE`: the handler is cancelled,
    unconfirmed writes are lost and the object's WebSockets drop (as any reset does).
    """
    rt = host.runtime
    live = host.live.get(hex_id)  # the instance running this event

    def expired() -> None:
        from course.runtime.objects.durable_objects import reset_error

        if live is None or live.dead or host.live.get(hex_id) is not live:
            return
        host.crash(hex_id, reason="websocket_event_timeout", error=reset_error(EVENT_TIMEOUT_MESSAGE))

    label = host.names.get(hex_id, hex_id)
    timer = rt.call_later(timeout_ms / 1000.0, expired, label=f"websocket-event-timeout:{host.binding_name}:{label}",
                          method=method, timeout_ms=timeout_ms)
    try:
        return await handler
    finally:
        timer.cancel()


def object_reset(live: Any, *, hibernatable: bool) -> None:
    """The object instance is gone: its standard sockets drop; on a reset, its hibernatable
    ones too ("WebSocket requests are terminated automatically during shutdown")."""
    for ws in list(live.pinned_sockets):
        ws._drop_connection(ABNORMAL_CLOSURE, "Durable Object reset")
    live.pinned_sockets.clear()
    if hibernatable:
        for ws in list(object_sockets(live.host, live.hex).sockets):
            ws._drop_connection(ABNORMAL_CLOSURE, "Durable Object reset")


class HibernationAPI:
    """The WebSocket methods of ``ctx`` (``DurableObjectState``); ``self._live`` is the object."""

    _live: Any

    def _sockets(self) -> ObjectSockets:
        return object_sockets(self._live.host, self._live.hex)

    def acceptWebSocket(self, ws: Any, tags: Iterable[str] | None = None) -> None:  # noqa: N802
        """Attach ``ws`` to this object: its events arrive as webSocketMessage/Close/Error."""
        if not isinstance(ws, WebSocket):
            raise JsException(f"acceptWebSocket() takes a WebSocket (from WebSocketPair), got {type(ws).__name__}",
                              "TypeError")
        if ws._mode is not None:
            raise JsException("acceptWebSocket(): this WebSocket has already been accepted; the hibernation API "
                              "replaces ws.accept(), do not call both", "TypeError")
        tag_list = [] if tags is None else list(to_py(tags))
        if len(tag_list) > MAX_TAGS_PER_WEBSOCKET:
            raise JsException(f"acceptWebSocket(): {len(tag_list)} tags; at most {MAX_TAGS_PER_WEBSOCKET} are "
                              "allowed", "RangeError")
        for tag in tag_list:
            if not isinstance(tag, str):
                raise JsException(f"acceptWebSocket(): tags must be strings, got {type(tag).__name__}", "TypeError")
            if len(tag) > MAX_TAG_LENGTH:
                raise JsException(f"acceptWebSocket(): a tag is {len(tag)} characters; the limit is "
                                  f"{MAX_TAG_LENGTH}", "RangeError")
        sockets = self._sockets()
        if len(sockets.sockets) >= MAX_HIBERNATABLE_WEBSOCKETS:
            raise JsException(f"acceptWebSocket(): this Durable Object already has {MAX_HIBERNATABLE_WEBSOCKETS} "
                              "hibernatable WebSockets", "RangeError")
        live = self._live
        ws._mode = "hibernatable"
        ws._object = (live.host, live.hex)
        ws._worker = live.host.worker
        ws._tags = tuple(tag_list)
        sockets.sockets.append(ws)
        live.trace("ws_accept", socket=ws.label, mode="hibernatable", tags=list(tag_list))
        ws._flush()

    def getWebSockets(self, tag: str | None = None) -> JsArray:  # noqa: N802
        """The connected hibernatable sockets of this object (those with ``tag``, if given)."""
        out = [ws for ws in self._sockets().sockets if ws.readyState != CLOSED and (tag is None or tag in ws._tags)]
        return JsArray(out)

    def getTags(self, ws: Any) -> JsArray:  # noqa: N802
        if not isinstance(ws, WebSocket) or ws not in self._sockets().sockets:
            raise JsException("getTags(): this WebSocket was not accepted with ctx.acceptWebSocket() by this "
                              "Durable Object", "TypeError")
        return JsArray(ws._tags)

    def setWebSocketAutoResponse(self, pair: WebSocketRequestResponsePair | None = None) -> None:  # noqa: N802
        if pair is not None and not isinstance(pair, WebSocketRequestResponsePair):
            raise JsException("setWebSocketAutoResponse() takes a WebSocketRequestResponsePair (or nothing, to "
                              "remove it)", "TypeError")
        self._sockets().auto_response = pair

    def getWebSocketAutoResponse(self) -> WebSocketRequestResponsePair | None:  # noqa: N802
        return self._sockets().auto_response

    def getWebSocketAutoResponseTimestamp(self, ws: Any) -> _dt.datetime | None:  # noqa: N802
        """When ``ws`` last sent an auto-response (a datetime on the runtime clock), or None."""
        if not isinstance(ws, WebSocket):
            raise JsException("getWebSocketAutoResponseTimestamp() takes a WebSocket", "TypeError")
        at = ws._auto_response_at
        return None if at is None else _dt.datetime.fromtimestamp(at, _dt.timezone.utc)

    def setHibernatableWebSocketEventTimeout(self, timeout_ms: int | None = None) -> None:  # noqa: N802
        """Bound how long (ms, on the runtime clock) one webSocketMessage/Close/Error event may
        run; 0 or nothing unsets it. An event past it is cancelled and the object reset."""
        if timeout_ms is not None and (isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float))):
            raise JsException(f"setHibernatableWebSocketEventTimeout() takes a number of milliseconds, got "
                              f"{type(timeout_ms).__name__}", "TypeError")
        if timeout_ms is not None and not 0 <= timeout_ms <= MAX_EVENT_TIMEOUT_MS:
            raise JsException(f"The hibernatable WebSocket event timeout must be between 0 and "
                              f"{MAX_EVENT_TIMEOUT_MS} ms, got {timeout_ms}", "RangeError")
        self._sockets().event_timeout_ms = timeout_ms or None

    def getHibernatableWebSocketEventTimeout(self) -> int | None:  # noqa: N802
        return self._sockets().event_timeout_ms

    accept_websocket = accept_web_socket = acceptWebSocket
    get_websockets = get_web_sockets = getWebSockets
    get_tags = getTags
    set_websocket_auto_response = setWebSocketAutoResponse
    get_websocket_auto_response = getWebSocketAutoResponse
    get_websocket_auto_response_timestamp = getWebSocketAutoResponseTimestamp


# -- the platform side: clients ------------------------------------------------------------------
class WebSocketUpgradeError(Exception):
    """The Worker answered an upgrade request with something other than a 101 and a WebSocket."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"WebSocket upgrade failed: the Worker answered {status}"
                         + (f": {body.strip()[:200]}" if body.strip() else ""))
        self.status, self.body = status, body


class WebSocketClosed(Exception):
    """The connection is closed: ``code`` and ``reason`` are the close frame's."""

    def __init__(self, code: int, reason: str, clean: bool = True) -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code, self.reason, self.clean = code, reason, clean


def upgrade_headers(extra: Any = None) -> list[tuple[str, str]]:
    """Headers of a WebSocket upgrade request (RFC 6455 section 4.1)."""
    key = base64.b64encode(os.urandom(16)).decode()
    headers = [("upgrade", "websocket"), ("connection", "Upgrade"), ("sec-websocket-version", "13"),
               ("sec-websocket-key", key)]
    if extra:
        items = extra.items() if hasattr(extra, "items") else extra
        headers.extend((str(k).lower(), str(v)) for k, v in items)
    return headers


def take_client_end(response: Any, region: str | None = None) -> WebSocket:
    """The platform takes the client end of a 101 response for a client connection in ``region``."""
    ws = response.webSocket
    if not isinstance(ws, WebSocket):
        raise JsException(f"a 101 response must carry a WebSocket, got {type(ws).__name__}", "TypeError")
    if ws._mode is not None:
        raise JsException("The WebSocket in a 101 response must not be accepted by the Worker: return the client "
                          "end and accept the server end", "TypeError")
    ws._mode = "external"
    ws._region = region
    ws._queue = asyncio.Queue()
    ws._flush()
    return ws


async def open_connection(rt: Any, url: str, *, worker: str | None = None, region: str | None = None,
                          headers: Any = None, source: str = "client") -> WebSocket:
    """Make an upgrade request to a Worker (on the loop) and return the client end."""
    request = Request(url, method="GET", headers=upgrade_headers(headers))
    kwargs = {"region": region} if region is not None else {}
    response = await rt.dispatch(request, worker=worker, source=source, **kwargs)
    if response.status != 101 or response.webSocket is None:
        body = (response.body or b"").decode("utf-8", errors="replace")
        raise WebSocketUpgradeError(response.status, body)
    return take_client_end(response, _client_region(rt, request, region))


def _client_region(rt: Any, request: Any, explicit: str | None = None) -> str | None:
    """Where a client connection comes from: as for its upgrade request, else the default region."""
    from course.runtime.kernel.regions import request_region

    region = request_region(request, explicit)
    if region is None:
        model = NETWORK.peek(rt)
        region = model.default if model is not None else None
    return region


async def _receive(end: WebSocket, timeout: float | None) -> str | bytes:
    assert end._queue is not None
    if end._queue.empty() and end.readyState == CLOSED and getattr(end, "_final", None):
        raise WebSocketClosed(*end._final)
    try:
        kind, payload = await asyncio.wait_for(end._queue.get(), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"no WebSocket message within {timeout} s") from None
    if kind == "message":
        return bytes(payload) if isinstance(payload, JsBuffer) else payload
    if kind == "close":
        code, reason, clean = payload
        end._final = (code, reason, clean)  # type: ignore[attr-defined]
        raise WebSocketClosed(code, reason, clean)
    raise WebSocketClosed(ABNORMAL_CLOSURE, str(payload), False)


class _SessionBase:
    def __init__(self, rt: Any, end: WebSocket, url: str) -> None:
        self.runtime, self._end, self.url = rt, end, url

    @property
    def socket(self) -> WebSocket:
        """The client end inside the runtime (for inspection)."""
        return self._end

    @property
    def closed(self) -> bool:
        return self._end.readyState == CLOSED

    @property
    def close_code(self) -> int | None:
        final = getattr(self._end, "_final", None)
        return final[0] if final else None

    @property
    def close_reason(self) -> str | None:
        final = getattr(self._end, "_final", None)
        return final[1] if final else None

    async def _send(self, data: Any) -> None:
        self._end.send(data)

    async def _close(self, code: int, reason: str) -> None:
        self._end.close(code, reason)


class WebSocketSession(_SessionBase):
    """A blocking WebSocket client on a Worker in-process: ``send``, ``receive``, ``close``.

    Safe from any thread but the runtime's (a notebook, a test). ``receive(timeout)`` waits on
    the runtime clock: on virtual time an idle wait jumps the clock, so it returns at once.
    """

    def send(self, data: str | bytes) -> None:
        self.runtime.call(self._send(data))

    def send_json(self, value: Any) -> None:
        self.send(json.dumps(value))

    def receive(self, timeout: float | None = 5.0) -> str | bytes:
        """The next message; raises WebSocketClosed when the server closed, TimeoutError after
        ``timeout`` seconds of the runtime clock."""
        return self.runtime.call(_receive(self._end, timeout))

    def receive_json(self, timeout: float | None = 5.0) -> Any:
        return json.loads(self.receive(timeout))

    def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.runtime._closed and self._end.readyState != CLOSED:
            self.runtime.call(self._close(code, reason))

    def __enter__(self) -> "WebSocketSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<WebSocketSession {self.url} {'closed' if self.closed else 'open'}>"


class AsyncWebSocketSession(_SessionBase):
    """The async twin of :class:`WebSocketSession`, usable from any event loop."""

    async def send(self, data: str | bytes) -> None:
        await self.runtime.call_async(self._send(data))

    async def receive(self, timeout: float | None = 5.0) -> str | bytes:
        return await self.runtime.call_async(_receive(self._end, timeout))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._end.readyState != CLOSED:
            await self.runtime.call_async(self._close(code, reason))

    async def __aenter__(self) -> "AsyncWebSocketSession":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def _absolute(rt: Any, path: str, base_url: str) -> str:
    if "://" in path:
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def connect(rt: Any, path: str, *, worker: str | None = None, region: str | None = None, headers: Any = None,
            base_url: str = "http://localhost:8787") -> WebSocketSession:
    """``rt.websocket(path)``: upgrade ``path`` on a Worker and return a blocking session."""
    url = _absolute(rt, path, base_url)
    end = rt.call(open_connection(rt, url, worker=worker, region=region, headers=headers))
    return WebSocketSession(rt, end, url)


async def connect_async(rt: Any, path: str, *, worker: str | None = None, region: str | None = None,
                        headers: Any = None, base_url: str = "http://localhost:8787") -> AsyncWebSocketSession:
    url = _absolute(rt, path, base_url)
    end = await rt.call_async(open_connection(rt, url, worker=worker, region=region, headers=headers))
    return AsyncWebSocketSession(rt, end, url)


# -- the runtime-wide service (ASGI bridge) -----------------------------------------------------
class WebSocketService:
    """``rt.platform["websockets"]``: numbers pairs and serves WebSockets over ASGI."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self._pairs = 0

    def next_pair(self) -> int:
        self._pairs += 1
        return self._pairs

    async def serve_asgi(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any], *,
                         url: str) -> None:
        """Bridge one ASGI WebSocket connection (uvicorn's loop) to a Worker (the runtime's loop)."""
        rt = self.runtime
        first = await receive()
        if first.get("type") != "websocket.connect":
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        request = Request(url, method="GET", headers=headers)
        response = await rt.call_async(rt.dispatch(request, source="http"))
        if response.status != 101 or response.webSocket is None:
            body = response.body or b""
            if "websocket.http.response" in (scope.get("extensions") or {}):
                await send({"type": "websocket.http.response.start", "status": response.status,
                            "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                        for k, v in response.headers.raw_items()]})
                await send({"type": "websocket.http.response.body", "body": body})
            else:
                await send({"type": "websocket.close", "code": 1008})
            return

        async def take() -> WebSocket:
            return take_client_end(response, _client_region(rt, request))

        end = await rt.call_async(take(), hold=False)
        accept: dict[str, Any] = {"type": "websocket.accept"}
        protocol = response.headers.get("sec-websocket-protocol")
        if protocol:
            accept["subprotocol"] = protocol
        await send(accept)

        async def pump_out() -> None:
            assert end._queue is not None
            while True:
                kind, payload = await rt.call_async(end._queue.get(), hold=False)
                if kind == "message":
                    if isinstance(payload, str):
                        await send({"type": "websocket.send", "text": payload})
                    else:
                        await send({"type": "websocket.send", "bytes": bytes(payload)})
                elif kind == "close":
                    code, reason, _clean = payload
                    # 1005/1006 cannot be sent in a frame (RFC 6455 7.4.1); report an error.
                    await send({"type": "websocket.close", "code": code if code in _SENDABLE_CLOSE_CODES else 1011,
                                "reason": reason})
                    return

        writer = asyncio.ensure_future(pump_out())
        try:
            while True:
                reader = asyncio.ensure_future(receive())
                done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
                if writer in done:
                    reader.cancel()
                    break
                message = reader.result()
                if message["type"] == "websocket.receive":
                    data = message.get("text")
                    if data is None:
                        data = message.get("bytes") or b""
                    if end.readyState != CLOSED and not end._close_sent:
                        await rt.run_on_loop_async(lambda d=data: end.send(d))
                elif message["type"] == "websocket.disconnect":
                    code = message.get("code", 1005)
                    if code in _SENDABLE_CLOSE_CODES:
                        await rt.run_on_loop_async(lambda: end.close(code, message.get("reason") or ""))
                    else:
                        await rt.run_on_loop_async(lambda: end._drop_connection(ABNORMAL_CLOSURE, ""))
                    break
        finally:
            if not writer.done():
                writer.cancel()


#: The runtime's WebSocket bookkeeping.
WEBSOCKETS: ServiceSlot[WebSocketService] = ServiceSlot("websockets", WebSocketService)


def service(runtime: Any) -> WebSocketService:
    return WEBSOCKETS.of(runtime)
