"""Where a Worker's outbound ``fetch`` goes: registered upstreams, the internet, or a clear refusal.

Every subrequest of Worker code takes this one path: ``fetch``, ``js.fetch``, the HTTP client
libraries (``httpx``, ``requests``/``urllib3``, ``aiohttp``: :mod:`course.workers.http_clients`)
and the upgrade request of an outbound WebSocket (``js.WebSocket``, or ``fetch`` with
``Upgrade: websocket``: a registered Worker or function answers it with a 101 and a
``WebSocketPair`` end; online, a real connection made with the ``websockets`` client is joined to
a pair).
Faults (partitions, added latency) apply first, then the request goes to the upstream registered
for its URL (``rt.network.upstream(...)``: a function, an httpx transport, or another Worker in
the same runtime). Anything else reaches the real internet only when the network is ``online``
(``course serve``, like ``wrangler dev``, unless ``--offline``); an in-process runtime is offline
by default, so a test or notebook stays deterministic and a subrequest to an unknown host fails
at once with the URL and how to register a stand-in.
"""
from __future__ import annotations

import asyncio
import inspect
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.sync.client import connect as websockets_connect

from course.runtime.net.endpoints import Endpoint
from course.runtime.net.faults import FAULTS
from course.runtime.net.links import call_outbound
from course.workers.http import Request, Response
from course.workers.jsproxy import JsException
from course.workers.websocket import (ABNORMAL_CLOSURE, MAX_MESSAGE_BYTES, SENDABLE_CLOSE_CODES, WebSocket,
                                      WebSocketPair)

#: Cloudflare allows 50 subrequests per invocation on the Free plan and 10,000 on Paid
#: (https://developers.cloudflare.com/workers/platform/limits/#subrequests). Paid is modelled.
SUBREQUEST_LIMIT = 10_000


@dataclass
class Upstream:
    prefix: str
    target: Any  # callable(Request) -> Response | awaitable, httpx transport, or Worker name


def to_httpx_request(request: Request, body: bytes | None) -> httpx.Request:
    return httpx.Request(request.method, request.url, headers=request.headers.raw_items(), content=body or b"")


#: Headers that describe bytes on the wire; a fetch Response holds the decoded body.
WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

#: Seconds a real subrequest may take before it fails. Cloudflare has no wall-clock limit on a
#: subrequest while the client stays connected
#: (https://developers.cloudflare.com/workers/platform/limits/#duration); 100 s is the proxy
#: read timeout in front of a Worker (Cloudflare error 524), the longest a client would wait.
INTERNET_TIMEOUT = 100.0


def from_httpx_response(resp: httpx.Response) -> Response:
    status = resp.status_code
    content = resp.content if status not in (101, 204, 205, 304) else None
    headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in WIRE_HEADERS]
    response = Response(content, status=status, headers=headers, statusText=resp.reason_phrase or None)
    try:
        response.url = str(resp.request.url)
    except RuntimeError:  # a transport's response may carry no request
        pass
    return response


def _http_prefix(prefix: str) -> str:
    """An upstream prefix as an http(s) URL: a bare host is https, and ws/wss are the http/https
    URLs a WebSocket's upgrade request goes to (WHATWG WebSockets, "establish a WebSocket connection")."""
    if "://" not in prefix:
        return f"https://{prefix}"
    scheme, rest = prefix.split("://", 1)
    return f"{ {'ws': 'http', 'wss': 'https'}.get(scheme.lower(), scheme)}://{rest}"


def is_upgrade(request: Request) -> bool:
    """Whether ``request`` asks for a WebSocket (``Upgrade: websocket``, RFC 6455 section 4.1)."""
    return (request.headers.get("upgrade") or "").lower() == "websocket"


async def _body_bytes(request: Request) -> bytes | None:
    """The request body as bytes for a transport outside the runtime (a streaming body read whole)."""
    if request._live is not None:
        return await request._live.read_all()
    return request.body


