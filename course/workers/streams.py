"""``ReadableStream`` bodies: what ``request.body``, ``response.body`` and an R2 object's ``body`` are.

On Cloudflare a body is a JavaScript ``ReadableStream``: Python code reads it with
``body.getReader()`` and ``await reader.read()`` (``{done, value}`` with a ``Uint8Array``), or
``async for chunk in body`` (the Python SDK's ASGI adapter does), or passes it on as another
body (``Response(obj.body)``, ``env.BUCKET.put(key, request.body)``).
Reference: https://developers.cloudflare.com/workers/runtime-apis/streams/readablestream/

A body that is already in memory (a request from a client, a string or bytes given to
``Response``, an R2 object) is a :class:`ReadableStream` that is also the bytes it holds (a
:class:`~course.workers.jsproxy.JsBuffer`): code that treats it as bytes keeps working, and
code written for the stream API reads the same bytes chunk by chunk. A body still being produced
(an ASGI ``StreamingResponse``, a WSGI generator, ``HTMLRewriter.transform``, the readable side of
a ``TransformStream``, ``ReadableStream.new({"start": ...})``) is a :class:`LiveReadableStream`:
a reader gets each chunk when it is produced, not when the last one is. A stream is read once:
a second reader on a locked stream raises the TypeError workerd raises.
"""
from __future__ import annotations

import asyncio
import collections
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


class _Readable:
    """What both kinds of ``ReadableStream`` share: one reader at a time, ``async for``."""

    _reader: Any
    _on_read: Callable[[], None] | None

    def _new_reader(self) -> Any:
        raise NotImplementedError

    @property
    def locked(self) -> bool:
        return self._reader is not None

    def getReader(self, options: Any = None) -> Any:  # noqa: N802 - JS name
        if self._reader is not None:
            raise JsException("ReadableStream is currently locked to a reader.", "TypeError")
        if self._on_read is not None:
            self._on_read()  # the owning Request/Response now counts as read (bodyUsed)
        self._reader = self._new_reader()
        return self._reader

    get_reader = getReader

    async def __aiter__(self) -> AsyncIterator[JsBuffer]:
        reader = self.getReader()
        while True:
            result = await reader.read()
            if result.done:
                return
            yield result.value


class ReadableStream(_Readable, JsBuffer):
    """A body as a ``ReadableStream`` (and the bytes it holds)."""

    _reader: ReadableStreamDefaultReader | None
    _cancelled: bool

    def __new__(cls, data: bytes = b"", *, on_read: Callable[[], None] | None = None) -> "ReadableStream":
        self = super().__new__(cls, data)
        self._reader = None
        self._cancelled = False
        self._on_read = on_read
        return self

    def _new_reader(self) -> ReadableStreamDefaultReader:
        return ReadableStreamDefaultReader(self)

    @classmethod
    def new(cls, source: Any = None, *_: Any) -> "LiveReadableStream":  # type: ignore[override]
        """``js.ReadableStream.new({"start": fn, "pull": fn})``: a stream fed through a controller
        (``controller.enqueue(chunk)``, ``close()``, ``error(e)``); ``start`` runs at once, ``pull``
        (sync or async) runs again and again until the stream is closed."""
        stream = LiveReadableStream()
        controller = _StreamController(stream)
        get = (lambda name: source.get(name)) if isinstance(source, dict) else (lambda name: getattr(source, name, None))
        start, pull = get("start"), get("pull")
        started = start(controller) if start is not None else None

        async def run() -> None:
            try:
                if started is not None and hasattr(started, "__await__"):
                    await started
                while pull is not None and not stream.finished:
                    result = pull(controller)
                    if hasattr(result, "__await__"):
                        await result
            except Exception as exc:  # noqa: BLE001 - the reader sees the source's error
                stream.fail(exc)

        if (started is not None and hasattr(started, "__await__")) or pull is not None:
            start_producer(run(), label="ReadableStream.source")
        return stream

    def tee(self) -> list["ReadableStream"]:
        if self._reader is not None:
            raise JsException("ReadableStream is currently locked to a reader.", "TypeError")
        return [ReadableStream(bytes(self)), ReadableStream(bytes(self))]

    async def cancel(self, reason: Any = None) -> None:
        self._cancelled = True

    def __repr__(self) -> str:
        return f"<ReadableStream {len(self)} bytes>"




# -- bodies still arriving ----------------------------------------------------------------------
class _Resolved:
    """An already-settled promise: ``await writer.write(chunk)`` works, and so does not awaiting."""

    def __await__(self) -> Any:
        return iter(())


