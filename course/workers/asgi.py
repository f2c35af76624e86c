"""``workers.asgi`` (also importable as ``asgi``): serve an ASGI app (FastAPI, Starlette...) from a Worker.

As Cloudflare's Python SDK does (workers-py, ``workers/asgi.py``):

- ``await asgi.fetch(app, request, env)`` runs one ASGI lifespan cycle around the request
  (startup before, shutdown after; an app without lifespan support is served anyway), then the
  request as an ``http`` scope whose ``scope["env"]`` is the Worker's env;
- a request body in memory arrives as one ``http.request`` message, a streaming one (a
  ``ReadableStream`` another Worker is still writing) chunk by chunk as it arrives; then
  ``http.disconnect`` once the response is complete;
- a body sent in several ``http.response.body`` messages (``StreamingResponse``) is a streaming
  Response body: the Response is returned at the first chunk and each chunk reaches the reader
  when the app sends it; 101/103/204/205/304 carry no body;
- ``await asgi.websocket(app, request, env)`` bridges a WebSocket route through a
  ``WebSocketPair`` (``websocket.connect`` / ``receive`` / ``disconnect``);
- ``from workers.asgi import env`` is a FastAPI dependency giving the env.

The in-process clients and ``course serve`` still send a streaming body to their client whole
(course/runtime/edges reads ``response.body`` as bytes); Worker code reading it sees the chunks.
Scope reference: https://asgi.readthedocs.io/en/latest/specs/www.html
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator
from urllib.parse import unquote, urlsplit

from course.workers.ffi import enable_run_sync
from course.workers.http import NULL_BODY_STATUSES, Headers, Request, Response
from course.workers.javascript_modules import wait_until
from course.workers.streams import LiveReadableStream, start_producer
from course.workers.websocket import WebSocketPair

logger = logging.getLogger("asgi")

#: The ASGI versions the SDK announces in every scope.
ASGI_VERSION = {"spec_version": "2.0", "version": "3.0"}
#: Statuses sent without a body (the SDK's list: the Fetch "null body status" plus 103).
NO_BODY_STATUSES = NULL_BODY_STATUSES | {103}


def request_scope(request: Request, env: Any, *, websocket: bool = False,
                  state: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ASGI connection scope for ``request`` (``scope["env"]`` is the Worker's env)."""
    parts = urlsplit(request.url)
    raw_path = parts.path or "/"
    scope: dict[str, Any] = {
        "type": "websocket" if websocket else "http",
        "asgi": dict(ASGI_VERSION),
        "http_version": "1.1",
        "method": request.method,
        "scheme": parts.scheme if not websocket else {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme),
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "root_path": "",
        "query_string": parts.query.encode(),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.raw_items()],
        "server": (parts.hostname or "", parts.port or (443 if parts.scheme in ("https", "wss") else 80)),
        "env": env,
    }
    if state is not None:
        scope["state"] = dict(state)  # ASGI: a shallow copy of the lifespan state per request
    return scope