class Network:
    """Routes outbound subrequests of every Worker in one runtime."""

    def __init__(self, runtime: Any, *, online: bool = False) -> None:
        self.runtime = runtime
        self._upstreams: list[Upstream] = []
        #: Whether a subrequest no upstream claims goes to the real internet (``course serve``).
        self.online = online

    def upstream(self, prefix: str, target: Any) -> None:
        """Send ``fetch`` calls whose URL starts with ``prefix`` to ``target``.

        ``target`` is ``fn(request) -> Response`` (sync or async), an ``httpx`` transport, or the
        name of another Worker loaded in this runtime.
        """
        prefix = _http_prefix(prefix)
        self._upstreams = [u for u in self._upstreams if u.prefix != prefix]
        self._upstreams.append(Upstream(prefix, target))
        self._upstreams.sort(key=lambda u: -len(u.prefix))

    def remove_upstream(self, prefix: str) -> None:
        prefix = _http_prefix(prefix)
        self._upstreams = [u for u in self._upstreams if u.prefix != prefix]

    def _match(self, url: str) -> Upstream | None:
        for u in self._upstreams:
            # A prefix matches at a URL boundary only: "https://api.example.com" must not
            # catch "https://api.example.com.evil.test/".
            if url.startswith(u.prefix) and (len(url) == len(u.prefix) or u.prefix[-1] in "/?#"
                                             or url[len(u.prefix)] in "/?#"):
                return u
        host = urlsplit(url).netloc
        for u in self._upstreams:
            if urlsplit(u.prefix).netloc == host and urlsplit(u.prefix).path in ("", "/"):
                return u
        return None

    async def outbound_fetch(self, request: Request) -> Response:
        rt = self.runtime
        if FAULTS.peek(rt) is not None:  # partitions and added latency (course.runtime.net.faults)
            await call_outbound(rt, request.url)
        upstream = self._match(request.url)
        rt.trace.record("subrequest", method=request.method, url=request.url,
                        upstream=upstream.prefix if upstream else None)
        if upstream is None:
            if self.online:
                return await self._internet_fetch(request)
            parts = urlsplit(request.url)
            raise JsException(
                f"fetch({request.url!r}) failed: this runtime is offline (in-process runtimes are, "
                f"so tests stay deterministic). Register a stand-in for the host: "
                f"rt.network.upstream('{parts.scheme}://{parts.netloc}', handler) (a function taking a "
                "Request and returning a Response, an httpx transport, or a Worker's name); or set "
                "rt.network.online = True to reach the internet, as `course serve` does unless --offline",
                "TypeError",
            )
        target = upstream.target
        if isinstance(target, str):
            return await rt.dispatch(request, worker=target)  # a streaming body stays streaming
        if is_upgrade(request) and isinstance(target, (httpx.AsyncBaseTransport, httpx.BaseTransport)):
            raise JsException(f"fetch({request.url!r}) asks for a WebSocket upgrade, but the upstream "
                              f"{upstream.prefix!r} is an httpx transport, which cannot carry one: register a "
                              "Worker's name, or a function returning Response(None, status=101, web_socket=client)",
                              "TypeError")
        body = await _body_bytes(request) if not callable(target) else None
        if isinstance(target, httpx.AsyncBaseTransport):
            resp = await target.handle_async_request(to_httpx_request(request, body))
            await resp.aread()
            return from_httpx_response(resp)
        if isinstance(target, httpx.BaseTransport):
            resp = target.handle_request(to_httpx_request(request, body))
            resp.read()
            return from_httpx_response(resp)
        if callable(target):
            result = target(request)
            if inspect.isawaitable(result):
                result = await result
            if not isinstance(result, Response):
                raise TypeError(f"upstream {upstream.prefix!r} returned {type(result).__name__}, "
                                "expected a Response")
            return result
        raise TypeError(f"upstream {upstream.prefix!r}: unsupported target {target!r}")

    async def _internet_fetch(self, request: Request) -> Response:
        """The request over the real internet, on a worker thread (the loop keeps running)."""
        rt = self.runtime
        if is_upgrade(request):
            return await self._internet_websocket(request)
        outgoing = to_httpx_request(request, await _body_bytes(request))
        follow = request.redirect != "manual"

        def send() -> httpx.Response:
            with httpx.Client(timeout=INTERNET_TIMEOUT, follow_redirects=follow) as client:
                resp = client.send(outgoing)
                resp.read()
                return resp

        rt.clock.external_io_started()  # virtual time must not jump past real I/O
        try:
            # A thread without the Worker's context: the client libraries' own transports apply.
            resp = await asyncio.get_running_loop().run_in_executor(None, send)
        except httpx.HTTPError as exc:
            raise JsException(f"fetch({request.url!r}) failed: {type(exc).__name__}: {exc}", "TypeError") from None
        finally:
            rt.clock.external_io_finished()
        return from_httpx_response(resp)

    async def _internet_websocket(self, request: Request) -> Response:
        """An upgrade request over the real internet: a real WebSocket connection (the
        ``websockets`` client, on threads) joined to the client end of a ``WebSocketPair``."""
        url = "ws" + request.url[len("http"):]
        offered = [p.strip() for p in (request.headers.get("sec-websocket-protocol") or "").split(",") if p.strip()]
        headers = [(k, v) for k, v in request.headers.raw_items() if k not in HANDSHAKE_HEADERS]

        client, server = WebSocketPair.new().object_values()
        peer = InternetWebSocket(self.runtime, urlsplit(url).netloc)
        connected: Future[Any] = Future()

        def run() -> None:  # on its own thread, for the connection's life
            try:
                with websockets_connect(url, subprotocols=offered or None, additional_headers=headers,
                                        max_size=MAX_MESSAGE_BYTES, open_timeout=INTERNET_TIMEOUT) as conn:
                    connected.set_result(conn)
                    peer.pump(conn, server)
            except Exception as exc:  # noqa: BLE001 - a refused handshake fails like a failed fetch
                if not connected.done():
                    connected.set_exception(exc)

        threading.Thread(target=run, name=f"course-ws:{peer.host}", daemon=True).start()
        try:
            conn = await asyncio.wrap_future(connected)
        except Exception as exc:  # noqa: BLE001
            raise JsException(f"fetch({request.url!r}) failed: WebSocket handshake: {type(exc).__name__}: {exc}",
                              "TypeError") from None
        peer.conn = conn
        server.link.own(peer)  # type: ignore[attr-defined] - the runtime's EndLink
        server.accept_external()
        peer.accepted.set()  # frames from the internet may flow now
        protocol = {"sec-websocket-protocol": conn.subprotocol} if conn.subprotocol else {}
        return Response(None, status=101, web_socket=client, headers=protocol)


