"""The runtime as an ASGI application, served over real HTTP by ``course serve`` (uvicorn).

Each HTTP request becomes a Worker ``Request`` delivered on the runtime's loop, and each line of
the log looks like ``wrangler dev``'s: ``[course:info] GET /path 200 OK (3ms)``.
WebSocket upgrades are bridged by ``course.runtime.websockets`` (``WebSocketService.serve_asgi``).
"""
from __future__ import annotations

import sys
import time
from typing import Any, Callable

from course.workers.http import Request

Send = Callable[[dict[str, Any]], Any]
Receive = Callable[[], Any]


def _url(scope: dict[str, Any]) -> str:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    scheme = scope.get("scheme", "http")
    if scheme in ("ws", "wss"):
        scheme = "http" if scheme == "ws" else "https"
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", 8787)
        host = f"{server[0]}:{server[1]}"
    path = scope.get("raw_path") or scope.get("path", "/").encode()
    if isinstance(path, bytes):
        path = path.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


class WorkerASGIApp:
    """ASGI app that serves the main Worker of ``runtime``."""

    def __init__(self, runtime: Any, *, log: bool = True, stream: Any = None) -> None:
        self.runtime = runtime
        self.log = log
        self.stream = stream or sys.stdout

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
            from .websockets import service as websockets

            await websockets(self.runtime).serve_asgi(scope, receive, send, url=_url(scope))
            return
        if kind != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    break
            elif message["type"] == "http.disconnect":
                return
        started = time.perf_counter()
        method = scope["method"].upper()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        try:
            request = Request(_url(scope), method=method, headers=headers,
                              body=bytes(body) if method not in ("GET", "HEAD") and body else None)
        except Exception as exc:  # noqa: BLE001 - a malformed request gets a 400
            await self._send_plain(send, 400, f"Bad request: {exc}\n")
            return
        response = await self.runtime.call_async(self.runtime.dispatch(request, source="http"))
        if response.status == 101:
            await self._send_plain(send, 426, "WebSocket upgrade requires a WebSocket request\n")
            return
        payload = response.body or b""
        out_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.raw_items()
                       if k != "content-length"]
        if method != "HEAD" and response.status not in (204, 304):
            out_headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": out_headers})
        await send({"type": "http.response.body", "body": payload if method != "HEAD" else b""})
        if self.log:
            ms = (time.perf_counter() - started) * 1000
            path = scope.get("path", "/")
            print(f"[course:info] {method} {path} {response.status} {response.statusText} ({ms:.0f}ms)",
                  file=self.stream, flush=True)

    @staticmethod
    async def _send_plain(send: Send, status: int, text: str) -> None:
        data = text.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain;charset=UTF-8"),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
