"""Question 3, the retry policy: full jitter, Retry-After, only what is safe to retry, within a budget.

The learner's ``call_with_retries(send, call, rng, budget)`` sends a :class:`~.types.Call`
through ``send`` (an ``async`` function returning a :class:`~.types.Reply` or raising
:class:`~.types.NetworkError`) and retries it by the question's rules, on the virtual clock.
The checker's server answers each call from a script (statuses, ``Retry-After``, lost
connections), records the virtual time of every attempt, and compares the attempts and the
waits between them with the rules, drawing the expected full-jitter waits from a copy of the
same seeded ``rng``.

Fault kinds (:data:`FAULTS`): ``server_error`` (500/502/503/504 before a success),
``rate_limit`` (429 with ``Retry-After``), ``client_error`` (4xx: never retried),
``unsafe`` (a POST without an idempotency key is never retried; with one it is),
``network`` (lost connections, and a call that never gets through), ``budget`` (an outage that
would use more retries than the budget holds).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day5.types import (BASE_BACKOFF, IDEMPOTENT_METHODS, MAX_ATTEMPTS, MAX_BACKOFF,
                                      RETRYABLE_STATUSES, Call, NetworkError, Reply, RetryBudget)
from course.checks.harness import (Case, CaseFailed, CheckResult, MessageLog, Scenario, describe_exception,
                                   random_stream, run_on_virtual_clock)

#: The fault kinds of the retry scenarios; the visible test runs every one of them.
FAULTS = ("server_error", "rate_limit", "client_error", "unsafe", "network", "budget")
#: Virtual seconds of slack when comparing the time between two attempts with the expected wait.
TOLERANCE = 1e-6
#: What the server answers: a status (with Retry-After) or "network" (the connection is lost).
Outcome = tuple[int, float | None] | str


@dataclass(frozen=True)
class Scripted:
    call: Call
    outcomes: tuple[Outcome, ...]  # then 200 for ever

    def describe(self) -> str:
        shown = ", ".join(o if isinstance(o, str) else (f"{o[0]} Retry-After {o[1]:g}" if o[1] is not None else str(o[0]))
                          for o in self.outcomes)
        key = f" key={self.call.idempotency_key}" if self.call.idempotency_key else ""
        return f"{self.call.method} {self.call.path}{key} -> [{shown or 'ok'}]"


def rng_for(seed: int, kind: str) -> Any:
    """The ``rng`` a case hands to the learner's code (the checker draws from an equal copy)."""
    return random_stream("day5", "retries", "jitter", seed, kind)


@dataclass(frozen=True)
class RetryCase(Case):
    seed: int
    kind: str
    calls: tuple[Scripted, ...]
    budget: int

    def describe(self) -> str:
        return f"budget {self.budget}; " + "; ".join(c.describe() for c in self.calls)

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n = len(self.calls)
        if n <= 1:
            return None
        return st.lists(st.booleans(), min_size=n, max_size=n).map(
            lambda keep: RetryCase(self.seed, self.kind, tuple(c for c, k in zip(self.calls, keep) if k)
                                   or self.calls[:1], self.budget))

    def check(self, call_with_retries: Any, log: MessageLog) -> str:
        def go() -> Any:
            return self._run(call_with_retries, log)

        try:
            return run_on_virtual_clock(go, deadline=600, real_timeout=30)[0]
        except CaseFailed:
            raise
        except NotImplementedError:
            raise
        except Exception as exc:
            if type(exc).__name__ in ("VirtualDeadlineExceeded", "RealTimeExceeded"):
                raise CaseFailed(f"call_with_retries {exc}") from None
            raise

    async def _run(self, call_with_retries: Any, log: MessageLog) -> str:
        loop = asyncio.get_running_loop()
        rng, model_rng = rng_for(self.seed, self.kind), rng_for(self.seed, self.kind)
        budget, model_budget = RetryBudget(self.budget), self.budget
        for scripted in self.calls:
            call = scripted.call
            times: list[float] = []
            script = list(scripted.outcomes)

            async def send(sent: Any) -> Reply:
                if sent != call:
                    raise CaseFailed(f"send() got {sent!r}, expected the call itself, {call!r}")
                times.append(loop.time())
                outcome = script.pop(0) if script else (200, None)
                key = f" key={call.idempotency_key}" if call.idempotency_key else ""
                log.record(loop.time(), "client", "agent", f"http.{call.method}", f"{call.path}{key} (attempt {len(times)})")
                if outcome == "network":
                    log.record(loop.time(), "agent", "client", "connection.lost", "", "lost: connection reset")
                    raise NetworkError("connection lost")
                status, after = outcome
                log.record(loop.time(), "agent", "client", f"http.{status}.reply",
                           f"Retry-After: {after:g}" if after is not None else "")
                return Reply(status, {"ok": status < 400}, after)

            what = f"call_with_retries for {scripted.describe()}"
            start = loop.time()
            try:
                got: Any = await call_with_retries(send, call, rng, budget)
            except NetworkError as exc:
                got = exc
            # The model: which attempts, which waits, what comes out.
            expected_waits, final, model_script = [], None, list(scripted.outcomes)
            safe = call.method in IDEMPOTENT_METHODS or call.idempotency_key is not None
            for attempt in range(MAX_ATTEMPTS):
                outcome = model_script.pop(0) if model_script else (200, None)
                final = outcome
                failed = outcome == "network" or outcome[0] in RETRYABLE_STATUSES
                if not failed or not safe or attempt == MAX_ATTEMPTS - 1 or model_budget <= 0:
                    break
                model_budget -= 1
                after = None if outcome == "network" else outcome[1]
                expected_waits.append(after if after is not None else
                                      model_rng.uniform(0, min(MAX_BACKOFF, BASE_BACKOFF * 2 ** attempt)))
            want_attempts = len(expected_waits) + 1
            if len(times) != want_attempts:
                raise CaseFailed(f"{what} made {len(times)} attempt(s), expected {want_attempts}: "
                                 + _why(scripted, len(times), want_attempts, safe, model_budget, budget))
            waits = [b - a for a, b in zip([start] + times, times)][1:]
            for i, (w, e) in enumerate(zip(waits, expected_waits)):
                if abs(w - e) > TOLERANCE:
                    outcome = scripted.outcomes[i] if i < len(scripted.outcomes) else None
                    after = outcome[1] if isinstance(outcome, tuple) else None
                    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** i)
                    rule = (f"the server said Retry-After: {after:g}, so wait exactly that" if after is not None else
                            f"full jitter: wait rng.uniform(0, {ceiling:g}) (min(MAX_BACKOFF, BASE_BACKOFF * 2**{i})), "
                            f"one draw per retry, which gives {e:.4f}s here")
                    raise CaseFailed(f"{what}: retry {i + 1} came {w:.4f}s after attempt {i + 1}, expected {e:.4f}s: {rule}")
            if final == "network":
                if not isinstance(got, NetworkError):
                    raise CaseFailed(f"{what} returned {got!r}: the last attempt lost its connection, so raise that "
                                     "NetworkError")
            elif not isinstance(got, Reply) or got.status != final[0]:
                raise CaseFailed(f"{what} returned {describe_exception(got) if isinstance(got, Exception) else got!r}, "
                                 f"expected the last reply (status {final[0]})")
        if budget.spent != self.budget - model_budget:
            raise CaseFailed(f"the budget was asked for {budget.spent} retries, expected {self.budget - model_budget}: "
                             "ask it (budget.try_spend()) once before each retry, and only then")
        return f"{len(self.calls)} calls retried by the rules"