#: Headers of the upgrade handshake that the WebSocket client writes itself (RFC 6455 4.1).
HANDSHAKE_HEADERS = frozenset({"host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
                               "sec-websocket-extensions", "sec-websocket-protocol", "content-length"})


class InternetWebSocket:
    """The owner of a pair's server end whose far side is a real connection: frames the Worker
    sends go out on one sender thread (in order), frames that come in are sent by the server end
    on the runtime's loop; a close on either side closes the other."""

    label: str | None = None
    worker = None

    def __init__(self, runtime: Any, host: str) -> None:
        self.runtime, self.host = runtime, host
        self.conn: Any = None
        self.accepted = threading.Event()
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"course-ws-out:{host}")

    def endpoint(self) -> Endpoint:
        return Endpoint(None, self.host)

    def deliver(self, ws: WebSocket, kind: str, payload: Any) -> None:
        if kind == "message":
            self._sender.submit(self.conn.send, payload if isinstance(payload, str) else bytes(payload))
        elif kind == "close":
            code, reason, _clean = payload
            self._sender.submit(self.conn.close, code if code in SENDABLE_CLOSE_CODES else 1000, reason)

    def release(self, ws: WebSocket) -> None:
        self._sender.shutdown(wait=False)

    def pump(self, conn: Any, end: WebSocket) -> None:
        """On the connection's thread: every incoming frame to the Worker, then the close."""
        loop = self.runtime.loop
        self.accepted.wait()
        try:
            for message in conn:
                loop.call_soon_threadsafe(self._arrived, end, message)
        except Exception:  # noqa: BLE001 - a broken connection ends in an abnormal close below
            pass
        loop.call_soon_threadsafe(self._ended, end, conn.close_code, conn.close_reason or "")

    @staticmethod
    def _arrived(end: WebSocket, message: str | bytes) -> None:
        if end.readyState == WebSocket.OPEN and not end.close_sent:
            end.send(message)

    @staticmethod
    def _ended(end: WebSocket, code: int | None, reason: str) -> None:
        if end.readyState == WebSocket.CLOSED or end.close_sent:
            return
        if code in SENDABLE_CLOSE_CODES:
            end.close(code, reason)
        else:
            end.drop_connection(ABNORMAL_CLOSURE, reason)
