"""``rt.fetch``: a request handed to a Worker in-process, with no HTTP client in between.

What ``SELF.fetch`` of vitest-pool-workers is to a JavaScript Worker: ``await rt.fetch("/path")``
returns the Worker's own :class:`~course.workers.http.Response` (``status``, ``headers``,
``await response.json()``...), from any event loop (a notebook cell, a test, a load test's
``asyncio.gather``). Neither an httpx request nor an httpx response is built, so a request costs
what the Worker and the runtime cost: an httpx ``AsyncClient`` alone spends about 85 us on each
request on the course's machines, more than the runtime's own work on a Durable Object
read-modify-write (bench/README.md).

The edge answers as the httpx transports (edges/transport.py) and ``course serve`` do: 413 for a
body over Cloudflare's request limit (edges/limits.py) and wrangler dev's scheduled-handler routes
(edges/scheduled.py). A relative URL (``/path?query``) is resolved against ``base_url``, the
address ``wrangler dev`` listens on by default.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from course.workers.http import Request, Response

from course.runtime.edges.limits import (MAX_REQUEST_BODY_BYTES, PAYLOAD_TOO_LARGE, RequestBodyTooLarge,
                                         check_declared_length, too_large_text)
from course.runtime.edges.scheduled import SCHEDULED_TRIGGER_PATH, TEST_SCHEDULED_PATH, scheduled_trigger
from course.runtime.kernel.runtime import DEFAULT_BASE_URL


def request_for(resource: Any, init: Any = None, *, base_url: str = DEFAULT_BASE_URL, **kwargs: Any) -> Request:
    """The Request that ``fetch(resource, init, **kwargs)`` sends: a Request is sent as it is (the
    Worker reads its body), a URL or a path (``/path?query``, resolved against ``base_url``)
    becomes ``Request(url, init, **kwargs)``."""
    if isinstance(resource, Request) and not init and not kwargs:
        return resource
    if isinstance(resource, str) and resource.startswith("/"):
        resource = base_url.rstrip("/") + resource
    elif isinstance(resource, str) and "://" not in resource:
        raise ValueError(f"rt.fetch() takes a path starting with '/' or an absolute URL, got {resource!r}")
    return Request(resource, init, **kwargs)


def edge_answer(request: Request, *, max_body_bytes: int = MAX_REQUEST_BODY_BYTES) -> Response | None:
    """What the edge answers before the Worker runs (413 for a body over the limit), or None."""
    try:
        check_declared_length(request.headers.raw_items(), max_body_bytes)
        if request.has_body and not request.streaming and len(request._body or b"") > max_body_bytes:
            raise RequestBodyTooLarge(max_body_bytes)
    except RequestBodyTooLarge as exc:
        return text_response(PAYLOAD_TOO_LARGE, too_large_text(exc.limit))
    return None


def text_response(status: int, text: str) -> Response:
    """An answer the edge gives itself, as ``course serve`` sends it."""
    return Response(text, status=status, headers={"content-type": "text/plain;charset=UTF-8"})


async def fetch_on_loop(runtime: Any, request: Request, *, worker: str | None = None, region: str | None = None,
                        test_scheduled: bool = False, max_body_bytes: int = MAX_REQUEST_BODY_BYTES) -> Response:
    """Deliver ``request`` to a Worker of ``runtime`` (on the runtime's loop) and return its Response,
    its body whole: a streamed body is read here, so the caller can read it from any loop."""
    refused = edge_answer(request, max_body_bytes=max_body_bytes)
    if refused is not None:
        return refused
    url = request.url
    if SCHEDULED_TRIGGER_PATH in url or TEST_SCHEDULED_PATH in url:  # else no trigger: skip the parse
        parts = urlsplit(url)
        trigger = scheduled_trigger(parts.path, parts.query, test_scheduled=test_scheduled)
        if trigger is not None:
            answer = await trigger.answer(runtime, worker)
            return text_response(answer.status, answer.text)
    response: Response = await runtime.dispatch(request, worker=worker, region=region)
    if response.streaming:
        data = bytes(await response.arrayBuffer())
        whole = Response(data or None, status=response.status, headers=response.headers,
                         web_socket=response.webSocket)
        whole.statusText = response.statusText
        response = whole
    return response


__all__ = ["edge_answer", "fetch_on_loop", "request_for", "text_response"]
