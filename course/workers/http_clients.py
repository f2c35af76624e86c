"""HTTP client libraries in Worker code send through the runtime's ``fetch``: one outbound path.

On Cloudflare a Python Worker has no sockets of its own: ``httpx``, ``requests``/``urllib3`` and
``aiohttp`` requests become ``fetch`` subrequests (Pyodide's HTTP patches;
https://developers.cloudflare.com/workers/languages/python/packages/#http-client-libraries).
Here the same libraries, called from Worker code, go to ``rt.network.outbound_fetch``: registered
upstreams, injected faults, the latency model and the runtime's clock apply, a library's
timeout runs on that clock (virtual time included), and an offline runtime refuses with the
URL and how to register an upstream. Code that is not a Worker's (the notebook, the emulator
itself, threads it starts) keeps the libraries' own transports.

Synchronous clients (``requests``, ``httpx.Client``, ``urllib3``) wait with
:func:`course.workers.ffi.run_sync`, as they do through JSPI on Cloudflare. ``anyio.to_thread``
runs its function inline in Worker code (Cloudflare's SDK patches it the same way: a Worker has
no threads), so FastAPI's sync routes run on the Worker's task and stay deterministic.

Each patch is installed when its library is first imported (or at once if it already is), by
:func:`install`. Approximations: bodies are read whole; redirects are not followed by the
``urllib3`` patch (``requests`` follows them itself); aiohttp responses support the common
reading API (``status``, ``headers``, ``read``/``text``/``json``, ``raise_for_status``).
"""
from __future__ import annotations

import asyncio
import importlib.abc
import importlib.util
import io
import json as _json
import sys
import threading
from urllib.parse import urlencode
from typing import Any, Callable

import httpx

from course.workers.context import current_runtime, current_worker
from course.workers.ffi import run_sync
from course.workers.http import Request, Response
from course.workers.jsproxy import JsException

#: Headers that describe the bytes on the wire, not the decoded body a fetch Response holds.
WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def worker_runtime() -> Any:
    """The runtime whose Worker code is running in this context, or None."""
    if current_worker.get() is None:
        return None
    return current_runtime.get()


async def outbound(rt: Any, request: Request, timeout: float | None) -> Response:
    """``fetch`` on the runtime's network, bounded by a library timeout on the runtime's clock."""
    if timeout is None:
        return await rt.network.outbound_fetch(request)
    return await asyncio.wait_for(rt.network.outbound_fetch(request), timeout)


def outbound_sync(rt: Any, request: Request, timeout: float | None) -> Response:
    """The same, for synchronous code: suspend Worker code (run_sync) or, from a thread that
    carries a Worker's context, wait for the runtime's loop."""
    if rt.on_loop_thread():
        return run_sync(outbound(rt, request, timeout))
    return asyncio.run_coroutine_threadsafe(outbound(rt, request, timeout), rt.loop).result()


def _plain_headers(response: Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.raw_items() if k not in WIRE_HEADERS]


# -- httpx ---------------------------------------------------------------------------------------

def _httpx_timeout(request: Any) -> float | None:
    """The wait before httpx gives up on an answer: its read timeout (connecting is instant here)."""
    timeout = request.extensions.get("timeout") or {}
    read = timeout.get("read")
    return read if read is not None else timeout.get("connect")


def _patch_httpx(module: Any) -> None:
    transports = (module.HTTPTransport, module.AsyncHTTPTransport)
    if getattr(transports[0], "_course_patched", False):
        return
    sync_send: Callable[..., Any] = transports[0].handle_request
    async_send: Callable[..., Any] = transports[1].handle_async_request

    def to_worker_request(request: Any) -> Request:
        body = request.read()
        return Request(str(request.url), method=request.method, headers=list(request.headers.multi_items()),
                       body=body or None)

    def to_httpx(response: Response, request: Any) -> Any:
        return httpx.Response(response.status, headers=_plain_headers(response), content=bytes(response._body or b""),
                              request=request)

    def failure(exc: BaseException, request: Any) -> Exception:
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            return httpx.ReadTimeout(f"timed out waiting for {request.url} (on the runtime's clock)", request=request)
        return httpx.ConnectError(str(exc), request=request)

    def handle_request(self: Any, request: Any) -> Any:
        rt = worker_runtime()
        if rt is None:
            return sync_send(self, request)
        try:
            return to_httpx(outbound_sync(rt, to_worker_request(request), _httpx_timeout(request)), request)
        except (JsException, asyncio.TimeoutError, TimeoutError) as exc:
            raise failure(exc, request) from exc

    async def handle_async_request(self: Any, request: Any) -> Any:
        rt = worker_runtime()
        if rt is None:
            return await async_send(self, request)
        await request.aread()
        try:
            return to_httpx(await outbound(rt, to_worker_request(request), _httpx_timeout(request)), request)
        except (JsException, asyncio.TimeoutError, TimeoutError) as exc:
            raise failure(exc, request) from exc

    transports[0].handle_request = handle_request
    transports[1].handle_async_request = handle_async_request
    transports[0]._course_patched = True


