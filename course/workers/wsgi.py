"""``workers.wsgi``: serve a WSGI app (Flask, Django...) from a Worker.

As Cloudflare's Python SDK does (workers-py, ``workers/wsgi.py``): ``await wsgi.fetch(app,
request, env)`` builds a PEP 3333 environ (``PATH_INFO`` percent-decoded as a WSGI "native
string", ``QUERY_STRING`` as sent, repeated headers joined with ",", ``CONTENT_LENGTH`` from the
body, and the Worker's env as ``environ["workers.env"]``), calls the app synchronously, and turns
its status, headers and body iterable (``write()`` output first, empty chunks dropped, the
iterable's ``close()`` called) into a Response. 101/103/204/205/304 carry no body.

The app runs synchronously inside the async handler, as on Cloudflare; if it calls an HTTP client
(``requests``) that waits through ``pyodide.ffi.run_sync``, the rest of the runtime keeps running.
Reference: https://peps.python.org/pep-3333/
"""
from __future__ import annotations

import io
import logging
import sys
from typing import Any, Callable, Iterable
from urllib.parse import unquote, urlsplit

from course.workers.http import Headers, Request, Response

logger = logging.getLogger("wsgi")

#: Statuses sent without a body (the SDK's list: the Fetch "null body status" plus 103).
NO_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})


def native_string(text: str) -> str:
    """PEP 3333's "native string" for a str: its UTF-8 bytes, one character per byte."""
    return text.encode("utf-8").decode("latin-1")


def build_environ(request: Request, env: Any, body: bytes) -> dict[str, Any]:
    """The WSGI environ for ``request`` with the already-read ``body``."""
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
        "wsgi.input": io.BytesIO(body),
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
    if "CONTENT_LENGTH" not in environ and body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def call_app(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> Response:
    """Run the WSGI ``app`` on ``environ`` and collect its response."""
    started: dict[str, Any] = {}
    written: list[bytes] = []

    def write(chunk: bytes) -> None:
        if not started:
            raise AssertionError("write() called before start_response()")
        if chunk:
            written.append(bytes(chunk))

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if started.get("sent"):
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif started:
            raise AssertionError("start_response() called more than once")
        started.update(status=status, headers=headers)
        return write

    result = app(environ, start_response)
    try:
        chunks = [bytes(c) for c in result if c]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        raise RuntimeError("The WSGI application did not call start_response()")
    code_text, _, reason = str(started["status"]).partition(" ")
    try:
        code = int(code_text)
    except ValueError:
        raise ValueError(f"WSGI status {started['status']!r} does not start with a status code") from None
    content = b"".join(written + chunks)
    return Response(None if code in NO_BODY_STATUSES else content, status=code,
                    statusText=reason or None, headers=Headers(list(started["headers"])))


async def fetch(app: Callable[..., Iterable[bytes]], request: Request, env: Any, ctx: Any = None) -> Response:
    """Serve ``request`` with the WSGI ``app``; ``environ["workers.env"]`` is ``env``."""
    body = bytes(await request.bytes()) if request._body is not None and not request.bodyUsed else b""
    return call_app(app, build_environ(request, env, body))


__all__ = ["build_environ", "call_app", "fetch", "native_string"]
