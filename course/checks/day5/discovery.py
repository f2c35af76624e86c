"""Question 5, a discovering client: registry lookup, health checks, failover, under partitions.

The learner's ``DiscoveringClient(fetch)`` answers ``await client.call(skill, payload, key)``:
it asks the registry (``GET {REGISTRY_URL}/agents?skill=...``: a list of ``{"name", "url"}``,
possibly stale), remembers the last list it got per skill (the registry can be cut off), and
tries the agents in the registry's order: a health check (``GET {url}/health``, 200 within
:data:`~.types.HEALTH_TIMEOUT`), then the task (``POST {url}/tasks`` with the payload and an
``Idempotency-Key`` header, a 2xx within :data:`~.types.CALL_TIMEOUT`); anything else moves on
to the next agent. With nobody left it raises :class:`~.types.NoAgentAvailable`.

The checker's ``fetch(method, url, body=None, headers=None)`` is an emulated network on the
virtual clock: agents answer, refuse connections (:class:`~.types.NetworkError`), or never
answer (a partition: only a timeout gets the client out).

Fault kinds (:data:`FAULTS`): ``dead_agent`` (the registry still lists a dead agent),
``partition`` (an agent that never answers), ``unhealthy`` (503 on /health), ``agent_fails``
(healthy, but the task call fails: fail over with the same key), ``registry_down`` (the
registry is cut off after the first call), ``all_down`` (nobody answers).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day5.types import (CALL_TIMEOUT, HEALTH_TIMEOUT, REGISTRY_URL, NetworkError, NoAgentAvailable,
                                      Reply, run_skill)
from course.checks.harness import (Case, CaseFailed, CheckResult, MessageLog, Scenario, describe_exception,
                                   random_stream, run_on_virtual_clock)

#: The fault kinds of the discovery scenarios; the visible test runs every one of them.
FAULTS = ("dead_agent", "partition", "unhealthy", "agent_fails", "registry_down", "all_down")
#: How an emulated agent behaves: answers, refuses connections, never answers, 503 on /health, 503 on /tasks.
BEHAVIOURS = ("ok", "dead", "partitioned", "unhealthy", "failing")
#: One-way network latency of the emulated network, in seconds.
LATENCY = 0.02
SKILL = "word_count"
SLACK = 0.5


@dataclass(frozen=True)
class Round:
    """One ``call`` of the client: the agents' behaviours then, and whether the registry answers."""

    behaviours: tuple[str, ...]
    registry_up: bool = True

    def describe(self, names: Sequence[str]) -> str:
        shown = ", ".join(f"{n}:{b}" for n, b in zip(names, self.behaviours))
        return f"[{shown}{'' if self.registry_up else ', registry cut off'}]"


