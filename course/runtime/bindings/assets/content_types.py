"""The Content-Type of a static asset, as wrangler sends it.

wrangler reads the type from the file extension (the ``mime`` package) and adds
``; charset=utf-8`` to ``text/*`` types (workers-sdk, workers-shared ``getContentType``); a file
it cannot type gets none, which clients read as ``application/octet-stream``.
"""
from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

#: Extensions where the ``mime`` package wrangler uses and Python's ``mimetypes`` disagree, or
#: that ``mimetypes`` lacks on some systems. Checked against mime 4.0.7 as bundled in wrangler 4.86
#: (miniflare ``getContentType``): ``.js``/``.mjs`` are ``text/javascript`` there (its
#: ``application/javascript`` entry is starred ``*js``, i.e. not the default for the extension).
WRANGLER_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".css": "text/css", ".js": "text/javascript",
    ".mjs": "text/javascript", ".json": "application/json", ".map": "application/json",
    ".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv", ".xml": "application/xml",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/vnd.microsoft.icon", ".wasm": "application/wasm",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf", ".pdf": "application/pdf",
    ".webmanifest": "application/manifest+json", ".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg",
    ".wav": "audio/wav", ".zip": "application/zip", ".gz": "application/gzip", ".py": "text/x-python",
}
#: Fallback when no type is known.
DEFAULT_TYPE = "application/octet-stream"


def content_type(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    kind = WRANGLER_TYPES.get(suffix) or mimetypes.guess_type(f"x{suffix}")[0] or DEFAULT_TYPE
    if kind.startswith("text/") and "charset" not in kind:
        kind += "; charset=utf-8"
    return kind
