"""``ReadableStream`` bodies: what ``request.body``, ``response.body`` and an R2 object's ``body`` are.

On Cloudflare a body is a JavaScript ``ReadableStream``: Python code reads it with
``body.getReader()`` and ``await reader.read()`` (``{done, value}`` with a ``Uint8Array``), or
``async for chunk in body`` (the Python SDK's ASGI adapter does), or passes it on as another
body (``Response(obj.body)``, ``env.BUCKET.put(key, request.body)``).
Reference: https://developers.cloudflare.com/workers/runtime-apis/streams/readablestream/

Here a body is already in memory, so :class:`ReadableStream` is also the bytes it holds (a
:class:`~course.workers.jsproxy.JsBuffer`): code that treats it as bytes keeps working, and
code written for the stream API reads the same bytes chunk by chunk. A stream is read once:
a second reader on a locked stream raises the TypeError workerd raises.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Callable

from course.workers.jsproxy import JsBuffer, JsException, JsObject

#: Bytes per chunk a reader hands out. workerd's chunks depend on how the bytes arrived; 64 KiB
#: is the size of its internal buffers for bodies read from the network (ReadableStream docs,
#: "Streams" > "readable byte streams"), so a body under 64 KiB is one chunk, as locally.
CHUNK_SIZE = 64 * 1024


class ReadableStreamDefaultReader:
    """``stream.getReader()``: ``await read()`` gives ``{done, value}`` until done."""

    def __init__(self, stream: "ReadableStream") -> None:
        self._stream = stream
        self._offset = 0
        self._released = False

    async def read(self) -> JsObject:
        if self._released:
            raise JsException("This ReadableStreamDefaultReader has been released.", "TypeError")
        data = bytes(self._stream)
        if self._offset >= len(data) or self._stream._cancelled:
            return JsObject(done=True, value=None)
        chunk = data[self._offset:self._offset + CHUNK_SIZE]
        self._offset += len(chunk)
        return JsObject(done=False, value=JsBuffer(chunk))

    def releaseLock(self) -> None:  # noqa: N802 - JS name
        self._released = True
        self._stream._reader = None

    async def cancel(self, reason: Any = None) -> None:
        self._stream._cancelled = True

    @property
    def closed(self) -> bool:
        return self._offset >= len(self._stream) or self._stream._cancelled


class ReadableStream(JsBuffer):
    """A body as a ``ReadableStream`` (and the bytes it holds)."""

    _reader: ReadableStreamDefaultReader | None
    _cancelled: bool

    def __new__(cls, data: bytes = b"", *, on_read: Callable[[], None] | None = None) -> "ReadableStream":
        self = super().__new__(cls, data)
        self._reader = None
        self._cancelled = False
        self._on_read = on_read
        return self

    @property
    def locked(self) -> bool:
        return self._reader is not None

    def getReader(self, options: Any = None) -> ReadableStreamDefaultReader:  # noqa: N802 - JS name
        if self._reader is not None:
            raise JsException("ReadableStream is currently locked to a reader.", "TypeError")
        if self._on_read is not None:
            self._on_read()  # the owning Request/Response now counts as read (bodyUsed)
        self._reader = ReadableStreamDefaultReader(self)
        return self._reader

    get_reader = getReader

    async def __aiter__(self) -> AsyncIterator[JsBuffer]:
        reader = self.getReader()
        while True:
            result = await reader.read()
            if result.done:
                return
            yield result.value

    def tee(self) -> list["ReadableStream"]:
        if self._reader is not None:
            raise JsException("ReadableStream is currently locked to a reader.", "TypeError")
        return [ReadableStream(bytes(self)), ReadableStream(bytes(self))]

    async def cancel(self, reason: Any = None) -> None:
        self._cancelled = True

    def __repr__(self) -> str:
        return f"<ReadableStream {len(self)} bytes>"


__all__ = ["CHUNK_SIZE", "ReadableStream", "ReadableStreamDefaultReader"]
