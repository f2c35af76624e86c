"""Cloudflare's request limits, enforced where requests enter (``course serve``, in-process clients).

A request whose body is larger than Cloudflare accepts gets ``413 Payload Too Large`` before the
body is read: at once when ``Content-Length`` says so, else as soon as the bytes received
(a chunked upload) pass the limit. The body never reaches the Worker, as on Cloudflare, where
the edge refuses it (https://developers.cloudflare.com/workers/platform/limits/#request-limits).
"""
from __future__ import annotations

from typing import Iterable

#: Request body size limit on the Free and Pro plans: 100 MB (Business 200 MB, Enterprise
#: 500 MB by default) (https://developers.cloudflare.com/workers/platform/limits/#request-limits).
#: Read as 100 x 2**20 bytes, the more lenient reading of "MB".
MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024

#: HTTP status of a refused body.
PAYLOAD_TOO_LARGE = 413


class RequestBodyTooLarge(Exception):
    """A request body over the limit (raised before the Worker sees the request)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(too_large_text(limit).strip())


def too_large_text(limit: int) -> str:
    """The 413 answer's body."""
    return (f"Payload Too Large: the request body is over {limit:,} bytes, Cloudflare's limit "
            "(https://developers.cloudflare.com/workers/platform/limits/#request-limits)\n")


def check_declared_length(headers: Iterable[tuple[str, str]], limit: int = MAX_REQUEST_BODY_BYTES) -> None:
    """Raise RequestBodyTooLarge when ``Content-Length`` declares more than ``limit`` bytes."""
    for name, value in headers:
        if name.lower() == "content-length":
            try:
                declared = int(value.strip())
            except ValueError:
                continue  # the HTTP layer refuses a malformed length; nothing to say here
            if declared > limit:
                raise RequestBodyTooLarge(limit)


class BodyCounter:
    """A running count of body bytes received, for bodies without a Content-Length."""

    def __init__(self, limit: int = MAX_REQUEST_BODY_BYTES) -> None:
        self.limit = limit
        self.received = 0

    def add(self, chunk: bytes) -> bytes:
        """Count ``chunk`` and return it; raise RequestBodyTooLarge once past the limit."""
        self.received += len(chunk)
        if self.received > self.limit:
            raise RequestBodyTooLarge(self.limit)
        return chunk


__all__ = ["BodyCounter", "MAX_REQUEST_BODY_BYTES", "PAYLOAD_TOO_LARGE", "RequestBodyTooLarge",
           "check_declared_length", "too_large_text"]
