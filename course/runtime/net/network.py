"""Where a Worker's outbound ``fetch`` goes: registered upstreams, or a clear refusal.

The emulated platform has no internet, so a subrequest reaches only what a test or notebook
registered (``rt.network.upstream(...)``): a function, an httpx transport, or another Worker in
the same runtime. Later layers (regions, latency, partitions) hook into :meth:`outbound_fetch`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from course.runtime.net.faults import FAULTS
from course.runtime.net.links import call_outbound
from course.workers.http import Request, Response
from course.workers.jsproxy import JsException

#: Cloudflare allows 50 subrequests per invocation on the Free plan and 10,000 on Paid
#: (https://developers.cloudflare.com/workers/platform/limits/#subrequests). Paid is modelled.
SUBREQUEST_LIMIT = 10_000


@dataclass
class Upstream:
    prefix: str
    target: Any  # callable(Request) -> Response | awaitable, httpx transport, or Worker name


def to_httpx_request(request: Request, body: bytes | None) -> httpx.Request:
    return httpx.Request(request.method, request.url, headers=request.headers.raw_items(), content=body or b"")


def from_httpx_response(resp: httpx.Response) -> Response:
    status = resp.status_code
    content = resp.content if status not in (101, 204, 205, 304) else None
    return Response(content, status=status, headers=list(resp.headers.multi_items()))


class Network:
    """Routes outbound subrequests of every Worker in one runtime."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self._upstreams: list[Upstream] = []

    def upstream(self, prefix: str, target: Any) -> None:
        """Send ``fetch`` calls whose URL starts with ``prefix`` to ``target``.

        ``target`` is ``fn(request) -> Response`` (sync or async), an ``httpx`` transport, or the
        name of another Worker loaded in this runtime.
        """
        if "://" not in prefix:
            prefix = f"https://{prefix}"
        self._upstreams = [u for u in self._upstreams if u.prefix != prefix]
        self._upstreams.append(Upstream(prefix, target))
        self._upstreams.sort(key=lambda u: -len(u.prefix))

    def remove_upstream(self, prefix: str) -> None:
        if "://" not in prefix:
            prefix = f"https://{prefix}"
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
            host = urlsplit(request.url).netloc
            raise JsException(
                f"fetch({request.url!r}) failed: the course runtime has no internet access. "
                f"Register a stand-in first: rt.network.upstream('https://{host}', handler)",
                "TypeError",
            )
        target = upstream.target
        body = request.body
        if isinstance(target, str):
            return await rt.dispatch(request, worker=target)
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