class LiveReadableStream(_Readable):
    """A ``ReadableStream`` whose bytes are still being produced (an ASGI ``StreamingResponse``,
    a WSGI generator, an ``HTMLRewriter`` transform, a ``TransformStream``'s readable side).

    The producer calls :meth:`push`, :meth:`close` or :meth:`fail` on the runtime's loop; a reader
    gets each chunk as it was pushed, as soon as it was pushed. It is read once, like any body.
    Code outside the runtime's loop (the in-process clients and ``course serve`` turning a
    Response into HTTP) reads it whole with :meth:`read_all_blocking`.
    Reference: https://developers.cloudflare.com/workers/runtime-apis/streams/readablestream/
    """

    def __init__(self, *, runtime: Any = None) -> None:
        from course.workers.context import current_runtime

        self._chunks: collections.deque[bytes] = collections.deque()
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._reader: LiveStreamReader | None = None
        self._cancelled = False
        self._on_read: Callable[[], None] | None = None
        self.runtime = runtime if runtime is not None else current_runtime.get()

    # -- the producer's side -----------------------------------------------------------------
    def push(self, chunk: Any) -> None:
        """Add a chunk (bytes or str, encoded UTF-8) to the end of the stream."""
        if self._done:
            raise JsException("This ReadableStream is closed: no chunk can be added.", "TypeError")
        data = chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
        if data and not self._cancelled:
            self._chunks.append(data)
            self._wake()

    def close(self) -> None:
        self._done = True
        self._wake()

    def fail(self, error: BaseException) -> None:
        """End the stream with an error: the next read raises it."""
        if not self._done:
            self._error, self._done = error, True
            self._wake()

    @property
    def finished(self) -> bool:
        """Every chunk has been produced (or the producer failed)."""
        return self._done

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- the reader's side -----------------------------------------------------------------
    async def next_chunk(self) -> bytes | None:
        """The next chunk, None at the end; raises the producer's error."""
        while not self._chunks:
            if self._done or self._cancelled:
                if self._error is not None and not self._cancelled:
                    raise self._error
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._chunks.popleft()

    def _new_reader(self) -> "LiveStreamReader":
        return LiveStreamReader(self)

    async def read_all(self) -> bytes:
        """Every remaining chunk, joined (waits for the producer to finish)."""
        reader = self.getReader()
        parts = []
        while True:
            result = await reader.read()
            if result.done:
                return b"".join(parts)
            parts.append(bytes(result.value))

    def read_all_blocking(self) -> bytes:
        """:meth:`read_all` from a thread other than the runtime's (virtual time may jump meanwhile)."""
        rt = self.runtime
        if rt is None:
            raise RuntimeError("this stream belongs to no runtime: read it with `await stream.read_all()`")
        if rt.on_loop_thread():
            raise JsException("This body is still streaming: read it with `await response.text()` / "
                              "`await response.bytes()` or `response.body.getReader()`", "TypeError")
        return rt.call(self.read_all())  # type: ignore[no-any-return]

    def tee(self) -> list["LiveReadableStream"]:
        """Two streams that each get every chunk (a task copies the chunks as they arrive)."""
        if self._reader is not None:
            raise JsException("ReadableStream is currently locked to a reader.", "TypeError")
        left, right = LiveReadableStream(runtime=self.runtime), LiveReadableStream(runtime=self.runtime)

        async def copy() -> None:
            try:
                async for chunk in self:
                    left.push(chunk)
                    right.push(chunk)
            except Exception as exc:  # noqa: BLE001 - both branches see the source's error
                left.fail(exc)
                right.fail(exc)
            else:
                left.close()
                right.close()

        start_producer(copy(), label="ReadableStream.tee")
        return [left, right]

    async def cancel(self, reason: Any = None) -> None:
        self._cancelled = True
        self._chunks.clear()
        self._wake()

    def pipeTo(self, destination: "WritableStream", options: Any = None) -> Any:  # noqa: N802 - JS name
        """Copy every chunk into ``destination`` and close it (returns an awaitable)."""
        async def pipe() -> None:
            async for chunk in self:
                destination._sink.push(chunk)
            destination._sink.close()

        return start_producer(pipe(), label="ReadableStream.pipeTo")

    def pipeThrough(self, transform: Any, options: Any = None) -> Any:  # noqa: N802 - JS name
        self.pipeTo(transform.writable)
        return transform.readable

    def __repr__(self) -> str:
        state = "done" if self._done else "streaming"
        return f"<ReadableStream {state}, {len(self._chunks)} chunks waiting>"


