"""Handing callbacks to an event loop from other threads, one wake-up per batch.

The runtime's loop runs on its own thread; notebooks, tests and ``course serve`` call into it
from theirs (``Kernel.call`` / ``call_async``) and get results back on their own loops.
``loop.call_soon_threadsafe`` writes to the loop's self-pipe on every call, and with several
requests in flight each write hands the GIL to the other thread and back: before the mailbox,
about 116 us of a Durable Object request's CPU through ``rt.async_client()`` (bench/README.md).
"""
from __future__ import annotations

import asyncio
import collections
from typing import Any, Callable


class Mailbox:
    """Callbacks handed to one event loop from other threads, with one wake-up per batch.

    Posts that arrive while a wake-up is already pending ride along with it, in order.

    ``defer`` (the runtime's :meth:`Kernel.when_waiting`) postpones the wake-up itself until the
    posting loop is about to wait: a caller woken while the runtime still has work would only
    take the GIL from it at every SQLite call.
    """

    __slots__ = ("loop", "_items", "_wake_pending", "_defer", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 defer: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.loop = loop
        self._items: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = collections.deque()
        self._wake_pending = False
        self._defer = defer

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop soon (callable from any thread)."""
        self._items.append((fn, args))
        if not self._wake_pending:
            self._wake_pending = True
            if self._defer is not None:
                self._defer(self._wake_quietly)
            else:
                self._wake()  # RuntimeError if the loop is closed, as call_soon_threadsafe

    def post_from(self, caller: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
        """``post`` from code running on the loop ``caller``: the wake-up waits until the
        callbacks ``caller`` is running now have run, so requests a ``gather`` starts together
        travel together."""
        self._items.append((fn, args))
        if not self._wake_pending:
            self._wake_pending = True
            caller.call_soon(self._wake_quietly)

    def _wake(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._run)
        except RuntimeError:  # the loop is closed: nothing will run these any more
            self._wake_pending = False
            self._items.clear()
            raise

    def _wake_quietly(self) -> None:
        """A deferred wake-up (from another loop's callback): a closed loop is not its caller's error."""
        try:
            self._wake()
        except RuntimeError:
            pass

    def _run(self) -> None:
        # Reset before draining: a post that saw the flag still set appended its item first, so
        # this drain runs it; a post after the reset schedules a drain of its own.
        self._wake_pending = False
        items = self._items
        while items:
            fn, args = items.popleft()
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - one bad callback must not strand the rest
                self.loop.call_exception_handler({"message": "callback posted to the loop failed",
                                                  "exception": exc})
