"""The Workers Agents course: lessons, exercises and the emulated Cloudflare Workers runtime."""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def connect(*args: Any, **kwargs: Any) -> Any:
    """An httpx client on the course's lab Worker (emulated in-process, or live by URL)."""
    from course.lab.connect import connect as _connect  # built with the lab Worker

    return _connect(*args, **kwargs)
