"""Question 5, tenant isolation: a router that never sends one tenant's request to another's object.

One Durable Object per (tenant, agent): the learner's ``object_name(tenant, agent)`` is the
name the Worker passes to ``idFromName``. Two different pairs that get the same name share one
object, its memory and its storage: a cross-tenant leak. The cases are adversarial ids, each
family built to collide under a common shortcut:

- ``separator``: ``("acme", "x:y")`` and ``("acme:x", "y")`` (joining with a separator that may
  occur in the ids), for several separators and plain concatenation;
- ``case``: ``"Acme"`` and ``"acme"``, ``"acme "`` and ``"acme"`` (lower-casing, stripping);
- ``unicode``: ``"acmé"`` and ``"acme"``, a zero-width space (dropping what is not ASCII);
- ``escape``: ``"a%3Ab"`` and ``"a:b"`` (escaping only the separator);
- ``long``: ids of 64 characters that differ only at the end (truncating the name).

The valid pairs go through a Worker on the emulator: each request carries a tenant's token, the
Worker (the checker's) authenticates it, calls ``object_name`` and forwards to
``env.AGENTS.getByName(name)``; the object remembers the first (tenant, agent) it served and
reports any other. Invalid ids (empty, longer than :data:`~.types.MAX_ID_LENGTH`) must raise
``ValueError`` before any object is touched.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence
from urllib.parse import quote, unquote, urlparse

from course.checks.day2.emulate import COMPATIBILITY_DATE
from course.checks.day2.types import MAX_ID_LENGTH
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream
from course.runtime import Runtime
from course.workers import DurableObject, Response, WorkerEntrypoint

#: The adversarial families, one case each.
FAMILIES = ("separator", "case", "unicode", "escape", "long", "invalid")
SEPARATORS = (":", "/", "-", "_", ".", "|", "#", "")


class TenantAgent(DurableObject):
    """One tenant's agent: remembers whom it belongs to, and says so on every request."""

    async def serve(self, tenant: str, agent: str) -> Any:
        owner = await self.ctx.storage.get("owner")
        if owner is None:
            owner = [tenant, agent]
            await self.ctx.storage.put("owner", owner)
        return owner


def _pairs(family: str, rng: Any) -> tuple[tuple[str, str], ...]:
    word = lambda: "".join(rng.choice("abcdefghkmnprstvxz") for _ in range(rng.randint(2, 5)))  # noqa: E731
    t, a, b = word(), word(), word()
    if family == "separator":
        pairs = []
        for sep in rng.sample(SEPARATORS, 4) + [""]:
            pairs += [(t, f"{a}{sep}{b}"), (f"{t}{sep}{a}", b)]
        return tuple(dict.fromkeys(pairs))
    if family == "case":
        return ((t.capitalize(), a), (t, a), (t + " ", a), (t, " " + a), (t.upper(), a.upper()))
    if family == "unicode":
        return ((t + "é", a), (t + "e", a), (t, a + "\u200b"), (t, a), (t + "ü", a), (t + "u", a))
    if family == "escape":
        return ((f"{t}%3A{a}", b), (f"{t}:{a}", b), (t, f"{a}%2F{b}"), (t, f"{a}/{b}"), (f"{t}\\", b), (t, "\\" + b))
    if family == "long":
        base_t = (t * 64)[:MAX_ID_LENGTH]
        base_a = (a * 64)[:MAX_ID_LENGTH - 1]
        return ((base_t, base_a + "1"), (base_t, base_a + "2"), (base_t[:-1] + "1", base_a + "1"))
    return (("", a), (t, ""), ("x" * (MAX_ID_LENGTH + 1), a), (t, "y" * (MAX_ID_LENGTH + 1)))


@dataclass(frozen=True)
class TenantCase(Case):
    """One family of adversarial (tenant, agent) pairs."""

    seed: int
    family: str
    pairs: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return f"{self.family}: pairs {[tuple(p) for p in self.pairs]}"

    def check(self, object_name: Callable[[str, str], str], log: MessageLog) -> str:
        if self.family == "invalid":
            for tenant, agent in self.pairs:
                try:
                    name = object_name(tenant, agent)
                except ValueError:
                    continue
                why = "empty" if not tenant or not agent else f"longer than {MAX_ID_LENGTH} characters"
                raise CaseFailed(f"object_name({tenant!r}, {agent!r}) returned {name!r}; an id that is {why} must "
                                 f"raise ValueError")
            return "invalid ids refused"
        for tenant, agent in self.pairs:
            first, second = object_name(tenant, agent), object_name(tenant, agent)
            if not isinstance(first, str) or first != second:
                raise CaseFailed(f"object_name({tenant!r}, {agent!r}) must return the same str every time, got "
                                 f"{first!r} then {second!r}")
        return _through_the_worker(self, object_name, log)

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.pairs)
        return st.lists(st.booleans(), min_size=n, max_size=n).map(
            lambda keep: replace(self, pairs=tuple(p for p, k in zip(self.pairs, keep) if k) or self.pairs[:1]))


