"""Question 4, the lost update: concurrent reservations on a quota agent, and nothing lost or overspent.

The given ``QuotaAgent`` reads its state, asks the pricing agent (another Durable Object, so
an await that opens the input gate), then writes what it read plus its change: two requests
that interleave at that await both start from the same state, and the second write erases the
first (a lost update). The learner fixes ``reserve``. The checks run it on the emulator against
the checks' ``PRICER`` (it answers after a seeded delay, so requests overlap) and check, once
every reply is in:

- ``remaining == INITIAL_QUOTA - sum(grants)`` and never below zero (no grant lost, nothing
  overspent);
- every request has its entry in ``grants`` (the cost if granted, 0 if refused), matching its
  reply; a request refused only if it did not fit: no refused cost fits in what is left;
- a request id sent again gets the same answer and is charged once.

Fault kinds (:data:`FAULTS`): ``concurrent`` (a burst at once), ``duplicate`` (each request
sent twice at once), ``evict`` (the agent evicted between two bursts), ``crash`` (the agent
reset mid-burst; the client retries the requests that failed, with the same ids).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day3.emulate import ObjectRaised, call, emulated, move_to, plain
from course.checks.day3.types import INITIAL_QUOTA, PRICE_PER_TOKEN
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream
from course.workers import DurableObject

FAULTS = ("concurrent", "duplicate", "evict", "crash")
BINDING, QUOTA = "QUOTA", "tenant-acme"
#: The pricing agent's delay range (seconds); the requests overlap within it.
PRICER_DELAY = (0.05, 0.4)
#: Seconds between two requests of a burst.
BURST_GAP = 0.02


@dataclass(frozen=True)
class QuotaCase(Case):
    seed: int
    kind: str
    requests: tuple[tuple[str, int], ...]  # (request id, tokens), in sending order
    delays: tuple[float, ...]  # the pricer's delay for the i-th price() call it answers

    def describe(self) -> str:
        reqs = ", ".join(f"{r}:{n}" for r, n in self.requests)
        fault = {"concurrent": "all at once", "duplicate": "each sent twice at once",
                 "evict": "in two bursts, the agent evicted between them",
                 "crash": "all at once, the agent reset mid-burst, failed requests retried"}[self.kind]
        return f"{len(self.requests)} reservations (id:tokens) {reqs}; {fault}; quota {INITIAL_QUOTA}"

    def check(self, quota_cls: Any, log: MessageLog) -> str:
        return _Run(self, quota_cls, log).go()

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.requests)
        return st.lists(st.booleans(), min_size=n, max_size=n).map(
            lambda keep: replace(self, requests=tuple(r for r, k in zip(self.requests, keep) if k) or self.requests[:2]))


class _Run:
    def __init__(self, case: QuotaCase, quota_cls: Any, log: MessageLog) -> None:
        self.case, self.log = case, log
        world = self
        self.calls = 0

        class Pricer(DurableObject):
            async def price(self, tokens: Any) -> Any:
                delay = world.case.delays[world.calls % len(world.case.delays)]
                world.calls += 1
                await asyncio.sleep(delay)
                return int(tokens) * PRICE_PER_TOKEN

        self.rt = emulated({BINDING: quota_cls, "PRICER": Pricer}, seed=case.seed)

    def stub(self) -> Any:
        return self.rt.env[BINDING].getByName(QUOTA)

    def burst(self, requests: Sequence[tuple[str, int]], *, crash_after: float | None = None) -> list[Any]:
        rt = self.rt

        async def one(i: int, rid: str, tokens: int) -> Any:
            await asyncio.sleep(i * BURST_GAP)
            self.log.record(round(rt.clock.now(), 3), "client", "quota", "reserve", f"{rid} tokens={tokens}")
            try:
                reply = plain(await self.stub().reserve(rid, tokens))
            except asyncio.CancelledError:
                reply = ObjectRaised("reset")
            except Exception as exc:  # noqa: BLE001 - a reset or the learner's error: the caller sees it
                reply = exc
            shown = repr(reply) if not isinstance(reply, BaseException) else f"error: {str(reply)[:50]}"
            self.log.record(round(rt.clock.now(), 3), "quota", "client", "reserve.reply", f"{rid} {shown}")
            return reply

        async def crash_later(t: float) -> None:
            await asyncio.sleep(t)
            self.log.record(round(rt.clock.now(), 3), "platform", "quota", "crash", "memory and unconfirmed writes lost", "fault")
            rt.crash(BINDING, QUOTA)

        async def go() -> list[Any]:
            tasks = [one(i, r, n) for i, (r, n) in enumerate(requests)]
            extra = [crash_later(crash_after)] if crash_after is not None else []
            return (await asyncio.gather(*tasks, *extra))[:len(tasks)]

        return rt.call(go())

    def go(self) -> str:
        case, rt = self.case, self.rt
        try:
            reqs = list(case.requests)
            replies: dict[str, list[Any]] = {}
            if case.kind == "evict":
                half = len(reqs) // 2
                for rid, r in zip([x[0] for x in reqs[:half]], self.burst(reqs[:half])):
                    replies.setdefault(rid, []).append(r)
                self.log.record(round(rt.clock.now(), 3), "platform", "quota", "evict", "memory lost, storage kept", "fault")
                rt.evict(BINDING, QUOTA)
                move_to(rt, rt.clock.now() + 1)
                for rid, r in zip([x[0] for x in reqs[half:]], self.burst(reqs[half:])):
                    replies.setdefault(rid, []).append(r)
            else:
                sent = [x for r in reqs for x in ([r, r] if case.kind == "duplicate" else [r])]
                crash_at = (sum(PRICER_DELAY) / 2) if case.kind == "crash" else None
                for (rid, _), r in zip(sent, self.burst(sent, crash_after=crash_at)):
                    replies.setdefault(rid, []).append(r)
                failed = [(rid, n) for rid, n in reqs if all(isinstance(r, BaseException) for r in replies[rid])]
                if case.kind == "crash" and failed:
                    move_to(rt, rt.clock.now() + 1)
                    for rid, r in zip([x[0] for x in failed], self.burst(failed)):
                        replies[rid].append(r)
            for rid, got in replies.items():
                errors = [r for r in got if isinstance(r, BaseException)]
                if any("NotImplementedError" in str(r) for r in errors):
                    raise NotImplementedError(str(errors[0]))
                if errors and (case.kind != "crash" or len(errors) == len(got)):
                    raise CaseFailed(f"reserve({rid!r}, ...) raised {str(errors[0])[:120]}")
            move_to(rt, rt.clock.now() + 1)
            t = rt.clock.now()
            try:
                usage = call(rt, lambda: self.stub().usage())
            except ObjectRaised as exc:
                raise CaseFailed(f"usage() raised {exc}") from None
            self.log.record(round(t, 3), "client", "quota", "usage")
            self.log.record(round(t, 3), "quota", "client", "usage.reply", repr(usage)[:90])
            self.verify(replies, usage)
            granted = sum(1 for rid in replies if usage["grants"].get(rid))
            return f"{granted} of {len(replies)} granted, nothing lost"
        finally:
            rt.close()

    def verify(self, replies: dict[str, list[Any]], usage: Any) -> None:
        tokens = dict(self.case.requests)
        if not isinstance(usage, dict) or "remaining" not in usage or "grants" not in usage:
            raise CaseFailed(f"usage() returned {usage!r}, expected {{'remaining': int, 'grants': {{request_id: cost}}}}")
        grants, remaining = dict(usage["grants"]), usage["remaining"]
        missing = [rid for rid in tokens if rid not in grants]
        if missing:
            raise CaseFailed(f"grants has no entry for {missing} although every request got its reply: a lost update "
                             f"(two reserve() calls read the same state across the await on the pricer, and the "
                             f"second write erased the first)")
        spent = sum(grants.values())
        if remaining != INITIAL_QUOTA - spent or remaining < 0:
            raise CaseFailed(f"remaining is {remaining}, but the grants add up to {spent} of {INITIAL_QUOTA} "
                             f"(expected remaining {INITIAL_QUOTA - spent}, never below 0): a lost update")
        for rid, got in replies.items():
            answers = [r for r in got if not isinstance(r, BaseException)]
            want_cost = tokens[rid] * PRICE_PER_TOKEN
            for r in answers:
                if not isinstance(r, dict) or r.get("granted") != (grants[rid] > 0):
                    raise CaseFailed(f"reserve({rid!r}) answered {r!r} but grants[{rid!r}] is {grants[rid]}")
                if r.get("granted") and grants[rid] != want_cost:
                    raise CaseFailed(f"{rid} was granted at cost {grants[rid]}, expected {want_cost}")
            if len({repr(sorted(r.items())) for r in answers if isinstance(r, dict)}) > 1:
                raise CaseFailed(f"{rid} sent twice got two different answers {answers}: a retry must get the same one")
        refused = [rid for rid in tokens if grants[rid] == 0 and tokens[rid] * PRICE_PER_TOKEN <= remaining]
        if refused:
            raise CaseFailed(f"{refused[0]} (cost {tokens[refused[0]] * PRICE_PER_TOKEN}) was refused, yet {remaining} "
                             f"tokens are left: refuse only what does not fit")


def quota_case(seed: int, kind: str) -> QuotaCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day3", "quota", seed, kind)
    n = rng.randint(5, 8)
    requests = tuple((f"r{i}-{rng.randrange(10, 99)}", rng.randrange(100, 350)) for i in range(n))
    delays = tuple(round(rng.uniform(*PRICER_DELAY), 3) for _ in range(2 * n))
    return QuotaCase(seed, kind, requests, delays)


class QuotaScenario(Scenario):
    default_target = "QuotaAgent"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("lost-update" if faults is None else f"lost-update/{'+'.join(self.kinds)}", seed,
                         f"day3.lost_update_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [quota_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"concurrent reservations under faults {list(self.kinds)}: no update lost, nothing overspent"


def lost_update_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> QuotaScenario:
    """Concurrent reservations on the quota agent, against a pricer that answers after a delay."""
    return QuotaScenario(seed, faults)


def grade_lost_update(quota_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return lost_update_scenario(seed, faults).run(quota_cls).assert_ok()


__all__ = ["FAULTS", "QuotaCase", "QuotaScenario", "grade_lost_update", "lost_update_scenario", "quota_case"]
