"""Outbound ``fetch``: a Worker's subrequests, routed by the runtime's network.

The emulated platform has no internet. ``fetch`` reaches upstreams that a test or notebook
registered with ``rt.network.upstream(...)`` (and, in later layers, service bindings); anything
else fails with a clear error instead of hanging or touching the network.
"""
from __future__ import annotations

from typing import Any

from course.workers.context import require_runtime
from course.workers.http import Request, Response


async def fetch(resource: Any, init: Any = None, **kwargs: Any) -> Response:
    """``await fetch(url_or_request, method=..., headers=..., body=...)``."""
    rt = require_runtime("fetch()")
    request = resource if isinstance(resource, Request) and not (init or kwargs) else Request(resource, init, **kwargs)
    return await rt.network.outbound_fetch(request)
