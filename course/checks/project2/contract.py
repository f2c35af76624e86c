"""Project 2's contract as the checks see it: routes, the emulated upstream, what a notification must say.

The brief states the contract for the learner; this module is the checks' own reading of it (it
never imports the reference solution). The pieces a case needs:

- :class:`UpdateSpec`: one update a case submits (its readings drawn from a seeded stream) and
  the numbers its notification must carry (count, mean, and the rules' trend);
- :class:`Upstream`: the readings API the DataAgent fetches from, emulated on the runtime's
  network (``rt.network.upstream``) with a behaviour per attempt (answer, answer late, fail,
  send malformed data) and a record of every request it got;
- :func:`check_notification`, :func:`check_log`, :func:`check_stream`: the properties every
  notification, every feed's log and every subscriber's stream must have.
"""
from __future__ import annotations

import asyncio
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.projects import ProjectSession, Subscription
from course.workers.http import Response

#: Where the contract's upstream lives (the Worker's ``UPSTREAM_URL`` var; the harness serves it there).
UPSTREAM_URL = "https://readings.mesh.test"
QUEUE = "mesh-updates"
AI_MODEL = "@cf/meta/llama-3.1-8b-instruct"
RULES_SOURCE = "rules"
TRENDS = ("rising", "falling", "flat", "mixed", "none")
#: The contract's bounds (the brief's protocol.py): per upstream attempt, attempts, per model call,
#: all model calls of one update.
FETCH_TIMEOUT = 2.0
FETCH_ATTEMPTS = 3
AI_TIMEOUT = 3.0
AI_ATTEMPTS = 2
AI_BUDGET = 5.0
#: How long the emulated upstream takes to answer normally, and when it is "slow".
UPSTREAM_LATENCY = 0.05
SLOW_UPSTREAM = 30.0
#: Virtual seconds a case lets pass for the pipeline to finish before it looks.
SETTLE = 30.0
#: Sensor names the readings are keyed by.
SENSORS = ("temp", "humidity", "pressure", "wind", "co2", "noise", "light", "pm25", "rain", "uv")
#: How the upstream answers one attempt.
BEHAVIOURS = ("ok", "slow", "error", "throttled", "malformed", "wrong-shape")


def updates_path(feed: str) -> str:
    return f"/feeds/{feed}/updates"


def update_path(feed: str, update_id: str) -> str:
    return f"/feeds/{feed}/updates/{update_id}"


@dataclass(frozen=True)
class UpdateSpec:
    """One update of feed ``feed``: its readings and what its notification must say."""

    feed: str
    update_id: str
    values: tuple[float | None, ...]

    def body(self) -> dict[str, Any]:
        return {"update_id": self.update_id}

    def readings(self) -> list[dict[str, Any]]:
        return [{"key": SENSORS[i], "value": v} for i, v in enumerate(self.values)]

    @property
    def keys(self) -> list[str]:
        return [SENSORS[i] for i in range(len(self.values))]

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        present = [v for v in self.values if v is not None]
        return sum(present) / len(present) if present else None

    @property
    def rule_trend(self) -> str:
        present = [v for v in self.values if v is not None]
        steps = [b - a for a, b in zip(present, present[1:])]
        if not steps:
            return "none"
        if all(s > 0 for s in steps):
            return "rising"
        if all(s < 0 for s in steps):
            return "falling"
        if all(s == 0 for s in steps):
            return "flat"
        return "mixed"

    def describe(self) -> str:
        return f"{self.feed}/{self.update_id} {list(self.values)}"


def draw_update(rng: random.Random, feed: str, update_id: str) -> UpdateSpec:
    n = rng.randint(2, 6)
    values = [round(rng.uniform(-20, 80), 1) for _ in range(n)]
    if n > 2 and rng.random() < 0.3:
        values[rng.randrange(n)] = None
    return UpdateSpec(feed, update_id, tuple(values))


