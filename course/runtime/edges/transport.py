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


class _LiveBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A Worker's body still being produced, handed to httpx chunk by chunk as it is made
    (``client.stream(...)`` sees the first chunk before the last exists; a plain ``client.get``
    reads it whole). Each chunk is read on the runtime's loop; a stream the Worker fails ends the
    body where it is, as over HTTP."""

    def __init__(self, runtime: Any, live: Any) -> None:
        self.runtime, self.live = runtime, live

    def __iter__(self) -> Any:
        while True:
            try:
                chunk = self.runtime.call(self.live.next_chunk())
            except Exception as exc:
                if exc is self.live._error:  # the Worker's stream failed: the body ends here
                    return
                raise  # e.g. a stream nothing will ever close, on virtual time: say so
            if chunk is None:
                return
            yield chunk

    async def __aiter__(self) -> Any:
        while True:
            try:
                chunk = await self.runtime.call_async(self.live.next_chunk())
            except Exception as exc:
                if exc is self.live._error:
                    return
                raise
            if chunk is None:
                return
            yield chunk


def httpx_response(response: Response, request: httpx.Request, runtime: Any = None) -> httpx.Response:
    """A Worker response as an httpx response (the WebSocket, if any, in ``extensions``).

    With ``runtime``, a body the Worker is still producing streams (see :class:`_LiveBody`);
    without, it is read whole first."""
    extensions: dict[str, Any] = {}
    if response.webSocket is not None:
        extensions["web_socket"] = response.webSocket
    live = response._live
    if live is not None and runtime is not None and request.method.upper() != "HEAD":
        headers = [(k, v) for k, v in response.headers.raw_items() if k.lower() != "content-length"]
        return httpx.Response(response.status, headers=headers, stream=_LiveBody(runtime, live), request=request,
                              extensions=extensions)
    content = response.body or b""
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
        return httpx_response(response, request, self.runtime)


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
        return httpx_response(response, request, self.runtime)