class _StreamController:
    """The controller an underlying source gets: ``enqueue``, ``close``, ``error``."""

    def __init__(self, stream: LiveReadableStream) -> None:
        self._stream = stream

    def enqueue(self, chunk: Any) -> None:
        if hasattr(chunk, "to_bytes") and not isinstance(chunk, (bytes, str)):
            chunk = chunk.to_bytes()
        self._stream.push(chunk)

    def close(self) -> None:
        self._stream.close()

    def error(self, reason: Any = None) -> None:
        self._stream.fail(reason if isinstance(reason, BaseException) else JsException(str(reason), "Error"))

    @property
    def desiredSize(self) -> int:  # noqa: N802 - JS name
        return 1


class LiveStreamReader:
    """``getReader()`` on a :class:`LiveReadableStream`: ``await read()`` gives ``{done, value}``."""

    def __init__(self, stream: LiveReadableStream) -> None:
        self._stream = stream
        self._released = False
        self._ended = False

    async def read(self) -> JsObject:
        if self._released:
            raise JsException("This ReadableStreamDefaultReader has been released.", "TypeError")
        chunk = await self._stream.next_chunk()
        if chunk is None:
            self._ended = True
            return JsObject(done=True, value=None)
        return JsObject(done=False, value=JsBuffer(chunk))

    def releaseLock(self) -> None:  # noqa: N802 - JS name
        self._released = True
        self._stream._reader = None

    async def cancel(self, reason: Any = None) -> None:
        await self._stream.cancel(reason)

    @property
    def closed(self) -> bool:
        return self._ended


class WritableStreamDefaultWriter:
    """``writable.getWriter()``: ``write(chunk)``, ``close()``, ``abort(reason)``."""

    def __init__(self, stream: "WritableStream") -> None:
        self._stream = stream

    def write(self, chunk: Any) -> _Resolved:
        if hasattr(chunk, "to_bytes") and not isinstance(chunk, (bytes, str)):
            chunk = chunk.to_bytes()
        self._stream._sink.push(chunk)
        return _Resolved()

    def close(self) -> _Resolved:
        self._stream._sink.close()
        return _Resolved()

    def abort(self, reason: Any = None) -> _Resolved:
        self._stream._sink.fail(JsException(str(reason or "The stream was aborted"), "AbortError"))
        return _Resolved()

    def releaseLock(self) -> None:  # noqa: N802 - JS name
        self._stream._writer = None

    @property
    def ready(self) -> _Resolved:
        return _Resolved()

    @property
    def desiredSize(self) -> int:  # noqa: N802 - JS name
        return 1


class WritableStream:
    """The writable side of a :class:`TransformStream`: what is written comes out of the readable side."""

    def __init__(self, sink: LiveReadableStream) -> None:
        self._sink = sink
        self._writer: WritableStreamDefaultWriter | None = None

    @property
    def locked(self) -> bool:
        return self._writer is not None

    def getWriter(self) -> WritableStreamDefaultWriter:  # noqa: N802 - JS name
        if self._writer is not None:
            raise JsException("WritableStream is currently locked to a writer.", "TypeError")
        self._writer = WritableStreamDefaultWriter(self)
        return self._writer

    get_writer = getWriter


class TransformStream:
    """``new TransformStream()`` (and Cloudflare's ``IdentityTransformStream``): bytes written to
    ``writable`` are read from ``readable``, chunk by chunk. The usual way a Worker streams a body:
    return ``Response(ts.readable)`` and keep writing in ``ctx.waitUntil``.
    Reference: https://developers.cloudflare.com/workers/runtime-apis/streams/transformstream/
    """

    def __init__(self, transformer: Any = None, *_: Any) -> None:
        if transformer is not None:
            raise JsException("TransformStream with a transformer is not supported by the course runtime; "
                              "use TransformStream.new() (identity) and transform the chunks yourself",
                              "TypeError")
        self.readable = LiveReadableStream()
        self.writable = WritableStream(self.readable)

    @classmethod
    def new(cls, *args: Any) -> "TransformStream":
        return cls(*args)


IdentityTransformStream = TransformStream


def start_producer(coro: Any, *, label: str) -> Any:
    """Run a stream's producer in the background, on the runtime when there is one (its tasks
    are waited for when the runtime settles), else on the running loop."""
    from course.workers.context import current_runtime, current_worker

    rt = current_runtime.get()
    if rt is not None and rt.on_loop_thread():
        return rt.spawn(coro, label=label, worker=current_worker.get())
    return asyncio.get_running_loop().create_task(coro)


__all__ = ["CHUNK_SIZE", "IdentityTransformStream", "LiveReadableStream", "LiveStreamReader", "ReadableStream",
           "ReadableStreamDefaultReader", "TransformStream", "WritableStream", "start_producer"]