@dataclass
class Upstream:
    """The readings API: ``GET {url}/feeds/{feed}/updates/{update_id}``, per-attempt behaviours.

    ``plans`` maps an update id to the behaviour of its 1st, 2nd, ... request (the last one
    repeats); an update without a plan is answered ``ok``. ``on_request`` is called with the
    update id and the attempt number as each request arrives (a case schedules a crash there).
    """

    session: ProjectSession
    specs: dict[str, UpdateSpec]
    plans: dict[str, tuple[str, ...]] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)  # update id -> seconds an "ok" answer takes
    on_request: Any = None
    requests: dict[str, list[float]] = field(default_factory=dict)

    def install(self) -> "Upstream":
        url = getattr(self.session.rt.env, "UPSTREAM_URL", None)
        self.url = url if isinstance(url, str) and url.startswith("http") else UPSTREAM_URL
        self.session.rt.network.upstream(self.url, self.handle)
        return self

    async def handle(self, request: Any) -> Response:
        path = request.url[len(self.url.rstrip("/")):].split("?")[0]
        parts = path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "feeds" or parts[2] != "updates" or parts[3] not in self.specs \
                or self.specs[parts[3]].feed != parts[1]:
            return Response.json({"error": f"no such update: {path}"}, status=404)
        spec = self.specs[parts[3]]
        times = self.requests.setdefault(spec.update_id, [])
        times.append(self.session.now())
        plan = self.plans.get(spec.update_id, ("ok",))
        behaviour = plan[min(len(times), len(plan)) - 1]
        if self.on_request is not None:
            self.on_request(spec.update_id, len(times))
        if behaviour == "slow":
            await asyncio.sleep(SLOW_UPSTREAM)
            behaviour = "ok"
        else:
            await asyncio.sleep(self.latency.get(spec.update_id, UPSTREAM_LATENCY))
        if behaviour == "error":
            return Response.json({"error": "upstream unavailable"}, status=503)
        if behaviour == "throttled":
            return Response.json({"error": "slow down"}, status=429, headers={"retry-after": "1"})
        if behaviour == "malformed":
            return Response('{"feed": "' + spec.feed + '", "readings": [{"key": "temp", "val', status=200,
                            headers={"content-type": "application/json"})
        if behaviour == "wrong-shape":
            return Response.json({"feed": spec.feed, "update_id": spec.update_id,
                                  "readings": {"temp": "twenty", "unit": "C"}})
        return Response.json({"feed": spec.feed, "update_id": spec.update_id, "readings": spec.readings()})

    def count(self, update_id: str) -> int:
        return len(self.requests.get(update_id, []))


def submit(session: ProjectSession, spec: UpdateSpec) -> float:
    """POST the update; it must be accepted with 202. Returns the virtual time it was sent."""
    sent = session.now()
    reply = session.post(updates_path(spec.feed), spec.body())
    if reply.status != 202:
        raise CaseFailed(f"POST {updates_path(spec.feed)} {json.dumps(spec.body())} answered {reply.brief()}; "
                         "expected 202 (the update is queued)")
    return sent


def check_notification(note: Any, spec: UpdateSpec, statuses: Sequence[str] = ("ok",), *,
                       source: str | None = None) -> dict[str, Any]:
    """``note`` is a Notification for ``spec`` whose status is one of ``statuses``, with the exact numbers."""
    where = f"the notification of {spec.feed}/{spec.update_id}"
    if not isinstance(note, dict):
        raise CaseFailed(f"{where} is not a JSON object: {note!r}")
    missing = [k for k in ("seq", "feed", "update_id", "status") if k not in note]
    if missing:
        raise CaseFailed(f"{where} has no {', '.join(missing)}: {note}")
    if (note["feed"], note["update_id"]) != (spec.feed, spec.update_id):
        raise CaseFailed(f"{where} names {note['feed']}/{note['update_id']}")
    if note["status"] not in statuses:
        detail = f" (error: {note.get('error')})" if note.get("error") else ""
        raise CaseFailed(f"{where} has status {note['status']!r}{detail}; expected {' or '.join(map(repr, statuses))}")
    if note["status"] == "failed":
        if not isinstance(note.get("error"), str) or not note["error"].strip():
            raise CaseFailed(f"{where} failed but does not say why (error: {note.get('error')!r})")
        return note
    if note.get("count") != spec.count:
        raise CaseFailed(f"{where} says count {note.get('count')!r}; the update has {spec.count} readings")
    mean = note.get("mean")
    if spec.mean is None:
        if mean is not None:
            raise CaseFailed(f"{where} says mean {mean!r}; no reading has a value")
    elif not isinstance(mean, (int, float)) or not math.isclose(mean, spec.mean, rel_tol=1e-9, abs_tol=1e-9):
        raise CaseFailed(f"{where} says mean {mean!r}; the readings' mean is {spec.mean!r} (numbers are computed, "
                         "never asked of a model)")
    if note.get("trend") not in TRENDS:
        raise CaseFailed(f"{where} has trend {note.get('trend')!r}, not one of {', '.join(TRENDS)} (validate the "
                         "model's answer)")
    anomalies = note.get("anomalies")
    if not isinstance(anomalies, list) or any(a not in spec.keys for a in anomalies):
        raise CaseFailed(f"{where} lists anomalies {anomalies!r}; only keys of its readings ({spec.keys}) may be "
                         "named")
    if not isinstance(note.get("summary"), str) or not note["summary"].strip():
        raise CaseFailed(f"{where} has no summary: {note}")
    if note["status"] == "degraded":
        if note.get("source") != RULES_SOURCE:
            raise CaseFailed(f"{where} is degraded but its source is {note.get('source')!r}, not {RULES_SOURCE!r}")
        if note.get("trend") != spec.rule_trend:
            raise CaseFailed(f"{where} is the rules' reading but says trend {note.get('trend')!r}; the rules give "
                             f"{spec.rule_trend!r}")
    elif note.get("source") in (None, RULES_SOURCE):
        raise CaseFailed(f"{where} has status 'ok' but its source is {note.get('source')!r}: 'ok' means a model's "
                         "findings, which name the model")
    if source is not None and note.get("source") != source:
        raise CaseFailed(f"{where} came from {note.get('source')!r}; expected {source!r}")
    return note


