"""``python_to_rpc`` / ``python_from_rpc``: the conversions the Python SDK applies at RPC calls.

On Cloudflare these turn Python values into JavaScript ones (dicts become objects, ``None``
becomes ``null``, ``datetime`` becomes ``Date``, Response/Request pass as themselves) and back.
Here values stay Python, so the functions check what Workers RPC refuses and normalise the
proxies: ``python_to_rpc`` rejects tuples, bytearrays and un-awaited awaitables with the SDK's
``TypeError``; ``python_from_rpc`` gives dicts with attribute access, lists, bytes and datetimes.
Reference: https://developers.cloudflare.com/workers/runtime-apis/rpc/
"""
from __future__ import annotations

import datetime as _dt
import inspect
from typing import Any

from course.workers.jsproxy import JsArray, JsBuffer, JsDate, JsObject, wrap

#: Names that are never RPC methods, on a WorkerEntrypoint or a DurableObject
#: (https://developers.cloudflare.com/workers/runtime-apis/rpc/reserved-methods/): ``fetch`` and
#: ``connect`` keep their Fetch/socket semantics (call ``stub.fetch``), the handlers and system
#: events (queue, scheduled, tail, trace, alarm, webSocket*) are delivered by the platform only,
#: and ``dup``, ``constructor``, ``env``, ``ctx`` are the stub's or the instance's own.
RESERVED_RPC_NAMES = frozenset({"fetch", "connect", "queue", "scheduled", "tail", "trace", "alarm",
                                "webSocketMessage", "webSocketClose", "webSocketError", "dup",
                                "constructor", "env", "ctx"})


def _refuse(value: Any) -> None:
    if isinstance(value, (tuple, bytearray)):
        raise TypeError(f"{type(value)} cannot be sent over RPC.")
    if inspect.isawaitable(value):
        raise TypeError(f"Awaitable {type(value)} cannot be sent over RPC.")
    if isinstance(value, dict):
        for v in value.values():
            _refuse(v)
    elif isinstance(value, list):
        for v in value:
            _refuse(v)


def python_to_rpc(value: Any) -> Any:
    """A Python value as it crosses an RPC boundary (dicts become JS objects)."""
    _refuse(value)
    if isinstance(value, _dt.datetime) and not isinstance(value, JsDate):
        aware = value if value.tzinfo else value.astimezone()
        return JsDate.fromtimestamp(aware.timestamp(), _dt.timezone.utc)
    if hasattr(value, "model_dump") and callable(value.model_dump):  # a pydantic model
        value = value.model_dump(mode="json")
    return wrap(value)


def python_from_rpc(value: Any) -> Any:
    """A value received over RPC as Python sees it: dict (with attribute access), list, bytes,
    ``datetime`` for a JS Date; Response, Request, Blob and FormData stay as they are."""
    if isinstance(value, JsDate):
        return value.to_py()
    if isinstance(value, dict):
        return JsObject({k: python_from_rpc(v) for k, v in dict.items(value)})
    if isinstance(value, (list, JsArray)):
        return [python_from_rpc(v) for v in value]
    if isinstance(value, JsBuffer):
        return bytes(value)
    return value
