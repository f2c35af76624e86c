"""Question 1, trace propagation: one trace through the five-agent chain, under retries.

The learner's ``hop(agent, headers, attempt, new_trace_id)`` is what each agent of the chain
(:data:`~.types.CHAIN`: gateway, planner, data, analysis, notify) runs on a request: it
returns ``(ctx, outbound)``, this attempt's :class:`~.types.TraceContext` and the headers to
send to the next agent. A case is a seeded request through the chain; the checker plays the
network, calls ``hop`` once per attempt, and checks the W3C Trace Context properties:

- every span of the request has one trace id: the client's, when its ``traceparent`` is
  valid, else the ``new_trace_id`` the gateway was given (never a new one further down);
- each agent's span has the previous agent's *accepted* attempt as its parent (the gateway's:
  the client's span, or none for a new trace), and the sampled flag travels unchanged;
- every attempt, retries included, gets a span id of its own;
- ``outbound`` carries ``traceparent`` with this span as the parent, and forwards the other
  headers (``x-request-id``).

Fault kinds (:data:`FAULTS`): ``retry`` (agents fail their first attempts with a 503 and are
called again with the same headers), ``missing`` (no ``traceparent``), ``malformed`` (an
invalid one, which must start a new trace), ``header-case`` (``Traceparent``: header names are
case-insensitive). A failing case shrinks to a shorter chain.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day7.types import CHAIN, TRACEPARENT
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the trace scenarios; the visible test runs every one of them.
FAULTS = ("retry", "missing", "malformed", "header-case")
#: Seconds between hops on the virtual clock, and before a retry.
HOP_SECONDS, RETRY_SECONDS = 0.01, 0.2


@dataclass(frozen=True)
class TraceCase(Case):
    """A request from the client through the first ``hops`` agents of the chain."""

    fault: str
    client_header: tuple[str, str] | None  # (header name, value) or no header
    request_id: str
    failures: tuple[int, ...]  # failed attempts of each agent before the one that succeeds
    new_ids: tuple[str, ...]  # the trace id each agent would start (crypto.randomUUID on Workers)
    hops: int = len(CHAIN)

    def describe(self) -> str:
        header = f"{self.client_header[0]}: {self.client_header[1]}" if self.client_header else "no traceparent"
        fails = ", ".join(f"{a} fails {n}x" for a, n in zip(CHAIN, self.failures[:self.hops]) if n)
        return f"{self.fault}: client sends {header}; chain {' -> '.join(CHAIN[:self.hops])}" + (f"; {fails}" if fails else "")

    def check(self, hop: Any, log: MessageLog) -> str:
        from course.protocol.production import parse_traceparent

        parsed = parse_traceparent(self.client_header[1]) if self.client_header else None
        trace_id = parsed[0] if parsed else self.new_ids[0]
        parent, sampled = (parsed[1], parsed[2]) if parsed else (None, True)
        inbound = {"x-request-id": self.request_id}
        if self.client_header:
            inbound[self.client_header[0]] = self.client_header[1]
        spans: dict[str, str] = {}
        now, sender = 0.0, "client"
        for i, agent in enumerate(CHAIN[:self.hops]):
            for attempt in range(1, self.failures[i] + 2):
                log.record(now, sender, agent, "request", f"traceparent={_header(inbound) or '-'} attempt={attempt}")
                ctx, outbound = hop(agent, dict(inbound), attempt, self.new_ids[i])
                where = f"{agent}, attempt {attempt}"
                for field in ("trace_id", "span_id", "parent_id", "sampled"):
                    if not hasattr(ctx, field):
                        raise CaseFailed(f"{where}: hop returned {ctx!r} as its context; expected a TraceContext")
                if ctx.trace_id != trace_id:
                    why = "the client's trace" if parsed else "a new trace with the gateway's new_trace_id"
                    raise CaseFailed(f"{where}: span in trace {ctx.trace_id}, expected {trace_id} ({why}): "
                                     f"the request's spans no longer form one trace")
                if ctx.parent_id != parent:
                    raise CaseFailed(f"{where}: parent_id {ctx.parent_id!r}, expected {parent!r} (the span of the "
                                     f"{'client' if i == 0 else repr(CHAIN[i - 1]) + ' attempt that called it'})")
                if ctx.sampled != sampled:
                    raise CaseFailed(f"{where}: sampled={ctx.sampled}, expected {sampled}: the flag must travel unchanged")
                if ctx.span_id in spans or ctx.span_id == parent:
                    other = spans.get(ctx.span_id, "its parent")
                    raise CaseFailed(f"{where}: span id {ctx.span_id} is already the span of {other}: every attempt, "
                                     f"retries included, needs a span of its own")
                spans[ctx.span_id] = where
                if not isinstance(outbound, dict):
                    raise CaseFailed(f"{where}: outbound headers {outbound!r} are not a dict")
                sent = {str(k).lower(): v for k, v in outbound.items()}
                if sent.get(TRACEPARENT) != ctx.traceparent():
                    raise CaseFailed(f"{where}: outbound traceparent {sent.get(TRACEPARENT)!r}, expected "
                                     f"{ctx.traceparent()!r} (this span as the next hop's parent)")
                if sent.get("x-request-id") != self.request_id:
                    raise CaseFailed(f"{where}: outbound headers lost x-request-id={self.request_id!r}")
                failed = attempt <= self.failures[i]
                log.record(now + HOP_SECONDS, agent, sender, "request.reply",
                           f"span={ctx.span_id} parent={ctx.parent_id or '-'}", "failed: 503, retried" if failed else "")
                now += RETRY_SECONDS if failed else HOP_SECONDS
            parent, sender = ctx.span_id, agent
            inbound = dict(outbound)
        return f"one trace {trace_id[:8]}... over {len(spans)} spans"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, self.hops).map(lambda n: replace(self, hops=n))


def _header(headers: dict[str, str]) -> str:
    return next((v for k, v in headers.items() if k.lower() == TRACEPARENT), "")


def _hex(rng: Any, digits: int) -> str:
    return f"{rng.randrange(1, 16 ** digits):0{digits}x}"


def trace_case(seed: int, kind: str) -> TraceCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day7", "trace", seed, kind)
    flags = rng.choice(("01", "00"))
    valid = f"00-{_hex(rng, 32)}-{_hex(rng, 16)}-{flags}"
    header: tuple[str, str] | None = (TRACEPARENT, valid)
    if kind == "missing":
        header = None
    elif kind == "malformed":
        header = (TRACEPARENT, rng.choice((f"00-{'0' * 32}-{_hex(rng, 16)}-01", f"00-{_hex(rng, 30)}-{_hex(rng, 16)}-01",
                                           f"00-{_hex(rng, 32)}-{'0' * 16}-01", "not-a-trace")))
    elif kind == "header-case":
        header = (rng.choice(("Traceparent", "TRACEPARENT", "TraceParent")), valid.upper() if rng.random() < 0.5 else valid)
    failures = [0] * len(CHAIN)
    if kind == "retry":
        for i in rng.sample(range(1, len(CHAIN)), 2):
            failures[i] = rng.randint(1, 2)
    else:
        failures[rng.randrange(1, len(CHAIN))] = 1
    return TraceCase(kind, header, f"req-{rng.randrange(16 ** 8):08x}", tuple(failures),
                     tuple(_hex(rng, 32) for _ in CHAIN))


class TraceScenario(Scenario):
    """One seeded request through the chain per fault kind."""

    default_target = "hop"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        call = f"day7.trace_scenario(seed={seed})" if faults is None else \
            f"day7.trace_scenario(seed={seed}, faults={list(self.kinds)!r})"
        super().__init__("trace", seed, call)

    def cases(self) -> Sequence[Case]:
        return [trace_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"one trace with correct parents through {len(CHAIN)} agents under {', '.join(self.kinds)}"


def trace_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> TraceScenario:
    """Seeded requests through the five-agent chain, one per fault kind."""
    return TraceScenario(seed, faults)


def grade_trace(hop: Any, seed: int = 0) -> CheckResult:
    return trace_scenario(seed).run(hop).assert_ok()


__all__ = ["FAULTS", "TraceCase", "TraceScenario", "grade_trace", "trace_case", "trace_scenario"]
