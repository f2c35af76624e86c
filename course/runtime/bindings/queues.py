"""Cloudflare Queues: producer bindings, batched consumer delivery, retries and dead letters.

Configured as in wrangler (https://developers.cloudflare.com/queues/configuration/configure-queues/)::

    [[queues.producers]]
    binding = "JOBS"
    queue = "jobs"

    [[queues.consumers]]
    queue = "jobs"
    max_batch_size = 10        # default 10, at most 100
    max_batch_timeout = 5      # seconds, default 5, at most 60
    max_retries = 3            # default 3, at most 100
    retry_delay = 0            # seconds, default 0
    dead_letter_queue = "jobs-dlq"

Producer API (https://developers.cloudflare.com/queues/configuration/javascript-apis/):
``await env.JOBS.send(body, contentType="json", delaySeconds=0)`` (or an options dict as second
argument) and ``await env.JOBS.sendBatch([{"body": ..., "contentType": ..., "delaySeconds": ...}],
delaySeconds=0)``. Bodies are copied when sent: ``json`` bodies must be JSON-serializable,
``text`` a str, ``bytes`` bytes-like, ``v8`` structured-cloneable.

Consumers: the Worker whose config lists the queue under ``queues.consumers`` gets
``await queue(self, batch, env, ctx)`` on its entrypoint (called strictly, like workerd). Semantics
(https://developers.cloudflare.com/queues/configuration/batching-retries/):

- a batch is delivered when ``max_batch_size`` messages are ready, or ``max_batch_timeout``
  seconds after the oldest ready message became ready, on the runtime clock;
- ``message.ack()`` / ``message.retry(delaySeconds=)`` decide per message, ``batch.ackAll()`` /
  ``batch.retryAll()`` for the rest; the first call on a message wins and a per-message call
  beats a batch-level one;
- a handler that returns acks every undecided message; one that raises retries every message
  not explicitly acked;
- a retried message comes back after its delay (``retry(delaySeconds=)``, else ``retry_delay``);
  after ``max_retries`` failed deliveries (so ``max_retries + 1`` deliveries in all) it moves to
  ``dead_letter_queue`` (a queue like any other, which may have its own consumer) or is dropped
  (https://developers.cloudflare.com/queues/configuration/dead-letter-queues/);
- delivery is at least once: :meth:`QueueService.inject_duplicates` makes acked messages come
  back again with a seeded probability, to test idempotent consumers.

Deliveries run as background tasks started by platform timers, so a test advances the virtual
clock (``rt.clock.advance(5)``) or calls ``rt.run_until_idle()``. Every operation is traced:
``queue_send``, ``queue_delivery``, ``queue_ack``, ``queue_retry``, ``queue_dead_letter``,
``queue_duplicate``.

Inspection from Python (sync, any thread)::

    from course.runtime.bindings.queues import queues
    q = queues(rt).queue("jobs")
    q.depth(), q.in_flight(), q.dead_letters(), q.stats()

Concurrency: at most ``max_concurrency`` consumer invocations of a queue run at once (unset: up
to 250, standing in for the platform's autoscaling, which is not modelled). Retention: a message
not consumed within the queue's retention period (4 days by default; ``queue.set_retention(s)``,
60 s to 14 days) is deleted (traced as ``queue_expired``), also when the queue has no consumer.

Not emulated: throughput limits (5,000 msg/s), the 25 GB backlog limit, pull consumers, and
persistence across runtimes (queues live in memory, as in ``wrangler dev``).
"""
from __future__ import annotations

import asyncio
import bisect
import datetime as _dt
import itertools
import json
import math
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from course.runtime.net.faults import FAULTS
from course.runtime.kernel.plugins import Plugin, ServiceSlot
from course.workers.jsproxy import JsBuffer, JsDate, JsException, to_py, wrap

from course.runtime.kernel.config import ConfigError, QueueConsumer
from course.runtime.kernel.clone import structured_clone

LIMITS_DOC = "https://developers.cloudflare.com/queues/platform/limits/"

