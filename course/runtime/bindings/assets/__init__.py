"""Static assets: the ``assets`` section of wrangler's config, as a binding plugin.

A Worker with ``assets = { directory = "./public" }`` answers requests for files in that folder
before its own code runs (server.py has the routing rules), and ``binding = "ASSETS"`` gives it
``env.ASSETS.fetch(request)``. Reference: https://developers.cloudflare.com/workers/static-assets/

Approximations: ``_headers`` and ``_redirects`` files are served as files, not applied; an
assets-only Worker (no ``main``) is not supported, as Python Workers always have one.
"""
from __future__ import annotations

from typing import Any

from course.runtime.bindings.assets.config import AssetsConfig, parse
from course.runtime.bindings.assets.server import AssetsBinding, AssetServer, AssetsFirst
from course.runtime.kernel.plugins import Plugin


def _bind(runtime: Any, worker: Any) -> dict[str, object]:
    section = (worker.config.model_extra or {}).get("assets")
    config = parse(section, worker.config.path, worker.config.root)
    server = AssetServer(config)
    worker.assets = server  # Worker.handler("fetch") puts the assets in front of the Worker's code
    return {config.binding: AssetsBinding(server)} if config.binding else {}


PLUGIN = Plugin("assets", ("assets",), _bind)

__all__ = ["PLUGIN", "AssetServer", "AssetsBinding", "AssetsConfig", "AssetsFirst"]
