"""``Blob`` and ``File``: immutable bytes with a content type, as the ``workers`` module has them.

Python Workers SDK: ``Blob(parts, content_type=None, endings=None)`` with ``size``,
``content_type``, ``await text()``, ``await bytes()``, ``slice()``; ``File`` adds ``name`` and
``last_modified``. Reference: https://developer.mozilla.org/en-US/docs/Web/API/Blob (the API
Cloudflare's Python SDK follows).
"""
from __future__ import annotations

import enum
import os
from typing import Any, Iterable

from course.workers.jsproxy import JsBuffer

BlobValue = "str | bytes | JsBuffer | Blob | File"


class BlobEnding(str, enum.Enum):
    """How ``Blob`` treats line endings in str parts (Blob constructor ``endings``)."""

    TRANSPARENT = "transparent"
    NATIVE = "native"

    def __str__(self) -> str:
        return self.value


def _part_bytes(part: Any, endings: str) -> bytes:
    if isinstance(part, Blob):
        return part._data
    if isinstance(part, str):
        if endings == "native":
            part = part.replace("\r\n", "\n").replace("\r", "\n").replace("\n", os.linesep)
        return part.encode("utf-8")
    if isinstance(part, (bytes, bytearray, memoryview)):
        return bytes(part)
    raise TypeError(f"Don't know how to handle {type(part)} for Blob(): use str, bytes, Blob or File parts")


class Blob:
    """Bytes and a MIME type: ``Blob(["a", b"b"], content_type="text/plain")``."""

    def __init__(self, blob_parts: Iterable[Any] | Any, content_type: str | None = None,
                 endings: BlobEnding | str | None = None) -> None:
        ending = str(endings) if endings else "transparent"
        if ending not in ("transparent", "native"):
            raise TypeError(f"Blob endings must be 'transparent' or 'native', got {ending!r}")
        if isinstance(blob_parts, (str, bytes, bytearray, memoryview, Blob)):
            if not content_type and isinstance(blob_parts, Blob):
                content_type = blob_parts.content_type
            blob_parts = [blob_parts]
        self._data = b"".join(_part_bytes(p, ending) for p in blob_parts)
        # The File API lowercases the type and drops one with characters outside U+0020-U+007E.
        ctype = (content_type or "").lower()
        self._type = ctype if all(0x20 <= ord(c) <= 0x7E for c in ctype) else ""

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def content_type(self) -> str:
        return self._type

    type = content_type

    @property
    def js_object(self) -> "Blob":
        return self

    async def text(self) -> str:
        return self._data.decode("utf-8", errors="replace")

    async def bytes(self) -> bytes:
        return self._data

    async def arrayBuffer(self) -> JsBuffer:  # noqa: N802 - JS name
        return JsBuffer(self._data)

    def slice(self, start: int | None = None, end: int | None = None, content_type: str | None = None) -> "Blob":
        return Blob([self._data[slice(start, end)]], content_type=content_type or "")

    def __repr__(self) -> str:
        return f"Blob(size={self.size}, content_type={self.content_type!r})"


class File(Blob):
    """A named Blob: ``File(parts, "report.txt", content_type=..., last_modified=ms)``."""

    def __init__(self, blob_parts: Iterable[Any] | Any, filename: str, content_type: str | None = None,
                 endings: BlobEnding | str | None = None, last_modified: int | None = None) -> None:
        super().__init__(blob_parts, content_type, endings)
        if last_modified is None:
            if isinstance(blob_parts, File):
                last_modified = blob_parts.last_modified
            else:
                import time

                last_modified = int(time.time() * 1000)
        self._name = str(filename)
        self._last_modified = int(last_modified)

    @property
    def name(self) -> str:
        return self._name

    @property
    def last_modified(self) -> int:
        return self._last_modified

    lastModified = last_modified  # noqa: N815 - JS name

    def __repr__(self) -> str:
        return f"File({self.name!r}, size={self.size}, content_type={self.content_type!r})"
