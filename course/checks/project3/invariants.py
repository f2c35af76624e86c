"""The rubric items read from the simulated hour: one invariant or budget each, on one shared run.

Every item plays the same seeded hour (:mod:`.schedule`, :mod:`.hour`) and checks one thing of
what the harness saw, so a submission that breaks one property loses exactly that item:

- ``no-lost-task``: every valid task is acknowledged (202) and every acknowledged task finishes;
- ``no-double-task``: no task finishes twice, and nothing finishes that was never acknowledged;
- ``signed-calls``: valid partner calls accepted, every unsigned, forged, stale, wrong-key or
  replayed one refused with 401, and none of their tasks ever done;
- ``health``: ``/healthz`` always 200; ``/readyz`` "degraded" with the planner check failing while
  the caller's planners are cut off, the ``ai`` check "open" during the AI outage, "ok" when quiet;
- ``breaker``: during the AI outage the tasks still finish (with the fallback) and the AI gets at
  most :data:`OUTAGE_CALLS` calls per task that arrived in it;
- ``regions``: p99 intake latency per client region within :data:`P99_NORMAL` (outside the
  partition) and the cut-off region's tasks failed over within :data:`P99_FAILOVER`;
- ``cost``: the cost estimate (:mod:`.cost`) per 1,000 acknowledged tasks within :data:`COST`;
- ``monitor``: ``/monitor`` is a page and ``/monitor.json`` shows the harness's own counts.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.project3.contract import (
    CLIENT_COLOS,
    SUBMIT,
    QuietScenario,
    missing_key_message,
    percentile,
    project_digest,
    signing_key,
)
from course.checks.project3.cost import estimate
from course.checks.project3.hour import Observation, observe, short
from course.checks.project3.schedule import Schedule, schedules
from course.checks.projects import Budget, ProjectCase, ProjectSession

P99_NORMAL = Budget("p99 latency of POST /tasks per client region, outside the partition", 120, "ms")
P99_FAILOVER = Budget("p99 latency of POST /tasks from the cut-off region during the partition", 120, "ms")
OUTAGE_CALLS = Budget("Workers AI calls per task arriving during the AI outage", 0.5, "calls")
COST = Budget("estimated cost per 1,000 acknowledged tasks", 0.03, "USD")
#: Virtual seconds of messages shown before a failure's moment.
LOG_LEAD_SECONDS = 2.0
#: Items whose invariant needs work to look at ask that at least this share of valid tasks was acknowledged.
WORKING_SHARE = 0.5
#: How far /monitor.json's p99 may be from the harness's (the Worker times itself inside the isolate).
P99_TOLERANCE_MS = 2.0


def failed_at(t: float, message: str) -> CaseFailed:
    """A failure that happened around virtual time ``t``: its message log starts just before it."""
    exc = CaseFailed(message)
    exc.at = t  # type: ignore[attr-defined]
    return exc


def _require_work(obs: Observation, *, share: float = 1.0) -> None:
    """An invariant about finished tasks means nothing if the system accepted none: at least
    ``share`` of the valid client tasks must have been acknowledged (all, for ``no-lost-task``)."""
    sent = [s for s in obs.sent if s.route == SUBMIT]
    refused = [s for s in sent if s.status != 202]
    if len(refused) > (1.0 - share) * len(sent):
        first = refused[0]
        raise failed_at(refused[0].t, f"{len(refused)} of {len(sent)} valid tasks were not acknowledged; the first, "
                         f"{first.task_id} from {first.region} at {first.t:g}s, got {first.status} {short(first.json)}")
    if obs.feed_error:
        raise CaseFailed(obs.feed_error)


def no_lost_task(obs: Observation) -> str:
    _require_work(obs)
    done = {r["task_id"] for r in obs.feed}
    lost = [s for s in obs.accepted() if s.task_id not in done]
    if lost:
        first = lost[0]
        raise failed_at(first.t, f"{len(lost)} acknowledged tasks never finished (not in GET /feed after the drain); "
                        "the first: "
                         f"{first.task_id}, acknowledged at {first.t:g}s from {first.region} by "
                         f"{short(first.json)}")
    return f"{len(done)} tasks acknowledged and finished"


def no_double_task(obs: Observation) -> str:
    _require_work(obs, share=WORKING_SHARE)
    counts = Counter(r["task_id"] for r in obs.feed)
    twice = sorted(t for t, n in counts.items() if n > 1)
    if twice:
        first = min((x.t for x in obs.sent if x.task_id in twice), default=0.0)
        raise failed_at(first, f"{len(twice)} tasks finished more than once (in GET /feed {counts[twice[0]]} times: "
                         f"{twice[0]}{', ' + ', '.join(twice[1:4]) if len(twice) > 1 else ''})")
    acknowledged = {s.task_id for s in obs.accepted()}
    phantom = sorted(set(counts) - acknowledged - {a.task_id for _, a in obs.attacks})
    if phantom:
        raise CaseFailed(f"tasks finished that no one submitted: {', '.join(phantom[:4])}")
    return f"{len(counts)} tasks, each finished once"


def signed_calls(obs: Observation) -> str:
    if not obs.signed_with_key:
        raise CaseFailed(missing_key_message())
    partner = [s for s in obs.sent if s.route != SUBMIT]
    refused = [s for s in partner if s.status != 202]
    if refused:
        first = refused[0]
        raise failed_at(first.t, f"a validly signed partner call ({first.task_id} at {first.t:g}s) got {first.status} "
                         f"{short(first.json)}; expected 202")
    for kind, attack in obs.attacks:
        if attack.status != 401:
            raise failed_at(attack.t, f"a {kind} call to /internal/tasks ({attack.task_id} at {attack.t:g}s) got "
                             f"{attack.status} {short(attack.json)}; expected 401 with an error")
        if not isinstance(attack.json, dict) or not isinstance(attack.json.get("error"), str):
            raise CaseFailed(f"a {kind} call got 401 without a JSON {{\"error\": ...}}: {short(attack.json)}")
    done = {r["task_id"] for r in obs.feed}
    forged = sorted({a.task_id for k, a in obs.attacks if not k.startswith("replay")} & done)
    if forged:
        raise CaseFailed(f"tasks of refused calls were done anyway: {', '.join(forged)}")
    return f"{len(partner)} signed calls accepted, {len(obs.attacks)} attacks refused"


def health(obs: Observation) -> str:
    for expect, ready, live in obs.probes:
        where = f"at {ready.t:g}s from {ready.region}"
        if live.status != 200:
            raise failed_at(ready.t, f"GET /healthz {where} answered {live.status} {short(live.json)}; liveness must be 200 "
                             "while the isolate runs")
        body = ready.json if isinstance(ready.json, dict) else {}
        checks = body.get("checks") if isinstance(body.get("checks"), dict) else {}
        if expect == "ok" and (ready.status != 200 or body.get("status") != "ok"):
            raise failed_at(ready.t, f"GET /readyz {where}, with nothing failing, answered {ready.status} {short(ready.json)}; "
                             "expected 200 with status 'ok'")
        if expect == "planner" and (ready.status != 200 or body.get("status") != "degraded"
                                    or checks.get("planner") in (None, "ok")):
            raise failed_at(ready.t, f"GET /readyz {where}, while that region's planners were cut off (its tasks failing "
                             f"over), answered {ready.status} {short(ready.json)}; expected 200, status 'degraded' "
                             "and the planner check saying what fails")
        if expect == "ai" and (body.get("status") != "degraded" or checks.get("ai") != "open"):
            raise failed_at(ready.t, f"GET /readyz {where}, 150 s into a Workers AI outage, answered {ready.status} "
                             f"{short(ready.json)}; expected status 'degraded' and checks.ai 'open'")
    return f"{len(obs.probes)} probes told the truth"


def breaker(obs: Observation) -> str:
    _require_work(obs, share=WORKING_SHARE)
    outage = obs.schedule.window("ai-outage")
    if outage is None:
        return "no outage in this schedule"
    arrived = [s for s in obs.accepted() if outage.t0 <= s.t < outage.t1]
    by_id = {r["task_id"]: r for r in obs.feed}
    unfinished = [s.task_id for s in arrived if s.task_id not in by_id]
    if unfinished:
        raise failed_at(outage.t0, f"{len(unfinished)} tasks that arrived during the AI outage ({outage.t0:g}-{outage.t1:g}s) "
                         f"never finished, e.g. {unfinished[0]}: fall back instead of waiting for the AI")
    calls = sum(1 for t, _ in obs.ai_calls if outage.t0 <= t < outage.t1)
    problem = OUTAGE_CALLS.check(round(calls / max(1, len(arrived)), 3),
                                 f"{calls} AI calls for {len(arrived)} tasks in {outage.t1 - outage.t0:g} s of outage: "
                                 "an open circuit breaker stops calling a failing dependency")
    if problem:
        raise failed_at(outage.t0, problem)
    return f"{calls} AI calls for {len(arrived)} tasks during the outage"


def regions(obs: Observation) -> str:
    part = obs.schedule.window("planner-partition")
    inside = (lambda s: part is not None and s.region == part.target and part.t0 <= s.t < part.t1)
    lines = []
    for region in CLIENT_COLOS:
        ms = [s.seconds * 1000 for s in obs.sent if s.route == SUBMIT and s.region == region and not inside(s)]
        p99 = percentile(ms, 99)
        problem = P99_NORMAL.check(p99, f"{region}, {len(ms)} requests: place each region's planners near it "
                                        "(a locationHint per region)")
        if problem:
            raise CaseFailed(problem)
        lines.append(f"{region} p99 {p99:g} ms")
    if part is not None:
        cut = [s for s in obs.sent if s.route == SUBMIT and inside(s)]
        refused = [s for s in cut if s.status != 202]
        if refused:
            raise failed_at(refused[0].t, f"{len(refused)} of {len(cut)} tasks from {part.target} were refused while its planners "
                             f"were cut off ({refused[0].task_id} got {refused[0].status} {short(refused[0].json)}); "
                             "fail over to the region plan's second region")
        p99 = percentile([s.seconds * 1000 for s in cut], 99)
        problem = P99_FAILOVER.check(p99, f"{len(cut)} requests from {part.target} while its planners were cut off")
        if problem:
            raise failed_at(part.t0, problem)
        lines.append(f"{part.target} failover p99 {p99:g} ms")
    return ", ".join(lines)


def cost_of(obs: Observation) -> Any:
    return estimate(http_requests=obs.http_requests, do_requests=obs.do_requests, rows_read=obs.storage_reads,
                    rows_written=obs.storage_writes, queue_messages=obs.queue_sends, data_points=obs.data_points,
                    ai_tokens=obs.ai_tokens)


def cost(obs: Observation) -> str:
    _require_work(obs, share=WORKING_SHARE)
    est = cost_of(obs)
    per_thousand = round(est.total / max(1, len(obs.accepted())) * 1000, 5)
    problem = COST.check(per_thousand, est.text())
    if problem:
        raise CaseFailed(problem)
    return f"${per_thousand:g} per 1,000 tasks ({est.text()})"


def monitor(obs: Observation) -> str:
    status, ctype, text = obs.monitor_page
    if status != 200 or "text/html" not in ctype or "monitor.json" not in text:
        raise CaseFailed(f"GET /monitor answered {status} ({ctype or 'no content type'}); expected 200, an HTML page "
                         "that reads /monitor.json")
    status, data = obs.monitor
    if status != 200 or not isinstance(data, dict):
        raise CaseFailed(f"GET /monitor.json answered {status} {short(data)}; expected 200 with a MonitorReport")
    expected = {
        "tasks.accepted": len(obs.accepted()) + sum(1 for _, a in obs.attacks if a.status == 202),
        "tasks.done": len(obs.feed),
        "tasks.fallback": sum(1 for r in obs.feed if r.get("fallback") is True),
        "tasks.dead_lettered": obs.dead_letters,
        "ai.calls": len(obs.ai_calls),
        "ai.failures": sum(1 for _, outcome in obs.ai_calls if outcome == "error"),
        "rejected_calls": sum(1 for _, a in obs.attacks if a.status == 401),
    }
    for region in CLIENT_COLOS:
        sent = [s for s in obs.sent if s.region == region] + [a for _, a in obs.attacks if a.region == region]
        expected[f"regions.{region}.requests"] = len(sent)
    for path, want in expected.items():
        got = _dig(data, path)
        if got != want:
            raise CaseFailed(f"/monitor.json says {path} = {got!r}; the harness counted {want} (from its own replies "
                             "and the runtime's trace)")
    for region in CLIENT_COLOS:
        sent = [s for s in obs.sent if s.region == region] + [a for _, a in obs.attacks if a.region == region]
        want = percentile([s.seconds * 1000 for s in sent], 99)
        got = _dig(data, f"regions.{region}.p99_ms")
        if not isinstance(got, (int, float)) or abs(got - want) > P99_TOLERANCE_MS:
            raise CaseFailed(f"/monitor.json says regions.{region}.p99_ms = {got!r}; the harness measured {want:g} ms")
    return f"/monitor.json matches the harness's {len(expected) + len(CLIENT_COLOS)} numbers"


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


#: Item key -> the invariant it checks on the hour.
INVARIANTS: dict[str, Callable[[Observation], str]] = {
    "no-lost-task": no_lost_task, "no-double-task": no_double_task, "signed-calls": signed_calls,
    "health": health, "breaker": breaker, "regions": regions, "cost": cost, "monitor": monitor,
}


@dataclass(frozen=True)
class HourCase(ProjectCase):
    item: str
    schedule: Schedule
    digest: str = ""
    folder: str = ""
    runtime_seed: int = 0

    def describe(self) -> str:
        return f"the simulated hour, {self.schedule.describe()}"

    def play(self, session: ProjectSession) -> str:
        key = signing_key(self.folder) or ""
        obs = observe(session, self.schedule, self.digest, key)
        try:
            return INVARIANTS[self.item](obs)
        except CaseFailed:
            if session.rt.trace.mark() - session.start <= 50:
                # from the memo: play it again here so the failure shows this run's messages
                obs = observe(session, self.schedule, self.digest, key, fresh=True)
        try:
            return INVARIANTS[self.item](obs)
        except CaseFailed as exc:
            at = getattr(exc, "at", None)
            if at is not None:  # the messages shown start a little before the failure, not at minute 0
                session.start = next((e.seq - 1 for e in session.rt.trace.events(since=session.start)
                                      if e.t >= at - LOG_LEAD_SECONDS), session.start)
            raise

    def candidates(self) -> Sequence[ProjectCase]:
        return [replace(self, schedule=s) for s in self.schedule.candidates()]


class HourScenario(QuietScenario):
    """One item's view of the seeded hour (one case per hour; the rubric plays one)."""

    hours = 1

    def run(self, folder: Path | str) -> Any:
        self.digest = project_digest(folder)
        return super().run(folder)

    def cases(self) -> Sequence[ProjectCase]:
        return [HourCase(self.name, s, self.digest, self.folder, runtime_seed=s.seed)
                for s in schedules(self.seed, self.hours)]


__all__ = ["COST", "HourCase", "HourScenario", "INVARIANTS", "OUTAGE_CALLS", "P99_FAILOVER", "P99_NORMAL", "cost_of"]
