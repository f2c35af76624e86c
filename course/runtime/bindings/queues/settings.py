"""A queue consumer's settings, read from wrangler config with Cloudflare's defaults and limits.

Configured as in wrangler (CONFIG_DOC)::

    [[queues.consumers]]
    queue = "jobs"
    max_batch_size = 10        # default 10, at most 100
    max_batch_timeout = 5      # seconds, default 5, at most 60
    max_retries = 3            # default 3, at most 100
    retry_delay = 0            # seconds, default 0
    dead_letter_queue = "jobs-dlq"
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from course.runtime.bindings.queues.messages import LIMITS_DOC, MAX_DELAY_SECONDS
from course.runtime.kernel.config import ConfigError, QueueConsumer

CONFIG_DOC = "https://developers.cloudflare.com/queues/configuration/configure-queues/"
#: Consumer defaults (CONFIG_DOC, "Consumer"): batch of 10, 5 s timeout, 3 retries, no delay.
DEFAULT_MAX_BATCH_SIZE = 10
DEFAULT_MAX_BATCH_TIMEOUT = 5.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_DELAY = 0

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