# -- urllib3 (and requests, which sends through it) ----------------------------------------------

def _urllib3_timeout(timeout: Any) -> float | None:
    if timeout is None or isinstance(timeout, (int, float)):
        return timeout
    values = [getattr(timeout, "total", None), getattr(timeout, "read_timeout", None)]
    numbers = [v for v in values if isinstance(v, (int, float))]
    return min(numbers) if numbers else None


def _patch_urllib3(module: Any) -> None:
    # urllib3 and aiohttp are optional (a Worker's own dependencies): imported once they are.
    from urllib3.exceptions import ProtocolError, ReadTimeoutError
    from urllib3.response import HTTPResponse

    pool = module.HTTPConnectionPool
    if getattr(pool, "_course_patched", False):
        return
    original: Callable[..., Any] = pool.urlopen

    def urlopen(self: Any, method: str, url: str, body: Any = None, headers: Any = None, retries: Any = None,
                redirect: bool = True, assert_same_host: bool = True, timeout: Any = None, pool_timeout: Any = None,
                release_conn: Any = None, chunked: bool = False, body_pos: Any = None,
                preload_content: bool = True, decode_content: bool = True, **response_kw: Any) -> Any:
        rt = worker_runtime()
        if rt is None:
            return original(self, method, url, body, headers, retries, redirect, assert_same_host, timeout,
                            pool_timeout, release_conn, chunked, body_pos, preload_content=preload_content,
                            decode_content=decode_content, **response_kw)
        if url.startswith("/") or "://" not in url:
            port = "" if self.port in (None, 80 if self.scheme == "http" else 443) else f":{self.port}"
            url = f"{self.scheme}://{self.host}{port}{url}"
        if hasattr(body, "read"):
            body = body.read()
        if timeout is getattr(module, "_DEFAULT_TIMEOUT", object()):
            timeout = self.timeout
        request = Request(url, method=method, headers=list(dict(headers or {}).items()),
                          body=body if body not in (None, b"", "") else None)
        try:
            response = outbound_sync(rt, request, _urllib3_timeout(timeout))
        except (asyncio.TimeoutError, TimeoutError):
            raise ReadTimeoutError(self, url, "Read timed out (on the runtime's clock)") from None
        except JsException as exc:
            raise ProtocolError(str(exc), exc) from exc
        return HTTPResponse(body=io.BytesIO(bytes(response._body or b"")), headers=_plain_headers(response),
                            status=response.status, reason=response.statusText, preload_content=preload_content,
                            decode_content=decode_content, request_method=method, request_url=url)

    pool.urlopen = urlopen
    pool._course_patched = True


# -- aiohttp -------------------------------------------------------------------------------------

