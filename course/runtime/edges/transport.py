"""httpx transports that deliver requests to a Worker in-process, with no sockets.

Like ``httpx.MockTransport``/``ASGITransport``: plug them into a client and every request goes
straight to the runtime's loop. The sync transport blocks the calling thread (fine in a Jupyter
cell: the Worker runs on the runtime's own thread); the async one awaits from any loop.
"""
from __future__ import annotations

from typing import Any

import httpx

from course.workers.http import Request, Response


def worker_request(request: httpx.Request, body: bytes, *, cf: dict[str, Any] | None = None) -> Request:
    """An httpx request as the Worker sees it."""
    method = request.method.upper()
    data = body if body or method not in ("GET", "HEAD") else None
    if method in ("GET", "HEAD"):
        data = None
    return Request(str(request.url), method=method, headers=request.headers.multi_items(), body=data, cf=cf)


def httpx_response(response: Response, request: httpx.Request) -> httpx.Response:
    """A Worker response as an httpx response (the WebSocket, if any, in ``extensions``)."""
    content = response.body or b""
    extensions: dict[str, Any] = {}
    if response.webSocket is not None:
        extensions["web_socket"] = response.webSocket
    return httpx.Response(response.status, headers=response.headers.raw_items(), content=content,
                          request=request, extensions=extensions)


class _WorkerTarget:
    """Where a transport delivers: a Worker of ``runtime``, with the request's ``cf`` and caller region."""

    def __init__(self, runtime: Any, *, worker: str | None = None, cf: dict[str, Any] | None = None,
                 region: str | None = None) -> None:
        self.runtime = runtime
        self.worker = worker
        self.cf = cf
        self.region = region  # where the caller is (course.runtime.net.regions); None: not said

    def _dispatch(self, request: httpx.Request, body: bytes) -> Any:
        """The coroutine that delivers ``request`` (its body already read) on the runtime's loop."""
        wreq = worker_request(request, body, cf=self.cf)
        return self.runtime.dispatch(wreq, worker=self.worker, region=self.region)


class WorkerTransport(_WorkerTarget, httpx.BaseTransport):
    """Synchronous in-process transport to a Worker of ``runtime``."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.runtime.call(self._dispatch(request, request.read()))
        return httpx_response(response, request)


class AsyncWorkerTransport(_WorkerTarget, httpx.AsyncBaseTransport):
    """Async in-process transport to a Worker of ``runtime``."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.runtime.call_async(self._dispatch(request, await request.aread()))
        return httpx_response(response, request)
