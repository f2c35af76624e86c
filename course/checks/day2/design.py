"""Question 6, the design: which agents are ephemeral, which persistent, what they share, as data.

The path's Day 2 exercise asks for interaction diagrams, when to use ephemeral vs persistent
agents, and resource-sharing strategies. The learner writes their system as a
:class:`SystemDesign` (agents, the resources they bind, who accesses what, who talks to whom
and how); :func:`design_problems` lists every property it breaks, each naming the agent,
resource or interaction:

- agents: at least one ephemeral and one persistent agent, distinct names;
- lifetimes: an ephemeral agent is addressed by ``newUniqueId``, has a time-to-live and an
  ``alarm`` that ends it, and is found only by the agent that spawned it; a persistent agent is
  addressed by ``idFromName``, has no time-to-live, and is found through the registry or a
  service binding;
- interactions: every one names known agents (or the outside ``client``), an ``alarm`` is an
  agent waking itself, and an ephemeral agent has exactly one caller (its spawner);
- least privilege: an agent binds exactly the resources it accesses, nothing more;
- sharing: a resource two agents write is one that serialises writes (a Durable Object, D1, a
  queue), never KV (eventually consistent, last write wins), and an ephemeral agent writes no
  shared resource (it will be gone: it reports to its spawner instead).

There is no hidden reference design: any design with these properties passes, and the short
rationale next to it is graded by hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario

Lifetime = Literal["ephemeral", "persistent"]
Addressing = Literal["newUniqueId", "idFromName"]
Discovery = Literal["spawner", "registry", "service-binding"]
ResourceKind = Literal["kv", "d1", "r2", "queue", "durable-object"]
Trigger = Literal["http", "rpc", "queue", "cron", "alarm", "websocket"]
#: The sender of requests from outside the system.
OUTSIDE = "client"
#: Resources that serialise concurrent writers.
SERIALISED = ("d1", "queue", "durable-object")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentRole(_Spec):
    """One kind of agent: how long it lives, how it is addressed and found, what it may touch."""

    name: str = Field(min_length=1)
    lifetime: Lifetime
    addressing: Addressing
    discovered_by: Discovery
    ttl_seconds: float | None = None
    bindings: tuple[str, ...] = ()  # the resources this agent's Worker/object binds
    purpose: str = ""


class Resource(_Spec):
    """A platform resource (a KV namespace, a D1 database, a queue...)."""

    name: str = Field(min_length=1)
    kind: ResourceKind


class Access(_Spec):
    """One agent reads or writes one resource."""

    agent: str
    resource: str
    mode: Literal["read", "write"]


class Interaction(_Spec):
    """One arrow of the interaction diagram: who triggers whom, and through what."""

    sender: str  # an agent, or "client"
    recipient: str
    trigger: Trigger
    what: str = ""


class SystemDesign(_Spec):
    """The whole system: agents, resources, who accesses what, who talks to whom."""

    agents: tuple[AgentRole, ...]
    resources: tuple[Resource, ...] = ()
    access: tuple[Access, ...] = ()
    interactions: tuple[Interaction, ...] = ()


def _agents(d: SystemDesign) -> list[str]:
    problems = []
    names = [a.name for a in d.agents]
    if len(set(names)) != len(names):
        problems.append(f"agents: a name is used twice in {names}")
    lifetimes = {a.lifetime for a in d.agents}
    for needed in ("ephemeral", "persistent"):
        if needed not in lifetimes:
            problems.append(f"agents: no {needed} agent (the design needs both kinds)")
    return problems


def _lifetimes(d: SystemDesign) -> list[str]:
    problems = []
    alarms = {i.recipient for i in d.interactions if i.trigger == "alarm"}
    for a in d.agents:
        where = f"agent {a.name!r} ({a.lifetime})"
        if a.lifetime == "ephemeral":
            if a.addressing != "newUniqueId":
                problems.append(f"{where}: addressed by {a.addressing}; a per-task agent gets a fresh newUniqueId "
                                f"(a name would let two tasks share it)")
            if not a.ttl_seconds or a.ttl_seconds <= 0:
                problems.append(f"{where}: no ttl_seconds; an ephemeral agent must end itself")
            if a.name not in alarms:
                problems.append(f"{where}: no 'alarm' interaction wakes it; its time-to-live needs an alarm "
                                f"(a timer in memory dies on eviction)")
            if a.discovered_by != "spawner":
                problems.append(f"{where}: discovered by {a.discovered_by}; nobody can look up a unique id, only the "
                                f"spawner holds it")
        else:
            if a.addressing != "idFromName":
                problems.append(f"{where}: addressed by {a.addressing}; a long-lived agent needs a stable name "
                                f"(idFromName) so every caller reaches the same one")
            if a.ttl_seconds is not None:
                problems.append(f"{where}: has ttl_seconds={a.ttl_seconds}; a persistent agent does not expire")
            if a.discovered_by == "spawner":
                problems.append(f"{where}: discovered by 'spawner'; callers find a persistent agent through the "
                                f"registry or a service binding")
    return problems


def _interactions(d: SystemDesign) -> list[str]:
    problems = []
    names = {a.name for a in d.agents}
    callers: dict[str, set[str]] = {}
    for i in d.interactions:
        arrow = f"interaction {i.sender} -> {i.recipient} ({i.trigger})"
        if i.sender not in names and i.sender != OUTSIDE:
            problems.append(f"{arrow}: sender {i.sender!r} is not an agent of the design (nor {OUTSIDE!r})")
        if i.recipient not in names:
            problems.append(f"{arrow}: recipient {i.recipient!r} is not an agent of the design")
        if i.trigger == "alarm" and i.sender != i.recipient:
            problems.append(f"{arrow}: an alarm is an agent waking itself (sender == recipient)")
        if i.trigger != "alarm":
            callers.setdefault(i.recipient, set()).add(i.sender)
    for a in d.agents:
        if a.lifetime == "ephemeral" and len(callers.get(a.name, ())) != 1:
            found = sorted(callers.get(a.name, ()))
            problems.append(f"agent {a.name!r} (ephemeral): called by {found or 'nobody'}; exactly one agent, its "
                            f"spawner, calls it")
    return problems


def _privilege(d: SystemDesign) -> list[str]:
    problems = []
    names = {a.name for a in d.agents}
    resources = {r.name for r in d.resources}
    used: dict[str, set[str]] = {}
    for x in d.access:
        if x.agent not in names:
            problems.append(f"access {x.agent} -> {x.resource}: {x.agent!r} is not an agent of the design")
            continue
        if x.resource not in resources:
            problems.append(f"access {x.agent} -> {x.resource}: {x.resource!r} is not a resource of the design")
        used.setdefault(x.agent, set()).add(x.resource)
    for a in d.agents:
        bound, needed = set(a.bindings), used.get(a.name, set())
        for r in sorted(needed - bound):
            problems.append(f"agent {a.name!r}: accesses {r!r} without binding it")
        for r in sorted(bound - needed):
            problems.append(f"agent {a.name!r}: binds {r!r} but never accesses it (least privilege: bind only what "
                            f"you use)")
    return problems


def _sharing(d: SystemDesign) -> list[str]:
    problems = []
    kinds = {r.name: r.kind for r in d.resources}
    lifetimes = {a.name: a.lifetime for a in d.agents}
    writers: dict[str, set[str]] = {}
    for x in d.access:
        if x.mode == "write":
            writers.setdefault(x.resource, set()).add(x.agent)
    for resource, agents in sorted(writers.items()):
        kind = kinds.get(resource)
        if len(agents) > 1 and kind not in SERIALISED and kind is not None:
            problems.append(f"resource {resource!r} ({kind}): written by {sorted(agents)}; {kind} does not serialise "
                            f"writers (KV is eventually consistent, last write wins): give it one writer, or use a "
                            f"Durable Object, D1 or a queue")
        for agent in sorted(agents):
            if lifetimes.get(agent) == "ephemeral" and len(agents) > 1:
                problems.append(f"resource {resource!r}: ephemeral agent {agent!r} writes shared state; it should "
                                f"report to its spawner, which owns the shared write")
    return problems


#: The properties, in the order they are checked and reported: (name, what it checks).
PROPERTIES = (
    ("ephemeral and persistent agents", _agents),
    ("lifetimes fit addressing, time-to-live and discovery", _lifetimes),
    ("interactions name known agents; an ephemeral agent has one caller", _interactions),
    ("least privilege: each agent binds exactly what it accesses", _privilege),
    ("shared resources serialise their writers", _sharing),
)


def _as_design(design: Any) -> SystemDesign | str:
    if isinstance(design, SystemDesign):
        return design
    try:
        return SystemDesign.model_validate(design.model_dump() if hasattr(design, "model_dump") else design)
    except Exception as exc:  # noqa: BLE001 - any invalid value is reported the same way
        return f"not a SystemDesign: {str(exc).splitlines()[0]}"


def design_problems(design: Any) -> list[str]:
    """Every property ``design`` breaks, one reason each ([] for a sound design)."""
    checked = _as_design(design)
    if isinstance(checked, str):
        return [checked]
    return [problem for _, prop in PROPERTIES for problem in prop(checked)]


@dataclass(frozen=True)
class PropertyCase(Case):
    """One property of the design."""

    name: str

    def describe(self) -> str:
        return f"the property: {self.name}"

    def check(self, design: Any, log: MessageLog) -> str:
        checked = _as_design(design)
        if isinstance(checked, str):
            raise CaseFailed(checked)
        found = dict(PROPERTIES)[self.name](checked)
        if found:
            raise CaseFailed(f"{self.name}: " + "; ".join(found))
        return self.name


class SystemDesignScenario(Scenario):
    """The design's properties, every one checked; a failure lists every problem at once."""

    default_target = "design"
    partial_credit = True

    def __init__(self, seed: int = 0) -> None:
        super().__init__("design", seed, f"day2.design_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        return [PropertyCase(name) for name, _ in PROPERTIES]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"all {len(cases)} properties hold: " + ", ".join(name for name, _ in PROPERTIES)

    def run(self, target: Any) -> CheckResult:
        result = super().run(target)
        if result.passed:
            return result
        problems = design_problems(target)
        listing = "\n".join(f"  - {p}" for p in problems)
        return CheckResult(result.scenario, result.seed, False,
                           f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the design:\n{listing}",
                           result.reproduce, cases_passed=result.cases_passed, cases_total=result.cases_total)


def design_scenario(seed: int = 0) -> SystemDesignScenario:
    """The design properties (the seed only names the run: a design check draws nothing)."""
    return SystemDesignScenario(seed)


def grade_design(design: Any, seed: int = 0) -> CheckResult:
    return design_scenario(seed).run(design).assert_ok()


__all__ = ["Access", "AgentRole", "Interaction", "PROPERTIES", "Resource", "SystemDesign", "SystemDesignScenario",
           "design_problems", "design_scenario", "grade_design"]
