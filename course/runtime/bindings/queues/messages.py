"""Queue messages: as a queue stores them, as a consumer receives them, and the checks on sending.

A message's body is copied when it is sent (``json`` as JSON text, ``text``, ``bytes``, ``v8`` as a
structured clone) and copied again on each delivery, so neither side can change the other's. The
consumer decides each message with ``ack()``/``retry()`` or the batch with ``ackAll()``/
``retryAll()``; the first decision on a message wins. References:
https://developers.cloudflare.com/queues/configuration/javascript-apis/ and
https://developers.cloudflare.com/queues/platform/limits/.
"""
from __future__ import annotations

import datetime as _dt
import json
import json.encoder as _json_encoder
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from course.runtime.kernel.clone import structured_clone
from course.workers.jsproxy import JsBuffer, JsDate, JsException, to_py, wrap

LIMITS_DOC = "https://developers.cloudflare.com/queues/platform/limits/"

#: Largest message, in bytes: "128 KB", where "1 KB is measured as 1000 bytes" (LIMITS_DOC).
MAX_MESSAGE_BYTES = 128_000
#: Longest ``delaySeconds`` when sending or retrying: 24 hours (LIMITS_DOC, "delaySeconds (when
#: sending or retrying) 24 hours"; it was 12 hours before, and miniflare 4.2026 also allows 86400).
MAX_DELAY_SECONDS = 86_400

#: Content types a message may declare (https://developers.cloudflare.com/queues/configuration/
#: javascript-apis/#queuescontenttype); ``json`` is the default.
CONTENT_TYPES = ("json", "text", "bytes", "v8")
DEFAULT_CONTENT_TYPE = "json"

#: One encoder for every ``json`` message (``json.dumps`` with options builds one per call).
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
#: Scalar types that to_py leaves as they are: a dict holding only these is encoded without its copy.
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})
#: ``_JSON.encode`` builds the C encoder again on every call (half its cost for a small message);
#: a dict of plain values cannot nest or refer to itself, so one encoder without the circular
#: reference check serves them all. None without the C accelerations (then ``_JSON.encode``).
_FLAT_ENCODER = None if _json_encoder.c_make_encoder is None else _json_encoder.c_make_encoder(
    None, _JSON.default, _json_encoder.encode_basestring, None, _JSON.key_separator, _JSON.item_separator,
    _JSON.sort_keys, _JSON.skipkeys, _JSON.allow_nan)


@dataclass(slots=True)
class StoredMessage:
    """A message as the queue keeps it: the body is an immutable encoding, copied on delivery."""

    id: str
    payload: Any          # json: the JSON text; text: str; bytes: bytes; v8: a structured clone
    content_type: str
    size: int
    timestamp: float      # wall-clock seconds when it was sent
    ready_at: float       # runtime clock seconds when it may be delivered
    seq: int              # arrival order, to break ties
    attempts: int = 0     # deliveries so far
    failures: int = 0     # deliveries that ended in a retry

    def body(self) -> Any:
        """A fresh copy of the body, as the consumer sees it."""
        if self.content_type == "json":
            return wrap(json.loads(self.payload))
        if self.content_type == "bytes":
            return JsBuffer(self.payload)
        if self.content_type == "v8":
            return structured_clone(self.payload)
        return self.payload

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "body": to_py(self.body()), "content_type": self.content_type,
                "attempts": self.attempts, "failures": self.failures, "ready_at": self.ready_at}


def queue_error(message: str, name: str = "Error") -> JsException:
    """An error thrown into Worker code (``TypeError``, ``RangeError``...)."""
    return JsException(message, name)


def encode_message(body: Any, content_type: str | None) -> tuple[str, Any, int]:
    """``(content type, payload, size)`` of a message to send: its body copied for storage and
    measured against MAX_MESSAGE_BYTES (``contentType`` defaults to ``json``)."""
    content_type = DEFAULT_CONTENT_TYPE if content_type is None else content_type
    payload, size = encode_body(body, content_type)
    if size > MAX_MESSAGE_BYTES:
        raise queue_error(f"message is {size} bytes, over the {MAX_MESSAGE_BYTES}-byte limit (128 KB, "
                          f"{LIMITS_DOC})", "RangeError")
    return content_type, payload, size


def encode_body(body: Any, content_type: str) -> tuple[Any, int]:
    """Copy ``body`` for storage and measure it; raise a clear error if the type can't carry it."""
    if content_type not in CONTENT_TYPES:
        raise queue_error(f"contentType must be one of {', '.join(CONTENT_TYPES)}; got {content_type!r}",
                          "TypeError")
    if content_type == "json":
        try:
            if type(body) is dict and _PLAIN_TYPES.issuperset(map(type, body.values())):
                # A dict of plain values (the usual message): to_py would copy it into an equal dict.
                text = "".join(_FLAT_ENCODER(body, 0)) if _FLAT_ENCODER is not None else _JSON.encode(body)
            else:
                text = _JSON.encode(to_py(body))
        except (TypeError, ValueError) as exc:
            raise queue_error(f"message body is not JSON-serializable ({exc}); send plain data, or use "
                              "contentType='v8' for values such as datetime or bytes", "TypeError") from None
        return text, len(text) if text.isascii() else len(text.encode("utf-8"))
    if content_type == "text":
        if not isinstance(body, str):
            raise queue_error(f"contentType 'text' needs a str body, got {type(body).__name__}", "TypeError")
        return body, len(body.encode("utf-8"))
    if content_type == "bytes":
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise queue_error(f"contentType 'bytes' needs a bytes-like body, got {type(body).__name__}",
                              "TypeError")
        data = bytes(body)
        return data, len(data)
    clone = structured_clone(body)
    return clone, _approx_size(clone)