class AiohttpResponse:
    """What ``session.get(...)`` gives Worker code: aiohttp's reading API over a fetch Response."""

    def __init__(self, method: str, url: str, response: Response, request_headers: list[tuple[str, str]]) -> None:
        from aiohttp import RequestInfo  # optional: only once a Worker uses aiohttp
        from multidict import CIMultiDict, CIMultiDictProxy
        from yarl import URL

        self.method = method
        self.url = self.real_url = URL(url)
        self.status = response.status
        self.reason = response.statusText
        self.headers = CIMultiDictProxy(CIMultiDict(_plain_headers(response)))
        self.request_info = RequestInfo(self.url, method, CIMultiDictProxy(CIMultiDict(request_headers)), self.url)
        self.history: tuple[Any, ...] = ()
        self._body = bytes(response._body or b"")
        self.closed = False

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "application/octet-stream").split(";")[0].strip()

    @property
    def charset(self) -> str | None:
        for part in (self.headers.get("content-type") or "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset":
                return value.strip('"')
        return None

    def raise_for_status(self) -> None:
        if not self.ok:
            from aiohttp import ClientResponseError  # optional: only once a Worker uses aiohttp

            raise ClientResponseError(self.request_info, self.history, status=self.status, message=self.reason,
                                      headers=self.headers)

    async def read(self) -> bytes:
        return self._body

    async def text(self, encoding: str | None = None, errors: str = "strict") -> str:
        return self._body.decode(encoding or self.charset or "utf-8", errors)

    async def json(self, *, encoding: str | None = None, loads: Callable[[str], Any] = _json.loads,
                   content_type: str | None = "application/json") -> Any:
        if content_type and content_type not in self.content_type:
            from aiohttp import ContentTypeError  # optional: only once a Worker uses aiohttp

            raise ContentTypeError(self.request_info, self.history, status=self.status,
                                   message=f"Attempt to decode JSON with unexpected mimetype: {self.content_type}")
        return loads(await self.text(encoding))

    def release(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True

    async def wait_for_close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> "AiohttpResponse":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<ClientResponse({self.url}) [{self.status} {self.reason}]>"


def _aiohttp_timeout(session: Any, timeout: Any) -> float | None:
    chosen = session.timeout if timeout is None or type(timeout).__name__ == "_SENTINEL" else timeout
    if isinstance(chosen, (int, float)):
        return float(chosen)
    values = [getattr(chosen, name, None) for name in ("total", "sock_read")]
    numbers = [v for v in values if isinstance(v, (int, float))]
    return min(numbers) if numbers else None


def _patch_aiohttp(module: Any) -> None:
    # aiohttp and its multidict/yarl are optional (a Worker's own dependencies).
    from multidict import CIMultiDict
    from yarl import URL

    session_cls = module.ClientSession
    if getattr(session_cls, "_course_patched", False):
        return
    original: Callable[..., Any] = session_cls._request

    async def _request(self: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        rt = worker_runtime()
        if rt is None:
            return await original(self, method, str_or_url, **kwargs)
        url = URL(str_or_url)
        if not url.is_absolute() and getattr(self, "_base_url", None) is not None:
            url = self._base_url.join(url)
        if kwargs.get("params"):
            url = url.extend_query(kwargs["params"])
        headers = CIMultiDict(self.headers)
        headers.update(CIMultiDict(kwargs.get("headers") or {}))
        body: Any = None
        if kwargs.get("json") is not None:
            body = _json.dumps(kwargs["json"])
            headers.setdefault("content-type", "application/json")
        elif isinstance(kwargs.get("data"), dict):
            body = urlencode(kwargs["data"])
            headers.setdefault("content-type", "application/x-www-form-urlencoded")
        elif kwargs.get("data") is not None:
            body = kwargs["data"]
        pairs = list(headers.items())
        request = Request(str(url), method=method, headers=pairs, body=body)
        try:
            response = await outbound(rt, request, _aiohttp_timeout(self, kwargs.get("timeout")))
        except JsException as exc:
            raise module.ClientConnectionError(str(exc)) from exc
        return AiohttpResponse(method, str(url), response, pairs)

    session_cls._request = _request
    session_cls._course_patched = True


# -- anyio.to_thread -----------------------------------------------------------------------------

def _patch_anyio_to_thread(module: Any) -> None:
    if getattr(module.run_sync, "_course_patched", False):
        return
    original: Callable[..., Any] = module.run_sync

    async def run_sync_inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        rt = worker_runtime()
        if rt is None or not rt.on_loop_thread():
            return await original(func, *args, **kwargs)
        return func(*args)

    run_sync_inline._course_patched = True  # type: ignore[attr-defined]
    module.run_sync = run_sync_inline


#: module name -> the patch to apply once it is imported
PATCHES: dict[str, Callable[[Any], None]] = {
    "httpx._transports.default": _patch_httpx,
    "urllib3.connectionpool": _patch_urllib3,
    "aiohttp.client": _patch_aiohttp,
    "anyio.to_thread": _patch_anyio_to_thread,
}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Wraps the loader of a module in ``PATCHES`` so the patch runs right after it loads."""

    def __init__(self) -> None:
        self._finding: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in PATCHES or fullname in self._finding:
            return None
        self._finding.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding.discard(fullname)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchingLoader(spec.loader, PATCHES[fullname])
        return spec


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner: Any, patch: Callable[[Any], None]) -> None:
        self.inner, self.patch = inner, patch

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.inner.exec_module(module)
        self.patch(module)


_finder = _PatchAfterImport()
_lock = threading.Lock()


def install() -> None:
    """Route the HTTP libraries of Worker code through the runtime (idempotent)."""
    with _lock:
        for name, patch in PATCHES.items():
            if name in sys.modules:
                patch(sys.modules[name])
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)


__all__ = ["AiohttpResponse", "PATCHES", "install", "outbound", "outbound_sync", "worker_runtime"]