class _Lifespan:
    """One ASGI lifespan cycle: ``await start()`` before the request, ``await stop()`` after."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self._started: asyncio.Future[bool] = loop.create_future()
        self._stopped: asyncio.Future[None] = loop.create_future()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._started  # raises if the app reported lifespan.startup.failed

    async def stop(self) -> None:
        if not self._started.result():
            return  # the app has no lifespan support: nothing to shut down
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        await self._stopped

    async def _receive(self) -> dict[str, Any]:
        return await self._inbox.get()

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            _settle(self._started, True)
        elif kind == "lifespan.startup.failed":
            if not self._started.done():
                self._started.set_exception(RuntimeError(message.get("message") or "ASGI lifespan startup failed"))
        elif kind == "lifespan.shutdown.complete":
            _settle(self._stopped, None)
        elif kind == "lifespan.shutdown.failed":
            logger.error("ASGI lifespan shutdown failed: %s", message.get("message", ""))
            _settle(self._stopped, None)
        else:
            raise RuntimeError(f"unexpected ASGI lifespan message {kind!r}")

    async def _run(self) -> None:
        try:
            await self.app({"type": "lifespan", "asgi": dict(ASGI_VERSION), "state": self.state},
                           self._receive, self._send)
        except Exception as exc:  # noqa: BLE001 - an app without lifespan support raises here
            if self._started.done():
                logger.exception("Exception in ASGI lifespan", exc_info=exc)
        _settle(self._started, False)
        _settle(self._stopped, None)


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


async def _request_messages(request: Request) -> AsyncIterator[dict[str, Any]]:
    """The request body as ``http.request`` messages: a body in memory as one message (as the
    SDK sends it), a streaming body chunk by chunk as it arrives, then an empty last message."""
    if not request.has_body or request.bodyUsed:
        yield {"type": "http.request", "body": b"", "more_body": False}
        return
    live = request._live
    if live is None:
        yield {"type": "http.request", "body": bytes(await request.bytes()), "more_body": False}
        return
    async for chunk in live:
        yield {"type": "http.request", "body": bytes(chunk), "more_body": True}
    yield {"type": "http.request", "body": b"", "more_body": False}


async def _serve_http(app: Any, request: Request, env: Any, lifespan: "_Lifespan") -> Response:
    """Run the app on ``request``; return its Response as soon as the first body chunk is sent.

    A body sent in one ``http.response.body`` message is the Response's bytes; a body sent in
    several (``more_body``, a ``StreamingResponse``) is a streaming body whose chunks reach the
    reader as the app sends them, while the app keeps running in the background (the SDK hands
    out a ``TransformStream``'s readable side at the first chunk in the same way).
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[Response] = loop.create_future()
    finished = asyncio.Event()
    incoming = _request_messages(request)
    status: int | None = None
    headers: list[tuple[str, str]] = []
    stream: LiveReadableStream | None = None

    async def receive() -> dict[str, Any]:
        nonlocal incoming
        if incoming is not None:
            try:
                return await incoming.__anext__()
            except StopAsyncIteration:
                incoming = None
        await finished.wait()
        return {"type": "http.disconnect"}

    def respond(body: Any) -> None:
        assert status is not None
        body = None if status in NO_BODY_STATUSES else body
        if not answer.done():
            answer.set_result(Response(body, status=status, headers=Headers(headers)))

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers, stream
        kind = message["type"]
        if kind == "http.response.start":
            if status is not None:
                raise RuntimeError("the ASGI app sent http.response.start twice")
            status = int(message["status"])
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
        elif kind == "http.response.body":
            if status is None:
                raise RuntimeError("the ASGI app sent http.response.body before http.response.start")
            if finished.is_set():
                return  # the response is complete: later messages are dropped, as by servers
            chunk = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if stream is None and not more:
                respond(chunk)  # the whole body in one message
                finished.set()
                return
            if stream is None:
                stream = LiveReadableStream()
                respond(stream)
            stream.push(chunk)
            if not more:
                stream.close()
                finished.set()
                await asyncio.sleep(0)  # the reader takes the last chunk before the app goes on
            else:
                await asyncio.sleep(0)  # a reader waiting for this chunk gets it now
        else:
            logger.warning("ASGI message %r is not supported and was ignored", kind)

    async def run() -> None:
        await enable_run_sync()  # the app runs in its own task: sync routes may still call run_sync
        try:
            await app(request_scope(request, env, state=lifespan.state), receive, send)
            if status is None:
                raise RuntimeError("The application did not generate a response")
            if not answer.done():
                respond(b"")  # the app returned after http.response.start without a body
            if stream is not None and not stream.finished:
                stream.close()
        except Exception as exc:  # noqa: BLE001 - before the answer: a 500; after: the body fails
            if not answer.done():
                answer.set_exception(exc)
            elif stream is not None:
                logger.error("ASGI app failed while streaming its response: %s", exc)
                stream.fail(exc)
        finally:
            finished.set()
            await lifespan.stop()

    task = start_producer(run(), label="asgi.fetch")
    response = await answer
    if response._live is None:
        await task  # a complete response: the app and the lifespan shutdown finish first, as before
    return response


async def fetch(app: Any, request: Request, env: Any, ctx: Any = None) -> Response:
    """Serve ``request`` with the ASGI ``app``; ``scope["env"]`` is ``env``."""
    lifespan = _Lifespan(app)
    await lifespan.start()
    return await _serve_http(app, request, env, lifespan)


async def websocket(app: Any, request: Request, env: Any = None) -> Response:
    """Accept a WebSocket upgrade and run the app's ``websocket`` scope on a ``WebSocketPair``."""
    client, server = WebSocketPair.new().object_values()
    server.accept()
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})

    def on_message(event: Any) -> None:
        data = event.data
        inbox.put_nowait({"type": "websocket.receive", "text": data} if isinstance(data, str)
                         else {"type": "websocket.receive", "bytes": bytes(data)})

    def on_close(event: Any) -> None:
        inbox.put_nowait({"type": "websocket.disconnect", "code": event.code, "reason": event.reason})

    server.addEventListener("message", on_message)
    server.addEventListener("close", on_close)

    async def send(message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            if message.get("bytes") is not None:
                server.send(message["bytes"])
            if message.get("text") is not None:
                server.send(message["text"])
        elif kind == "websocket.close":
            server.close(message.get("code", 1000), message.get("reason") or "")
        elif kind != "websocket.accept":  # the pair is accepted before the 101 goes out
            logger.warning("ASGI message %r is not supported and was ignored", kind)

    async def run() -> None:
        await app(request_scope(request, env if env is not None else {}, websocket=True), inbox.get, send)

    wait_until(run())
    return Response(None, status=101, web_socket=client)


def __getattr__(name: str) -> Any:
    if name == "env":
        # `from workers.asgi import env`: a FastAPI dependency giving the Worker's env. FastAPI
        # is the Worker project's own (optional) dependency, so it is imported only here.
        from fastapi import Depends
        from fastapi import Request as FastAPIRequest

        async def _env(request: FastAPIRequest) -> Any:
            return request.scope["env"]

        return Depends(_env)
    raise AttributeError(f"module 'workers.asgi' has no attribute {name!r}")


__all__ = ["fetch", "websocket", "request_scope"]