def _through_the_worker(case: TenantCase, object_name: Callable[[str, str], str], log: MessageLog) -> str:
    tokens = {f"tok-{i}": tenant for i, tenant in enumerate(dict.fromkeys(t for t, _ in case.pairs))}
    by_tenant = {tenant: token for token, tenant in tokens.items()}

    class TenantEdge(WorkerEntrypoint):
        async def fetch(self, request: Any) -> Response:
            token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
            tenant = tokens.get(token)
            if tenant is None:
                return Response("unknown token", status=401)
            agent = unquote(urlparse(request.url).path.removeprefix("/agents/"))
            name = object_name(tenant, agent)
            owner = await self.env.AGENTS.getByName(name).serve(tenant, agent)
            owner = owner.to_py() if hasattr(owner, "to_py") else owner
            return Response.json({"name": name, "owner": list(owner)})

    rt = Runtime(virtual_time=True, seed=case.seed)
    try:
        rt.add_worker(TenantEdge, name="tenant-router", durable_objects={"AGENTS": TenantAgent},
                      config={"compatibility_date": COMPATIBILITY_DATE})
        client = rt.client()
        objects: dict[str, str] = {}  # object name -> its label in the log
        for tenant, agent in case.pairs:
            reply = client.get(f"/agents/{quote(agent, safe='')}", headers={"authorization": f"Bearer {by_tenant[tenant]}"})
            t = rt.clock.now()
            if reply.status_code != 200:
                raise CaseFailed(f"the router answered {reply.status_code} for tenant {tenant!r}, agent {agent!r}: "
                                 f"{reply.text[:200]}")
            body = reply.json()
            who = f"tenant{by_tenant[tenant].removeprefix('tok-')}"
            obj = objects.setdefault(body["name"], f"object{len(objects) + 1}")
            log.record(t, who, obj, "request", f"tenant={_short(tenant)} agent={_short(agent)} "
                                               f"name={_short(body['name'])}")
            owner = tuple(body["owner"])
            if owner != (tenant, agent):
                log.record(t, obj, who, "reply", f"owned by tenant={_short(owner[0])} agent={_short(owner[1])}",
                           "cross-tenant")
                raise CaseFailed(f"tenant {_short(tenant)}'s request for agent {_short(agent)} reached object "
                                 f"{_short(body['name'], 60)}, which already belongs to tenant {_short(owner[0])}, "
                                 f"agent {_short(owner[1])}: two pairs "
                                 f"share one object (make the name injective: encode each id so no separator, case, "
                                 f"escape or length trick can make two pairs meet)")
    finally:
        rt.close()
    return f"{len(case.pairs)} pairs, {len(case.pairs)} separate objects"


def _short(text: str, keep: int = 24) -> str:
    """``text`` quoted, cut to ``keep`` characters for the log (long ids say how long they were)."""
    return repr(text) if len(text) <= keep else repr(text[:keep]) + f"...({len(text)} chars)"


class TenantScenario(Scenario):
    """Every family of adversarial ids, drawn from the seed."""

    default_target = "object_name"

    def __init__(self, seed: int = 0) -> None:
        super().__init__("tenants", seed, f"day2.tenant_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        return [TenantCase(self.seed, family, _pairs(family, random_stream("day2", "tenants", self.seed, family)))
                for family in FAMILIES]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"no two pairs share an object across {len(cases) - 1} adversarial families; invalid ids refused"


def tenant_scenario(seed: int = 0) -> TenantScenario:
    """Adversarial tenant and agent ids through a router on the emulator."""
    return TenantScenario(seed)


def grade_tenants(object_name: Callable[[str, str], str], seed: int = 0) -> CheckResult:
    return tenant_scenario(seed).run(object_name).assert_ok()


__all__ = ["FAMILIES", "TenantAgent", "TenantCase", "TenantScenario", "grade_tenants", "tenant_scenario"]
