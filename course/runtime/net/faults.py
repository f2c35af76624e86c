"""Injected faults, in one seeded place: partitions, latency, drops, duplicates, crashes, AI.

``rt.faults`` is the fault injector of a runtime (like the network harness of MIT 6.5840 or
Maelstrom)::

    rt.faults.partition("apac", "weur")              # regions, objects ("ROOMS:lobby"), Workers
    rt.faults.heal()
    rt.faults.latency(200, jitter_ms=50, between=("apac", "ROOMS:*"))
    rt.faults.drop(0.1, target="ws:ROOMS:*")         # deliveries: DO calls, WebSocket messages, queues
    rt.faults.duplicate(0.2, target="queue:jobs")
    rt.faults.crash("ROOMS", "lobby", at=30.0)       # on the runtime clock
    rt.faults.ai("error", 0.5)                       # Workers AI, via rt.ai.fault
    rt.faults.partition("apac", "*", during=(10, 20))  # a window on the clock
    rt.faults.schedule(60, "heal")                   # any of these, later

Names are matched with shell wildcards (``fnmatch``): a region (``"apac"``), an actor
(``"client"``, a Worker's name, ``"BINDING:name"`` for a Durable Object), a host of an outbound
fetch, or a delivery target with its kind (``"ws:ROOMS:lobby"``, ``"queue:jobs"``). Every random
choice comes from ``rt.rng("faults:...")``: the same seed and inputs give the same faults.

Each fault is in the trace as kind ``"fault"`` (fields ``fault``, ``target``, ``phase`` and
details) when it starts and each time it hits a delivery; a window's end is ``"fault_cleared"``.
Other modules ask :meth:`Faults.check_link`, :meth:`Faults.partitioned`,
:meth:`Faults.extra_latency_ms`, :meth:`Faults.should_drop` and :meth:`Faults.should_duplicate`.
"""
from __future__ import annotations

import fnmatch
import itertools
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from course.runtime.net.endpoints import Endpoint, network_error
from course.runtime.kernel.plugins import ServiceSlot, durable_object_control
from course.runtime.kernel.runtime import Kernel

#: The kinds of fault this module injects (``ai`` delegates to ``rt.ai.fault``).
FAULT_KINDS = ("partition", "latency", "drop", "duplicate", "crash", "evict", "ai")
#: Methods :meth:`Faults.schedule` may call later.
SCHEDULABLE = frozenset(FAULT_KINDS) | {"heal", "clear"}


@dataclass(eq=False)
class FaultRule:
    """One installed fault; ``cancel()`` removes it."""

    id: int
    kind: str
    params: dict[str, Any]
    during: tuple[float, float] | None = None
    rng: random.Random | None = None
    removed: bool = False
    owner: Any = field(default=None, repr=False)

    def active(self, now: float) -> bool:
        if self.removed:
            return False
        return self.during is None or self.during[0] <= now < self.during[1]

    def cancel(self) -> None:
        if self.owner is not None:
            self.owner._remove(self)
        self.removed = True


def _check_rate(rate: Any, what: str) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"{what} rate must be a number between 0 and 1, got {rate!r}")
    return float(rate)


def _check_names(*names: Any, what: str) -> None:
    for n in names:
        if not isinstance(n, str) or not n:
            raise ValueError(f"{what} takes names (a region, 'client', a Worker, 'BINDING:name', a host), "
                             f"got {n!r}")


def _matches(pattern: str, names: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(n, pattern) for n in names)


def _between(a: str, b: str, src: Endpoint, dst: Endpoint) -> bool:
    """Whether the link src-dst joins something named ``a`` and something named ``b``."""
    return (_matches(a, src.names) and _matches(b, dst.names)) or (_matches(a, dst.names) and _matches(b, src.names))


