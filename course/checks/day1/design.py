"""Question 6, the design: the learner's two-agent system as data, checked by property.

The path's Day 1 exercise is a design: two agents (a coordinator and a worker), the protocol
between them and each agent's state. The learner writes it with the models below
(:class:`PairDesign` of :class:`AgentSpec`, :class:`MessageSpec`, :class:`HandlerSpec`,
:class:`StateField`); :func:`design_problems` lists every property it breaks, each with a reason
that names the agent, message or field:

- two agents, one coordinator and one worker, with distinct ``role:name`` addresses;
- every message has a sender (an agent, or the outside ``client``) and a handler on its recipient,
  every handler handles a declared message (or the timer event ``timeout``), and emits only
  messages its own agent sends;
- every state field has one owner: it is declared once, written only by its owner's handlers,
  and read by another agent only from shared storage (KV or D1), never from the owner's memory
  or Durable Object storage;
- a reply names the message it answers, and goes back the way that message came;
- a failure path exists: the worker can send a failure message the coordinator handles, and the
  coordinator handles ``timeout`` (a crashed worker sends nothing at all);
- the coordinator keeps its task table somewhere that outlives eviction (``storage``, ``kv``
  or ``d1``, not ``memory``).

There is no hidden reference design: any design with these properties passes, and the short
rationale the learner writes next to it is graded by hand.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from course.checks.day1.types import AGENT_NAME_PATTERN
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario

#: Where a state field lives on Workers, from most to least private.
Store = Literal["memory", "storage", "kv", "d1"]
#: Stores another agent can read (shared memory); ``memory`` and ``storage`` are the owner's alone.
SHARED_STORES = ("kv", "d1")
#: Stores that survive an eviction or a crash.
DURABLE_STORES = ("storage", "kv", "d1")
#: The sender of messages that come from outside the system (a client's request).
OUTSIDE = "client"
#: The event a handler can react to besides messages: a reply did not come in time.
TIMER_EVENT = "timeout"
#: What a handler may react to, besides declared message types.
EVENTS = (TIMER_EVENT,)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateField(_Spec):
    """One thing an agent remembers: its name, where it lives, and who else may read it."""

    name: str = Field(min_length=1)
    store: Store
    memory: Literal["short-term", "long-term", "shared"]
    readers: tuple[str, ...] = ()  # other agents (addresses) that read it; needs a shared store
    why: str = ""


class AgentSpec(_Spec):
    """One agent: its address, its role, and the state it owns."""

    address: str
    role: Literal["coordinator", "worker"]
    state: tuple[StateField, ...] = ()


class MessageSpec(_Spec):
    """One message type of the protocol: who sends it to whom, what it carries, what it answers."""

    type: str = Field(min_length=1)
    sender: str  # an agent's address, or "client" for a message from outside
    recipient: str
    payload: tuple[str, ...] = ()
    answers: str | None = None  # the message type this one replies to (its causation)
    failure: bool = False  # True for a message that reports a failure


class HandlerSpec(_Spec):
    """What an agent does when a message (or the ``timeout`` event) arrives."""

    agent: str
    on: str  # a message type, or "timeout"
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    emits: tuple[str, ...] = ()


class PairDesign(_Spec):
    """A coordinator + worker system: its agents, its messages, its handlers."""

    agents: tuple[AgentSpec, ...]
    messages: tuple[MessageSpec, ...]
    handlers: tuple[HandlerSpec, ...]


def _owners(design: PairDesign) -> dict[str, list[tuple[AgentSpec, StateField]]]:
    owners: dict[str, list[tuple[AgentSpec, StateField]]] = {}
    for agent in design.agents:
        for field in agent.state:
            owners.setdefault(field.name, []).append((agent, field))
    return owners


def _agents(design: PairDesign) -> list[str]:
    problems = []
    roles = sorted(a.role for a in design.agents)
    if roles != ["coordinator", "worker"]:
        problems.append(f"agents: a pair has exactly one coordinator and one worker, got roles {roles}")
    addresses = [a.address for a in design.agents]
    for address in addresses:
        if not re.fullmatch(AGENT_NAME_PATTERN, address):
            problems.append(f"agents: address {address!r} is not role:name (like 'worker:w1')")
    if len(set(addresses)) != len(addresses):
        problems.append(f"agents: two agents share an address in {addresses}")
    return problems


def _messages(design: PairDesign) -> list[str]:
    problems = []
    agents = {a.address for a in design.agents}
    types = [m.type for m in design.messages]
    if len(set(types)) != len(types):
        problems.append(f"messages: a message type is declared twice in {types}")
    handled = {(h.agent, h.on) for h in design.handlers}
    for m in design.messages:
        if m.sender not in agents and m.sender != OUTSIDE:
            problems.append(f"message {m.type!r}: sender {m.sender!r} is not an agent of the design (nor {OUTSIDE!r})")
        if m.recipient not in agents and m.recipient != OUTSIDE:
            problems.append(f"message {m.type!r}: recipient {m.recipient!r} is not an agent of the design")
        if m.sender == m.recipient:
            problems.append(f"message {m.type!r}: an agent sends it to itself")
        if m.recipient in agents and (m.recipient, m.type) not in handled:
            problems.append(f"message {m.type!r}: no handler on its recipient {m.recipient} (every message needs one)")
        if m.sender in agents and not any(h.agent == m.sender and m.type in h.emits for h in design.handlers):
            problems.append(f"message {m.type!r}: no handler of its sender {m.sender} emits it")
    return problems


def _handlers(design: PairDesign) -> list[str]:
    problems = []
    agents = {a.address for a in design.agents}
    by_type = {m.type: m for m in design.messages}
    for h in design.handlers:
        where = f"handler {h.agent} on {h.on!r}"
        if h.agent not in agents:
            problems.append(f"{where}: {h.agent!r} is not an agent of the design")
            continue
        if h.on not in by_type and h.on not in EVENTS:
            problems.append(f"{where}: {h.on!r} is neither a declared message nor {TIMER_EVENT!r}")
        elif h.on in by_type and by_type[h.on].recipient != h.agent:
            problems.append(f"{where}: {h.on!r} is sent to {by_type[h.on].recipient}, not to {h.agent}")
        for emitted in h.emits:
            if emitted not in by_type:
                problems.append(f"{where}: emits {emitted!r}, which is not a declared message")
            elif by_type[emitted].sender != h.agent:
                problems.append(f"{where}: emits {emitted!r}, but that message's sender is {by_type[emitted].sender}")
    return problems


def _state(design: PairDesign) -> list[str]:
    problems = []
    owners = _owners(design)
    for name, owned in owners.items():
        if len(owned) > 1:
            problems.append(f"state field {name!r}: declared by {[a.address for a, _ in owned]}; every field has one "
                            f"owner (two copies drift apart: keep one, send the other agent a message)")
    agents = {a.address for a in design.agents}
    for agent in design.agents:
        for field in agent.state:
            for reader in field.readers:
                if reader == agent.address or reader not in agents:
                    problems.append(f"state field {field.name!r}: reader {reader!r} is not another agent of the design")
                elif field.store not in SHARED_STORES:
                    problems.append(f"state field {field.name!r}: {reader} reads it, but it lives in {agent.address}'s "
                                    f"{field.store!r}, which only its owner can reach (share through kv or d1, or send a message)")
            if field.readers and field.memory != "shared":
                problems.append(f"state field {field.name!r}: read by {list(field.readers)}, so its memory kind is 'shared'")
            if field.memory == "shared" and field.store not in SHARED_STORES:
                problems.append(f"state field {field.name!r}: shared memory lives in kv or d1, not {field.store!r}")
            if field.memory == "long-term" and field.store == "memory":
                problems.append(f"state field {field.name!r}: long-term memory must survive eviction, so not 'memory'")
    for h in design.handlers:
        for kind, names in (("writes", h.writes), ("reads", h.reads)):
            for name in names:
                owned = owners.get(name)
                if not owned:
                    problems.append(f"handler {h.agent} on {h.on!r} {kind} {name!r}, which no agent declares")
                    continue
                owner, field = owned[0]
                if kind == "writes" and owner.address != h.agent:
                    problems.append(f"handler {h.agent} on {h.on!r} writes {name!r}, owned by {owner.address}: "
                                    f"shared mutable state (only the owner writes; send it a message instead)")
                if kind == "reads" and owner.address != h.agent and h.agent not in field.readers:
                    problems.append(f"handler {h.agent} on {h.on!r} reads {name!r}, owned by {owner.address}, "
                                    f"without being one of its readers")
    coordinator = next((a for a in design.agents if a.role == "coordinator"), None)
    if coordinator is not None and not any(f.store in DURABLE_STORES and f.memory == "long-term"
                                           for f in coordinator.state):
        problems.append(f"state of {coordinator.address}: no long-term field in durable storage; its task table "
                        f"would be lost when the object is evicted")
    return problems


def _replies(design: PairDesign) -> list[str]:
    problems = []
    by_type = {m.type: m for m in design.messages}
    for m in design.messages:
        if m.answers is None:
            continue
        asked = by_type.get(m.answers)
        if asked is None:
            problems.append(f"message {m.type!r}: answers {m.answers!r}, which is not a declared message")
        elif (asked.sender, asked.recipient) != (m.recipient, m.sender):
            problems.append(f"message {m.type!r}: answers {m.answers!r} ({asked.sender} -> {asked.recipient}), so it "
                            f"goes {asked.recipient} -> {asked.sender}, not {m.sender} -> {m.recipient}")
    return problems


def _failure_path(design: PairDesign) -> list[str]:
    roles = {a.address: a.role for a in design.agents}
    coordinators = [a for a, r in roles.items() if r == "coordinator"]
    problems = []
    handled = {(h.agent, h.on) for h in design.handlers}
    reports = [m for m in design.messages if m.failure and roles.get(m.sender) == "worker"
               and roles.get(m.recipient) == "coordinator" and (m.recipient, m.type) in handled]
    if not reports:
        problems.append("failure path: no failure message (failure=True) from the worker that the coordinator handles")
    if coordinators and not any((c, TIMER_EVENT) in handled for c in coordinators):
        problems.append(f"failure path: the coordinator has no {TIMER_EVENT!r} handler, so a crashed worker (which "
                        f"sends nothing) stalls it forever")
    return problems


#: The properties, in the order they are checked and reported: (name, what it checks).
PROPERTIES = (
    ("two agents", _agents),
    ("every message has a sender and a handler", _messages),
    ("handlers handle and emit declared messages", _handlers),
    ("every state field has one owner, no shared mutable state", _state),
    ("replies go back the way the request came", _replies),
    ("a failure path exists", _failure_path),
)


def design_problems(design: Any) -> list[str]:
    """Every property ``design`` breaks, one reason each ([] for a sound design)."""
    if not isinstance(design, PairDesign):
        try:
            design = PairDesign.model_validate(design.model_dump() if hasattr(design, "model_dump") else design)
        except Exception as exc:  # noqa: BLE001 - any invalid value is reported the same way
            return [f"not a PairDesign: {str(exc).splitlines()[0]}"]
    return [problem for _, prop in PROPERTIES for problem in prop(design)]


@dataclass(frozen=True)
class PropertyCase(Case):
    """One property of the design."""

    name: str

    def describe(self) -> str:
        return f"the property: {self.name}"

    def check(self, design: Any, log: MessageLog) -> str:
        problems = design_problems(design)
        if problems and problems[0].startswith("not a PairDesign"):
            raise CaseFailed(problems[0])
        prop = dict(PROPERTIES)[self.name]
        found = prop(design if isinstance(design, PairDesign) else PairDesign.model_validate(design.model_dump()))
        if found:
            raise CaseFailed(f"{self.name}: " + "; ".join(found))
        return self.name


class DesignScenario(Scenario):
    """The design's properties, checked one by one (every one runs; the first failure is reported)."""

    default_target = "design"
    partial_credit = True

    def __init__(self, seed: int = 0) -> None:
        super().__init__("design", seed, f"day1.design_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        return [PropertyCase(name) for name, _ in PROPERTIES]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"all {len(cases)} properties hold: " + ", ".join(name for name, _ in PROPERTIES)

    def run(self, target: Any) -> CheckResult:
        result = super().run(target)
        if result.passed:
            return result
        problems = design_problems(target)
        # Every broken property at once: a design is fixed in one pass, not one error per run.
        listing = "\n".join(f"  - {p}" for p in problems)
        return CheckResult(result.scenario, result.seed, False,
                           f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the design:\n{listing}",
                           result.reproduce, cases_passed=result.cases_passed, cases_total=result.cases_total)


def design_scenario(seed: int = 0) -> DesignScenario:
    """The design properties (the seed only names the run: a design check draws nothing)."""
    return DesignScenario(seed)


def grade_design(design: Any, seed: int = 0) -> CheckResult:
    return design_scenario(seed).run(design).assert_ok()


__all__ = ["AgentSpec", "DesignScenario", "HandlerSpec", "MessageSpec", "PROPERTIES", "PairDesign", "StateField",
           "design_problems", "design_scenario", "grade_design"]
