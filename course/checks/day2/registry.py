"""Question 1, the registry: a Durable Object that knows which agents are alive, on the virtual clock.

The learner's ``AgentRegistry`` class runs on the emulator (:mod:`.emulate`). A case is a
timeline of emulated agents: each registers with an :class:`~.types.AgentCard`, sends a
heartbeat every :data:`~.types.HEARTBEAT_EVERY` seconds and, for some, stops (it died). The
checker looks agents up by capability every few seconds and checks every answer against the
question's rule: an agent is alive while fewer than :data:`~.types.HEARTBEAT_TTL` seconds have
passed since its last registration or accepted heartbeat. A heartbeat from an agent that is not
alive returns False (it must register again), and the agent does so at once.

Fault kinds (:data:`FAULTS`): ``evict`` and ``crash`` reset the registry object between calls
(memory is gone, storage stays); ``partition`` loses one agent's heartbeats for longer than the
time-to-live, so it expires, is told so, and re-registers; ``duplicate`` delivers every
registration and heartbeat twice. At the end every agent stops, the clock runs
:data:`SWEEP_AFTER` more seconds, and the registry must have forgotten them all: no lookup
returns them and its storage no longer mentions them (an alarm, not a lookup, cleans up).

Every time in a case is chosen so that no lookup or heartbeat falls on an expiry instant:
heartbeats arrive at ``x.5`` seconds, lookups at whole seconds, faults at ``x.25``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day2.emulate import ObjectRaised, call, emulated, plain, stored_text
from course.checks.day2.types import HEARTBEAT_EVERY, HEARTBEAT_TTL, AgentCard
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the registry scenarios; the visible test runs every one of them.
FAULTS = ("none", "evict", "crash", "partition", "duplicate")
#: The binding and object name the registry runs under.
BINDING, REGISTRY = "REGISTRY", "registry"
#: Capabilities the emulated agents offer.
CAPABILITIES = ("summarize", "translate", "classify")
#: Seconds between two lookups of the checker.
LOOKUP_EVERY = 5
#: Seconds the clock runs after every agent stopped; by then the registry has swept them all.
SWEEP_AFTER = 3 * HEARTBEAT_TTL
#: A partition lasts this much longer than the time-to-live (so the agent surely expired).
PARTITION_MARGIN = 12.0
#: A duplicated message's second copy arrives this many seconds after the first.
DUPLICATE_GAP = 0.1


def _stream(seed: int, *more: object) -> Any:
    return random_stream("day2", "registry", seed, *more)


@dataclass(frozen=True)
class AgentPlan:
    """One emulated agent: its card, when it registers, when it dies (None: it outlives the case)."""

    card: AgentCard
    start: float
    death: float | None

    def describe(self) -> str:
        died = f", dies at {self.death:g}s" if self.death is not None else ""
        return f"{self.card.agent_id} {list(self.card.capabilities)} from {self.start:g}s{died}"


@dataclass(frozen=True)
class RegistryCase(Case):
    """Agents, the faults, and how long the case runs before every agent stops."""

    seed: int
    kind: str
    agents: tuple[AgentPlan, ...]
    horizon: int
    resets: tuple[float, ...] = ()  # evict or crash the registry at these times (``kind`` says which)
    partition: tuple[str, float, float] | None = None  # (agent, from, to): its heartbeats are lost
    duplicate: bool = False

    def describe(self) -> str:
        faults = []
        if self.resets:
            faults.append(f"{self.kind} the registry at {[f'{t:g}s' for t in self.resets]}")
        if self.partition:
            who, a, b = self.partition
            faults.append(f"{who}'s heartbeats lost from {a:g}s to {b:g}s")
        if self.duplicate:
            faults.append("every message delivered twice")
        return (f"{len(self.agents)} agent{'s' if len(self.agents) != 1 else ''}: "
                f"{'; '.join(a.describe() for a in self.agents)}; run {self.horizon}s then all stop; "
                f"faults: {', '.join(faults) or 'none'}")

    # -- the timeline ------------------------------------------------------------------------
    def events(self) -> list[tuple[float, int, str, str]]:
        """``(time, order, action, subject)``, sorted: register, heartbeat, lookup, reset."""
        out: list[tuple[float, int, str, str]] = []
        for plan in self.agents:
            end = min(plan.death if plan.death is not None else self.horizon, self.horizon)
            out.append((plan.start, 0, "register", plan.card.agent_id))
            t = plan.start + HEARTBEAT_EVERY
            while t < end:
                out.append((t, 1, "heartbeat", plan.card.agent_id))
                t += HEARTBEAT_EVERY
        for i, t in enumerate(range(LOOKUP_EVERY, self.horizon + 1, LOOKUP_EVERY)):
            out.append((float(t), 2, "lookup", CAPABILITIES[i % len(CAPABILITIES)]))
        out += [(t, 3, "reset", self.kind) for t in self.resets]
        return sorted(out)

    def lost(self, agent: str, t: float) -> bool:
        if self.partition is None:
            return False
        who, a, b = self.partition
        return who == agent and a <= t < b

    def check(self, registry_cls: Any, log: MessageLog) -> str:
        rt = emulated(registry_cls, BINDING, seed=self.seed)
        try:
            return _Run(self, rt, log).go()
        finally:
            rt.close()

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.agents)

        def build(t: tuple[list[bool], int, list[bool], bool, bool]) -> "RegistryCase":
            keep, horizon, resets, partition, duplicate = t
            agents = tuple(a for a, k in zip(self.agents, keep) if k) or self.agents[:1]
            names = {a.card.agent_id for a in agents}
            part = self.partition if partition and self.partition and self.partition[0] in names else None
            return replace(self, agents=agents, horizon=horizon, partition=part, duplicate=duplicate and self.duplicate,
                           resets=tuple(r for r, k in zip(self.resets, resets) if k and r < horizon))

        low = min(self.horizon, LOOKUP_EVERY * 2)
        return st.tuples(st.lists(st.booleans(), min_size=n, max_size=n), st.integers(low, self.horizon),
                         st.lists(st.booleans(), min_size=len(self.resets), max_size=len(self.resets)),
                         st.booleans(), st.booleans()).map(build)


class _Run:
    """One case against one registry: the model of who is alive, and every call checked against it."""

    def __init__(self, case: RegistryCase, rt: Any, log: MessageLog) -> None:
        self.case, self.rt, self.log = case, rt, log
        self.cards = {a.card.agent_id: a.card for a in case.agents}
        self.last_seen: dict[str, float] = {}  # agent -> time of its last accepted registration/heartbeat
        self.answers: dict[str, Any] = {}  # capability -> the last lookup answer logged

    def stub(self) -> Any:
        return self.rt.env[BINDING].getByName(REGISTRY)

    def alive(self, agent: str, t: float) -> bool:
        seen = self.last_seen.get(agent)
        return seen is not None and t < seen + HEARTBEAT_TTL

    def move_to(self, t: float) -> None:
        if t > self.rt.clock.now():
            self.rt.clock.advance(t - self.rt.clock.now())

    def rpc(self, what: str, make: Any) -> Any:
        try:
            return plain(call(self.rt, make))
        except ObjectRaised as exc:
            raise CaseFailed(f"at t={self.rt.clock.now():g}s {what} raised {exc}") from None

    def register(self, agent: str, t: float, note: str = "") -> None:
        card = self.cards[agent].to_dict()
        self.log.record(t, f"agent:{agent}", REGISTRY, "register", f"capabilities={','.join(card['capabilities'])}", note)
        self.rpc(f"register({card})", lambda: self.stub().register(card))
        self.last_seen[agent] = t

    def heartbeat(self, agent: str, t: float, note: str = "") -> bool:
        expected = self.alive(agent, t)
        self.log.record(t, f"agent:{agent}", REGISTRY, "heartbeat", "", note)
        got = self.rpc(f"heartbeat({agent!r})", lambda: self.stub().heartbeat(agent))
        self.log.record(t, REGISTRY, f"agent:{agent}", "heartbeat.reply", repr(got))
        if got is not expected and got != expected:
            seen = self.last_seen.get(agent)
            why = (f"its last registration or accepted heartbeat was at {seen:g}s, so it is alive until "
                   f"{seen + HEARTBEAT_TTL:g}s" if seen is not None else "it never registered")
            raise CaseFailed(f"at t={t:g}s heartbeat({agent!r}) returned {got!r}, expected {expected!r}: {why}"
                             + ("" if expected else " (an expired agent must register again)"))
        if expected:
            self.last_seen[agent] = t
        return bool(expected)

    def lookup(self, capability: str, t: float) -> None:
        expected = sorted(a for a, card in self.cards.items() if capability in card.capabilities and self.alive(a, t))
        got = self.rpc(f"lookup({capability!r})", lambda: self.stub().lookup(capability))
        if got != self.answers.get(capability) or got != expected:  # only answers that change are logged
            self.log.record(t, "checker", REGISTRY, "lookup", capability)
            shown = ", ".join(map(str, got)) if isinstance(got, list) else repr(got)
            self.log.record(t, REGISTRY, "checker", "lookup.reply", shown or "nobody")
            self.answers[capability] = got
        if not isinstance(got, list) or got != expected:
            stale = sorted(set(got) - set(expected)) if isinstance(got, list) else []
            missing = sorted(set(expected) - set(got)) if isinstance(got, list) else []
            detail = []
            for agent in stale:
                seen = self.last_seen.get(agent)
                detail.append(f"{agent} expired at {seen + HEARTBEAT_TTL:g}s" if seen is not None else
                              f"{agent} is not registered" if agent in self.cards else f"{agent!r} is no agent")
            detail += [f"{agent} is alive (last seen {self.last_seen[agent]:g}s)" for agent in missing]
            order = "" if detail or not isinstance(got, list) else " (sorted by agent_id)"
            raise CaseFailed(f"at t={t:g}s lookup({capability!r}) returned {got!r}, expected {expected!r}{order}"
                             + (f": {'; '.join(detail)}" if detail else ""))

    def go(self) -> str:
        case = self.case
        lookups = 0
        for t, _, action, subject in case.events():
            self.move_to(t)
            if action == "reset":
                getattr(self.rt, subject)(BINDING, REGISTRY)
                self.log.record(t, "platform", REGISTRY, subject, "memory lost, storage kept", "fault")
            elif action == "lookup":
                self.lookup(subject, t)
                lookups += 1
            elif case.lost(subject, t):
                self.log.record(t, f"agent:{subject}", REGISTRY, action, "", "lost: partition")
            elif action == "register":
                self.register(subject, t)
                if case.duplicate:
                    self.move_to(t + DUPLICATE_GAP)
                    self.register(subject, t + DUPLICATE_GAP, "duplicate")
            else:
                if not self.heartbeat(subject, t):
                    self.register(subject, t, "re-register after an expired heartbeat")
                if case.duplicate:
                    self.move_to(t + DUPLICATE_GAP)
                    self.heartbeat(subject, t + DUPLICATE_GAP, "duplicate")
        # Every agent stops; nobody calls the registry for SWEEP_AFTER seconds: only an alarm can clean up.
        self.move_to(case.horizon + SWEEP_AFTER)
        end = self.rt.clock.now()
        leftover = stored_text(self.rt, BINDING, REGISTRY)
        remembered = [a for a in self.cards if a in leftover]
        if remembered:
            raise CaseFailed(f"at t={end:g}s, {SWEEP_AFTER:g}s after every agent stopped (and nobody called the "
                             f"registry since), its storage still holds {remembered}: dead agents must be deleted, "
                             f"not only hidden; an alarm set for the next expiry does it without any request")
        for capability in CAPABILITIES:
            self.lookup(capability, end)
        return f"{lookups} lookups right, dead agents deleted"


def _agents(rng: Any, count: int, horizon: int) -> tuple[AgentPlan, ...]:
    plans = []
    for i in range(count):
        caps = tuple(sorted(rng.sample(CAPABILITIES, rng.randint(1, 2))))
        start = rng.randrange(0, 20) + 0.5
        death = rng.randrange(int(start) + 15, horizon) + 0.5 if rng.random() < 0.4 and horizon > start + 20 else None
        plans.append(AgentPlan(AgentCard(f"agent-{rng.randrange(10, 99)}{'abcdefgh'[i]}", caps, f"https://a{i}.example"),
                               start, death))
    return tuple(plans)


def registry_case(seed: int, kind: str) -> RegistryCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = _stream(seed, kind)
    horizon = rng.randrange(100, 150)
    agents = _agents(rng, rng.randint(2, 4), horizon)
    resets: tuple[float, ...] = ()
    partition = None
    if kind in ("evict", "crash"):
        resets = tuple(sorted(rng.randrange(5, horizon + int(SWEEP_AFTER)) + 0.25 for _ in range(3)))
    if kind == "partition":
        victim = next((a for a in agents if a.death is None), agents[0])
        if victim.death is not None:
            agents = tuple(replace(a, death=None) if a is victim else a for a in agents)
        begin = victim.start + rng.randrange(5, 25)
        partition = (victim.card.agent_id, begin, begin + HEARTBEAT_TTL + PARTITION_MARGIN)
        horizon = max(horizon, int(begin + HEARTBEAT_TTL + PARTITION_MARGIN + 3 * HEARTBEAT_EVERY))
    return RegistryCase(seed, kind, agents, horizon, resets, partition, kind == "duplicate")


class RegistryScenario(Scenario):
    """One case per fault kind (or only ``faults``), each drawn from the seed."""

    default_target = "AgentRegistry"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        name = "registry" if faults is None else f"registry/{'+'.join(self.kinds)}"
        super().__init__(name, seed, f"day2.registry_scenario(seed={seed}{extra})")
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")

    def cases(self) -> Sequence[Case]:
        return [registry_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"every lookup and heartbeat right under faults {list(self.kinds)}; dead agents deleted"


def registry_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> RegistryScenario:
    """The registry against agents that register, heartbeat, die and get cut off, with ``faults``."""
    return RegistryScenario(seed, faults)


def grade_registry(registry_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return registry_scenario(seed, faults).run(registry_cls).assert_ok()


__all__ = ["FAULTS", "AgentPlan", "RegistryCase", "RegistryScenario", "grade_registry", "registry_case",
           "registry_scenario"]
