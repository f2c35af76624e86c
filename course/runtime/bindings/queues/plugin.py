"""How Queues plug into a runtime: producer bindings in ``env``, consumers registered, ``PLUGIN``.

Config is checked in ``bind``, before the Worker is installed, so a bad config loads nothing;
``attach`` then registers the Worker as the consumer of its ``queues.consumers``.
"""
from __future__ import annotations

from typing import Any

from course.runtime.bindings.queues.messages import LIMITS_DOC, MAX_DELAY_SECONDS
from course.runtime.bindings.queues.producer import QueueProducer
from course.runtime.bindings.queues.service import queues
from course.runtime.bindings.queues.settings import CONFIG_DOC, ConsumerSettings
from course.runtime.kernel.config import ConfigError
from course.runtime.kernel.plugins import Plugin


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