def _approx_size(value: Any) -> int:
    """Bytes a structured clone roughly takes (for the size limit of ``v8`` messages)."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, (int, float)):
        return 8
    if isinstance(value, str):
        return len(value.encode("utf-8")) + 2
    if isinstance(value, (bytes, bytearray)):
        return len(value) + 4
    if isinstance(value, dict):
        return 2 + sum(_approx_size(k) + _approx_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 2 + sum(_approx_size(v) for v in value)
    return 16


def parse_delay(value: Any, what: str) -> float:
    """A ``delaySeconds`` value, checked against MAX_DELAY_SECONDS."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise queue_error(f"{what} must be a number of seconds, got {value!r}", "TypeError")
    if value < 0 or value > MAX_DELAY_SECONDS:
        raise queue_error(f"{what} must be between 0 and {MAX_DELAY_SECONDS} seconds (24 hours, "
                          f"{LIMITS_DOC}); got {value}", "RangeError")
    return float(value)


def parse_options(options: Any, kwargs: Mapping[str, Any], allowed: Iterable[str], what: str) -> dict[str, Any]:
    """Merge a JS-style options object and Python keyword arguments (Pyodide's calling style)."""
    merged: dict[str, Any] = {}
    if options is not None:
        if not isinstance(options, Mapping):
            raise queue_error(f"{what} options must be a dict, got {type(options).__name__}", "TypeError")
        merged.update(options)
    merged.update(kwargs)
    unknown = set(merged) - set(allowed)
    if unknown:
        raise queue_error(f"{what}: unknown option(s) {', '.join(sorted(unknown))}; expected "
                          f"{', '.join(allowed)}", "TypeError")
    return merged


#: ``Message._body`` before the first read (a body may be None).
_UNREAD: Any = object()


class Message:
    """One delivered message: ``id``, ``timestamp``, ``body``, ``attempts``, ``ack()``, ``retry()``.

    ``body`` and ``timestamp`` are read-only, as on Cloudflare, and built on first read: the
    stored payload never changes, so a copy made then is the copy made at delivery, and a
    consumer that only acks (most of a load test's messages) pays for no decoding at all.
    """

    __slots__ = ("id", "attempts", "_decision", "_stored", "_body", "_timestamp")

    def __init__(self, stored: StoredMessage) -> None:
        self.id = stored.id
        self.attempts = stored.attempts
        self._decision: tuple[str, float | None] | None = None
        self._stored = stored
        self._body: Any = _UNREAD
        self._timestamp: JsDate | None = None

    @property
    def body(self) -> Any:
        """This delivery's own copy of the body (the same object on every read)."""
        body = self._body
        if body is _UNREAD:
            body = self._body = self._stored.body()
        return body

    @property
    def timestamp(self) -> JsDate:
        """When the message was sent: a JS Date on Cloudflare (``getTime()``), which is also a
        UTC datetime here."""
        stamp = self._timestamp
        if stamp is None:
            stamp = self._timestamp = JsDate.fromtimestamp(self._stored.timestamp, _dt.timezone.utc)
        return stamp

    def ack(self) -> None:
        """Acknowledge this message: it will not be redelivered, whatever happens to the batch."""
        if self._decision is None:
            self._decision = ("ack", None)

    def retry(self, options: Any = None, **kwargs: Any) -> None:
        """Deliver this message again later (``delaySeconds=``: how much later)."""
        opts = parse_options(options, kwargs, ("delaySeconds",), "retry()")
        delay = parse_delay(opts["delaySeconds"], "delaySeconds") if "delaySeconds" in opts else None
        if self._decision is None:
            self._decision = ("retry", delay)

    def __repr__(self) -> str:
        return f"<Message {self.id} attempts={self.attempts}>"


class MessageBatch:
    """``batch`` of a ``queue`` handler: ``queue`` (its name), ``messages``, ``ackAll()``, ``retryAll()``."""

    def __init__(self, queue: str, messages: list[Message]) -> None:
        self.queue = queue
        self.messages = messages
        self._decision: tuple[str, float | None] | None = None

    def ackAll(self) -> None:  # noqa: N802 - Cloudflare's name
        """Acknowledge every message not decided individually."""
        if self._decision is None:
            self._decision = ("ack", None)

    def retryAll(self, options: Any = None, **kwargs: Any) -> None:  # noqa: N802
        """Retry every message not decided individually (``delaySeconds=``: how much later)."""
        opts = parse_options(options, kwargs, ("delaySeconds",), "retryAll()")
        delay = parse_delay(opts["delaySeconds"], "delaySeconds") if "delaySeconds" in opts else None
        if self._decision is None:
            self._decision = ("retry", delay)

    ack_all = ackAll
    retry_all = retryAll

    def __repr__(self) -> str:
        return f"<MessageBatch {self.queue} ({len(self.messages)} messages)>"
