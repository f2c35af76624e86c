"""Every queue of one runtime (``queues(rt)``) and the engine that delivers their messages.

Semantics (https://developers.cloudflare.com/queues/configuration/batching-retries/):

- a batch is delivered when ``max_batch_size`` messages are ready, or ``max_batch_timeout``
  seconds after the oldest ready message became ready, on the runtime clock;
- a handler that returns acks every undecided message; one that raises retries every message
  not explicitly acked; a per-message decision beats a batch-level one;
- a retried message comes back after its delay (``retry(delaySeconds=)``, else ``retry_delay``);
  after ``max_retries`` failed deliveries it moves to ``dead_letter_queue`` or is dropped
  (https://developers.cloudflare.com/queues/configuration/dead-letter-queues/);
- delivery is at least once: :meth:`QueueService.inject_duplicates` makes acked messages come
  back again with a seeded probability;
- at most ``max_concurrency`` consumer invocations of a queue run at once, and a message older
  than the queue's retention period is deleted.

Deliveries run as background tasks started by platform timers on the loop thread; the inspection
methods (``depth``, ``messages``, ``stats``...) are safe from any thread.
"""
from __future__ import annotations

import asyncio
import bisect
import itertools
import operator
import traceback
from dataclasses import dataclass, field
from typing import Any, Mapping

from course.runtime.bindings.queues.messages import (LIMITS_DOC, Message, MessageBatch, StoredMessage, encode_message,
                                                     parse_delay, parse_options)
from course.runtime.bindings.queues.settings import MAX_CONCURRENCY, ConsumerSettings
from course.runtime.kernel.config import ConfigError
from course.runtime.kernel.plugins import ServiceSlot
from course.runtime.net.faults import FAULTS

#: Message retention: 4 days unless configured, from 60 seconds up to 14 days; "Messages in a queue
#: that reach the maximum message retention are deleted from the queue" (LIMITS_DOC and
#: https://developers.cloudflare.com/changelog/2025-02-14-customize-queue-retention-period/).
DEFAULT_RETENTION_SECONDS = 4 * 86_400
MIN_RETENTION_SECONDS = 60
MAX_RETENTION_SECONDS = 14 * 86_400

#: The order messages are delivered in (ready time, then arrival), and the ready time alone, as
#: C-level key functions for bisect.
_DELIVERY_ORDER = operator.attrgetter("ready_at", "seq")
_READY_AT = operator.attrgetter("ready_at")
_SENT_AT = operator.attrgetter("timestamp")

#: The fields of the ``queue_send`` and ``queue_ack`` trace events.
_SEND_KEYS = ("queue", "id", "content_type", "size", "delay", "producer")
_ACK_KEYS = ("queue", "id", "attempts")


@dataclass
class Queue:
    """One named queue of the runtime: pending messages, messages in flight, and counters."""

    name: str
    service: QueueService
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
        pending = self.pending
        if pending and (message.ready_at, message.seq) < (pending[-1].ready_at, pending[-1].seq):
            bisect.insort(pending, message, key=_DELIVERY_ORDER)
        else:
            pending.append(message)  # the usual case: ready last (and sent last)

    def _expire(self) -> None:
        """Delete the messages older than the retention period (LIMITS_DOC, note 3)."""
        rt = self.service.runtime
        cutoff = rt.clock.wall() - self.retention_period
        if not self.pending or min(map(_SENT_AT, self.pending)) > cutoff:
            return  # the usual case, checked without building a list
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
        n_ready = bisect.bisect_right(self.pending, now, key=_READY_AT)
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
        expiry = min(map(_SENT_AT, self.pending)) + self.retention_period
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
        rt.spawn(self._deliver(batch), label=f"queue {self.name}: delivery", platform=True)

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
        # Acks that cannot come back as duplicates are traced together, in order with the rest.
        quiet_acks = not (self.duplicate_rate if self.duplicate_rate is not None else self.service.duplicate_rate) \
            and FAULTS.peek(rt) is None
        acks: list[tuple[str, str, int]] = []
        inflight = self.inflight
        for m, msg in zip(stored, messages):
            inflight.pop(m.id, None)
            decision = msg._decision
            reason = "retry()" if decision and decision[0] == "retry" else None
            if decision is None:
                decision = batch._decision
                reason = "retryAll()" if decision and decision[0] == "retry" else None
            if decision is None:
                decision = ("retry", None) if failed is not None else ("ack", None)
                reason = "exception" if failed is not None else None
            if decision[0] == "ack" and quiet_acks:
                self.acked += 1
                acks.append((self.name, m.id, m.attempts))
                continue
            if acks:
                rt.trace.record_rows("queue_ack", _ACK_KEYS, acks)
                acks = []
            if decision[0] == "ack":
                self._ack(m)
            else:
                self._retry(m, decision[1], reason or "retry()")
        if acks:
            rt.trace.record_rows("queue_ack", _ACK_KEYS, acks)
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

    def new_message(self, body: Any, content_type: str | None, delay: float,
                    sent: tuple[float, float] | None = None) -> StoredMessage:
        """A checked message ready ``delay`` seconds from now, with a fresh id (not yet queued).
        ``sent`` is ``(clock.wall(), clock.now())`` when the caller read them for a whole batch."""
        content_type, payload, size = encode_message(body, content_type)
        if sent is None:
            clock = self.runtime.clock
            sent = clock.wall(), clock.now()
        return StoredMessage("%032x" % self._id_rng.getrandbits(128), payload, content_type, size,
                             sent[0], sent[1] + delay, next(self._seq))

    def enqueue(self, queue: str, messages: list[StoredMessage], producer: str | None) -> None:
        """Add messages (on the loop thread) and start whatever batch became due."""
        q = self.queue(queue)
        now = self.runtime.clock.now()
        insert = q._insert
        for m in messages:
            insert(m)
        q.sent += len(messages)
        self.runtime.trace.record_rows("queue_send", _SEND_KEYS, [
            (queue, m.id, m.content_type, m.size, round(m.ready_at - now, 6) if m.ready_at != now else 0.0,
             producer) for m in messages])
        q._pump()

    def send(self, queue: str, body: Any, **options: Any) -> None:
        """Send one message from Python (a test or notebook), as a producer would."""
        # ``options=`` is the options object of ``send(body, options)``, the rest keyword options.
        options_object = options.pop("options", None)

        async def send_on_loop() -> None:
            self.produce(queue, body, options_object, options, producer="<python>", default_delay=0.0)

        self.runtime.call(send_on_loop(), hold=False)

    def produce(self, queue: str, body: Any, options: Any, kwargs: Mapping[str, Any], *, producer: str,
                default_delay: float) -> None:
        """One ``send(body, options, **kwargs)`` call (on the loop thread): check it, enqueue its message.

        ``default_delay`` applies without ``delaySeconds`` (the producer's ``delivery_delay``).
        """
        opts = parse_options(options, kwargs, ("contentType", "delaySeconds"), "send()")
        delay = parse_delay(opts["delaySeconds"], "delaySeconds") if "delaySeconds" in opts else default_delay
        message = self.new_message(body, opts.get("contentType"), delay)
        self.enqueue(queue, [message], producer)

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