def queue_story(session: ProjectSession) -> str:
    """What the queue saw, as a hint for an update that was never announced."""
    sent, delivered = session.count("queue_send", queue=QUEUE), session.count("queue_delivery", queue=QUEUE)
    dead = session.count("queue_dead_letter", queue=QUEUE)
    if not sent:
        return f"nothing was sent to the queue {QUEUE}: POST must queue the update"
    if dead:
        return (f"{dead} message(s) failed every delivery and went to the dead-letter queue: the pipeline raised "
                "each time")
    if delivered:
        return f"the consumer got {delivered} deliveries of {sent} message(s), yet nothing was published"
    return f"{sent} message(s) were sent to {QUEUE} but never delivered: does the Worker consume the queue?"


def check_log(session: ProjectSession, feed: str, specs: Iterable[UpdateSpec], *,
              waited: float = SETTLE) -> dict[str, dict[str, Any]]:
    """``GET /feeds/{feed}/updates``: seq 1..n with no gap, each of ``specs`` exactly once; by update id."""
    specs = [s for s in specs if s.feed == feed]
    reply = session.get(updates_path(feed))
    if reply.status != 200 or not isinstance(reply.json, list):
        raise CaseFailed(f"GET {updates_path(feed)} answered {reply.brief()}; expected 200 with a list of "
                         "notifications")
    notes = reply.json
    seqs = [n.get("seq") if isinstance(n, dict) else None for n in notes]
    if seqs != list(range(1, len(notes) + 1)):
        raise CaseFailed(f"feed {feed}'s log has seqs {seqs}; expected 1, 2, 3... with no gap")
    ids = [n.get("update_id") for n in notes]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise CaseFailed(f"feed {feed}'s log announces {', '.join(map(str, repeated))} more than once "
                         f"({len(notes)} notifications for {len(set(ids))} updates): an update is processed once")
    missing = [s.update_id for s in specs if s.update_id not in ids]
    if missing:
        raise CaseFailed(f"feed {feed}'s log has no notification for {', '.join(missing)} {waited:g} virtual s after "
                         f"they were submitted (log: {ids}); {queue_story(session)}")
    extra = [i for i in ids if i not in {s.update_id for s in specs}]
    if extra:
        raise CaseFailed(f"feed {feed}'s log announces updates nobody submitted: {extra}")
    return {n["update_id"]: n for n in notes}


def check_stream(sub: Subscription, feed: str, expected: Sequence[str], *,
                 first_seq: int = 1) -> list[tuple[float, dict]]:
    """Subscriber ``sub`` received the notifications of ``expected`` (update ids, log order) once each,
    with seqs ``first_seq``, ``first_seq + 1``... and nothing else. Returns ``(arrival, note)`` pairs."""
    frames = sub.messages()
    notes = [(t, m) for t, m in frames if isinstance(m, dict) and "seq" in m]
    got = [m.get("update_id") for _, m in notes]
    seqs = [m.get("seq") for _, m in notes]
    if got != list(expected) or seqs != list(range(first_seq, first_seq + len(expected))):
        missing = [u for u in expected if u not in got]
        repeated = sorted({u for u in got if got.count(u) > 1})
        problem = (f"missed {missing}" if missing else "") + ("; " if missing and repeated else "") + \
                  (f"got {repeated} more than once" if repeated else "")
        raise CaseFailed(f"{sub.label} on {feed} ({sub.path}) received seqs {seqs} ({got}); expected seqs "
                         f"{list(range(first_seq, first_seq + len(expected)))} ({list(expected)})"
                         + (f": {problem}" if problem else ""))
    return notes


__all__ = ["AI_ATTEMPTS", "AI_BUDGET", "AI_MODEL", "AI_TIMEOUT", "BEHAVIOURS", "FETCH_ATTEMPTS", "FETCH_TIMEOUT",
           "QUEUE", "RULES_SOURCE", "SENSORS", "SETTLE", "SLOW_UPSTREAM", "TRENDS", "UPSTREAM_LATENCY", "UPSTREAM_URL",
           "UpdateSpec", "Upstream", "check_log", "check_notification", "check_stream", "draw_update", "queue_story",
           "submit", "update_path", "updates_path"]
