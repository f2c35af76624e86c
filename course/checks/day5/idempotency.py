"""Question 2, idempotency keys: one task per key, the same response replayed, under retries and duplicates.

The learner's ``IdempotentAgent`` is a Durable Object whose ``fetch`` serves ``POST /tasks``
with an ``Idempotency-Key`` header (the IETF httpapi draft's name): the first request with a
key runs the task (at once) and answers 201 with the task; every later request with the same
key and the same body gets the *same* status and body again, with ``Idempotent-Replayed:
true``, and runs nothing; the same key with a different body is a 422 problem; no key is a 400
problem. ``GET /tasks`` lists every task created, which is how the checker counts them.

Fault kinds (:data:`FAULTS`): ``retry`` (the client loses a response and sends the request
again), ``duplicate`` (the network delivers one request twice, both copies in flight at once),
``conflict`` (a key reused for another body), ``missing_key``, ``evict`` (the agent's memory is
lost between the first request and its retry).
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day5.emulate import AGENT_URL, AgentUnderTest, body_of, expect_problem, short
from course.checks.day5.types import SKILLS, run_skill
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the idempotency scenarios; the visible test runs every one of them.
FAULTS = ("retry", "duplicate", "conflict", "missing_key", "evict")
KEY_HEADER, REPLAYED_HEADER = "idempotency-key", "idempotent-replayed"
TEXTS = ("pay the invoice", "ship order forty two", "refund the double charge", "book two seats")


@dataclass(frozen=True)
class Send:
    t: float
    op: str  # "send", "retry", "duplicate", "conflict", "missing_key", "evict"
    key: str = ""
    body: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        shown = f" key={self.key}" if self.key else ""
        return f"{self.t:g}s {self.op}{shown}" + (f" {dict(self.body)}" if self.body else "")


@dataclass(frozen=True)
class IdempotencyCase(Case):
    seed: int
    kind: str
    sends: tuple[Send, ...]

    def describe(self) -> str:
        return f"{len(self.sends)} steps: " + ", ".join(s.describe() for s in self.sends)

    def check(self, agent_cls: Any, log: MessageLog) -> str:
        with AgentUnderTest(agent_cls, seed=self.seed, log=log) as agent:
            first: dict[str, tuple[int, Any, dict[str, str]]] = {}  # key -> (status, body, request body)
            for send in self.sends:
                agent.move_to(send.t)
                body = dict(send.body)
                if send.op == "evict":
                    agent.evict()
                elif send.op == "missing_key":
                    expect_problem(agent.call("POST", "/tasks", body=body), 400,
                                   "POST /tasks without an Idempotency-Key header")
                elif send.op == "conflict":
                    what = f"POST /tasks with key {send.key!r} (used before for {first[send.key][2]}) and body {body}"
                    expect_problem(agent.call("POST", "/tasks", body=body, headers={KEY_HEADER: send.key}), 422,
                                   what + ": a key reused for a different request")
                elif send.op == "duplicate":
                    self._duplicate(agent, send, body, first)
                else:
                    note = "retry after a lost response" if send.op == "retry" else ""
                    r = agent.call("POST", "/tasks", body=body, headers={KEY_HEADER: send.key}, note=note)
                    self._answer(r, send, body, first, replay=send.op == "retry")
                    if send.op == "send" and any(s.op == "retry" and s.key == send.key for s in self.sends):
                        log.record(agent.now(), "agent", "client", "response.lost", f"key={send.key}", "dropped by the network")
            self._count(agent, first)
        return f"{len(first)} keys, {len(first)} tasks, every repeat replayed"

    def _answer(self, r: Any, send: Send, body: dict[str, str], first: dict[str, Any], *, replay: bool) -> None:
        what = f"POST /tasks with key {send.key!r} and body {body}" + (" (a retry)" if replay else "")
        if send.key in first:
            status, earlier, _ = first[send.key]
            got = body_of(r, what)
            if r.status_code != status or got != earlier:
                raise CaseFailed(f"{what} answered {r.status_code} {short(got, 80)}; the first request with this key "
                                 f"got {status} {short(earlier, 80)}: a repeat must get the same response, "
                                 "and run nothing")
            if r.headers.get(REPLAYED_HEADER, "").lower() != "true":
                raise CaseFailed(f"{what}: a replayed response carries the header 'Idempotent-Replayed: true'")
            return
        if r.status_code != 201:
            raise CaseFailed(f"{what} answered {r.status_code}, expected 201 and the task (the first use of a key)")
        got = body_of(r, what)
        want = run_skill(body["skill"], body["input"])
        if not isinstance(got, dict) or got.get("result") != want or not got.get("id"):
            raise CaseFailed(f"{what} returned {short(got, 80)}, expected a task with an 'id' and result {want!r}")
        if r.headers.get(REPLAYED_HEADER):
            raise CaseFailed(f"{what}: the first response with a key is not a replay (no Idempotent-Replayed header)")
        first[send.key] = (201, got, body)

    def _duplicate(self, agent: AgentUnderTest, send: Send, body: dict[str, str], first: dict[str, Any]) -> None:
        agent.log.record(agent.now(), "client", "agent", "http.POST", f"/tasks key={send.key} {body}  (x2 at once)",
                         "duplicate")

        async def both() -> list[Any]:
            async with agent.rt.async_client(base_url=AGENT_URL) as http:
                content = json.dumps(body)
                headers = {KEY_HEADER: send.key, "content-type": "application/json"}
                return list(await asyncio.gather(http.post("/tasks", content=content, headers=headers),
                                                 http.post("/tasks", content=content, headers=headers)))

        replies = agent.rt.call(both())
        for r in replies:
            if r.status_code == 599:
                raise NotImplementedError("the agent's fetch is not written yet")
            agent.log.record(agent.now(), "agent", "client", f"http.{r.status_code}.reply", short(r.text, 90))
        what = f"POST /tasks with key {send.key!r}, delivered twice at once"
        bodies = [(r.status_code, body_of(r, what)) for r in replies]
        if bodies[0] != bodies[1]:
            raise CaseFailed(f"{what}: the two copies got different answers {bodies[0][0]} {short(bodies[0][1], 60)} "
                             f"and {bodies[1][0]} {short(bodies[1][1], 60)}: one key, one task, one response")
        fresh = [r for r in replies if not r.headers.get(REPLAYED_HEADER)]
        self._answer(fresh[0] if fresh else replies[0], send, body, first, replay=False)

    def _count(self, agent: AgentUnderTest, first: dict[str, Any]) -> None:
        r = agent.call("GET", "/tasks")
        listing = body_of(r, "GET /tasks")
        tasks = listing.get("tasks") if isinstance(listing, dict) else None
        if r.status_code != 200 or not isinstance(tasks, list):
            raise CaseFailed(f"GET /tasks answered {r.status_code} {short(listing, 80)}, expected 200 "
                             "{'tasks': [every task created]}")
        ids = sorted(str(t.get("id")) for t in tasks if isinstance(t, dict))
        want = sorted(str(b["id"]) for _, b, _ in first.values())
        if ids != want:
            raise CaseFailed(f"the agent created {len(ids)} task(s) {ids} for {len(first)} key(s) {sorted(first)}: "
                             f"expected exactly {want}, one task per key")


def idempotency_case(seed: int, kind: str) -> IdempotencyCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day5", "idempotency", seed, kind)

    def body() -> tuple[tuple[str, str], ...]:
        return (("skill", rng.choice(SKILLS)), ("input", rng.choice(TEXTS)))

    keys = [f"k-{rng.randrange(100, 999)}{c}" for c in "abc"]
    a, b = body(), body()
    while b == a:
        b = body()
    steps = [Send(0.5, "send", keys[0], a)]
    if kind == "retry":
        steps += [Send(2.5, "retry", keys[0], a), Send(3.5, "send", keys[1], b), Send(9.5, "retry", keys[0], a)]
    elif kind == "duplicate":
        steps += [Send(1.5, "duplicate", keys[1], b), Send(2.5, "retry", keys[1], b)]
    elif kind == "conflict":
        steps += [Send(1.5, "conflict", keys[0], b), Send(2.5, "send", keys[1], b), Send(3.5, "retry", keys[0], a)]
    elif kind == "missing_key":
        steps += [Send(1.5, "missing_key", "", b), Send(2.5, "send", keys[1], b)]
    else:
        steps += [Send(1.5, "evict"), Send(2.5, "retry", keys[0], a), Send(3.5, "send", keys[1], b),
                  Send(4.5, "evict"), Send(5.5, "retry", keys[1], b)]
    return IdempotencyCase(seed, kind, tuple(steps))


class IdempotencyScenario(Scenario):
    default_target = "IdempotentAgent"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("idempotency" if faults is None else f"idempotency/{'+'.join(self.kinds)}", seed,
                         f"day5.idempotency_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [idempotency_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"one task per key and every repeat replayed under {list(self.kinds)}"


def idempotency_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> IdempotencyScenario:
    """Retries, duplicate deliveries, reused keys, missing keys and evictions against the idempotent agent."""
    return IdempotencyScenario(seed, faults)


def grade_idempotency(agent_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return idempotency_scenario(seed, faults).run(agent_cls).assert_ok()


__all__ = ["FAULTS", "IdempotencyCase", "IdempotencyScenario", "grade_idempotency", "idempotency_case",
           "idempotency_scenario"]
