"""Serving a Worker's static assets: which file a path means, redirects, fallbacks, headers.

Reference: https://developers.cloudflare.com/workers/static-assets/ and its routing pages.

- ``html_handling`` maps pretty URLs to ``.html`` files and canonicalises them with 307
  redirects (``auto-trailing-slash``: ``/about`` serves ``about.html``, ``/about.html`` redirects
  to ``/about``, ``/blog`` redirects to ``/blog/`` which serves ``blog/index.html``); ``none``
  serves exact paths only;
- ``not_found_handling``: ``single-page-application`` answers ``/index.html`` (200),
  ``404-page`` the nearest ``404.html`` (404); ``none`` a bare 404 (or, with a Worker, the Worker);
- with a Worker, assets are tried first unless ``run_worker_first`` says otherwise; a path that
  matches no asset goes to the Worker, except a browser navigation when a fallback page is
  configured (``Sec-Fetch-Mode: navigate``; the ``assets_navigation_prefers_asset_serving``
  behaviour, default from compatibility date 2025-04-01);
- GET and HEAD only (other methods go to the Worker, or get 405 without one); responses carry an
  ``ETag`` and ``Cache-Control: public, max-age=0, must-revalidate`` (the asset worker's
  ``CACHE_CONTROL_BROWSER``), and ``If-None-Match`` gets 304.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from course.runtime.bindings.assets.config import AssetsConfig
from course.runtime.bindings.assets.content_types import content_type
from course.runtime.kernel.worker import call_relaxed
from course.workers.http import Request, Response

#: The asset worker's browser caching header (workers-shared asset-worker/src/constants.ts).
CACHE_CONTROL_BROWSER = "public, max-age=0, must-revalidate"
#: Redirects the asset worker sends to canonical paths (TemporaryRedirectResponse).
REDIRECT_STATUS = 307


class AssetServer:
    """The files of one Worker's assets directory and the rules that serve them."""

    def __init__(self, config: AssetsConfig) -> None:
        self.config = config
        root = config.directory
        self.files = {"/" + p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
                      if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}

    # -- which file a path means -------------------------------------------------------------
    def _has(self, path: str) -> bool:
        return path in self.files

    def resolve(self, path: str) -> tuple[str, str] | None:
        """("asset", file path) or ("redirect", new path) for a decoded URL path, or None."""
        mode = self.config.html_handling
        if mode == "none":
            return ("asset", path) if self._has(path) else None
        if path.endswith("/index.html") and self._has(path):
            folder = path[: -len("index.html")]
            return ("redirect", folder if mode != "drop-trailing-slash" or folder == "/" else folder.rstrip("/"))
        if path.endswith(".html") and self._has(path):
            stem = path[: -len(".html")]
            return ("redirect", stem + "/" if mode == "force-trailing-slash" else stem)
        if path.endswith("/"):
            stem = path.rstrip("/")
            if self._has(path + "index.html"):
                if mode == "drop-trailing-slash" and stem:
                    return ("redirect", stem)
                return ("asset", path + "index.html")
            if stem and self._has(stem + ".html"):
                return ("asset", stem + ".html") if mode == "force-trailing-slash" else ("redirect", stem)
            return None
        if self._has(path):
            return ("asset", path)
        if self._has(path + ".html"):
            return ("redirect", path + "/") if mode == "force-trailing-slash" else ("asset", path + ".html")
        if self._has(path + "/index.html"):
            return ("asset", path + "/index.html") if mode == "drop-trailing-slash" else ("redirect", path + "/")
        return None

    def fallback(self, path: str) -> tuple[str, int] | None:
        """The not_found_handling page for ``path`` and its status, if configured."""
        handling = self.config.not_found_handling
        if handling == "single-page-application" and self._has("/index.html"):
            return "/index.html", 200
        if handling == "404-page":
            folder = path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"
            while True:
                if self._has(folder + "404.html"):
                    return folder + "404.html", 404
                if folder == "/":
                    return None
                folder = folder.rstrip("/").rsplit("/", 1)[0] + "/"
        return None

    def in_front_of(self, worker_fetch: Any) -> "AssetsFirst":
        """The Worker's fetch handler with these assets in front (course.runtime.kernel.worker)."""
        return AssetsFirst(self, worker_fetch)

    # -- responses ---------------------------------------------------------------------------
    def _file_response(self, request: Request, path: str, status: int = 200) -> Response:
        data = self.files[path].read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers = [("etag", etag), ("content-type", content_type(path))]
        if not request.headers.has("authorization") and not request.headers.has("range"):
            headers.append(("cache-control", CACHE_CONTROL_BROWSER))
        if status == 200 and etag in [t.strip() for t in (request.headers.get("if-none-match") or "").split(",")]:
            return Response(None, status=304, headers=headers)
        return Response(None if request.method == "HEAD" else data, status=status, headers=headers)

    def serve(self, request: Request, *, for_worker: bool = False) -> Response | None:
        """The asset answer to ``request``, or None when it belongs to the Worker."""
        parts = urlsplit(request.url)
        path = unquote(parts.path) or "/"
        if request.method not in ("GET", "HEAD"):
            return None if for_worker else Response("Method Not Allowed", status=405, headers={"allow": "GET, HEAD"})
        found = self.resolve(path)
        if found is not None:
            kind, target = found
            if kind == "redirect":
                location = target + (f"?{parts.query}" if parts.query else "")
                return Response(None, status=REDIRECT_STATUS, headers={"location": location})
            return self._file_response(request, target)
        navigating = (request.headers.get("sec-fetch-mode") or "").lower() == "navigate"
        if for_worker and not navigating:
            return None
        page = self.fallback(path)
        if page is not None:
            return self._file_response(request, page[0], page[1])
        return None if for_worker else Response(None, status=404)


class AssetsBinding:
    """``env.ASSETS``: ``await env.ASSETS.fetch(request_or_url)`` answers from the assets only."""

    def __init__(self, server: AssetServer) -> None:
        self._server = server

    async def fetch(self, resource: Any, init: Any = None, **kwargs: Any) -> Response:
        if isinstance(resource, Request) and not (init or kwargs):
            request = resource
        else:
            url = resource if isinstance(resource, (str, Request)) else str(resource)
            if isinstance(url, str) and "://" not in url:
                url = "https://assets.local" + (url if url.startswith("/") else "/" + url)
            request = Request(url, init, **kwargs)
        response = self._server.serve(request)
        assert response is not None
        return response

    def __repr__(self) -> str:
        return f"<Fetcher assets {self._server.config.directory}>"


class AssetsFirst:
    """The fetch handler of a Worker with assets: assets first (per ``run_worker_first``), then the
    Worker's own handler, which takes the arguments it accepts (relaxed)."""

    def __init__(self, server: AssetServer, worker_fetch: Any) -> None:
        self.server, self.worker_fetch = server, worker_fetch

    async def __call__(self, request: Request, *rest: Any) -> Any:
        path = unquote(urlsplit(request.url).path) or "/"
        if not self.server.config.worker_first(path):
            answer = self.server.serve(request, for_worker=self.worker_fetch is not None)
            if answer is not None:
                return answer
        if self.worker_fetch is None:
            return Response(None, status=404)
        return await call_relaxed(self.worker_fetch, request, *rest)
