"""Question 2, signed requests with replay protection: refuse what was changed, old or seen.

The learner's ``RequestVerifier(secret, *, max_skew=MAX_CLOCK_SKEW_SECONDS)`` answers
``verify(method, path, body, headers, now)``: ``None`` to accept, else the reason it refuses.
A case is a seeded stream of signed requests between two agents on a virtual clock; each
request has exactly one right answer, which the checker compares with the learner's:

- a request is accepted iff :func:`~.types.check_signature` finds nothing wrong (signature,
  headers, a timestamp within ``max_skew`` either way) **and** its nonce was not accepted
  before (within the window: older requests are stale anyway);
- a refused request leaves no trace: its nonce does not block the genuine request.

Fault kinds (:data:`FAULTS`): ``tamper`` (the body, path or method changed after signing, or
signed with another key), ``expired`` (a timestamp older than the window), ``replay`` (an
accepted request sent again), ``skew`` (the sender's clock ahead or behind: within the window
accepted, beyond it refused), ``burn`` (an attacker sends a tampered copy with the genuine
request's nonce first). A failing case shrinks to a shorter stream.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day7.types import MAX_CLOCK_SKEW_SECONDS, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the signing scenarios; the visible test runs every one of them.
FAULTS = ("tamper", "expired", "replay", "skew", "burn")
#: The epoch second the scenarios' virtual clock starts at.
EPOCH = 1_790_000_000
SECRET = "day7-shared-secret"


@dataclass(frozen=True)
class Sent:
    """One request as it arrives: what was signed, what arrives, when, and the note for the log."""

    at: float
    method: str
    path: str
    body: str
    headers: tuple[tuple[str, str], ...]
    note: str

    def line(self) -> str:
        return f"{self.method} {self.path} ts={dict(self.headers).get(TIMESTAMP_HEADER)} ({self.note})"


@dataclass(frozen=True)
class SigningCase(Case):
    fault: str
    requests: tuple[Sent, ...]

    def describe(self) -> str:
        return f"{self.fault}: {len(self.requests)} requests: " + "; ".join(
            f"t={r.at:g}s {r.line()}" for r in self.requests)

    def check(self, verifier_cls: Any, log: MessageLog) -> str:
        from course.protocol.production import check_signature

        verifier = verifier_cls(SECRET, max_skew=MAX_CLOCK_SKEW_SECONDS)
        seen: set[str] = set()
        accepted = 0
        for r in self.requests:
            h = dict(r.headers)
            now = EPOCH + r.at
            why = check_signature(SECRET, r.method, r.path, r.body, signature=h.get(SIGNATURE_HEADER),
                                  timestamp=h.get(TIMESTAMP_HEADER), nonce=h.get(NONCE_HEADER), now=now)
            if why is None and h[NONCE_HEADER] in seen:
                why = "replay: this nonce was already accepted"
            log.record(r.at, "planner", "data", "request", r.line())
            got = verifier.verify(r.method, r.path, r.body, dict(h), now)
            log.record(r.at, "data", "planner", "request.reply", "202 accepted" if got is None else f"401 {got}")
            if why is None and got is not None:
                raise CaseFailed(f"at t={r.at:g}s you refused a genuine request ({r.note}) with {got!r}")
            if why is not None and got is None:
                raise CaseFailed(f"at t={r.at:g}s you accepted {r.note}; it must be refused ({why})")
            if why is not None and (not isinstance(got, str) or not got.strip()):
                raise CaseFailed(f"at t={r.at:g}s you refused {r.note} with {got!r}: say why, in a non-empty string")
            if why is None:
                seen.add(h[NONCE_HEADER])
                accepted += 1
        return f"{accepted} accepted, {len(self.requests) - accepted} refused"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, len(self.requests)).map(lambda n: replace(self, requests=self.requests[:n]))


def _signed(rng: Any, at: float, clock_offset: float = 0.0, note: str = "genuine") -> Sent:
    from course.protocol.production import sign

    method, path = rng.choice((("POST", "/signed/tasks"), ("PUT", "/signed/tasks/t7"), ("POST", "/signed/notify")))
    body = f'{{"task_id": "t{rng.randrange(1000)}", "action": "{rng.choice(("summarize", "fetch", "notify"))}"}}'
    ts = int(EPOCH + at + clock_offset)
    nonce = f"{rng.randrange(16 ** 24):024x}"
    headers = ((SIGNATURE_HEADER, sign(SECRET, method, path, body, ts, nonce)), (TIMESTAMP_HEADER, str(ts)),
               (NONCE_HEADER, nonce))
    return Sent(at, method, path, body, headers, note)


def signing_case(seed: int, kind: str) -> SigningCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day7", "signing", seed, kind)
    skew = MAX_CLOCK_SKEW_SECONDS
    out: list[Sent] = []
    t = 0.0
    for _ in range(rng.randint(3, 5)):
        t += rng.uniform(1, 30)
        genuine = _signed(rng, t)
        if kind == "tamper":
            what = rng.choice(("body", "path", "method", "key"))
            bad = replace(genuine, note=f"tampered {what}")
            if what == "body":
                bad = replace(bad, body=genuine.body.replace("t", "T", 1))
            elif what == "path":
                bad = replace(bad, path=genuine.path + "/admin")
            elif what == "method":
                bad = replace(bad, method="DELETE")
            else:
                from course.protocol.production import sign
                h = dict(genuine.headers)
                h[SIGNATURE_HEADER] = sign("another-key", genuine.method, genuine.path, genuine.body,
                                           int(h[TIMESTAMP_HEADER]), h[NONCE_HEADER])
                bad = replace(bad, headers=tuple(h.items()))
            out += [bad, genuine] if rng.random() < 0.5 else [genuine, bad]
        elif kind == "expired":
            old = _signed(rng, t, -(skew + rng.uniform(1, 3 * skew)), "a request signed too long ago")
            out += [genuine, old]
        elif kind == "replay":
            out += [genuine, replace(genuine, at=t + rng.uniform(0.5, skew / 2), note="a replay of the request before")]
            t += skew / 2
        elif kind == "skew":
            sign_ = rng.choice((1, -1))
            out += [_signed(rng, t, sign_ * rng.uniform(1, skew - 5), f"genuine, sender clock {'ahead' if sign_ > 0 else 'behind'}"),
                    _signed(rng, t + 1, sign_ * (skew + rng.uniform(5, skew)),
                            f"sender clock {'ahead' if sign_ > 0 else 'behind'} by more than {skew} s")]
            t += 1
        else:  # burn
            forged = replace(genuine, at=t - 0.5, body=genuine.body + " ", note="a forged copy carrying the genuine request's nonce")
            out += [forged, genuine]
    out = [replace(r, at=round(r.at, 3)) for r in out]  # the message log shows milliseconds
    return SigningCase(kind, tuple(sorted(out, key=lambda r: r.at)))


class SigningScenario(Scenario):
    default_target = "RequestVerifier"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        call = f"day7.signing_scenario(seed={seed})" if faults is None else \
            f"day7.signing_scenario(seed={seed}, faults={list(self.kinds)!r})"
        super().__init__("signing", seed, call)

    def cases(self) -> Sequence[Case]:
        return [signing_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"genuine requests accepted; {', '.join(self.kinds)} refused"


def signing_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> SigningScenario:
    """Seeded streams of signed requests, one per fault kind."""
    return SigningScenario(seed, faults)


def grade_signing(verifier_cls: Any, seed: int = 0) -> CheckResult:
    return signing_scenario(seed).run(verifier_cls).assert_ok()


__all__ = ["FAULTS", "SigningCase", "SigningScenario", "grade_signing", "signing_case", "signing_scenario"]
