"""How R2 plugs into a runtime: every bucket of the runtime (``R2``), the ``env`` bindings, ``PLUGIN``.

State lives in memory, or in SQLite at ``rt.state_path("r2", <bucket>.sqlite)`` when the runtime
has ``persist_to``.
"""
from __future__ import annotations

from typing import Any

from course.runtime.bindings.r2.bucket import R2Bucket
from course.runtime.bindings.r2.store import R2Store
from course.runtime.kernel.plugins import Plugin, ServiceSlot, StoreRegistry
from course.runtime.kernel.runtime import Kernel

#: ``include`` in list() is honoured from this compatibility date (else both kinds are included).
LIST_HONOR_INCLUDE_DATE = "2022-08-04"

#: Every R2 bucket of one runtime, by bucket name.
R2: ServiceSlot[StoreRegistry[R2Store]] = ServiceSlot(
    "r2", lambda runtime: StoreRegistry(runtime, "r2", "R2", lambda bucket, path: R2Store(bucket, path=path)))


def _honors_include(config: Any) -> bool:
    if "r2_list_honor_include" in config.compatibility_flags:
        return True
    return config.compatibility_date is None or config.compatibility_date >= LIST_HONOR_INCLUDE_DATE


def bind(runtime: Kernel, worker: Any) -> dict[str, R2Bucket]:
    service = R2.of(runtime)
    out: dict[str, R2Bucket] = {}
    for entry in worker.config.r2_buckets:
        bucket = entry.bucket_name or entry.binding
        out[entry.binding] = R2Bucket(runtime, entry.binding, service.bind(worker.name, entry.binding, bucket),
                                      honor_include=_honors_include(worker.config))
    return out


def r2_bucket(runtime: Kernel, binding: str, worker: str | None = None) -> R2Store:
    """The bucket behind ``env.<binding>`` of ``worker`` (default: the main Worker)."""
    return R2.of(runtime).bound(binding, worker)


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('r2', ("r2_buckets",), bind)
