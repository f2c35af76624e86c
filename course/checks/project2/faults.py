"""Rubric items ``upstream-faults``, ``ai-faults`` and ``agent-crash``: the mesh under failure.

- ``upstream-faults``: the upstream answers late (30 s), fails (503, 429) or sends malformed
  data (broken JSON, the wrong shape), for some attempts or for all of them. An update whose
  readings arrive within the attempts is announced ``ok``; one that cannot get them is announced
  ``failed`` with the reason, without asking the model; the updates after it go through.
- ``ai-faults``: Workers AI fails (AiError 3043, 3040, 3007), is slow (30 s) or answers malformed
  or cut-off JSON. The update is still announced, ``degraded`` with the rules' reading and the
  exact numbers; a model that answers malformed JSON once is asked again and its second answer used.
- ``agent-crash``: the DataAgent crashes while the upstream is answering, or the AnalysisAgent
  while the model is thinking. The queue delivers the update again and it is announced once:
  nothing is lost and nothing is doubled.

Every update is measured from its ``POST`` to its subscriber's frame, on the virtual clock.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.harness.streams import Streams
from course.checks.project2.contract import (
    AI_BUDGET,
    AI_MODEL,
    FETCH_ATTEMPTS,
    UPSTREAM_LATENCY,
    UpdateSpec,
    Upstream,
    check_log,
    check_notification,
    check_stream,
    draw_update,
    submit,
    updates_path,
)
from course.checks.projects import Budget, ProjectCase, ProjectScenario, ProjectSession

#: Virtual seconds a case waits for one update under faults (longer than any budget, so a
#: submission that is merely slow is reported over budget rather than as missing).
FAULT_SETTLE = 90.0
UPSTREAM_LATENCY_BUDGET = Budget("virtual time from POST to the subscriber's frame", 10.0, "s")
UPSTREAM_REQUESTS = Budget("upstream requests per update", FETCH_ATTEMPTS, "requests")
AI_LATENCY_BUDGET = Budget("virtual time from POST to the subscriber's frame", 3.0 + AI_BUDGET, "s")
CRASH_LATENCY = Budget("virtual time from POST to the subscriber's frame, across the crash and the redelivery",
                       10.0, "s")
#: Behaviours of the upstream that are worth another attempt (the others are not).
RETRYABLE = ("slow", "error", "throttled")
#: Workers AI faults a case injects: (label, kind, options); "once" faults fire on one call only.
AI_FAULTS = {
    "failing": ("server_error", {}),
    "rate-limited": ("rate_limit", {}),
    "timing-out": ("timeout", {}),
    "slow": ("latency", {"seconds": 30.0}),
    "malformed": ("malformed", {}),
    "truncated": ("truncated", {}),
    "malformed-once": ("malformed", {"times": 1}),
}


def expected_status(plan: Sequence[str]) -> str:
    """What the contract makes of an update whose upstream attempts behave as ``plan``."""
    for attempt in range(FETCH_ATTEMPTS):
        behaviour = plan[min(attempt, len(plan) - 1)]
        if behaviour == "ok":
            return "ok"
        if behaviour not in RETRYABLE:
            return "failed"
    return "failed"


def one_at_a_time(session: ProjectSession, updates: Sequence[UpdateSpec], budget: Budget, settle: float,
                  statuses: dict[str, tuple[str, ...]], *, model_calls: dict[str, int] | None = None
                  ) -> dict[str, float]:
    """Submit each update, let ``settle`` virtual seconds pass, check its notification, stream and
    latency; returns each update's latency. ``model_calls`` (update id -> most) bounds AI calls."""
    feed = updates[0].feed
    sub = session.subscribe(f"{updates_path(feed)}?after=0", f"sub-{feed}")
    seen: list[str] = []
    latencies = {}
    for spec in updates:
        mark = session.mark()
        sent = submit(session, spec)
        session.advance(settle)
        notes = check_log(session, feed, [u for u in updates if u.update_id in (*seen, spec.update_id)], waited=settle)
        check_notification(notes[spec.update_id], spec, statuses[spec.update_id])
        seen.append(spec.update_id)
        frames = check_stream(sub, feed, seen)
        latencies[spec.update_id] = round(frames[-1][0] - sent, 6)
        problem = budget.check(latencies[spec.update_id], f"{spec.update_id}")
        if problem:
            raise CaseFailed(problem)
        if model_calls is not None and spec.update_id in model_calls:
            calls = session.count("ai", since=mark)
            if calls > model_calls[spec.update_id]:
                raise CaseFailed(f"{spec.update_id}: {calls} Workers AI call(s) for an update whose readings could "
                                 "not be fetched; there is nothing to analyse")
    return latencies


