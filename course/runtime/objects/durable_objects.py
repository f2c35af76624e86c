"""Durable Objects as a binding plugin: the runtime-wide service, ``env`` bindings, and controls.

The pieces, one job per module (lowest first):

- :mod:`~course.runtime.objects.ids` (ids), :mod:`~course.runtime.objects.errors` (resets),
  :mod:`~course.runtime.objects.storage` (KV, SQL, alarms over SQLite);
- :mod:`~course.runtime.objects.instance`: one object in memory, its turns and gates;
- :mod:`~course.runtime.objects.websocket_wire` and :mod:`~course.runtime.objects.hibernation`:
  WebSocket frames and the hibernation API;
- :mod:`~course.runtime.objects.state`: ``ctx``;
- :mod:`~course.runtime.objects.host`: one class's objects, their lifecycle and alarms;
- :mod:`~course.runtime.objects.namespace`: ``env.BINDING``, ids and stubs;
- this module: :class:`DurableObjects` (``DURABLE_OBJECTS.of(rt)``), which implements the
  kernel's :class:`~course.runtime.kernel.plugins.DurableObjectControl` for the network and
  fault layers, the inspection ``Runtime.evict/crash/objects/storage`` use, and ``PLUGIN``.

Every turn is in the trace (kind ``do_turn``), with events, evictions, crashes and alarms.
"""
from __future__ import annotations

import itertools
import random
from typing import Any

from course.workers.jsproxy import JsException

from course.runtime.kernel.config import ConfigError
from course.runtime.kernel.plugins import DURABLE_OBJECTS_SERVICE, Plugin, ServiceSlot
from course.runtime.kernel.runtime import Kernel
from course.runtime.kernel.worker import Worker
from course.runtime.objects.errors import CODE_UPDATE_RESET_MESSAGE, INSTANCE_RESET_MESSAGE, reset_error
from course.runtime.objects.host import (
    ALARM_FIRST_RETRY_DELAY,
    ALARM_MAX_RETRIES,
    IDLE_EVICTION_SECONDS,
    ObjectClass,
    sqlite_backed,
)
from course.runtime.objects.ids import JURISDICTIONS, LOCATION_HINTS, DurableObjectId
from course.runtime.objects.inspection import ObjectInfo, StorageView
from course.runtime.objects.instance import BLOCK_CONCURRENCY_TIMEOUT_SECONDS
from course.runtime.objects.namespace import DurableObjectNamespace, DurableObjectStub


class DurableObjects:
    """Every Durable Object class of a runtime (``DURABLE_OBJECTS.of(rt)``); implements
    :class:`~course.runtime.kernel.plugins.DurableObjectControl` for the fault and network layers."""

    def __init__(self, runtime: Kernel) -> None:
        self.runtime = runtime
        self.hosts: dict[tuple[str, str], ObjectClass] = {}
        self._event_ids = itertools.count(1)
        self._rngs: dict[str, random.Random] = {}

    @property
    def idle_timeout(self) -> float | None:
        value = self.runtime.do_idle_timeout
        return IDLE_EVICTION_SECONDS if value is None else value

    def next_event_id(self) -> int:
        return next(self._event_ids)

    def unique_rng(self, key: str) -> random.Random:
        if key not in self._rngs:
            self._rngs[key] = self.runtime.rng(f"durable_objects.newUniqueId:{key}")
        return self._rngs[key]

    def host(self, script: str, class_name: str, *, binding: str) -> ObjectClass:
        key = (script, class_name)
        host = self.hosts.get(key)
        if host is None:
            if script not in self.runtime.workers:
                raise JsException(f"Durable Object binding {binding!r} refers to script {script!r}, which is not "
                                  f"loaded in this runtime (loaded: {', '.join(self.runtime.workers)}); load it "
                                  "with rt.add_project(...)", "Error")
            host = ObjectClass(self, self.runtime.workers[script], class_name, binding)
            self.hosts[key] = host
        return host

    def close(self) -> None:
        for host in self.hosts.values():
            host.close()

    # -- finding objects -------------------------------------------------------------------------
    def namespace(self, binding: str) -> DurableObjectNamespace:
        """The namespace bound as ``binding`` (the main Worker's first, then any Worker's)."""
        rt = self.runtime
        workers = ([rt.main] if rt.main is not None else []) + list(rt.workers.values())
        for w in workers:
            ns = w.env.get(binding)
            if isinstance(ns, DurableObjectNamespace):
                return ns
        raise KeyError(f"no Durable Object binding named {binding!r} in this runtime")

    def resolve(self, binding: str, name: Any) -> tuple[ObjectClass, str]:
        """The host and hex id of object ``name`` (a name, an id or its hex) of ``binding``."""
        ns = self.namespace(binding)
        return ns.host, ns.resolve(name)

    # -- DurableObjectControl ------------------------------------------------------------------
    def check_binding(self, binding: str) -> None:
        self.namespace(binding)

    def evict(self, binding: str, name: Any) -> bool:
        """Evict an object from memory once it is idle (at once if it is); False if not live."""
        host, hex_id = self.resolve(binding, name)
        return self.runtime.run_on_loop(lambda: host.evict(hex_id, reason="manual"))

    def crash(self, binding: str, name: Any, *, code_update: bool = False) -> bool:
        """Reset an object now: in-flight events fail, unconfirmed writes are lost."""
        host, hex_id = self.resolve(binding, name)
        error = reset_error(CODE_UPDATE_RESET_MESSAGE if code_update else INSTANCE_RESET_MESSAGE)
        return self.runtime.run_on_loop(
            lambda: host.crash(hex_id, reason="code_update" if code_update else "crash", error=error))

    def placements(self) -> dict[str, str | None]:
        """Every placed Durable Object, as ``"BINDING:name" -> region``."""
        out: dict[str, str | None] = {}
        for host in self.hosts.values():
            for hex_id, region in host.placement.items():
                out[f"{host.binding_name}:{host.label_of(hex_id)}"] = region
        return out

    # -- inspection ------------------------------------------------------------------------------
    def objects(self, binding: str | None = None) -> list[ObjectInfo]:
        """The objects in memory (all, or one binding's)."""
        hosts = list(self.hosts.values())
        if binding is not None:
            ns = self.namespace(binding)
            hosts = [h for h in hosts if (h.worker.name, h.class_name) == (ns.script, ns.class_name)]
        out = []
        for h in hosts:
            for hex_id, live in sorted(h.live.items()):
                out.append(ObjectInfo(h.binding_name if binding is None else binding, h.class_name, h.worker.name,
                                      hex_id, live.id.name, len(live.events), live.created_at, live.last_active))
        return out

    def storage_view(self, binding: str, name: Any) -> StorageView:
        host, hex_id = self.resolve(binding, name)
        return StorageView(self.runtime, self.runtime.run_on_loop(lambda: host.storage(hex_id)))