class Faults:
    """The fault injector of one runtime (``rt.faults``)."""

    def __init__(self, runtime: Kernel) -> None:
        self.runtime = runtime
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    # -- installing ------------------------------------------------------------------------------
    def _window(self, during: Any) -> tuple[float, float] | None:
        if during is None:
            return None
        try:
            t0, t1 = (float(x) for x in during)
        except (TypeError, ValueError):
            raise ValueError(f"during must be (start, end) seconds on the runtime clock, got {during!r}") from None
        if not 0 <= t0 < t1:
            raise ValueError(f"during=({t0}, {t1}): the window must start at >= 0 and end after it starts")
        return t0, t1

    def _add(self, kind: str, target: str, params: dict[str, Any], *, during: Any = None,
             seeded: bool = False) -> FaultRule:
        rid = next(self._ids)
        rng = self.runtime.rng(f"faults:{kind}:{rid}:{target}") if seeded else None
        rule = FaultRule(rid, kind, {"target": target, **params}, self._window(during), rng, owner=self)
        self.rules.append(rule)
        self._announce(rule)
        return rule

    def _announce(self, rule: FaultRule) -> None:
        rt = self.runtime
        details = {k: v for k, v in rule.params.items() if k != "target"}

        def start() -> None:
            if not rule.removed:
                rt.trace.record("fault", fault=rule.kind, target=rule.params["target"], phase="start", rule=rule.id,
                                **details)

        if rule.during is None or rule.during[0] <= rt.clock.now():
            start()
        else:
            rt.call_at(rule.during[0], start, label=f"fault:{rule.kind}:start", rule=rule.id)
        if rule.during is not None:
            def end() -> None:
                if not rule.removed:
                    rt.trace.record("fault_cleared", fault=rule.kind, target=rule.params["target"], rule=rule.id)
            rt.call_at(rule.during[1], end, label=f"fault:{rule.kind}:end", rule=rule.id)

    def _remove(self, rule: FaultRule) -> None:
        if rule in self.rules:
            self.rules.remove(rule)
            self.runtime.trace.record("fault_cleared", fault=rule.kind, target=rule.params["target"], rule=rule.id)

    def partition(self, a: str, b: str = "*", *, during: Any = None) -> FaultRule:
        """Cut the network between ``a`` and ``b`` (regions, actors, hosts; ``b="*"`` isolates
        ``a``): calls across fail with "Network connection lost." until :meth:`heal`, and a
        WebSocket message across breaks its connection (code 1006 at both ends)."""
        _check_names(a, b, what="partition()")
        return self._add("partition", f"{a}<->{b}", {"a": a, "b": b}, during=during)

    def heal(self, a: str | None = None, b: str | None = None) -> int:
        """Remove partitions (all, or those between ``a`` and ``b``); returns how many."""
        healed = 0
        for rule in [r for r in self.rules if r.kind == "partition"]:
            pa, pb = rule.params["a"], rule.params["b"]
            if a is None or {pa, pb} == {a, b if b is not None else "*"} or (b is None and a in (pa, pb)):
                rule.cancel()
                healed += 1
        return healed

    def latency(self, extra_ms: float, *, jitter_ms: float = 0.0, between: tuple[str, str] | None = None,
                during: Any = None) -> FaultRule:
        """Add ``extra_ms`` (+ uniform ``0..jitter_ms``) to every network leg, or to legs
        ``between=(a, b)``, on top of the region matrix."""
        if isinstance(extra_ms, bool) or not isinstance(extra_ms, (int, float)) or extra_ms < 0:
            raise ValueError(f"extra_ms must be a number >= 0, got {extra_ms!r}")
        if isinstance(jitter_ms, bool) or not isinstance(jitter_ms, (int, float)) or jitter_ms < 0:
            raise ValueError(f"jitter_ms must be a number >= 0, got {jitter_ms!r}")
        if between is not None:
            if not isinstance(between, (tuple, list)) or len(between) != 2:
                raise ValueError(f"between must be a pair of names (a, b), got {between!r}")
            _check_names(*between, what="latency(between=...)")
        a, b = between if between is not None else ("*", "*")
        return self._add("latency", f"{a}<->{b}", {"a": a, "b": b, "extra_ms": float(extra_ms),
                                                    "jitter_ms": float(jitter_ms)}, during=during, seeded=True)

    def drop(self, rate: float, *, target: str = "*", during: Any = None) -> FaultRule:
        """Lose deliveries to ``target`` with probability ``rate`` (a lost Durable Object call
        fails with "Network connection lost."; a lost WebSocket message never arrives)."""
        _check_names(target, what="drop()")
        return self._add("drop", target, {"rate": _check_rate(rate, "drop")}, during=during, seeded=True)

    def duplicate(self, rate: float, *, target: str = "*", during: Any = None) -> FaultRule:
        """Deliver to ``target`` twice with probability ``rate`` (WebSocket messages; queues
        ask :meth:`should_duplicate` with ``"queue:NAME"``)."""
        _check_names(target, what="duplicate()")
        return self._add("duplicate", target, {"rate": _check_rate(rate, "duplicate")}, during=during, seeded=True)

    def crash(self, binding: str, name: Any, *, at: float | None = None) -> FaultRule:
        """Reset the Durable Object ``binding``/``name`` now or at clock time ``at``."""
        return self._lifecycle("crash", binding, name, at)

    def evict(self, binding: str, name: Any, *, at: float | None = None) -> FaultRule:
        """Evict the Durable Object ``binding``/``name`` (memory lost, storage kept), now or at ``at``."""
        return self._lifecycle("evict", binding, name, at)

    def _lifecycle(self, kind: str, binding: str, name: Any, at: float | None) -> FaultRule:
        _check_names(binding, what=f"{kind}()")
        objects = durable_object_control(self.runtime)
        objects.check_binding(binding)  # a clear KeyError now, not at the timer
        rt = self.runtime
        target = f"{binding}:{name}"
        rid = next(self._ids)
        rule = FaultRule(rid, kind, {"target": target, "at": at}, owner=self)

        def fire() -> None:
            if rule.removed:
                return
            rule.removed = True
            did = objects.crash(binding, name) if kind == "crash" else objects.evict(binding, name)
            rt.trace.record("fault", fault=kind, target=target, object=str(name), binding=binding, phase="hit",
                            rule=rid, was_live=did)

        if at is None or at <= rt.clock.now():
            if rt.on_loop_thread():
                fire()
            else:
                async def now() -> None:
                    fire()
                rt.call(now(), hold=False)
        else:
            self.rules.append(rule)
            rt.call_at(float(at), fire, label=f"fault:{kind}", rule=rid)
        return rule

    def ai(self, kind: str, rate: float = 1.0, **options: Any) -> Any:
        """A Workers AI fault: ``rt.ai.fault(kind, rate, ...)`` (its hits are traced by the AI
        binding as kind "fault", target "ai")."""
        fault = self.runtime.ai.fault(kind, _check_rate(rate, "ai"), **options)
        self.runtime.trace.record("fault", fault="ai", target="ai", phase="start", kind_of=kind, rate=rate)
        return fault

    def schedule(self, at: float, fault: str | Callable[[], Any], *args: Any, **kwargs: Any) -> None:
        """Call ``fault`` (a method name such as ``"partition"`` or ``"heal"``, or a function) at
        clock time ``at`` with ``args``: scripts a scenario over time."""
        if isinstance(fault, str):
            if fault not in SCHEDULABLE:
                raise ValueError(f"cannot schedule {fault!r}; use one of {sorted(SCHEDULABLE)}")
            action: Callable[[], Any] = lambda: getattr(self, fault)(*args, **kwargs)  # noqa: E731
        elif callable(fault):
            action = lambda: fault(*args, **kwargs)  # noqa: E731
        else:
            raise TypeError(f"schedule() takes a fault name or a function, got {type(fault).__name__}")
        if isinstance(at, bool) or not isinstance(at, (int, float)) or at < 0:
            raise ValueError(f"at must be seconds >= 0 on the runtime clock, got {at!r}")
        self.runtime.call_at(float(at), action, label=f"fault:schedule:{getattr(fault, '__name__', fault)}")

    def clear(self) -> None:
        """Remove every fault of this module (Workers AI faults: ``rt.ai.clear_faults()``)."""
        for rule in list(self.rules):
            rule.cancel()

    def active(self, kind: str | None = None) -> list[FaultRule]:
        now = self.runtime.clock.now()
        return [r for r in self.rules if r.active(now) and (kind is None or r.kind == kind)]

    # -- hooks for the platform ------------------------------------------------------------------
    def check_link(self, src: Endpoint, dst: Endpoint, *, leg: str = "request") -> None:
        """Raise "Network connection lost." if ``src`` -> ``dst`` is partitioned or the delivery
        to ``dst`` is dropped."""
        if self.partitioned(src, dst, leg=leg):
            raise network_error()
        if self._roll("drop", dst.names, src=src.name, leg=leg):
            raise network_error()

    def partitioned(self, src: Endpoint, dst: Endpoint, *, leg: str = "request") -> bool:
        """True (and traced as a hit) if an active partition cuts ``src`` -> ``dst``."""
        for rule in self.active("partition"):
            a, b = rule.params["a"], rule.params["b"]
            if _between(a, b, src, dst):
                self.runtime.trace.record("fault", fault="partition", target=dst.name, src=src.name, leg=leg,
                                          phase="hit", rule=rule.id)
                return True
        return False

    def extra_latency_ms(self, src: Endpoint, dst: Endpoint) -> float:
        total = 0.0
        for rule in self.active("latency"):
            a, b = rule.params["a"], rule.params["b"]
            if _between(a, b, src, dst):
                total += rule.params["extra_ms"]
                if rule.params["jitter_ms"] and rule.rng is not None:
                    total += rule.rng.uniform(0.0, rule.params["jitter_ms"])
        return total

    def should_drop(self, target: str, *aliases: str) -> bool:
        """True if a delivery to ``target`` (or any alias) is to be lost now (traced)."""
        return self._roll("drop", (target, *aliases))

    def should_duplicate(self, target: str, *aliases: str) -> bool:
        """True if a delivery to ``target`` (e.g. ``"queue:jobs"``) is to happen twice (traced)."""
        return self._roll("duplicate", (target, *aliases))

    def _roll(self, kind: str, names: Iterable[str], **details: Any) -> bool:
        names = tuple(names)
        for rule in self.active(kind):
            if not _matches(rule.params["target"], names):
                continue
            assert rule.rng is not None
            if rule.rng.random() < rule.params["rate"]:
                self.runtime.trace.record("fault", fault=kind, target=names[0], phase="hit", rule=rule.id, **details)
                return True
        return False

    def __repr__(self) -> str:
        return f"<Faults {[(r.kind, r.params['target']) for r in self.rules]}>"


#: The runtime's fault injector (``rt.faults``).
FAULTS: ServiceSlot[Faults] = ServiceSlot("faults", Faults)