@dataclass(frozen=True)
class UpstreamCase(ProjectCase):
    updates: tuple[UpdateSpec, ...]
    plans: tuple[tuple[str, tuple[str, ...]], ...]  # update id -> behaviour of each attempt
    runtime_seed: int = 0

    def describe(self) -> str:
        plans = dict(self.plans)
        return "; ".join(f"{u.describe()} upstream: {' then '.join(plans.get(u.update_id, ('ok',)))}"
                         for u in self.updates)

    def play(self, session: ProjectSession) -> str:
        plans = dict(self.plans)
        upstream = Upstream(session, {u.update_id: u for u in self.updates}, plans=plans).install()
        statuses = {u.update_id: (expected_status(plans.get(u.update_id, ("ok",))),) for u in self.updates}
        failed = {u: 0 for u, s in statuses.items() if s == ("failed",)}
        latencies = one_at_a_time(session, self.updates, UPSTREAM_LATENCY_BUDGET, FAULT_SETTLE, statuses,
                                  model_calls=failed)
        for spec in self.updates:
            problem = UPSTREAM_REQUESTS.check(upstream.count(spec.update_id), spec.update_id)
            if problem:
                raise CaseFailed(problem)
        return ", ".join(f"{u} {statuses[u][0]} in {t:g} s" for u, t in latencies.items())

    def candidates(self) -> Sequence[ProjectCase]:
        if len(self.updates) <= 1:
            return []
        return [replace(self, updates=(u,)) for u in self.updates]


class UpstreamScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        stories = ((("slow", "ok"), ("error", "error", "ok")),
                   (("malformed",), ("throttled", "ok")),
                   (("error",), ("wrong-shape",)),
                   (("slow",),))
        out = []
        for n, faulty in enumerate(stories):
            rng = streams("upstream", n)
            feed = rng.choice(("weather", "air", "river"))
            updates = [draw_update(rng, feed, f"up{n}-{i}") for i in range(len(faulty) + 1)]
            order = list(faulty)
            rng.shuffle(order)  # the order the faults come in; the last update stays healthy
            plans = tuple((updates[i].update_id, plan) for i, plan in enumerate(order))
            out.append(UpstreamCase(tuple(updates), plans, runtime_seed=self.seed * 100 + n))
        return out


@dataclass(frozen=True)
class AiCase(ProjectCase):
    fault: str  # a key of AI_FAULTS
    updates: tuple[UpdateSpec, ...]
    runtime_seed: int = 0

    def describe(self) -> str:
        kind, options = AI_FAULTS[self.fault]
        shown = ", ".join(f"{k}={v:g}" for k, v in options.items())
        return (f"Workers AI {self.fault} ({kind}{', ' + shown if shown else ''}); updates "
                + "; ".join(u.describe() for u in self.updates))

    def play(self, session: ProjectSession) -> str:
        Upstream(session, {u.update_id: u for u in self.updates}).install()
        kind, options = AI_FAULTS[self.fault]
        session.rt.faults.ai(kind, 1.0, **options)
        status = ("ok",) if "times" in options else ("degraded",)
        latencies = one_at_a_time(session, self.updates, AI_LATENCY_BUDGET, FAULT_SETTLE,
                                  {u.update_id: status for u in self.updates})
        if "times" in options:  # asked again after the refused answer: the model's findings, not the rules'
            first = session.get(f"{updates_path(self.updates[0].feed)}/{self.updates[0].update_id}").json
            if isinstance(first, dict) and first.get("source") != AI_MODEL:
                raise CaseFailed(f"{self.updates[0].update_id}: the model's first answer was malformed; asked again "
                                 f"it answers well, yet the source is {first.get('source')!r}")
        return f"{status[0]} through {self.fault} Workers AI, slowest {max(latencies.values()):g} s"

    def candidates(self) -> Sequence[ProjectCase]:
        return [replace(self, updates=self.updates[:1])] if len(self.updates) > 1 else []


class AiScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, choices in enumerate((("failing", "rate-limited", "timing-out"), ("slow",), ("malformed", "truncated"),
                                     ("malformed-once",))):
            rng = streams("ai", n)
            fault = rng.choice(choices)
            feed = rng.choice(("weather", "air", "river"))
            updates = tuple(draw_update(rng, feed, f"ai{n}-{i}") for i in range(2))
            out.append(AiCase(fault, updates, runtime_seed=self.seed * 100 + n))
        return out


@dataclass(frozen=True)
class CrashCase(ProjectCase):
    agent: str  # "DATA" or "ANALYSIS"
    updates: tuple[UpdateSpec, ...]
    target: int  # which update the crash hits
    runtime_seed: int = 0

    def describe(self) -> str:
        spec = self.updates[self.target]
        when = ("while the upstream takes 1 s to answer" if self.agent == "DATA"
                else "while Workers AI takes 1 s to answer")
        return (f"{self.agent}:{spec.feed} crashes during {spec.update_id} ({when}); updates "
                + "; ".join(u.describe() for u in self.updates))

    def play(self, session: ProjectSession) -> str:
        rt = session.rt
        spec = self.updates[self.target]
        upstream = Upstream(session, {u.update_id: u for u in self.updates})
        if self.agent == "DATA":
            upstream.latency[spec.update_id] = 1.0

            def crash_at(update_id: str, attempt: int) -> None:
                if update_id == spec.update_id and attempt == 1:
                    rt.faults.crash("DATA", spec.feed, at=session.now() + 0.5)
        else:
            def crash_at(update_id: str, attempt: int) -> None:
                if update_id == spec.update_id and attempt == 1:
                    rt.faults.ai("latency", 1.0, seconds=1.0, times=1)
                    rt.faults.crash("ANALYSIS", spec.feed, at=session.now() + UPSTREAM_LATENCY + 0.5)
        upstream.on_request = crash_at
        upstream.install()
        statuses = {u.update_id: ("ok",) for u in self.updates}
        latencies = one_at_a_time(session, self.updates, CRASH_LATENCY, FAULT_SETTLE, statuses)
        crashes = session.count("do_crash")
        if not crashes:
            raise CaseFailed(f"{self.agent}:{spec.feed} was never running when the crash was due: the pipeline did "
                             "not reach it as the contract says (the DataAgent fetches, the AnalysisAgent asks the "
                             "model)")
        return f"{spec.update_id} announced once in {latencies[spec.update_id]:g} s across the crash of {self.agent}"

    def candidates(self) -> Sequence[ProjectCase]:
        if len(self.updates) <= 1:
            return []
        return [replace(self, updates=(self.updates[self.target],), target=0)]


class CrashScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, agent in enumerate(("DATA", "ANALYSIS", "DATA", "ANALYSIS")):
            rng = streams("crash", n)
            feed = rng.choice(("weather", "air", "river"))
            updates = tuple(draw_update(rng, feed, f"cr{n}-{i}") for i in range(rng.randint(2, 3)))
            target = rng.randrange(len(updates))
            out.append(CrashCase(agent, updates, target, runtime_seed=self.seed * 100 + n))
        return out


__all__ = ["AI_FAULTS", "AI_LATENCY_BUDGET", "CRASH_LATENCY", "FAULT_SETTLE", "RETRYABLE", "UPSTREAM_LATENCY_BUDGET",
           "UPSTREAM_REQUESTS", "AiCase", "AiScenario", "CrashCase", "CrashScenario", "UpstreamCase",
           "UpstreamScenario", "expected_status"]
