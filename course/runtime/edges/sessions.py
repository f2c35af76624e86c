"""In-process WebSocket clients: ``rt.websocket(path)`` and ``rt.async_websocket(path)``.

A client connection is an upgrade request dispatched to a Worker on the runtime's loop; the
client end of the ``WebSocketPair`` in its 101 response is taken by the platform
(:func:`take_client_end`) and its frames land in a :class:`ClientInbox`, which
:class:`WebSocketSession` (blocking, for notebooks and tests) and
:class:`AsyncWebSocketSession` read. ``course serve`` takes client ends the same way
(``course.runtime.edges.websocket_bridge``).
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

from course.workers.http import Request, Response
from course.workers.jsproxy import JsBuffer, JsException
from course.workers.websocket import ABNORMAL_CLOSURE, WebSocket

from course.runtime.kernel.regions import request_region
from course.runtime.kernel.runtime import DEFAULT_BASE_URL, Kernel
from course.runtime.net.endpoints import Endpoint
from course.runtime.net.regions import NETWORK
from course.runtime.objects.websocket_wire import EndLink


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


class ClientInbox:
    """The owner of a client end: a client in ``region``; frames queue up for the client to read."""

    label: str | None = "client"
    worker = None

    def __init__(self, region: str | None) -> None:
        self.region = region
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        #: (code, reason, clean) once the client has read the close
        self.final: tuple[int, str, bool] | None = None

    def endpoint(self) -> Endpoint:
        return Endpoint(self.region, "client")

    def deliver(self, ws: WebSocket, kind: str, payload: Any) -> None:
        self.queue.put_nowait((kind, payload))

    def release(self, ws: WebSocket) -> None:
        pass

    async def receive(self, timeout: float | None) -> str | bytes:
        """The next message; raises WebSocketClosed at the close, TimeoutError after ``timeout``."""
        if self.queue.empty() and self.final is not None:
            raise WebSocketClosed(*self.final)
        try:
            kind, payload = await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no WebSocket message within {timeout} s") from None
        if kind == "message":
            return bytes(payload) if isinstance(payload, JsBuffer) else payload
        if kind == "close":
            code, reason, clean = payload
            self.final = (code, reason, clean)
            raise WebSocketClosed(code, reason, clean)
        raise WebSocketClosed(ABNORMAL_CLOSURE, str(payload), False)


def upgrade_headers(extra: Any = None) -> list[tuple[str, str]]:
    """Headers of a WebSocket upgrade request (RFC 6455 section 4.1)."""
    key = base64.b64encode(os.urandom(16)).decode()
    headers = [("upgrade", "websocket"), ("connection", "Upgrade"), ("sec-websocket-version", "13"),
               ("sec-websocket-key", key)]
    if extra:
        items = extra.items() if hasattr(extra, "items") else extra
        headers.extend((str(k).lower(), str(v)) for k, v in items)
    return headers


def take_client_end(response: Response, region: str | None = None) -> tuple[WebSocket, ClientInbox]:
    """The platform takes the client end of a 101 response for a client connection in ``region``."""
    ws = response.webSocket
    if not isinstance(ws, WebSocket) or not isinstance(ws.link, EndLink):
        raise JsException(f"a 101 response must carry a WebSocket, got {type(ws).__name__}", "TypeError")
    inbox = ClientInbox(region)
    if ws.mode is None:
        ws.link.own(inbox)
    ws.accept_external()
    return ws, inbox


def client_region(rt: Kernel, request: Request, explicit: str | None = None) -> str | None:
    """Where a client connection comes from: as for its upgrade request, else the default region."""
    region = request_region(request, explicit)
    if region is None:
        model = NETWORK.peek(rt)
        region = model.default if model is not None else None
    return region


async def open_connection(rt: Kernel, url: str, *, worker: str | None = None, region: str | None = None,
                          headers: Any = None, source: str = "client") -> tuple[WebSocket, ClientInbox]:
    """Make an upgrade request to a Worker (on the loop) and return the client end and its inbox."""
    request = Request(url, method="GET", headers=upgrade_headers(headers))
    kwargs = {"region": region} if region is not None else {}
    response = await rt.dispatch(request, worker=worker, source=source, **kwargs)
    if response.status != 101 or response.webSocket is None:
        body = (response.body or b"").decode("utf-8", errors="replace")
        raise WebSocketUpgradeError(response.status, body)
    return take_client_end(response, client_region(rt, request, region))


class _SessionBase:
    def __init__(self, rt: Kernel, end: WebSocket, inbox: ClientInbox, url: str) -> None:
        self.runtime, self._end, self._inbox, self.url = rt, end, inbox, url

    @property
    def socket(self) -> WebSocket:
        """The client end inside the runtime (for inspection)."""
        return self._end

    @property
    def closed(self) -> bool:
        return self._end.readyState == WebSocket.CLOSED

    @property
    def close_code(self) -> int | None:
        return self._inbox.final[0] if self._inbox.final else None

    @property
    def close_reason(self) -> str | None:
        return self._inbox.final[1] if self._inbox.final else None

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
        return self.runtime.call(self._inbox.receive(timeout))

    def receive_json(self, timeout: float | None = 5.0) -> Any:
        return json.loads(self.receive(timeout))

    def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        try:
            self.runtime.call(self._close(code, reason))
        except RuntimeError as exc:
            if "closed" not in str(exc):  # a closed runtime took the connection with it
                raise

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
        return await self.runtime.call_async(self._inbox.receive(timeout))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed:
            await self.runtime.call_async(self._close(code, reason))

    async def __aenter__(self) -> "AsyncWebSocketSession":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def _absolute(path: str, base_url: str) -> str:
    if "://" in path:
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def connect(rt: Kernel, path: str, *, worker: str | None = None, region: str | None = None, headers: Any = None,
            base_url: str = DEFAULT_BASE_URL) -> WebSocketSession:
    """``rt.websocket(path)``: upgrade ``path`` on a Worker and return a blocking session."""
    url = _absolute(path, base_url)
    end, inbox = rt.call(open_connection(rt, url, worker=worker, region=region, headers=headers))
    return WebSocketSession(rt, end, inbox, url)


async def connect_async(rt: Kernel, path: str, *, worker: str | None = None, region: str | None = None,
                        headers: Any = None, base_url: str = DEFAULT_BASE_URL) -> AsyncWebSocketSession:
    """``rt.async_websocket(path)``: the async twin of :func:`connect`."""
    url = _absolute(path, base_url)
    end, inbox = await rt.call_async(open_connection(rt, url, worker=worker, region=region, headers=headers))
    return AsyncWebSocketSession(rt, end, inbox, url)