#: Largest message, in bytes: "128 KB", where "1 KB is measured as 1000 bytes" (LIMITS_DOC).
MAX_MESSAGE_BYTES = 128_000
#: Most messages one ``sendBatch`` call may carry (LIMITS_DOC).
MAX_SEND_BATCH_MESSAGES = 100
#: Most bytes one ``sendBatch`` call may carry: "100 (or 256KB in total)" (LIMITS_DOC).
MAX_SEND_BATCH_BYTES = 256_000
#: Longest ``delaySeconds`` when sending or retrying: 24 hours (LIMITS_DOC, "delaySeconds (when
#: sending or retrying) 24 hours"; it was 12 hours before, and miniflare 4.2026 also allows 86400).
MAX_DELAY_SECONDS = 86_400
#: Largest consumer ``max_batch_size`` (LIMITS_DOC: "Maximum consumer batch size 100 messages").
MAX_BATCH_SIZE = 100
#: Longest consumer ``max_batch_timeout`` in seconds (LIMITS_DOC: "Maximum Batch wait time").
MAX_BATCH_TIMEOUT = 60
#: Largest consumer ``max_retries`` (LIMITS_DOC: "Message retries 100").
MAX_RETRIES_LIMIT = 100
#: Most concurrent consumer invocations of one queue (LIMITS_DOC: "Concurrent consumer invocations
#: 250 push-based only"); also the autoscaling ceiling when ``max_concurrency`` is unset
#: (https://developers.cloudflare.com/queues/configuration/consumer-concurrency/).
MAX_CONCURRENCY = 250
#: Message retention: 4 days unless configured, from 60 seconds up to 14 days; "Messages in a queue
#: that reach the maximum message retention are deleted from the queue" (LIMITS_DOC and
#: https://developers.cloudflare.com/changelog/2025-02-14-customize-queue-retention-period/).
DEFAULT_RETENTION_SECONDS = 4 * 86_400
MIN_RETENTION_SECONDS = 60
MAX_RETENTION_SECONDS = 14 * 86_400

CONFIG_DOC = "https://developers.cloudflare.com/queues/configuration/configure-queues/"
#: Consumer defaults (CONFIG_DOC, "Consumer"): batch of 10, 5 s timeout, 3 retries, no delay.
DEFAULT_MAX_BATCH_SIZE = 10
DEFAULT_MAX_BATCH_TIMEOUT = 5.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_DELAY = 0

#: Content types a message may declare (https://developers.cloudflare.com/queues/configuration/
#: javascript-apis/#queuescontenttype); ``json`` is the default.
CONTENT_TYPES = ("json", "text", "bytes", "v8")
DEFAULT_CONTENT_TYPE = "json"


# -- the stored message ----------------------------------------------------------------------
@dataclass
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


def _error(message: str, name: str = "Error") -> JsException:
    return JsException(message, name)


