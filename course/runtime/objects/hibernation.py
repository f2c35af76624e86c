"""The WebSocket Hibernation API of Durable Objects: ``ctx.acceptWebSocket`` and its events.

https://developers.cloudflare.com/durable-objects/best-practices/websockets/ : with
``ctx.acceptWebSocket(server, tags)`` a socket's messages, closes and errors are delivered as
events of the object (``webSocketMessage(ws, message)``, ``webSocketClose(ws, code, reason,
wasClean)``, ``webSocketError(ws, error)``), through the same input/output gates as a fetch.
With only hibernatable sockets open, an idle object is evicted after
:data:`HIBERNATION_IDLE_SECONDS` and rebuilt (constructor again) on the next message; its
sockets, tags and attachments stay, because they live in :class:`ObjectSockets`, kept by the
class's host and not by the instance.

``ctx.setHibernatableWebSocketEventTimeout(ms)`` bounds how long one ``webSocketMessage`` /
``webSocketClose`` / ``webSocketError`` event may run, on the runtime clock: past it the
event is cancelled and the object is reset ("Actor exceeded event execution time and was
disconnected.", as workerd does), which also drops its WebSockets (1006).
"""
from __future__ import annotations

import datetime as _dt
import inspect
from typing import Any, Awaitable, Iterable

from course.workers.context import current_actor
from course.workers.jsproxy import JsArray, JsException, to_py
from course.workers.websocket import ABNORMAL_CLOSURE, WebSocket, WebSocketRequestResponsePair

from course.runtime.kernel.worker import call_relaxed
from course.runtime.net.endpoints import Endpoint
from course.runtime.objects.errors import reset_error
from course.runtime.objects.instance import InstanceHost, LiveObject
from course.runtime.objects.websocket_wire import EndLink, actor_of

# -- limits, with their sources ---------------------------------------------------------------
#: "The WebSocket Hibernation API permits a maximum of 32,768 WebSocket connections per Durable
#: Object" (https://developers.cloudflare.com/durable-objects/api/state/#acceptwebsocket).
MAX_HIBERNATABLE_WEBSOCKETS = 32_768
#: "Each tag is a maximum of 256 characters and there can be at most 10 tags associated with a
#: WebSocket" (same page).
MAX_TAGS_PER_WEBSOCKET = 10
MAX_TAG_LENGTH = 256
#: An idle object whose only connections are hibernatable hibernates "after 10 seconds of
#: inactivity" (https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/).
HIBERNATION_IDLE_SECONDS = 10.0
#: setHibernatableWebSocketEventTimeout: "sets the maximum amount of time in milliseconds that a
#: WebSocket event can run for ... The maximum value of timeout is 604,800,000 ms (7 days)"
#: (https://developers.cloudflare.com/durable-objects/api/state/#sethibernatablewebsocketeventtimeout).
MAX_EVENT_TIMEOUT_MS = 604_800_000
#: What an event past that timeout does: the docs do not say; workerd (Cloudflare's open-source
#: runtime) shuts the object down with this error, so in-flight work fails and memory is lost.
EVENT_TIMEOUT_MESSAGE = "Actor exceeded event execution time and was disconnected."

#: The object's handler for each kind of frame.
HANDLERS = {"message": "webSocketMessage", "close": "webSocketClose", "error": "webSocketError"}


class ObjectSockets:
    """The hibernatable sockets of one Durable Object; lives outside the instance, so it
    survives hibernation (eviction) and the constructor running again."""

    def __init__(self) -> None:
        self.sockets: list[WebSocket] = []
        self.auto_response: WebSocketRequestResponsePair | None = None
        self.event_timeout_ms: int | None = None
        #: when each socket last sent an auto-response (seconds since the epoch, runtime clock)
        self.auto_response_at: dict[WebSocket, float] = {}

    def __len__(self) -> int:
        return len(self.sockets)

    def discard(self, ws: WebSocket) -> None:
        if ws in self.sockets:
            self.sockets.remove(ws)
        self.auto_response_at.pop(ws, None)

    def drop_all(self, reason: str) -> None:
        """"WebSocket requests are terminated automatically during shutdown": a reset drops them."""
        for ws in list(self.sockets):
            ws.drop_connection(ABNORMAL_CLOSURE, reason)


class HibernatedOwner:
    """Where the frames of a socket accepted with ``ctx.acceptWebSocket`` go: the object's
    ``webSocketMessage`` / ``webSocketClose`` / ``webSocketError``, waking it if evicted."""

    def __init__(self, host: InstanceHost, hex_id: str, sockets: ObjectSockets) -> None:
        self.host, self.hex, self.sockets = host, hex_id, sockets
        self.worker = host.worker
        self.label: str | None = f"{host.binding_name}:{host.label_of(hex_id)}"

    def endpoint(self) -> Endpoint:
        return Endpoint(self.host.region_of(self.hex), self.label, self.host.binding_name)

    def release(self, ws: WebSocket) -> None:
        self.sockets.discard(ws)

    def deliver(self, ws: WebSocket, kind: str, payload: Any) -> None:
        host, hex_id, sockets = self.host, self.hex, self.sockets
        rt = host.runtime
        auto = sockets.auto_response
        if kind == "message" and auto is not None and payload == auto.request:
            # Answered by the runtime: the object is not woken, nothing runs in it.
            sockets.auto_response_at[ws] = rt.clock.wall()
            ws.link.trace("ws_auto_response", object=self.label)
            ws.send(auto.response)
            return
        method = HANDLERS[kind]
        args: tuple[Any, ...] = (ws, *payload) if kind == "close" else (ws, payload)
        timeout_ms = sockets.event_timeout_ms  # the one set when the event is dispatched

        def call(instance: Any) -> Any:
            handler = getattr(instance, method, None)
            if handler is None or not callable(handler):
                return None
            result = call_relaxed(handler, *args)
            if timeout_ms and inspect.isawaitable(result):
                return within_event_timeout(host, hex_id, method, timeout_ms, result)
            return result

        async def run() -> None:
            current_actor.set(actor_of(ws.peer))
            try:
                await host.deliver(host.id_of(hex_id), "websocket", method, call)
            except Exception as exc:  # noqa: BLE001 - logged; the connection stays
                rt.log("error", f"{host.class_name}.{method} failed: {type(exc).__name__}: {exc}",
                       worker=host.worker.name)

        rt.spawn(run(), label=f"websocket:{method}", worker=host.worker)


