"""httpx transports that deliver requests to a Worker in-process, with no sockets.

Like ``httpx.MockTransport``/``ASGITransport``: plug them into a client and every request goes
straight to the runtime's loop. The sync transport blocks the calling thread (fine in a Jupyter
cell: the Worker runs on the runtime's own thread); the async one awaits from any loop.

They answer what ``course serve`` answers before the Worker does, with the same code: 413 for a
body over Cloudflare's limit (edges/limits.py, checked before the body is read), and wrangler
dev's scheduled-handler trigger routes (edges/scheduled.py: ``/cdn-cgi/handler/scheduled``
always, ``/__scheduled`` with ``test_scheduled=True``).
"""
from __future__ import annotations

from typing import Any

import httpx

from course.runtime.edges.limits import (MAX_REQUEST_BODY_BYTES, PAYLOAD_TOO_LARGE, BodyCounter,
                                         RequestBodyTooLarge, check_declared_length, too_large_text)
from course.runtime.edges.scheduled import ScheduledTrigger, TriggerAnswer, scheduled_trigger
from course.workers.http import Request, Response


def worker_request(request: httpx.Request, body: bytes, *, cf: dict[str, Any] | None = None,
                   headers: list[tuple[str, str]] | None = None) -> Request:
    """An httpx request as the Worker sees it (``headers``: its ``multi_items()``, if already made)."""
    method = request.method.upper()
    data = body if body or method not in ("GET", "HEAD") else None
    if method in ("GET", "HEAD"):
        data = None
    if headers is None:
        headers = request.headers.multi_items()
    return Request(str(request.url), method=method, headers=headers, body=data, cf=cf)


def httpx_response(response: Response, request: httpx.Request) -> httpx.Response:
    """A Worker response as an httpx response (the WebSocket, if any, in ``extensions``)."""
    content = response.body or b""
    extensions: dict[str, Any] = {}
    if response.webSocket is not None:
        extensions["web_socket"] = response.webSocket
    return httpx.Response(response.status, headers=response.headers.raw_items(), content=content,
                          request=request, extensions=extensions)


def plain_response(status: int, text: str, request: httpx.Request) -> httpx.Response:
    """An answer the transport gives itself (413, a trigger route), as course serve sends it."""
    return httpx.Response(status, headers={"content-type": "text/plain;charset=UTF-8"}, content=text.encode(),
                          request=request)


class _WorkerTarget:
    """Where a transport delivers: a Worker of ``runtime``, with the request's ``cf`` and caller region."""

    def __init__(self, runtime: Any, *, worker: str | None = None, cf: dict[str, Any] | None = None,
                 region: str | None = None, test_scheduled: bool = False,
                 max_body_bytes: int = MAX_REQUEST_BODY_BYTES) -> None:
        self.runtime = runtime
        self.worker = worker
        self.cf = cf
        self.region = region  # where the caller is (course.runtime.net.regions); None: not said
        self.test_scheduled = test_scheduled
        self.max_body_bytes = max_body_bytes

    def _trigger(self, request: httpx.Request) -> ScheduledTrigger | None:
        return scheduled_trigger(request.url.path, request.url.query.decode("latin-1"),
                                 test_scheduled=self.test_scheduled)

    def _dispatch(self, request: httpx.Request, body: bytes, headers: list[tuple[str, str]]) -> Any:
        """The coroutine that delivers ``request`` (its body already read) on the runtime's loop."""
        wreq = worker_request(request, body, cf=self.cf, headers=headers)
        return self.runtime.dispatch(wreq, worker=self.worker, region=self.region)


class WorkerTransport(_WorkerTarget, httpx.BaseTransport):
    """Synchronous in-process transport to a Worker of ``runtime``."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # httpx re-decodes every header on each multi_items() call: once per request is enough.
        headers = request.headers.multi_items()
        try:
            check_declared_length(headers, self.max_body_bytes)
            counter = BodyCounter(self.max_body_bytes)
            body = b"".join(counter.add(chunk) for chunk in request.stream)  # type: ignore[union-attr]
        except RequestBodyTooLarge as exc:
            return plain_response(PAYLOAD_TOO_LARGE, too_large_text(exc.limit), request)
        trigger = self._trigger(request)
        if trigger is not None:
            answer: TriggerAnswer = self.runtime.call(trigger.answer(self.runtime, self.worker))
            return plain_response(answer.status, answer.text, request)
        response = self.runtime.call(self._dispatch(request, body, headers))
        return httpx_response(response, request)


class AsyncWorkerTransport(_WorkerTarget, httpx.AsyncBaseTransport):
    """Async in-process transport to a Worker of ``runtime``."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = request.headers.multi_items()
        try:
            check_declared_length(headers, self.max_body_bytes)
            counter = BodyCounter(self.max_body_bytes)
            body = b"".join([counter.add(chunk) async for chunk in request.stream])  # type: ignore[union-attr]
        except RequestBodyTooLarge as exc:
            return plain_response(PAYLOAD_TOO_LARGE, too_large_text(exc.limit), request)
        trigger = self._trigger(request)
        if trigger is not None:
            answer: TriggerAnswer = await self.runtime.call_async(trigger.answer(self.runtime, self.worker))
            return plain_response(answer.status, answer.text, request)
        response = await self.runtime.call_async(self._dispatch(request, body, headers))
        return httpx_response(response, request)
