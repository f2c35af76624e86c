"""The objects of one Durable Object class: one live instance per id, their lifecycle, alarms.

An :class:`ObjectClass` (one per script and class) keeps every object's storage, the instance in
memory for each id (never two: :meth:`ObjectClass.get_live` returns the live one or builds it),
where each object is placed, and its hibernatable sockets. It delivers events to instances
(:meth:`ObjectClass.deliver`, the output gate), and ends them:

- idle eviction: an object with no event for :data:`IDLE_EVICTION_SECONDS` (or
  ``HIBERNATION_IDLE_SECONDS`` with only hibernatable sockets open) leaves memory; storage and
  alarm stay. :meth:`ObjectClass.evict` evicts only idle objects, as production does: asked while
  events run, it takes effect when the last one ends (traced ``do_evict_deferred``), so two
  instances of one id never run at once.
- crash / reset: in-flight events fail, unconfirmed writes are lost, every socket drops.
- alarms: one per object, retried with exponential backoff.
"""
from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, Protocol

from course.workers.context import current_actor, current_region, current_runtime, current_worker
from course.workers.jsproxy import JsObject
from course.workers.websocket import ABNORMAL_CLOSURE

from course.runtime.kernel.config import ConfigError
from course.runtime.kernel.runtime import Kernel
from course.runtime.kernel.worker import Worker, call_relaxed
from course.runtime.objects.errors import DurableObjectAborted, copy_error, reset_error, rethrown
from course.runtime.objects.hibernation import HIBERNATION_IDLE_SECONDS, ObjectSockets
from course.runtime.objects.ids import HEX64, DurableObjectId, jurisdiction_of
from course.runtime.objects.instance import (DO_EVENT_END_KEYS, DO_EVENT_START_KEYS, LiveObject, ObjectEvent,
                                             TurnDriver, current_object)
from course.runtime.objects.state import DurableObjectState
from course.runtime.objects.storage import ObjectStorage

# -- constants, with their sources -------------------------------------------------------------
#: An idle object (no request or event) is evicted "after 70-140 seconds of inactivity"
#: (https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/).
#: The lower bound is the default; set ``rt.do_idle_timeout`` to change it (None: this value).
IDLE_EVICTION_SECONDS = 70.0
#: "Retries are performed using exponential backoff starting at a 2 second delay from the first
#: failure with up to 6 retries allowed" (https://developers.cloudflare.com/durable-objects/api/alarms/).
ALARM_FIRST_RETRY_DELAY = 2.0
ALARM_MAX_RETRIES = 6
#: From this compatibility date on, deleteAll() also deletes the alarm
#: (https://developers.cloudflare.com/changelog/2026-02-24-deleteall-deletes-alarms).
DELETE_ALL_DELETES_ALARM_SINCE = "2026-02-24"
DELETE_ALL_DELETES_ALARM_FLAG = "delete_all_deletes_alarm"


class HostService(Protocol):
    """What a class's host needs of the runtime-wide Durable Objects service."""

    runtime: Kernel

    @property
    def idle_timeout(self) -> float | None: ...

    def next_event_id(self) -> int: ...


def sqlite_backed(config: Any, class_name: str) -> bool:
    """True for new_sqlite_classes, False for new_classes (KV-backed); follows renames."""
    backend: dict[str, bool] = {}
    for migration in config.migrations:
        for name in migration.new_sqlite_classes:
            backend[name] = True
        for name in migration.new_classes:
            backend[name] = False
        for rename in migration.renamed_classes:
            src, dst = rename.get("from"), rename.get("to")
            if src in backend and dst:
                backend[dst] = backend.pop(src)
        for name in migration.deleted_classes:
            backend.pop(name, None)
    if class_name not in backend:
        raise ConfigError(config.path or "<code>",
                          f"Cannot create binding for class {class_name!r} because it is not currently configured "
                          "to implement Durable Objects. Did you forget to apply a Durable Object migration? Add "
                          f'[[migrations]] tag = "v1" new_sqlite_classes = ["{class_name}"]', key="migrations")
    return backend[class_name]


