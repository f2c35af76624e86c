"""``self.ctx`` of a Durable Object: id, storage, waitUntil, blockConcurrencyWhile, abort, and
the WebSocket hibernation API (https://developers.cloudflare.com/durable-objects/api/state/)."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from course.runtime.objects.errors import DurableObjectAborted, reset_error
from course.runtime.objects.hibernation import HibernationAPI, ObjectSockets
from course.runtime.objects.instance import LiveObject


def _gone() -> BaseException:
    return reset_error("Durable Object storage used by an instance that is no longer active "
                       "(it was reset or evicted); the object's new instance owns the storage now.")


class InstanceStorage:
    """``ctx.storage`` as one instance sees it: the object's storage, until the instance is gone.

    The storage outlives instances (a crash or an eviction keeps it for the next one), but code
    of a reset instance must not reach it: on Cloudflare the isolate is gone and nothing of it
    runs. Here a leftover task of a crashed instance (a ``waitUntil``, a timer) could still hold
    ``self.ctx``; every access through it then raises the reset error instead of writing into
    the new instance's state.
    """

    __slots__ = ("_live", "_storage")

    def __init__(self, live: LiveObject) -> None:
        self._live = live
        self._storage = live.storage

    def __getattr__(self, name: str) -> Any:
        if self._live.dead:
            raise _gone()
        return getattr(self._storage, name)

    # The two calls of nearly every request, without the __getattr__ detour.
    def get(self, *args: Any, **kwargs: Any) -> Any:
        if self._live.dead:
            raise _gone()
        return self._storage.get(*args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        if self._live.dead:
            raise _gone()
        return self._storage.put(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<DurableObjectStorage of {self._live.label}>"


class DurableObjectState(HibernationAPI):
    """``self.ctx`` of a Durable Object: ``id``, ``storage``, ``waitUntil``,
    ``blockConcurrencyWhile``, ``abort``, and the WebSocket hibernation API
    (``acceptWebSocket``, ``getWebSockets``... in :class:`course.runtime.objects.hibernation.HibernationAPI`)."""

    def __init__(self, live: LiveObject, hibernation: ObjectSockets) -> None:
        self._live = live
        self._hibernation = hibernation
        self.id = live.id
        self.storage = InstanceStorage(live)
        self.props: dict[str, Any] = {}
        #: ``waitUntil`` work of this instance: cancelled if the instance is reset
        self.background_tasks: set[asyncio.Task[Any]] = set()

    def waitUntil(self, awaitable: Any) -> None:  # noqa: N802
        """Keep ``awaitable`` running after the current event (it does not delay the response)."""
        live = self._live
        task = live.runtime.wait_until(awaitable, worker=live.host.worker)
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)

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
