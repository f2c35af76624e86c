"""``workers.wsgi``: serve a WSGI app (Flask, Django...) from a Worker.

As Cloudflare's Python SDK does (workers-py, ``workers/wsgi.py``): ``await wsgi.fetch(app,
request, env)`` builds a PEP 3333 environ (``PATH_INFO`` percent-decoded as a WSGI "native
string", ``QUERY_STRING`` as sent, repeated headers joined with ",", ``CONTENT_LENGTH`` from the
body, and the Worker's env as ``environ["workers.env"]``), calls the app synchronously, and turns
its status, headers and body iterable (``write()`` output first, empty chunks dropped, the
iterable's ``close()`` called) into a Response. 101/103/204/205/304 carry no body. A body
iterable that is not a list streams chunk by chunk (see :func:`fetch`). A request body in memory
is ``wsgi.input`` as bytes; a streaming one (a ``ReadableStream`` another Worker is still writing)
is read chunk by chunk as the app reads (:class:`StreamInput`).

The app runs synchronously inside the async handler, as on Cloudflare; if it calls an HTTP client
(``requests``) that waits through ``pyodide.ffi.run_sync``, the rest of the runtime keeps running.
Reference: https://peps.python.org/pep-3333/
"""
from __future__ import annotations

import asyncio
import io
import logging
import sys
from typing import Any, Callable, Iterable
from urllib.parse import unquote, urlsplit

from course.workers.ffi import enable_run_sync, run_sync
from course.workers.http import Headers, Request, Response
from course.workers.streams import LiveReadableStream, start_producer

logger = logging.getLogger("wsgi")

#: Statuses sent without a body (the SDK's list: the Fetch "null body status" plus 103).
NO_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})


def native_string(text: str) -> str:
    """PEP 3333's "native string" for a str: its UTF-8 bytes, one character per byte."""
    return text.encode("utf-8").decode("latin-1")


class StreamInput(io.RawIOBase):
    """``wsgi.input`` for a request body that is still streaming: each ``read`` waits (through
    ``run_sync``, so the runtime goes on) for the next chunk and returns what has arrived;
    ``read()`` with no size reads to the end."""

    def __init__(self, stream: LiveReadableStream) -> None:
        super().__init__()
        self._stream = stream
        self._pending = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending and not self._ended:
            chunk = run_sync(self._stream.next_chunk())
            if chunk is None:
                self._ended = True
            else:
                self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def build_environ(request: Request, env: Any, body: "bytes | StreamInput") -> dict[str, Any]:
    """The WSGI environ for ``request`` with the already-read ``body`` (or a streaming input,
    then ``wsgi.input_terminated`` tells the app to read to the end without a length)."""
    parts = urlsplit(request.url)
    if not parts.scheme:
        raise ValueError(f"Request URL is not absolute: {request.url!r}")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": str(request.method),
        "SCRIPT_NAME": "",
        "PATH_INFO": native_string(unquote(parts.path or "/")),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme,
        "wsgi.input": body if isinstance(body, StreamInput) else io.BytesIO(body),
        "wsgi.input_terminated": isinstance(body, StreamInput),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "workers.env": env,
    }
    for name, value in request.headers.raw_items():
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    if "CONTENT_LENGTH" not in environ and isinstance(body, bytes) and body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


class _Started:
    """What ``start_response`` was given, and where ``write()`` output goes."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.written: list[bytes] = []
        self.stream: LiveReadableStream | None = None

    def write(self, chunk: bytes) -> None:
        if self.status is None:
            raise AssertionError("write() called before start_response()")
        if chunk:
            if self.stream is not None:
                self.stream.push(bytes(chunk))
            else:
                self.written.append(bytes(chunk))

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.stream is not None:  # headers already sent: re-raise, as PEP 3333 says
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called more than once")
        self.status, self.headers = status, list(headers)
        return self.write

    def response(self, body: Any) -> Response:
        if self.status is None:
            raise RuntimeError("The WSGI application did not call start_response()")
        code_text, _, reason = str(self.status).partition(" ")
        try:
            code = int(code_text)
        except ValueError:
            raise ValueError(f"WSGI status {self.status!r} does not start with a status code") from None
        return Response(None if code in NO_BODY_STATUSES else body, status=code,
                        statusText=reason or None, headers=Headers(self.headers))


def _close(result: Any) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


def call_app(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> Response:
    """Run the WSGI ``app`` on ``environ`` and collect its whole response."""
    started = _Started()
    result = app(environ, started.start_response)
    try:
        chunks = [bytes(c) for c in result if c]
    finally:
        _close(result)
    return started.response(b"".join(started.written + chunks))


async def fetch(app: Callable[..., Iterable[bytes]], request: Request, env: Any, ctx: Any = None) -> Response:
    """Serve ``request`` with the WSGI ``app``; ``environ["workers.env"]`` is ``env``.

    A body given as a list (or tuple) is sent whole. Any other iterable (a generator, Flask's
    ``stream_with_context``, Django's ``StreamingHttpResponse``) streams: the Response is returned
    at the first non-empty chunk and the rest is produced in the background, each chunk reaching
    the reader as soon as the app yields it (``run_sync`` waits inside the generator let the
    runtime go on, virtual time included).
    """
    body: bytes | StreamInput = b""
    if request.has_body and not request.bodyUsed:
        live = request._live
        if live is not None:
            request._used = True
            body = StreamInput(live)
        else:
            body = bytes(await request.bytes())
    environ = build_environ(request, env, body)
    started = _Started()
    result = app(environ, started.start_response)
    if isinstance(result, (list, tuple)):
        try:
            chunks = [bytes(c) for c in result if c]
        finally:
            _close(result)
        return started.response(b"".join(started.written + chunks))
    chunks = iter(result)
    first: bytes | None = None
    try:
        for chunk in chunks:
            if chunk:
                first = bytes(chunk)
                break
    except BaseException:
        _close(result)
        raise
    if first is None:  # the iterable ended: the whole body is what write() got
        _close(result)
        return started.response(b"".join(started.written))
    stream = LiveReadableStream()
    for piece in started.written + [first]:
        stream.push(piece)
    started.stream = stream
    response = started.response(stream)

    async def rest() -> None:
        await enable_run_sync()
        try:
            for chunk in chunks:
                if chunk:
                    stream.push(bytes(chunk))
                    await asyncio.sleep(0)  # a reader waiting for this chunk gets it now
        except Exception as exc:  # noqa: BLE001 - the reader sees the failure
            logger.error("WSGI app failed while streaming its response: %s", exc)
            stream.fail(exc)
        else:
            stream.close()
        finally:
            _close(result)

    start_producer(rest(), label="wsgi.fetch")
    return response


__all__ = ["build_environ", "call_app", "fetch", "native_string"]