class ObjectClass:
    """The objects of one Durable Object class (script + class): storage, live instances, alarms."""

    def __init__(self, service: HostService, worker: Worker, class_name: str, binding: str) -> None:
        self.service = service
        self.runtime: Kernel = service.runtime
        self.worker = worker
        self.class_name = class_name
        self.binding_name = binding
        self.cls = worker.export(class_name)
        self.sqlite_backed = sqlite_backed(worker.config, class_name)
        date = worker.config.compatibility_date or ""
        # ... or earlier with the delete_all_deletes_alarm compatibility flag (storage API docs, deleteAll).
        flags = set(getattr(worker.config, "compatibility_flags", None) or ())
        self.delete_all_deletes_alarm = (date >= DELETE_ALL_DELETES_ALARM_SINCE
                                         or DELETE_ALL_DELETES_ALARM_FLAG in flags)
        self.has_alarm_handler = callable(getattr(self.cls, "alarm", None))
        self.live: dict[str, LiveObject] = {}
        self.storages: dict[str, ObjectStorage] = {}
        self.names: dict[str, str] = {}
        self.alarm_handles: dict[str, asyncio.TimerHandle] = {}
        #: hex id -> region the object lives in (fixed at its first call; None: the default region)
        self.placement: dict[str, str | None] = {}
        #: hex id -> its hibernatable WebSockets
        self.hibernation: dict[str, ObjectSockets] = {}
        self._rearm_persisted_alarms()

    # -- what instances and sockets ask ------------------------------------------------------------
    def label_of(self, hex_id: str) -> str:
        """The object's name if known (``idFromName``), else its hex id."""
        return self.names.get(hex_id, hex_id)

    def region_of(self, hex_id: str) -> str | None:
        return self.placement.get(hex_id)

    def id_of(self, hex_id: str) -> DurableObjectId:
        key = f"{self.worker.name}:{self.class_name}"
        return DurableObjectId(hex_id, self.names.get(hex_id), key, jurisdiction_of(key, hex_id)[1])

    def instance(self, hex_id: str) -> LiveObject | None:
        """The instance of ``hex_id`` in memory, if any."""
        return self.live.get(hex_id)

    def sockets(self, hex_id: str) -> ObjectSockets:
        """The hibernatable sockets of ``hex_id`` (kept across evictions)."""
        found = self.hibernation.get(hex_id)
        if found is None:
            found = self.hibernation[hex_id] = ObjectSockets()
        return found

    def idle_timeout(self, hex_id: str) -> float | None:
        timeout = self.service.idle_timeout
        if timeout is not None and len(self.hibernation.get(hex_id) or ()):
            timeout = min(timeout, HIBERNATION_IDLE_SECONDS)
        return timeout

    def idle_reason(self, hex_id: str) -> str:
        return "hibernate" if len(self.hibernation.get(hex_id) or ()) else "idle"

    # -- storage ---------------------------------------------------------------------------------
    def storage(self, hex_id: str) -> ObjectStorage:
        storage = self.storages.get(hex_id)
        if storage is None:
            path = self.runtime.state_path("do", self.worker.name, self.class_name, f"{hex_id}.sqlite")
            storage = ObjectStorage(path, sqlite_backed=self.sqlite_backed,
                                    delete_all_deletes_alarm=self.delete_all_deletes_alarm,
                                    on_alarm_change=lambda ms, h=hex_id: self._alarm_changed(h, ms),
                                    on_op=functools.partial(self._storage_op, hex_id))
            storage.has_alarm_handler = self.has_alarm_handler
            self.storages[hex_id] = storage
        return storage

    def _storage_op(self, hex_id: str, name: str, write: bool) -> None:
        """A storage operation before any instance of the object was made (an instance takes
        the storage's ``on_op`` over): a write commits when the running step yields."""
        if write:
            self.runtime.loop.call_soon(self.storages[hex_id].flush)

    def _rearm_persisted_alarms(self) -> None:
        folder = self.runtime.state_path("do", self.worker.name, self.class_name, "x")
        if folder is None:
            return
        for path in sorted(folder.parent.glob("*.sqlite")):
            hex_id = path.stem
            if HEX64.fullmatch(hex_id):
                ms = self.storage(hex_id).alarm_ms()
                if ms is not None:
                    self._alarm_changed(hex_id, ms)

    # -- instances ---------------------------------------------------------------------------------
    def get_live(self, id: DurableObjectId) -> LiveObject:
        """The instance of ``id`` in memory, constructed if there is none (never a second one)."""
        hex_id = id.toString()
        live = self.live.get(hex_id)
        if live is not None:
            return live
        if id.name is not None:
            self.names[hex_id] = id.name
        live = LiveObject(self, id, self.storage(hex_id))
        live.ctx = DurableObjectState(live, self.sockets(hex_id))
        token = current_worker.set(self.worker)
        try:
            self.live[hex_id] = live  # a constructor may start blockConcurrencyWhile on itself
            live.instance = self.cls(live.ctx, self.worker.env)
        except BaseException:
            self.live.pop(hex_id, None)
            live.dead = True
            raise
        finally:
            current_worker.reset(token)
        live.trace("do_construct")
        return live

    def place(self, hex_id: str, hint: str | None, caller_region: str | None) -> str | None:
        """The object's region: fixed by its first call, from ``locationHint`` or the caller's region."""
        if hex_id in self.placement:
            return self.placement[hex_id]
        region = hint if hint is not None else caller_region
        self.placement[hex_id] = region
        if region is not None:  # the default single region leaves the trace as it was
            self.runtime.trace.record("do_placed", binding=self.binding_name, object=self.label_of(hex_id),
                                      id=hex_id, cls=self.class_name, region=region,
                                      by="locationHint" if hint is not None else "first_caller")
        return region

    async def deliver(self, id: DurableObjectId, kind: str, method: str, call: Callable[[Any], Any]) -> Any:
        """Run one event on the object ``id`` and return its result to the caller.

        The result is handed over only after the event's writes committed (output gate).
        """
        rt = self.runtime
        live = self.live.get(id._hex) or self.get_live(id)
        eid = self.service.next_event_id()
        loop = rt.loop
        start = rt.clock.now()
        event = ObjectEvent(eid, kind, method, start, loop.create_future(), live.turn_seq)
        live.events[eid] = event
        if live.idle_handle is not None:
            live.cancel_idle_timer()
        caller = current_actor.get()
        rt.trace.record_plain("do_event", DO_EVENT_START_KEYS,
                              live.trace_head + (eid, kind, method, "start", caller), start)

        event.task = loop.create_task(self._run_event(live, event, call, caller),
                                      name=f"do:{self.class_name}:{live.label}:{kind}:{method}")
        # No shield needed: a caller that gives up cancels only event.future, and every setter
        # above checks done() first, so the event itself runs on.
        try:
            return await event.future
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            raise rethrown(exc) from None

    async def _run_event(self, live: LiveObject, event: ObjectEvent, call: Callable[[Any], Any],
                         caller: str | None) -> None:
        """The task of one event (a method, not a closure: a request in flight holds fewer
        objects for the garbage collector to walk, which a 10,000-request load test feels)."""
        rt = self.runtime
        if current_runtime.get() is not rt:
            current_runtime.set(rt)
        if current_worker.get() is not self.worker:
            current_worker.set(self.worker)
        current_actor.set(live.actor)
        current_object.set(live)
        region = self.placement.get(live.hex)
        if region is not None:
            current_region.set(region)
        outcome = "ok"
        try:
            result = await TurnDriver(live, event, call)
            live.release(event, result)  # now, or after the group commit (output gate)
        except asyncio.CancelledError:
            outcome = "reset"
            if not event.future.done():
                event.future.set_exception(reset_error())
        except DurableObjectAborted:
            outcome = "reset"
        except BaseException as exc:  # noqa: BLE001 - re-thrown at the caller
            outcome = "error"
            if not live.crashed:
                live.storage.flush()
            if not event.future.done():
                event.future.set_exception(exc)
        finally:
            live.events.pop(event.eid, None)
            end = rt.clock.now()
            rt.trace.record_plain("do_event", DO_EVENT_END_KEYS, live.trace_head + (
                event.eid, event.kind, event.method, "end", outcome, event.start, end, event.turns, caller), end)
            if live.current is event:
                live.current = None
            live.settled()

    # -- lifecycle ---------------------------------------------------------------------------------
    def evict(self, hex_id: str, *, reason: str = "evict") -> bool:
        """Drop the instance from memory (storage and alarm stay). False if it was not live.

        Production evicts only idle objects: while events run (or blockConcurrencyWhile holds
        the gate) the eviction waits for the last of them to end, and the instance keeps serving
        meanwhile, so that one id never has two instances committing at once.
        """
        live = self.live.get(hex_id)
        if live is None:
            return False
        if live.busy:
            if live.evict_pending is None:
                live.evict_pending = reason
                live.trace("do_evict_deferred", reason=reason, in_flight=sorted(live.events))
            return True
        del self.live[hex_id]
        live.dead = True
        live.cancel_idle_timer()
        self.storages[hex_id].flush()
        live.trace("do_evict", reason=reason, in_flight=[])
        live.drop_pinned_sockets(ABNORMAL_CLOSURE, "Durable Object reset")
        return True

    def crash(self, hex_id: str, *, reason: str = "crash", error: BaseException | None = None) -> bool:
        """Reset the instance: in-flight events fail with ``error``, unconfirmed writes are lost."""
        live = self.live.pop(hex_id, None)
        if live is None:
            return False
        live.dead = live.crashed = True
        live.cancel_idle_timer()
        lost = self.storages[hex_id].rollback()
        err = error if error is not None else reset_error()
        held = live.drop_held_results()  # ended, but their writes were not committed yet
        failed = sorted([*live.events, *(e.eid for e in held)])
        for event in [*live.events.values(), *held]:
            if not event.future.done():
                event.future.set_exception(copy_error(err))
                event.future.exception()  # callers may be gone; mark it retrieved
            if event.task is not None and event.task is not asyncio.current_task():
                event.task.cancel()
        for task in [*live.bcw_tasks, *(live.ctx.background_tasks if live.ctx is not None else ())]:
            if task is not asyncio.current_task():
                task.cancel()  # nothing of a reset instance keeps running (its waitUntil work included)
        live.block_depth = 0
        live.open_gate()
        live.trace("do_crash", reason=reason, error=str(err), failed_events=failed, lost_writes=lost)
        live.drop_pinned_sockets(ABNORMAL_CLOSURE, "Durable Object reset")
        self.sockets(hex_id).drop_all("Durable Object reset")
        return True

    # -- alarms ------------------------------------------------------------------------------------
    def _alarm_changed(self, hex_id: str, ms: int | None) -> None:
        old = self.alarm_handles.pop(hex_id, None)
        if old is not None:
            old.cancel()
        if ms is None:
            return
        self._schedule_alarm(hex_id, ms, retry=0, at_ms=ms)

    def _schedule_alarm(self, hex_id: str, ms: int, *, retry: int, at_ms: float) -> None:
        rt = self.runtime
        when = at_ms / 1000.0 - (rt.clock.wall() - rt.clock.now())
        label = self.label_of(hex_id)
        handle = rt.call_at(when, lambda: self._alarm_due(hex_id, ms, retry), label=f"alarm:{self.class_name}:{label}",
                            binding=self.binding_name, object=label, retry=retry)
        self.alarm_handles[hex_id] = handle

    def _alarm_due(self, hex_id: str, ms: int, retry: int) -> Any:
        storage = self.storage(hex_id)
        if storage.closed or storage.alarm_ms() != ms:
            return None  # replaced, deleted, or never committed
        self.alarm_handles.pop(hex_id, None)
        return self._run_alarm(hex_id, ms, retry)

    async def _run_alarm(self, hex_id: str, ms: int, retry: int) -> None:
        rt = self.runtime
        info = JsObject({"retryCount": retry, "isRetry": retry > 0})
        label = self.label_of(hex_id)
        rt.trace.record("do_alarm", binding=self.binding_name, object=label, id=hex_id, phase="run", retry=retry)

        def call(instance: Any) -> Any:
            storage = self.storage(hex_id)
            storage.running_alarm, storage.alarm_touched = ms, False
            return call_relaxed(instance.alarm, info)

        try:
            await self.deliver(self.id_of(hex_id), "alarm", "alarm", call)
        except Exception as exc:  # noqa: BLE001 - a failed alarm is retried
            storage = self.storage(hex_id)
            touched = storage.alarm_touched
            storage.running_alarm, storage.alarm_touched = None, False
            # setAlarm()/deleteAlarm() in the failed handler replaced this alarm: no retry
            # ("Calling deleteAlarm() inside the alarm() handler may prevent retries"; workerd
            # cancels the running alarm's retries when the alarm is rescheduled).
            if storage.closed or touched or storage.alarm_ms() != ms:
                return
            if retry < ALARM_MAX_RETRIES:
                delay = ALARM_FIRST_RETRY_DELAY * (2 ** retry)
                rt.trace.record("do_alarm", binding=self.binding_name, object=label, id=hex_id, phase="retry",
                                retry=retry + 1, delay=delay, error=f"{type(exc).__name__}: {exc}")
                self._schedule_alarm(hex_id, ms, retry=retry + 1, at_ms=rt.clock.wall() * 1000 + delay * 1000)
            else:
                rt.trace.record("do_alarm", binding=self.binding_name, object=label, id=hex_id, phase="gave_up",
                                retries=retry, error=f"{type(exc).__name__}: {exc}")
                self.storage(hex_id).clear_alarm(ms)
            return
        storage = self.storage(hex_id)
        storage.running_alarm, storage.alarm_touched = None, False
        rt.trace.record("do_alarm", binding=self.binding_name, object=label, id=hex_id, phase="done", retry=retry)
        storage.clear_alarm(ms)

    def close(self) -> None:
        for handle in self.alarm_handles.values():
            handle.cancel()
        for live in self.live.values():
            live.cancel_idle_timer()
        for storage in self.storages.values():
            storage.close()
