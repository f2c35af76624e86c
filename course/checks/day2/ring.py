"""Question 4, the consistent-hashing ring: keys stay put when agents come and go.

The learner's ``HashRing(agents, vnodes=64)`` answers ``agent_for(key)``, and changes with
``add(agent)`` and ``remove(agent)``. A case is a seeded membership (3 to 8 agents) and a
seeded sample of keys (conversation ids); the properties:

- every key maps to a member, and an empty ring raises ``LookupError``;
- **stable across restarts**: a ring built again from the same agents, in another order or one
  ``add`` at a time, answers the same for every key (so every Worker isolate, after any
  restart, routes a conversation to the same agent);
- **adding** an agent to N moves keys only *to* the new agent, and at most about 1/(N+1) of
  them (:data:`MOVE_SLACK` times that, plus sampling noise);
- **removing** an agent moves only the keys that agent owned, and adding it back restores the
  original mapping.

A failing case shrinks to fewer agents and fewer keys.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The share of keys an added agent may take, as a multiple of the fair 1/(N+1).
MOVE_SLACK = 2.0
#: Extra share allowed for sampling noise (a case samples a few hundred keys).
NOISE = 0.03
#: How many keys a case samples.
KEYS = 400
#: The properties a scenario checks, one case each.
PROPERTIES = ("members", "restart", "add", "remove")


@dataclass(frozen=True)
class RingCase(Case):
    """One property, checked on a membership and a sample of keys."""

    prop: str
    agents: tuple[str, ...]
    keys: tuple[str, ...]
    newcomer: str = ""

    def describe(self) -> str:
        keys = f"{len(self.keys)} keys ({', '.join(self.keys[:3])}{', ...' if len(self.keys) > 3 else ''})"
        extra = f", then add {self.newcomer!r}" if self.prop == "add" else \
            f", then remove {self.agents[-1]!r}" if self.prop == "remove" else ""
        return f"HashRing({list(self.agents)}){extra}; {keys}; property: {self.prop}"

    def mapping(self, ring: Any) -> dict[str, str]:
        return {key: ring.agent_for(key) for key in self.keys}

    def check(self, ring_cls: Any, log: MessageLog) -> str:
        agents, keys = list(self.agents), self.keys
        ring = ring_cls(agents)
        before = self.mapping(ring)
        strays = {k: a for k, a in before.items() if a not in agents}
        if strays:
            key, agent = next(iter(strays.items()))
            raise CaseFailed(f"agent_for({key!r}) returned {agent!r}, which is not a member of {agents}")
        if self.prop == "members":
            try:
                answer = ring_cls([]).agent_for(keys[0])
            except LookupError:
                return "members only; empty ring raises LookupError"
            raise CaseFailed(f"HashRing([]).agent_for({keys[0]!r}) returned {answer!r}: an empty ring must raise LookupError")
        if self.prop == "restart":
            for label, other in (("built from the agents in reverse order", ring_cls(list(reversed(agents)))),
                                 ("built empty, then add() one agent at a time", _grown(ring_cls, agents))):
                after = self.mapping(other)
                moved = [k for k in keys if after[k] != before[k]]
                if moved:
                    k = moved[0]
                    raise CaseFailed(f"a ring {label} maps {len(moved)} of {len(keys)} keys differently, e.g. "
                                     f"{k!r}: {before[k]!r} then {after[k]!r}; a restarted Worker would route those "
                                     f"conversations elsewhere (the ring may depend only on the set of agents; "
                                     f"use stable_hash, never hash())")
            return "same answers after a restart"
        if self.prop == "add":
            ring.add(self.newcomer)
            after = self.mapping(ring)
            moved = [k for k in keys if after[k] != before[k]]
            wrong = [k for k in moved if after[k] != self.newcomer]
            if wrong:
                k = wrong[0]
                raise CaseFailed(f"adding {self.newcomer!r} moved {k!r} from {before[k]!r} to {after[k]!r}: keys may "
                                 f"only move to the new agent")
            limit = MOVE_SLACK / (len(agents) + 1) + NOISE
            if len(moved) / len(keys) > limit:
                raise CaseFailed(f"adding {self.newcomer!r} to {len(agents)} agents moved {len(moved)} of {len(keys)} "
                                 f"keys ({len(moved) / len(keys):.0%}); a consistent ring moves about 1/{len(agents) + 1} "
                                 f"(at most {limit:.0%} here): spread each agent over many points (vnodes)")
            ring.remove(self.newcomer)
            back = self.mapping(ring)
            if back != before:
                k = next(k for k in keys if back[k] != before[k])
                raise CaseFailed(f"after add({self.newcomer!r}) then remove({self.newcomer!r}), {k!r} maps to "
                                 f"{back[k]!r} instead of {before[k]!r}")
            return f"{len(moved)} of {len(keys)} keys moved, all to the newcomer"
        gone = agents[-1]
        ring.remove(gone)
        after = self.mapping(ring)
        wrong = [k for k in keys if after[k] != before[k] and before[k] != gone]
        if wrong:
            k = wrong[0]
            raise CaseFailed(f"removing {gone!r} moved {k!r} from {before[k]!r} to {after[k]!r}: only the removed "
                             f"agent's keys may move")
        if any(a == gone for a in after.values()):
            k = next(k for k, a in after.items() if a == gone)
            raise CaseFailed(f"after remove({gone!r}), agent_for({k!r}) still returns {gone!r}")
        return "only the removed agent's keys moved"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        low = 1 if self.prop in ("members", "add") else 2
        return st.tuples(st.integers(low, len(self.agents)), st.integers(1, len(self.keys))).map(
            lambda t: replace(self, agents=self.agents[:t[0]], keys=self.keys[:t[1]]))


def _grown(ring_cls: Any, agents: list[str]) -> Any:
    ring = ring_cls([])
    for agent in agents:
        ring.add(agent)
    return ring


class RingScenario(Scenario):
    """Each property on its own seeded membership and keys."""

    default_target = "HashRing"

    def __init__(self, seed: int = 0) -> None:
        super().__init__("ring", seed, f"day2.ring_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        out = []
        for prop in PROPERTIES:
            rng = random_stream("day2", "ring", self.seed, prop)
            agents = tuple(f"agent-{rng.randrange(1000, 9999)}" for _ in range(rng.randint(3, 8)))
            keys = tuple(f"conv-{rng.randrange(16 ** 6):06x}" for _ in range(KEYS))
            out.append(RingCase(prop, agents, keys, f"agent-new-{rng.randrange(100)}"))
        return out

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return "members only, stable across restarts, adding or removing an agent moves only its share"


def ring_scenario(seed: int = 0) -> RingScenario:
    """The ring's properties on seeded memberships and keys."""
    return RingScenario(seed)


def grade_ring(ring_cls: Any, seed: int = 0) -> CheckResult:
    return ring_scenario(seed).run(ring_cls).assert_ok()


__all__ = ["MOVE_SLACK", "PROPERTIES", "RingCase", "RingScenario", "grade_ring", "ring_scenario"]
