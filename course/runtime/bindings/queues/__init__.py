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

One module per job: :mod:`.messages` (stored and delivered messages, body encoding, send checks),
:mod:`.settings` (a consumer's settings and limits), :mod:`.service` (every queue of a runtime and
delivery), :mod:`.producer` (the ``env.JOBS`` binding) and :mod:`.plugin` (the wiring). This
package re-exports their public names.
"""
from __future__ import annotations

from course.runtime.bindings.queues.messages import (CONTENT_TYPES, DEFAULT_CONTENT_TYPE, LIMITS_DOC, MAX_DELAY_SECONDS,
                                                     MAX_MESSAGE_BYTES, Message, MessageBatch, StoredMessage)
from course.runtime.bindings.queues.plugin import PLUGIN, attach, bind
from course.runtime.bindings.queues.producer import MAX_SEND_BATCH_BYTES, MAX_SEND_BATCH_MESSAGES, QueueProducer
from course.runtime.bindings.queues.service import (DEFAULT_RETENTION_SECONDS, MAX_RETENTION_SECONDS,
                                                    MIN_RETENTION_SECONDS, QUEUES, Queue, QueueService, queues)
from course.runtime.bindings.queues.settings import (CONFIG_DOC, DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_TIMEOUT,
                                                     DEFAULT_MAX_RETRIES, DEFAULT_RETRY_DELAY, MAX_BATCH_SIZE,
                                                     MAX_BATCH_TIMEOUT, MAX_CONCURRENCY, MAX_RETRIES_LIMIT,
                                                     ConsumerSettings)

__all__ = [
    "queues", "QUEUES", "QueueService", "Queue", "QueueProducer", "Message", "MessageBatch", "StoredMessage",
    "ConsumerSettings", "bind", "attach", "PLUGIN",
    "LIMITS_DOC", "CONFIG_DOC", "MAX_MESSAGE_BYTES", "MAX_SEND_BATCH_MESSAGES", "MAX_SEND_BATCH_BYTES",
    "MAX_DELAY_SECONDS", "MAX_BATCH_SIZE", "MAX_BATCH_TIMEOUT", "MAX_RETRIES_LIMIT", "MAX_CONCURRENCY",
    "DEFAULT_RETENTION_SECONDS", "MIN_RETENTION_SECONDS", "MAX_RETENTION_SECONDS", "DEFAULT_MAX_BATCH_SIZE",
    "DEFAULT_MAX_BATCH_TIMEOUT", "DEFAULT_MAX_RETRIES", "DEFAULT_RETRY_DELAY", "CONTENT_TYPES",
    "DEFAULT_CONTENT_TYPE",
]
