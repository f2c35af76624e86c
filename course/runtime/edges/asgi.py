"""The runtime as an ASGI application, served over real HTTP by ``course serve`` (uvicorn).

Each HTTP request becomes a Worker ``Request`` delivered on the runtime's loop, and each line of
the log looks like ``wrangler dev``'s: ``[course:info] GET /path 200 OK (3ms)``; the path is
logged as sent (percent-encoded, control characters escaped), so a request cannot write a line
of its own into the log. WebSocket upgrades are bridged by ``course.runtime.edges.websocket_bridge``.

A body over Cloudflare's limit gets 413 before it is read (edges/limits.py). Like ``wrangler
dev``, the server fires the main Worker's ``scheduled`` handler on request (edges/scheduled.py:
``/cdn-cgi/handler/scheduled`` always, ``/__scheduled`` with ``test_scheduled``).
"""
from __future__ import annotations

import contextvars
import sys
import time
from http import HTTPStatus
from typing import Any, Callable

from course.runtime.edges.limits import (MAX_REQUEST_BODY_BYTES, PAYLOAD_TOO_LARGE, BodyCounter,
                                         RequestBodyTooLarge, check_declared_length, too_large_text)
from course.runtime.edges.scheduled import SCHEDULED_TRIGGER_PATH, TEST_SCHEDULED_PATH, scheduled_trigger
from course.runtime.edges.websocket_bridge import serve_websocket
from course.workers.http import Request

Send = Callable[[dict[str, Any]], Any]
Receive = Callable[[], Any]

__all__ = ["LOCAL_CF", "REASON_PHRASE", "SCHEDULED_TRIGGER_PATH", "TEST_SCHEDULED_PATH", "WorkerASGIApp",
           "log_path", "send_reason_phrases"]

#: ``request.cf`` of a request served locally: every documented field, with placeholder values
#: for a machine that is no Cloudflare location ("XX" is Cloudflare's unknown country; the colo
#: names no region, so the network model's latency stays off for HTTP callers)
#: (https://developers.cloudflare.com/workers/runtime-apis/request/#incomingrequestcfproperties).
LOCAL_CF: dict[str, Any] = {
    "asn": 0, "asOrganization": "local", "colo": "LOCAL", "country": "XX", "city": "", "continent": "",
    "latitude": "0.00000", "longitude": "0.00000", "timezone": "UTC", "region": "", "regionCode": "",
    "metroCode": "", "postalCode": "", "tlsVersion": "", "tlsCipher": "", "clientTcpRtt": 0,
    "requestPriority": "", "edgeRequestKeepAliveStatus": 1, "clientAcceptEncoding": "",
}


def _url(scope: dict[str, Any], host: str | None = None) -> str:
    """The request's URL; ``host``: its Host header when the caller has decoded it already."""
    if host is None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host")
    scheme = scope.get("scheme", "http")
    if scheme in ("ws", "wss"):
        scheme = "http" if scheme == "ws" else "https"
    if not host:
        server = scope.get("server") or ("localhost", 8787)
        host = f"{server[0]}:{server[1]}"
    path = scope.get("raw_path") or scope.get("path", "/").encode()
    if isinstance(path, bytes):
        path = path.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


def log_path(scope: dict[str, Any]) -> str:
    """The request path for the log, as sent: percent-encoding kept (``%0A`` stays ``%0A``, not a
    line break) and every byte outside printable ASCII written as ``%XX``."""
    raw = scope.get("raw_path")
    data = raw if isinstance(raw, bytes) else scope.get("path", "/").encode("utf-8")
    return "".join(chr(b) if 0x21 <= b <= 0x7E else f"%{b:02X}" for b in data)


#: The reason phrase of the response being sent (``Response(statusText=...)``). ASGI has no field
#: for it, so ``course serve`` reads it here through :func:`send_reason_phrases` (conformance:
#: http_status_text).
REASON_PHRASE: contextvars.ContextVar[str | None] = contextvars.ContextVar("course_reason", default=None)


class _ReasonPhrases(dict):
    """uvicorn's status-phrase table, answering with the Worker's own statusText when set."""

    def __getitem__(self, status: int) -> Any:
        custom = REASON_PHRASE.get()
        if custom is not None:
            return custom.encode("latin-1", errors="replace") if isinstance(
                dict.get(self, status), bytes) else custom
        return dict.__getitem__(self, status)


def send_reason_phrases() -> bool:
    """Make uvicorn's h11 server send each response's own reason phrase; False if it can't."""
    try:
        from uvicorn.protocols.http import h11_impl
    except ImportError:
        return False
    table = getattr(h11_impl, "STATUS_PHRASES", None)
    if not isinstance(table, dict):
        return False
    if not isinstance(table, _ReasonPhrases):
        h11_impl.STATUS_PHRASES = _ReasonPhrases(table)
    return True