async def within_event_timeout(host: InstanceHost, hex_id: str, method: str, timeout_ms: float,
                               handler: Awaitable[Any]) -> Any:
    """Run one hibernatable WebSocket event's handler under ``timeout_ms`` of the runtime clock.

    Past it the object is reset with :data:`EVENT_TIMEOUT_MESSAGE`: the handler is cancelled,
    unconfirmed writes are lost and the object's WebSockets drop (as any reset does).
    """
    rt = host.runtime
    live = host.instance(hex_id)  # the instance running this event

    def expired() -> None:
        if live is None or live.dead or host.instance(hex_id) is not live:
            return
        host.crash(hex_id, reason="websocket_event_timeout", error=reset_error(EVENT_TIMEOUT_MESSAGE))

    timer = rt.call_later(timeout_ms / 1000.0, expired,
                          label=f"websocket-event-timeout:{host.binding_name}:{host.label_of(hex_id)}",
                          method=method, timeout_ms=timeout_ms)
    try:
        return await handler
    finally:
        timer.cancel()


class HibernationAPI:
    """The WebSocket methods of ``ctx`` (``DurableObjectState``): the object is ``self._live``,
    its hibernatable sockets ``self._hibernation``."""

    _live: LiveObject
    _hibernation: ObjectSockets

    def acceptWebSocket(self, ws: Any, tags: Iterable[str] | None = None) -> None:  # noqa: N802
        """Attach ``ws`` to this object: its events arrive as webSocketMessage/Close/Error."""
        if not isinstance(ws, WebSocket):
            raise JsException(f"acceptWebSocket() takes a WebSocket (from WebSocketPair), got {type(ws).__name__}",
                              "TypeError")
        if ws.mode is not None:
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
        sockets = self._hibernation
        if len(sockets.sockets) >= MAX_HIBERNATABLE_WEBSOCKETS:
            raise JsException(f"acceptWebSocket(): this Durable Object already has {MAX_HIBERNATABLE_WEBSOCKETS} "
                              "hibernatable WebSockets", "RangeError")
        live = self._live
        link = ws.link
        if not isinstance(link, EndLink):
            raise JsException("acceptWebSocket(): this WebSocket does not belong to this runtime", "TypeError")
        link.own(HibernatedOwner(live.host, live.hex, sockets))
        sockets.sockets.append(ws)
        live.trace("ws_accept", socket=ws.label, mode="hibernatable", tags=list(tag_list))
        ws.accept_hibernatable(tuple(tag_list))

    def getWebSockets(self, tag: str | None = None) -> JsArray:  # noqa: N802
        """The connected hibernatable sockets of this object (those with ``tag``, if given)."""
        out = [ws for ws in self._hibernation.sockets
               if ws.readyState != WebSocket.CLOSED and (tag is None or tag in ws.tags)]
        return JsArray(out)

    def getTags(self, ws: Any) -> JsArray:  # noqa: N802
        if not isinstance(ws, WebSocket) or ws not in self._hibernation.sockets:
            raise JsException("getTags(): this WebSocket was not accepted with ctx.acceptWebSocket() by this "
                              "Durable Object", "TypeError")
        return JsArray(ws.tags)

    def setWebSocketAutoResponse(self, pair: WebSocketRequestResponsePair | None = None) -> None:  # noqa: N802
        if pair is not None and not isinstance(pair, WebSocketRequestResponsePair):
            raise JsException("setWebSocketAutoResponse() takes a WebSocketRequestResponsePair (or nothing, to "
                              "remove it)", "TypeError")
        self._hibernation.auto_response = pair

    def getWebSocketAutoResponse(self) -> WebSocketRequestResponsePair | None:  # noqa: N802
        return self._hibernation.auto_response

    def getWebSocketAutoResponseTimestamp(self, ws: Any) -> _dt.datetime | None:  # noqa: N802
        """When ``ws`` last sent an auto-response (a datetime on the runtime clock), or None."""
        if not isinstance(ws, WebSocket):
            raise JsException("getWebSocketAutoResponseTimestamp() takes a WebSocket", "TypeError")
        at = self._hibernation.auto_response_at.get(ws)
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
        self._hibernation.event_timeout_ms = timeout_ms or None

    def getHibernatableWebSocketEventTimeout(self) -> int | None:  # noqa: N802
        return self._hibernation.event_timeout_ms

    accept_websocket = accept_web_socket = acceptWebSocket
    get_websockets = get_web_sockets = getWebSockets
    get_tags = getTags
    set_websocket_auto_response = setWebSocketAutoResponse
    get_websocket_auto_response = getWebSocketAutoResponse
    get_websocket_auto_response_timestamp = getWebSocketAutoResponseTimestamp