def _why(scripted: Scripted, got: int, want: int, safe: bool, left: int, budget: RetryBudget) -> str:
    first = scripted.outcomes[0] if scripted.outcomes else (200, None)
    if got > want:
        if not safe:
            return f"{scripted.call.method} without an idempotency key is not safe to send twice"
        if isinstance(first, tuple) and 400 <= first[0] < 500 and first[0] != 429:
            return f"a {first[0]} means the request is wrong; sending it again cannot help"
        if budget.refused:
            return "the retry budget was empty (try_spend() returned False): stop retrying"
        return f"at most MAX_ATTEMPTS={MAX_ATTEMPTS} attempts, and none after a success"
    return "a 429, a 5xx or a lost connection of a safe call is retried (while attempts and budget last)"


def retry_case(seed: int, kind: str) -> RetryCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day5", "retries", seed, kind)
    get = Call("GET", f"/tasks/t-{rng.randrange(100, 999)}")
    put = Call("PUT", f"/records/r-{rng.randrange(100, 999)}", {"value": rng.randrange(10)})
    post = Call("POST", "/tasks", {"skill": "reverse", "input": "a b"})
    keyed = Call("POST", "/tasks", {"skill": "word_count", "input": "a b c"}, idempotency_key=f"k-{rng.randrange(1000)}")
    fives = (500, 502, 503, 504)
    budget = 20
    if kind == "server_error":
        calls = [Scripted(get, ((rng.choice(fives), None), (rng.choice(fives), None))),
                 Scripted(put, ((503, None),) * 5)]
    elif kind == "rate_limit":
        calls = [Scripted(get, ((429, float(rng.randint(2, 5))), (503, None))),
                 Scripted(keyed, ((429, float(rng.randint(1, 3))),))]
    elif kind == "client_error":
        calls = [Scripted(get, ((rng.choice((400, 404, 409, 422)), None),)),
                 Scripted(keyed, ((rng.choice((400, 403, 422)), None),)), Scripted(get, ())]
    elif kind == "unsafe":
        calls = [Scripted(post, ((503, None),)), Scripted(post, ("network",)), Scripted(keyed, ((503, None), "network"))]
    elif kind == "network":
        calls = [Scripted(get, ("network", "network")), Scripted(put, ("network",) * 6)]
    else:
        budget = rng.randint(2, 4)
        calls = [Scripted(get, ((503, None),) * 6), Scripted(put, ((503, None),) * 6), Scripted(keyed, ((503, None),) * 6)]
    return RetryCase(seed, kind, tuple(calls), budget)


class RetryScenario(Scenario):
    default_target = "call_with_retries"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("retries" if faults is None else f"retries/{'+'.join(self.kinds)}", seed,
                         f"day5.retry_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [retry_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"every attempt and wait by the rules under {list(self.kinds)}"


def retry_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> RetryScenario:
    """5xx, 429 with Retry-After, 4xx, unsafe calls, lost connections and an empty budget against the policy."""
    return RetryScenario(seed, faults)


def grade_retries(call_with_retries: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return retry_scenario(seed, faults).run(call_with_retries).assert_ok()


__all__ = ["FAULTS", "RetryCase", "RetryScenario", "Scripted", "grade_retries", "retry_case", "retry_scenario", "rng_for"]