#: The runtime's Durable Objects.
DURABLE_OBJECTS: ServiceSlot[DurableObjects] = ServiceSlot(DURABLE_OBJECTS_SERVICE, DurableObjects)


def bind(runtime: Kernel, worker: Worker) -> dict[str, object]:
    """``env`` entries for the Worker's ``durable_objects.bindings``."""
    svc = DURABLE_OBJECTS.of(runtime)
    out: dict[str, object] = {}
    for b in worker.config.durable_objects.bindings:
        script = b.script_name or worker.name
        if script == worker.name:
            cls = worker.export(b.class_name)
            if not isinstance(cls, type):
                raise ConfigError(worker.config.path or "<code>", f"export {b.class_name!r} is not a class",
                                  key="durable_objects.bindings")
            sqlite_backed(worker.config, b.class_name)  # fail at load without a migration
        out[b.name] = DurableObjectNamespace(svc, b.name, script, b.class_name)
    return out


def attach(runtime: Kernel, worker: Worker) -> None:
    """Create the classes this Worker defines now, so alarms persisted on disk are re-armed."""
    if runtime.persist_to is None:
        return
    for b in worker.config.durable_objects.bindings:
        if (b.script_name or worker.name) == worker.name:
            DURABLE_OBJECTS.of(runtime).host(worker.name, b.class_name, binding=b.name)


# -- what Runtime.evict/crash/objects/storage call -------------------------------------------------
def evict(runtime: Kernel, binding: str, name: Any) -> bool:
    return DURABLE_OBJECTS.of(runtime).evict(binding, name)


def crash(runtime: Kernel, binding: str, name: Any, *, code_update: bool = False) -> bool:
    return DURABLE_OBJECTS.of(runtime).crash(binding, name, code_update=code_update)


def objects(runtime: Kernel, binding: str | None = None) -> list[ObjectInfo]:
    return DURABLE_OBJECTS.of(runtime).objects(binding)


def storage_view(runtime: Kernel, binding: str, name: Any) -> StorageView:
    return DURABLE_OBJECTS.of(runtime).storage_view(binding, name)


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin("durable_objects", ("durable_objects", "migrations"), bind, attach)

__all__ = ["ALARM_FIRST_RETRY_DELAY", "ALARM_MAX_RETRIES", "BLOCK_CONCURRENCY_TIMEOUT_SECONDS",
           "CODE_UPDATE_RESET_MESSAGE", "DURABLE_OBJECTS", "DurableObjectId", "DurableObjectNamespace",
           "DurableObjectStub", "DurableObjects", "IDLE_EVICTION_SECONDS", "INSTANCE_RESET_MESSAGE", "JURISDICTIONS",
           "LOCATION_HINTS", "ObjectInfo", "PLUGIN", "StorageView", "crash", "evict", "objects", "storage_view"]
