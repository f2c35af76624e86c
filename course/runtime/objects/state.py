"""``self.ctx`` of a Durable Object: id, storage, waitUntil, blockConcurrencyWhile, abort, and
the WebSocket hibernation API (https://developers.cloudflare.com/durable-objects/api/state/)."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from course.runtime.objects.errors import DurableObjectAborted, reset_error
from course.runtime.objects.hibernation import HibernationAPI, ObjectSockets
from course.runtime.objects.instance import LiveObject


class DurableObjectState(HibernationAPI):
    """``self.ctx`` of a Durable Object: ``id``, ``storage``, ``waitUntil``,
    ``blockConcurrencyWhile``, ``abort``, and the WebSocket hibernation API
    (``acceptWebSocket``, ``getWebSockets``... in :class:`course.runtime.objects.hibernation.HibernationAPI`)."""

    def __init__(self, live: LiveObject, hibernation: ObjectSockets) -> None:
        self._live = live
        self._hibernation = hibernation
        self.id = live.id
        self.storage = live.storage
        self.props: dict[str, Any] = {}

    def waitUntil(self, awaitable: Any) -> None:  # noqa: N802
        """Keep ``awaitable`` running after the current event (it does not delay the response)."""
        live = self._live
        live.runtime.wait_until(awaitable, worker=live.host.worker)

    def blockConcurrencyWhile(self, fn: Callable[[], Any]) -> "asyncio.Task[Any]":  # noqa: N802
        """Run ``fn`` with the input gate closed: no other event starts or resumes until it settles.

        Returns an awaitable (a Task), so a constructor may call it without awaiting. If ``fn``
        raises, the object is reset, as on Cloudflare.
        """
        return self._live.block_concurrency_while(fn)

    def abort(self, reason: str | None = None) -> None:
        """Reset the object now: in-flight requests fail with ``reason``; memory is lost."""
        live = self._live
        message = str(reason) if reason is not None else "Durable Object was aborted"
        live.host.crash(live.hex, reason="abort", error=reset_error(message))
        raise DurableObjectAborted(message)

    wait_until, block_concurrency_while = waitUntil, blockConcurrencyWhile

    def __repr__(self) -> str:
        return f"<DurableObjectState {self.id!r}>"
