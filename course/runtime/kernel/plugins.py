"""Which module builds each kind of binding from a Worker's config.

Each module named here may define ``bind(runtime, worker) -> dict[str, binding]`` (entries for
``env``) and ``attach(runtime, worker) -> None`` (handlers the platform calls: cron triggers,
queue consumers). The runtime imports a module only when a Worker's config uses its keys, so a
binding that is not built yet fails with a clear error instead of an ImportError.
"""
from __future__ import annotations

from typing import Any

#: module -> the wrangler config keys it handles
BINDING_MODULES: dict[str, tuple[str, ...]] = {
    "course.runtime.objects.durable_objects": ("durable_objects", "migrations"),
    "course.runtime.bindings.kv": ("kv_namespaces",),
    "course.runtime.bindings.d1": ("d1_databases",),
    "course.runtime.bindings.r2": ("r2_buckets",),
    "course.runtime.bindings.queues": ("queues",),
    "course.runtime.bindings.cron": ("triggers",),
    "course.runtime.bindings.services": ("services",),
    "course.runtime.bindings.analytics": ("analytics_engine_datasets",),
    "course.runtime.bindings.ai": ("ai",),
}


def _used(config: Any, key: str) -> bool:
    value = getattr(config, key, None)
    if value is None:
        return False
    if hasattr(value, "model_dump"):
        dumped = value.model_dump()
        return any(bool(v) for v in dumped.values())
    return bool(value)


def modules_for(config: Any) -> list[tuple[str, tuple[str, ...]]]:
    """The binding modules a config needs, in registry order."""
    return [(mod, keys) for mod, keys in BINDING_MODULES.items() if any(_used(config, k) for k in keys)]


def bound_store(runtime: Any, service: Any, kind: str, binding: str, worker: str | None = None) -> Any:
    """The store behind ``env.<binding>`` of ``worker`` (default: the main Worker), for inspection.

    ``service`` is a storage binding's runtime-wide service: ``bindings`` maps (Worker name,
    binding name) to a store key and ``stores`` maps that key to the store. ``kind`` names the
    binding in the error ("KV", "R2", "D1").
    """
    name = runtime.worker(worker).name
    try:
        return service.stores[service.bindings[(name, binding)]]
    except KeyError:
        have = sorted(b for (w, b) in service.bindings if w == name)
        raise KeyError(f"Worker {name!r} has no {kind} binding {binding!r} (it has: {', '.join(have) or 'none'})") from None