def _encode(body: Any, content_type: str) -> tuple[Any, int]:
    """Copy ``body`` for storage and measure it; raise a clear error if the type can't carry it."""
    if content_type not in CONTENT_TYPES:
        raise _error(f"contentType must be one of {', '.join(CONTENT_TYPES)}; got {content_type!r}",
                     "TypeError")
    if content_type == "json":
        try:
            text = json.dumps(to_py(body), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise _error(f"message body is not JSON-serializable ({exc}); send plain data, or use "
                         "contentType='v8' for values such as datetime or bytes", "TypeError") from None
        return text, len(text.encode("utf-8"))
    if content_type == "text":
        if not isinstance(body, str):
            raise _error(f"contentType 'text' needs a str body, got {type(body).__name__}", "TypeError")
        return body, len(body.encode("utf-8"))
    if content_type == "bytes":
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise _error(f"contentType 'bytes' needs a bytes-like body, got {type(body).__name__}",
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


def _delay(value: Any, what: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise _error(f"{what} must be a number of seconds, got {value!r}", "TypeError")
    if value < 0 or value > MAX_DELAY_SECONDS:
        raise _error(f"{what} must be between 0 and {MAX_DELAY_SECONDS} seconds (24 hours, "
                     f"{LIMITS_DOC}); got {value}", "RangeError")
    return float(value)


def _options(options: Any, kwargs: Mapping[str, Any], allowed: Iterable[str], what: str) -> dict[str, Any]:
    """Merge a JS-style options object and Python keyword arguments (Pyodide's calling style)."""
    merged: dict[str, Any] = {}
    if options is not None:
        if not isinstance(options, Mapping):
            raise _error(f"{what} options must be a dict, got {type(options).__name__}", "TypeError")
        merged.update(options)
    merged.update(kwargs)
    unknown = set(merged) - set(allowed)
    if unknown:
        raise _error(f"{what}: unknown option(s) {', '.join(sorted(unknown))}; expected "
                     f"{', '.join(allowed)}", "TypeError")
    return merged


# -- what the consumer receives --------------------------------------------------------------
class Message:
    """One delivered message: ``id``, ``timestamp``, ``body``, ``attempts``, ``ack()``, ``retry()``."""

    def __init__(self, stored: StoredMessage) -> None:
        self.id = stored.id
        # A JS Date on Cloudflare (``getTime()``), which is also a UTC datetime here.
        self.timestamp = JsDate.fromtimestamp(stored.timestamp, _dt.timezone.utc)
        self.body = stored.body()
        self.attempts = stored.attempts
        self._decision: tuple[str, float | None] | None = None

    def ack(self) -> None:
        """Acknowledge this message: it will not be redelivered, whatever happens to the batch."""
        if self._decision is None:
            self._decision = ("ack", None)

    def retry(self, options: Any = None, **kwargs: Any) -> None:
        """Deliver this message again later (``delaySeconds=``: how much later)."""
        opts = _options(options, kwargs, ("delaySeconds",), "retry()")
        delay = _delay(opts["delaySeconds"], "delaySeconds") if "delaySeconds" in opts else None
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
        opts = _options(options, kwargs, ("delaySeconds",), "retryAll()")
        delay = _delay(opts["delaySeconds"], "delaySeconds") if "delaySeconds" in opts else None
        if self._decision is None:
            self._decision = ("retry", delay)

    ack_all = ackAll
    retry_all = retryAll

    def __repr__(self) -> str:
        return f"<MessageBatch {self.queue} ({len(self.messages)} messages)>"


# -- consumers and queues --------------------------------------------------------------------
@dataclass(frozen=True)
class ConsumerSettings:
    """A queue's consumer: the Worker and its batching and retry settings (defaults applied)."""

    worker: str
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    max_batch_timeout: float = DEFAULT_MAX_BATCH_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_delay: float = DEFAULT_RETRY_DELAY
    dead_letter_queue: str | None = None
    max_concurrency: int | None = None  # None: autoscale, up to MAX_CONCURRENCY

    @classmethod
    def from_config(cls, worker: str, c: QueueConsumer, path: Any, key: str) -> "ConsumerSettings":
        def check(name: str, value: Any, lo: float, hi: float) -> None:
            if value is not None and not (lo <= value <= hi):
                raise ConfigError(path, f"must be between {lo:g} and {hi:g} (see {LIMITS_DOC}); "
                                  f"got {value}", key=f"{key}.{name}")

        check("max_batch_size", c.max_batch_size, 1, MAX_BATCH_SIZE)
        check("max_batch_timeout", c.max_batch_timeout, 0, MAX_BATCH_TIMEOUT)
        check("max_retries", c.max_retries, 0, MAX_RETRIES_LIMIT)
        check("retry_delay", c.retry_delay, 0, MAX_DELAY_SECONDS)
        check("max_concurrency", c.max_concurrency, 1, MAX_CONCURRENCY)
        if c.dead_letter_queue is not None and c.dead_letter_queue == c.queue:
            raise ConfigError(path, "a queue cannot be its own dead letter queue",
                              key=f"{key}.dead_letter_queue")
        return cls(
            worker=worker,
            max_batch_size=c.max_batch_size if c.max_batch_size is not None else DEFAULT_MAX_BATCH_SIZE,
            max_batch_timeout=float(c.max_batch_timeout) if c.max_batch_timeout is not None
            else DEFAULT_MAX_BATCH_TIMEOUT,
            max_retries=c.max_retries if c.max_retries is not None else DEFAULT_MAX_RETRIES,
            retry_delay=float(c.retry_delay) if c.retry_delay is not None else DEFAULT_RETRY_DELAY,
            dead_letter_queue=c.dead_letter_queue,
            max_concurrency=c.max_concurrency,
        )


@dataclass
class Queue:
    """One named queue of the runtime: pending messages, messages in flight, and counters."""

    name: str
    service: "QueueService"
    consumer: ConsumerSettings | None = None
    pending: list[StoredMessage] = field(default_factory=list)      # sorted by (ready_at, seq)
    inflight: dict[str, StoredMessage] = field(default_factory=dict)
    dead: list[StoredMessage] = field(default_factory=list)
    duplicate_rate: float | None = None
    #: seconds a message is kept before it is deleted unconsumed (``set_retention``)
    retention_period: float = DEFAULT_RETENTION_SECONDS
    sent: int = 0
    expired: int = 0
    _active: int = 0  # consumer invocations running now
    delivered: int = 0
    acked: int = 0
    retried: int = 0
    _batch_timer: Any = None
    _batch_due: float | None = None
    _wake_timer: Any = None
    _wake_due: float | None = None

    def set_retention(self, seconds: float) -> None:
        """Keep messages ``seconds`` before deleting them unconsumed (60 s to 14 days; default 4
        days), as ``wrangler queues update <queue> --message-retention-period-secs`` does."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or \
                not MIN_RETENTION_SECONDS <= seconds <= MAX_RETENTION_SECONDS:
            raise ValueError(f"message retention period must be between {MIN_RETENTION_SECONDS} and "
                             f"{MAX_RETENTION_SECONDS} seconds (14 days), got {seconds!r} ({LIMITS_DOC})")
        self.retention_period = float(seconds)
        rt = self.service.runtime
        if rt.on_loop_thread():
            self._pump()
        else:
            rt.loop.call_soon_threadsafe(self._pump)

    def _live(self) -> list[StoredMessage]:
        cutoff = self.service.runtime.clock.wall() - self.retention_period
        return [m for m in list(self.pending) if m.timestamp > cutoff]

    # -- inspection (sync, safe from any thread: reads copies) -------------------------------
    def depth(self) -> int:
        """Messages waiting in the queue (ready or delayed), not counting those in flight."""
        return len(self._live())

    def in_flight(self) -> int:
        """Messages handed to the consumer whose outcome is not known yet."""
        return len(self.inflight)

    def messages(self) -> list[dict[str, Any]]:
        """The waiting messages (id, body, attempts...), oldest first."""
        return [m.snapshot() for m in self._live()]

    def dead_letters(self) -> list[dict[str, Any]]:
        """Messages that exhausted their retries here (moved to the dead letter queue or dropped)."""
        return [m.snapshot() for m in list(self.dead)]

    def stats(self) -> dict[str, Any]:
        return {"queue": self.name, "depth": self.depth(), "in_flight": self.in_flight(),
                "sent": self.sent, "delivered": self.delivered, "acked": self.acked,
                "retried": self.retried, "dead_lettered": len(self.dead), "expired": self.expired,
                "consumer": self.consumer.worker if self.consumer else None}

    # -- the delivery engine (loop thread) ---------------------------------------------------
    def _insert(self, message: StoredMessage) -> None:
        bisect.insort(self.pending, message, key=lambda m: (m.ready_at, m.seq))

    def _expire(self) -> None:
        """Delete the messages older than the retention period (LIMITS_DOC, note 3)."""
        rt = self.service.runtime
        cutoff = rt.clock.wall() - self.retention_period
        old = [m for m in self.pending if m.timestamp <= cutoff]
        if old:
            self.pending = [m for m in self.pending if m.timestamp > cutoff]
            self.expired += len(old)
            for m in old:
                rt.trace.record("queue_expired", queue=self.name, id=m.id, attempts=m.attempts,
                                retention=self.retention_period)

    def _pump(self) -> None:
        """Start every batch that is due now and set timers for the next ones."""
        self._expire()
        consumer = self.consumer
        rt = self.service.runtime
        now = rt.clock.now()
        if consumer is None:
            self._set_timer("_wake", self._expiry_due(now), "message retention")
            return
        # At most max_concurrency invocations at once; a finishing one pumps again.
        limit = consumer.max_concurrency or MAX_CONCURRENCY
        n_ready = bisect.bisect_right(self.pending, now, key=lambda m: m.ready_at)
        while n_ready >= consumer.max_batch_size and self._active < limit:
            self._start(consumer.max_batch_size)
            n_ready -= consumer.max_batch_size
        batch_due: float | None = None
        if n_ready and self._active < limit:
            # The batch timeout runs from when the oldest waiting message became ready.
            batch_due = self.pending[0].ready_at + consumer.max_batch_timeout
            if batch_due <= now:
                self._start(n_ready)
                n_ready, batch_due = 0, None
        self._set_timer("_batch", batch_due, "batch timeout")
        wake_due = self.pending[n_ready].ready_at if len(self.pending) > n_ready else None
        if wake_due is not None and wake_due <= now:
            wake_due = None  # ready already but waiting for a free consumer slot
        expiry_due = self._expiry_due(now)
        if expiry_due is not None:
            wake_due = expiry_due if wake_due is None else min(wake_due, expiry_due)
        self._set_timer("_wake", wake_due, "delayed message ready")

    def _expiry_due(self, now: float) -> float | None:
        """Runtime-clock time when the oldest waiting message reaches the retention period."""
        if not self.pending:
            return None
        expiry = min(m.timestamp for m in self.pending) + self.retention_period
        return now + max(1e-6, expiry - self.service.runtime.clock.wall())

    def _set_timer(self, which: str, due: float | None, why: str) -> None:
        if getattr(self, f"{which}_due") == due:
            return
        handle = getattr(self, f"{which}_timer")
        if handle is not None:
            handle.cancel()
        setattr(self, f"{which}_due", due)
        if due is None:
            setattr(self, f"{which}_timer", None)
            return

        def fire() -> None:
            setattr(self, f"{which}_timer", None)
            setattr(self, f"{which}_due", None)
            self._pump()

        rt = self.service.runtime
        setattr(self, f"{which}_timer", rt.call_at(due, fire, label=f"queue {self.name}: {why}",
                                                   queue=self.name))

    def _start(self, count: int) -> None:
        batch, self.pending = self.pending[:count], self.pending[count:]
        for m in batch:
            m.attempts += 1
            self.inflight[m.id] = m
        self.delivered += len(batch)
        self._active += 1
        rt = self.service.runtime
        rt.spawn(self._deliver(batch), label=f"queue {self.name}: delivery")

    async def _deliver(self, stored: list[StoredMessage]) -> None:
        try:
            await self._deliver_batch(stored)
        finally:
            self._active -= 1
        self._pump()  # a consumer slot is free again

    async def _deliver_batch(self, stored: list[StoredMessage]) -> None:
        rt = self.service.runtime
        consumer = self.consumer
        assert consumer is not None
        faults = FAULTS.peek(rt)
        if faults is not None:
            # rt.faults.drop(rate, target="queue:NAME"): the delivery is lost in transit, so the
            # message comes back as if the consumer had failed it.
            lost = [m for m in stored if faults.should_drop(f"queue:{self.name}")]
            for m in lost:
                self.inflight.pop(m.id, None)
                self._retry(m, None, "delivery dropped (fault)")
            stored = [m for m in stored if m not in lost]
            if not stored:
                self._pump()
                return
        messages = [Message(m) for m in stored]
        batch = MessageBatch(self.name, messages)
        rt.trace.record("queue_delivery", queue=self.name, worker=consumer.worker, size=len(stored),
                        ids=[m.id for m in stored], attempts=[m.attempts for m in stored])
        failed: BaseException | None = None
        try:
            await rt.invoke(consumer.worker, "queue", batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing consumer means retries, not a crash
            failed = exc
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            rt.trace.record("error", queue=self.name, worker=consumer.worker,
                            error=type(exc).__name__, message=str(exc))
            rt.log("error", f"queue {self.name}: consumer {consumer.worker} threw; undecided "
                   f"messages will be retried:\n{tb.rstrip()}", worker=consumer.worker)
        for m, msg in zip(stored, messages):
            self.inflight.pop(m.id, None)
            decision = msg._decision
            reason = "retry()" if decision and decision[0] == "retry" else None
            if decision is None:
                decision = batch._decision
                reason = "retryAll()" if decision and decision[0] == "retry" else None
            if decision is None:
                decision = ("retry", None) if failed is not None else ("ack", None)
                reason = "exception" if failed is not None else None
            if decision[0] == "ack":
                self._ack(m)
            else:
                self._retry(m, decision[1], reason or "retry()")
        self._pump()

    def _ack(self, m: StoredMessage) -> None:
        rt = self.service.runtime
        self.acked += 1
        rt.trace.record("queue_ack", queue=self.name, id=m.id, attempts=m.attempts)
        rate = self.duplicate_rate if self.duplicate_rate is not None else self.service.duplicate_rate
        faults = FAULTS.peek(rt)
        if (rate and self.service._dup_rng.random() < rate) or (
                faults is not None and faults.should_duplicate(f"queue:{self.name}")):
            # At-least-once: the ack was "lost", so the platform delivers the message again.
            rt.trace.record("queue_duplicate", queue=self.name, id=m.id, attempts=m.attempts, fault=True)
            m.ready_at = rt.clock.now()
            m.seq = next(self.service._seq)
            self._insert(m)

    def _retry(self, m: StoredMessage, delay: float | None, reason: str) -> None:
        rt = self.service.runtime
        consumer = self.consumer
        assert consumer is not None
        m.failures += 1
        if m.failures > consumer.max_retries:
            self.dead.append(m)
            dlq = consumer.dead_letter_queue
            rt.trace.record("queue_dead_letter", queue=self.name, id=m.id, attempts=m.attempts,
                            dead_letter_queue=dlq, dropped=dlq is None)
            if dlq is not None:
                moved = StoredMessage(m.id, m.payload, m.content_type, m.size, m.timestamp,
                                      ready_at=rt.clock.now(), seq=next(self.service._seq))
                target = self.service.queue(dlq)
                target.sent += 1
                target._insert(moved)
                target._pump()
            return
        self.retried += 1
        wait = delay if delay is not None else consumer.retry_delay
        m.ready_at = rt.clock.now() + wait
        m.seq = next(self.service._seq)
        rt.trace.record("queue_retry", queue=self.name, id=m.id, attempts=m.attempts,
                        delay=wait, reason=reason)
        self._insert(m)


class QueueService:
    """Every queue of one runtime, by name (``queues(rt)``)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.queues: dict[str, Queue] = {}
        self.duplicate_rate: float = 0.0
        self._seq = itertools.count(1)
        self._id_rng = runtime.rng("queues.message_ids")
        self._dup_rng = runtime.rng("queues.duplicates")

    def queue(self, name: str) -> Queue:
        """The queue ``name`` (created on first use, as a queue exists once bound)."""
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = Queue(name, self)
        return q

    def names(self) -> list[str]:
        return sorted(self.queues)

    def inject_duplicates(self, rate: float, queue: str | None = None) -> None:
        """Redeliver acked messages with probability ``rate`` (seeded by the runtime's seed).

        ``queue=None`` sets the default for every queue; a queue name sets that queue only.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"duplicate rate must be between 0 and 1, got {rate}")
        if queue is None:
            self.duplicate_rate = rate
        else:
            self.queue(queue).duplicate_rate = rate
        self.runtime.trace.record("fault", fault="queue_duplicates", queue=queue, rate=rate)

    def register_consumer(self, queue: str, settings: ConsumerSettings, path: Any, key: str) -> None:
        q = self.queue(queue)
        if q.consumer is not None:
            raise ConfigError(path, f"queue {queue!r} already has a consumer (Worker "
                              f"{q.consumer.worker!r}); a queue has one consumer", key=key)
        q.consumer = settings
        self.runtime.trace.record("queue_consumer", queue=queue, worker=settings.worker)
        # Messages sent before the consumer was loaded start flowing now.
        if self.runtime.on_loop_thread():
            q._pump()
        else:
            self.runtime.loop.call_soon_threadsafe(q._pump)

    def new_message(self, body: Any, content_type: str | None, delay: float) -> StoredMessage:
        content_type = DEFAULT_CONTENT_TYPE if content_type is None else content_type
        payload, size = _encode(body, content_type)
        if size > MAX_MESSAGE_BYTES:
            raise _error(f"message is {size} bytes, over the {MAX_MESSAGE_BYTES}-byte limit (128 KB, "
                         f"{LIMITS_DOC})", "RangeError")
        rt = self.runtime
        mid = f"{self._id_rng.getrandbits(128):032x}"
        return StoredMessage(mid, payload, content_type, size, timestamp=rt.clock.wall(),
                             ready_at=rt.clock.now() + delay, seq=next(self._seq))

    def enqueue(self, queue: str, messages: list[StoredMessage], producer: str | None) -> None:
        """Add messages (on the loop thread) and start whatever batch became due."""
        q = self.queue(queue)
        for m in messages:
            q.sent += 1
            q._insert(m)
            self.runtime.trace.record("queue_send", queue=queue, id=m.id, content_type=m.content_type,
                                      size=m.size, delay=round(m.ready_at - self.runtime.clock.now(), 6),
                                      producer=producer)
        q._pump()

    def send(self, queue: str, body: Any, **options: Any) -> None:
        """Send one message from Python (a test or notebook), as a producer would."""
        producer = QueueProducer(self.runtime, queue, "<python>")
        self.runtime.call(producer.send(body, **options), hold=False)

    def stats(self) -> list[dict[str, Any]]:
        return [self.queues[n].stats() for n in self.names()]

    def close(self) -> None:
        """Cancel pending batch timers (called by ``rt.close()``)."""
        for q in self.queues.values():
            for handle in (q._batch_timer, q._wake_timer):
                if handle is not None:
                    handle.cancel()


#: Every queue of the runtime.
QUEUES: ServiceSlot[QueueService] = ServiceSlot("queues", QueueService)


def queues(runtime: Any) -> QueueService:
    """The runtime's queues, for inspection and fault injection."""
    return QUEUES.of(runtime)


# -- the producer binding --------------------------------------------------------------------
class QueueProducer:
    """``env.JOBS``: send messages to a queue (``send``, ``sendBatch``)."""

    def __init__(self, runtime: Any, queue: str, binding: str, delivery_delay: float = 0.0) -> None:
        self._runtime = runtime
        self._queue = queue
        self._binding = binding
        self._delivery_delay = delivery_delay

    async def send(self, body: Any, options: Any = None, **kwargs: Any) -> None:
        """Send one message: ``send(body, contentType="json", delaySeconds=0)``."""
        opts = _options(options, kwargs, ("contentType", "delaySeconds"), "send()")
        delay = _delay(opts["delaySeconds"], "delaySeconds") if "delaySeconds" in opts \
            else self._delivery_delay
        service = queues(self._runtime)
        message = service.new_message(body, opts.get("contentType"), delay)
        service.enqueue(self._queue, [message], self._binding)

    async def sendBatch(self, messages: Any, options: Any = None, **kwargs: Any) -> None:  # noqa: N802
        """Send up to 100 messages (256 KB in all) at once; each is ``{"body", "contentType", "delaySeconds"}``."""
        opts = _options(options, kwargs, ("delaySeconds",), "sendBatch()")
        batch_delay = _delay(opts["delaySeconds"], "delaySeconds") if "delaySeconds" in opts \
            else self._delivery_delay
        if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Iterable):
            raise _error("sendBatch() takes a list of {'body': ..., 'contentType': ..., "
                         "'delaySeconds': ...} dicts", "TypeError")
        items = list(messages)
        if len(items) > MAX_SEND_BATCH_MESSAGES:
            raise _error(f"sendBatch() got {len(items)} messages; at most {MAX_SEND_BATCH_MESSAGES} "
                         f"per call ({LIMITS_DOC})", "RangeError")
        service = queues(self._runtime)
        stored: list[StoredMessage] = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping) or "body" not in item:
                raise _error(f"sendBatch() message {i} must be a dict with a 'body' key, got {item!r}",
                             "TypeError")
            extra = set(item) - {"body", "contentType", "delaySeconds"}
            if extra:
                raise _error(f"sendBatch() message {i}: unknown key(s) {', '.join(sorted(extra))}",
                             "TypeError")
            delay = _delay(item["delaySeconds"], f"message {i} delaySeconds") \
                if item.get("delaySeconds") is not None else batch_delay
            stored.append(service.new_message(item["body"], item.get("contentType"), delay))
        total = sum(m.size for m in stored)
        if total > MAX_SEND_BATCH_BYTES:
            raise _error(f"sendBatch() carries {total} bytes; at most {MAX_SEND_BATCH_BYTES} bytes "
                         f"(256 KB) per call ({LIMITS_DOC})", "RangeError")
        service.enqueue(self._queue, stored, self._binding)

    send_batch = sendBatch

    def __repr__(self) -> str:
        return f"<Queue producer {self._binding} -> {self._queue}>"


# -- binding hooks ---------------------------------------------------------------------------
def _consumer_settings(runtime: Any, worker: Any) -> list[tuple[str, ConsumerSettings, str]]:
    """Validated consumer settings of the Worker: (queue, settings, config key)."""
    path = worker.config.path or "<code>"
    service = queues(runtime)
    out: list[tuple[str, ConsumerSettings, str]] = []
    seen: set[str] = set()
    for i, c in enumerate(worker.config.queues.consumers):
        key = f"queues.consumers[{i}]"
        settings = ConsumerSettings.from_config(worker.name, c, path, key)
        existing = service.queues.get(c.queue)
        if c.queue in seen or (existing is not None and existing.consumer is not None):
            owner = worker.name if c.queue in seen else existing.consumer.worker  # type: ignore[union-attr]
            raise ConfigError(path, f"queue {c.queue!r} already has a consumer (Worker {owner!r}); "
                              f"a queue has exactly one consumer ({CONFIG_DOC})", key=key)
        seen.add(c.queue)
        out.append((c.queue, settings, key))
    return out


def bind(runtime: Any, worker: Any) -> dict[str, object]:
    """``env`` entries for each ``queues.producers`` binding; validates the consumers too.

    Validation happens here, before the Worker is installed, so a bad config loads nothing.
    """
    path = worker.config.path or "<code>"
    out: dict[str, object] = {}
    for i, p in enumerate(worker.config.queues.producers):
        delay = p.delivery_delay or 0
        if not 0 <= delay <= MAX_DELAY_SECONDS:
            raise ConfigError(path, f"must be between 0 and {MAX_DELAY_SECONDS} seconds ({LIMITS_DOC})",
                              key=f"queues.producers[{i}].delivery_delay")
        out[p.binding] = QueueProducer(runtime, p.queue, p.binding, float(delay))
    _consumer_settings(runtime, worker)
    return out


def attach(runtime: Any, worker: Any) -> None:
    """Register the Worker as the consumer of each queue in its ``queues.consumers``."""
    path = worker.config.path or "<code>"
    service = queues(runtime)
    for queue, settings, key in _consumer_settings(runtime, worker):
        service.register_consumer(queue, settings, path, key)


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('queues', ("queues",), bind, attach)