@dataclass(frozen=True)
class DiscoveryCase(Case):
    seed: int
    kind: str
    names: tuple[str, ...]
    rounds: tuple[Round, ...]

    def describe(self) -> str:
        return f"{len(self.rounds)} calls: " + " ".join(r.describe(self.names) for r in self.rounds)

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.rounds)
        return st.integers(1, n).map(lambda k: DiscoveryCase(self.seed, self.kind, self.names, self.rounds[:k]))

    def check(self, client_cls: Any, log: MessageLog) -> str:
        try:
            return run_on_virtual_clock(lambda: self._run(client_cls, log), deadline=600, real_timeout=30)[0]
        except (CaseFailed, NotImplementedError):
            raise
        except Exception as exc:
            if type(exc).__name__ in ("VirtualDeadlineExceeded", "RealTimeExceeded"):
                raise CaseFailed(f"client.call {exc}: an agent that never answers needs a timeout") from None
            raise

    async def _run(self, client_cls: Any, log: MessageLog) -> str:
        loop = asyncio.get_running_loop()
        current: dict[str, Any] = {}
        urls = {f"https://{n}.agents": n for n in self.names}

        async def fetch(method: str, url: str, body: Any = None, headers: Any = None) -> Reply:
            rnd: Round = current["round"]
            seen: list[tuple[str, str, Any]] = current["seen"]
            host = url.split("/")[2] if "//" in url else url
            path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
            target = "registry" if url.startswith(REGISTRY_URL) else urls.get(f"https://{host}", host)
            key = dict(headers or {}).get("idempotency-key") or dict(headers or {}).get("Idempotency-Key")
            log.record(loop.time(), "client", target, f"http.{method}", path + (f" key={key}" if key else ""))
            seen.append((target, f"{method} {path.split('?')[0]}", key))
            if target == "registry":
                if not rnd.registry_up:
                    log.record(loop.time(), "client", "registry", "no.reply", "", "lost: partition")
                    await asyncio.Event().wait()  # a partition: no answer, ever
                await asyncio.sleep(2 * LATENCY)
                listing = [{"name": n, "url": f"https://{n}.agents"} for n in self.names]
                log.record(loop.time(), "registry", "client", "http.200.reply", ", ".join(self.names))
                return Reply(200, listing)
            if target not in self.names:
                raise NetworkError(f"no such host {host!r}")
            behaviour = rnd.behaviours[self.names.index(target)]
            if behaviour == "dead":
                await asyncio.sleep(LATENCY)
                log.record(loop.time(), target, "client", "connection.refused", "", "lost: agent is down")
                raise NetworkError(f"connection refused by {target}")
            if behaviour == "partitioned":
                log.record(loop.time(), "client", target, "no.reply", "", "lost: partition")
                await asyncio.Event().wait()
            await asyncio.sleep(2 * LATENCY)
            if path == "/health":
                status = 503 if behaviour == "unhealthy" else 200
                log.record(loop.time(), target, "client", f"http.{status}.reply", "health")
                return Reply(status, {"status": "ok" if status == 200 else "draining"})
            if path == "/tasks" and method == "POST":
                status = 503 if behaviour == "failing" else 200
                log.record(loop.time(), target, "client", f"http.{status}.reply", "task")
                result = {"agent": target, "result": run_skill(SKILL, str((body or {}).get("input", "")))}
                return Reply(status, result if status == 200 else {"title": "overloaded"})
            log.record(loop.time(), target, "client", "http.404.reply", path)
            return Reply(404, {"title": "no such route"})

        client = client_cls(fetch)
        for i, rnd in enumerate(self.rounds):
            current["round"], current["seen"] = rnd, []
            payload, key = {"input": f"call {i + 1} of the discovering client"}, f"k-{self.seed}-{i}"
            what = f"call {i + 1} {rnd.describe(self.names)}"
            cached = any(r.registry_up for r in self.rounds[:i + 1])
            healthy = [n for n, b in zip(self.names, rnd.behaviours) if b == "ok"]
            start = loop.time()
            try:
                got: Any = await client.call(SKILL, payload, key)
            except NoAgentAvailable as exc:
                got = exc
            took = loop.time() - start
            seen = current["seen"]
            if not cached or not healthy:
                if not isinstance(got, NoAgentAvailable):
                    raise CaseFailed(f"{what} returned {got!r}: " + ("nobody could answer" if cached else
                                     "the registry never answered and nothing was remembered")
                                     + ", so raise NoAgentAvailable")
            else:
                want = {"agent": healthy[0], "result": run_skill(SKILL, payload["input"])}
                if got != want:
                    shown = describe_exception(got) if isinstance(got, Exception) else repr(got)
                    raise CaseFailed(f"{what} returned {shown}, expected {want}: the first agent in the registry's "
                                     "order that is healthy and answers the task")
            for n, b in zip(self.names, rnd.behaviours):
                if b in ("dead", "partitioned", "unhealthy") and (n, "POST /tasks", key) in [(t, c, k) for t, c, k in seen]:
                    raise CaseFailed(f"{what}: the client sent the task to {n} whose health check failed: check "
                                     "health first, and skip an agent that is not healthy")
            keys = {k for _, c, k in seen if c == "POST /tasks"}
            if keys and keys != {key}:
                raise CaseFailed(f"{what}: the task calls carried the keys {sorted(map(str, keys))}, expected {key!r} on "
                                 "every one: a failover resends the same request, with the same idempotency key")
            budget = CALL_TIMEOUT + len(self.names) * (HEALTH_TIMEOUT + CALL_TIMEOUT) + SLACK
            if took > budget:
                raise CaseFailed(f"{what} took {took:g}s: with HEALTH_TIMEOUT and CALL_TIMEOUT it must end within "
                                 f"{budget:g}s")
        return f"{len(self.rounds)} calls answered by the right agent"


def discovery_case(seed: int, kind: str) -> DiscoveryCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day5", "discovery", seed, kind)
    names = tuple(f"counter-{c}{rng.randrange(10, 99)}" for c in "abc")
    ok3 = ("ok", "ok", "ok")
    bad = {"dead_agent": "dead", "partition": "partitioned", "unhealthy": "unhealthy", "agent_fails": "failing"}
    if kind in bad:
        b = bad[kind]
        rounds = [Round(ok3), Round((b, "ok", "ok")), Round((b, b, "ok")), Round(("ok", b, "ok"))]
    elif kind == "registry_down":
        rounds = [Round(ok3), Round(("dead", "ok", "ok"), registry_up=False), Round(("ok", "partitioned", "ok"), False)]
    else:
        rounds = [Round(("ok", "dead", "ok")), Round(("dead", "partitioned", "unhealthy")),
                  Round(("failing", "dead", "dead"))]
    return DiscoveryCase(seed, kind, names, tuple(rounds))


class DiscoveryScenario(Scenario):
    default_target = "DiscoveringClient"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("discovery" if faults is None else f"discovery/{'+'.join(self.kinds)}", seed,
                         f"day5.discovery_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [discovery_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"every call reached a healthy agent (or said none was) under {list(self.kinds)}"


def discovery_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> DiscoveryScenario:
    """Dead, cut-off, unhealthy and failing agents, and a registry that goes away, against the client."""
    return DiscoveryScenario(seed, faults)


def grade_discovery(client_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return discovery_scenario(seed, faults).run(client_cls).assert_ok()


__all__ = ["BEHAVIOURS", "FAULTS", "DiscoveryCase", "DiscoveryScenario", "discovery_case", "discovery_scenario",
           "grade_discovery"]