class WorkerASGIApp:
    """ASGI app that serves the main Worker of ``runtime``."""

    def __init__(self, runtime: Any, *, log: bool = True, stream: Any = None, test_scheduled: bool = False,
                 max_body_bytes: int = MAX_REQUEST_BODY_BYTES) -> None:
        self.runtime = runtime
        self.log = log
        self.stream = stream or sys.stdout
        self.test_scheduled = test_scheduled
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if kind == "websocket":
            await serve_websocket(self.runtime, scope, receive, send, url=_url(scope))
            return
        if kind != "http":
            return
        started = time.perf_counter()
        method = scope["method"].upper()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        try:
            body = await self._read_body(headers, receive)
        except RequestBodyTooLarge as exc:
            await self._send_plain(send, PAYLOAD_TOO_LARGE, too_large_text(exc.limit))
            self._log_line(scope, method, PAYLOAD_TOO_LARGE, "Payload Too Large", started)
            return
        if body is None:  # the client went away
            return
        trigger = scheduled_trigger(scope.get("path", "/"), scope.get("query_string", b"").decode("latin-1"),
                                    test_scheduled=self.test_scheduled)
        if trigger is not None:
            answer = await self.runtime.call_async(trigger.answer(self.runtime))
            await self._send_plain(send, answer.status, answer.text)
            self._log_line(scope, method, answer.status, "", started)
            return
        # A request that declares a body (even an empty one: Content-Length: 0) has a non-null
        # body, as on workerd (tests/conformance: http_empty_body).
        declared = any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers)
        has_body = method not in ("GET", "HEAD") and (bool(body) or declared)
        try:
            cf = {**LOCAL_CF, "httpProtocol": f"HTTP/{scope.get('http_version', '1.1')}"}
            host = next((v for k, v in reversed(headers) if k.lower() == "host"), None)
            request = Request(_url(scope, host), method=method, headers=headers,
                              body=bytes(body) if has_body else None, cf=cf)
        except Exception as exc:  # noqa: BLE001 - a malformed request gets a 400
            await self._send_plain(send, 400, f"Bad request: {exc}\n")
            return
        response = await self.runtime.call_async(self.runtime.dispatch(request, source="http"))
        if response.status == 101:
            await self._send_plain(send, 426, "WebSocket upgrade requires a WebSocket request\n")
            return
        live = response._live if method != "HEAD" and response.status not in (204, 304) else None
        payload = b"" if live is not None else (response.body or b"")
        out_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.raw_items()
                       if k != "content-length"]
        if live is None and method != "HEAD" and response.status not in (204, 304):
            out_headers.append((b"content-length", str(len(payload)).encode()))
        token = REASON_PHRASE.set(response.statusText or None)
        try:
            await send({"type": "http.response.start", "status": response.status, "headers": out_headers})
        finally:
            REASON_PHRASE.reset(token)
        if live is not None:
            await self._send_stream(live, send)
        else:
            await send({"type": "http.response.body", "body": payload if method != "HEAD" else b""})
        self._log_line(scope, method, response.status, response.statusText, started)

    async def _send_stream(self, live: Any, send: Send) -> None:
        """A body still being produced, sent chunk by chunk as the Worker makes it (chunked
        transfer encoding, like workerd for a body of unknown length), each chunk read on the
        runtime's loop so this server's loop never waits on the Worker. A producer that fails
        ends the response where it is (the client sees a truncated body, as from workerd)."""
        while True:
            try:
                chunk = await self.runtime.call_async(live.next_chunk())
            except Exception:  # noqa: BLE001 - the Worker's stream failed: end the response here
                chunk = None
            if chunk is None:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _read_body(self, headers: list[tuple[str, str]], receive: Receive) -> bytearray | None:
        """The whole request body, or None if the client disconnected; RequestBodyTooLarge as
        soon as the declared length or the bytes received pass the limit."""
        check_declared_length(headers, self.max_body_bytes)
        counter = BodyCounter(self.max_body_bytes)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(counter.add(message.get("body", b"")))
                if not message.get("more_body"):
                    return body
            elif message["type"] == "http.disconnect":
                return None

    def _log_line(self, scope: dict[str, Any], method: str, status: int, text: str, started: float) -> None:
        if self.log:
            ms = (time.perf_counter() - started) * 1000
            if not text:
                try:
                    text = HTTPStatus(status).phrase
                except ValueError:
                    text = ""
            print(f"[course:info] {method} {log_path(scope)} {status} {text} ({ms:.0f}ms)", file=self.stream, flush=True)

    @staticmethod
    async def _send_plain(send: Send, status: int, text: str) -> None:
        data = text.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain;charset=UTF-8"),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
