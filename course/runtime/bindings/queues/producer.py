"""The producer binding (``env.JOBS``): ``send`` and ``sendBatch`` into a queue of the runtime.

``await env.JOBS.send(body, contentType="json", delaySeconds=0)`` (or an options dict as second
argument) and ``await env.JOBS.sendBatch([{"body": ..., "contentType": ..., "delaySeconds": ...}],
delaySeconds=0)`` (https://developers.cloudflare.com/queues/configuration/javascript-apis/).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from course.runtime.bindings.queues.messages import LIMITS_DOC, StoredMessage, parse_delay, parse_options, queue_error
from course.runtime.bindings.queues.service import queues

#: Most messages one ``sendBatch`` call may carry (LIMITS_DOC).
MAX_SEND_BATCH_MESSAGES = 100
#: Most bytes one ``sendBatch`` call may carry: "100 (or 256KB in total)" (LIMITS_DOC).
MAX_SEND_BATCH_BYTES = 256_000
#: The keys of one message of ``sendBatch``.
_ITEM_KEYS = frozenset({"body", "contentType", "delaySeconds"})


class QueueProducer:
    """``env.JOBS``: send messages to a queue (``send``, ``sendBatch``)."""

    def __init__(self, runtime: Any, queue: str, binding: str, delivery_delay: float = 0.0) -> None:
        self._runtime = runtime
        self._queue = queue
        self._binding = binding
        self._delivery_delay = delivery_delay

    async def send(self, body: Any, options: Any = None, **kwargs: Any) -> None:
        """Send one message: ``send(body, contentType="json", delaySeconds=0)``."""
        queues(self._runtime).produce(self._queue, body, options, kwargs, producer=self._binding,
                                      default_delay=self._delivery_delay)

    async def sendBatch(self, messages: Any, options: Any = None, **kwargs: Any) -> None:  # noqa: N802
        """Send up to 100 messages (256 KB in all) at once; each is ``{"body", "contentType", "delaySeconds"}``."""
        opts = parse_options(options, kwargs, ("delaySeconds",), "sendBatch()")
        batch_delay = parse_delay(opts["delaySeconds"], "delaySeconds") if "delaySeconds" in opts \
            else self._delivery_delay
        if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Iterable):
            raise queue_error("sendBatch() takes a list of {'body': ..., 'contentType': ..., "
                              "'delaySeconds': ...} dicts", "TypeError")
        items = list(messages)
        if len(items) > MAX_SEND_BATCH_MESSAGES:
            raise queue_error(f"sendBatch() got {len(items)} messages; at most {MAX_SEND_BATCH_MESSAGES} "
                              f"per call ({LIMITS_DOC})", "RangeError")
        service = queues(self._runtime)
        stored: list[StoredMessage] = []
        new_message = service.new_message
        clock = self._runtime.clock
        sent = clock.wall(), clock.now()  # one instant for the whole batch
        for i, item in enumerate(items):
            if not (type(item) is dict or isinstance(item, Mapping)) or "body" not in item:
                raise queue_error(f"sendBatch() message {i} must be a dict with a 'body' key, got {item!r}",
                                  "TypeError")
            if len(item) > 1 and not _ITEM_KEYS.issuperset(item):
                extra = set(item) - _ITEM_KEYS
                raise queue_error(f"sendBatch() message {i}: unknown key(s) {', '.join(sorted(extra))}",
                                  "TypeError")
            delay = parse_delay(item["delaySeconds"], f"message {i} delaySeconds") \
                if item.get("delaySeconds") is not None else batch_delay
            stored.append(new_message(item["body"], item.get("contentType"), delay, sent))
        total = sum(m.size for m in stored)
        if total > MAX_SEND_BATCH_BYTES:
            raise queue_error(f"sendBatch() carries {total} bytes; at most {MAX_SEND_BATCH_BYTES} bytes "
                              f"(256 KB) per call ({LIMITS_DOC})", "RangeError")
        service.enqueue(self._queue, stored, self._binding)

    send_batch = sendBatch

    def __repr__(self) -> str:
        return f"<Queue producer {self._binding} -> {self._queue}>"
