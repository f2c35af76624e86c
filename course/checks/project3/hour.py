"""Playing a schedule against a loaded submission, and what the harness saw: :class:`Observation`.

:func:`play_hour` walks the schedule on the virtual clock: it installs the fault windows up front
(``rt.faults`` windows, Workers AI faults switched on and off by ``rt.faults.schedule``, crashes
and evictions at their times), then sends every arrival, attack and probe at its moment from its
region's client, lets the system drain, and reads the feed, ``/monitor.json`` and ``/monitor``.
Everything it measures comes from its own replies and the runtime's trace, never from the
submission's code or storage.

The same files and schedule give the same observation, so several rubric items read one run:
:func:`observe` keeps the last few in memory (a failing item plays it again for its messages).
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from course.checks.harness.cases import CaseFailed
from course.checks.project3.contract import (
    SIGNED,
    SUBMIT,
    Clients,
    Sent,
    read_feed,
    signed_headers,
    task_body,
)
from course.checks.project3.schedule import DRAIN, REDELIVERY_RATE, FLAKY_RATE, Schedule
from course.checks.projects import ProjectSession

#: Observations kept for other rubric items of the same run (one per (files, schedule)).
MEMO_SIZE = 8
_MEMO: dict[tuple[str, Schedule], "Observation"] = {}


@dataclass
class Observation:
    """What one simulated hour showed the harness."""

    schedule: Schedule
    signed_with_key: bool = True  # False: the submission has no signing key, partner calls used a placeholder
    sent: list[Sent] = field(default_factory=list)  # every task submission (clients and partners)
    attacks: list[tuple[str, Sent]] = field(default_factory=list)  # (kind, the attack's reply)
    probes: list[tuple[str, Sent, Sent]] = field(default_factory=list)  # (expect, /readyz, /healthz)
    feed: list[dict[str, Any]] = field(default_factory=list)
    feed_error: str = ""
    monitor: tuple[int, Any] = (0, None)
    monitor_page: tuple[int, str, str] = (0, "", "")  # status, content type, text
    ai_calls: list[tuple[float, str]] = field(default_factory=list)  # (t, "ok" | "error")
    ai_tokens: list[tuple[str, int, int]] = field(default_factory=list)  # (model, input, output)
    dead_letters: int = 0
    http_requests: int = 0
    queue_sends: int = 0
    do_requests: int = 0
    storage_reads: int = 0
    storage_writes: int = 0
    data_points: int = 0
    busiest: tuple[str, int, int] = ("", 0, 0)  # (object, second, requests in that second)

    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.status == 202]


def _install_faults(session: ProjectSession, schedule: Schedule) -> None:
    rt = session.rt
    for f in schedule.faults:
        if f.kind == "planner-partition":
            rt.faults.partition(f"PLANNER:planner-{f.target}-*", "*", during=(f.t0, f.t1))
        elif f.kind == "feed-partition":
            rt.faults.partition(f.target, "*", during=(f.t0, f.t1))
        elif f.kind == "redelivery":
            rt.faults.duplicate(REDELIVERY_RATE, target="queue:tasks", during=(f.t0, f.t1))
        elif f.kind == "ai-outage":
            rt.faults.schedule(f.t0, "ai", "server_error", 1.0)  # traced as a fault, like the others
            rt.faults.schedule(f.t1, rt.ai.clear_faults)
        elif f.kind == "ai-flaky":
            rt.faults.schedule(f.t0, "ai", "rate_limit", FLAKY_RATE)
            rt.faults.schedule(f.t1, rt.ai.clear_faults)
        elif f.kind in ("crash", "evict"):
            binding, name = f.target.split(":", 1)
            getattr(rt.faults, f.kind)(binding, name, at=f.t0)


def _events(schedule: Schedule) -> list[tuple[float, int, str, Any]]:
    """(t, order, kind, item) of everything the harness does, in time order."""
    out: list[tuple[float, int, str, Any]] = []
    out += [(a.t, 0, "arrival", a) for a in schedule.arrivals]
    for a in schedule.attacks:
        if a.kind in ("replay", "replay-after-crash"):
            out.append((a.t, 1, "partner-call", a))
            if a.kind == "replay-after-crash":
                out.append((a.t + a.delay - 1.0, 2, "crash-ledger", a))
            out.append((a.t + a.delay, 3, "replay", a))
        else:
            out.append((a.t, 1, "attack", a))
    out += [(p.t, 4, "probe", p) for p in schedule.probes]
    out.sort(key=lambda e: (e[0], e[1]))
    return out


def play_hour(session: ProjectSession, schedule: Schedule, key: str) -> Observation:
    rt = session.rt
    obs = Observation(schedule, signed_with_key=bool(key))
    key = key or "no-key-in-dev-vars"
    mark = session.mark()
    with contextlib.redirect_stdout(io.StringIO()):  # the Worker's log lines are for its own logs
        _install_faults(session, schedule)
        rt.call(_drive(session, schedule, key, obs))
        try:
            obs.feed = read_feed(session)
        except CaseFailed as exc:
            obs.feed_error = str(exc)
        reply = session.get("/monitor.json")
        obs.monitor = (reply.status, reply.json)
        page = session.client.get("/monitor")
        obs.monitor_page = (page.status_code, page.headers.get("content-type", ""), page.text)
    _count(session, obs, mark)
    return obs


async def _drive(session: ProjectSession, schedule: Schedule, key: str, obs: Observation) -> None:
    """Every arrival, attack and probe at its moment (on the runtime's loop), then the drain."""
    rt = session.rt
    clients = Clients(session)
    replays: dict[str, tuple[bytes, dict[str, str]]] = {}
    try:
        for t, _, kind, item in _events(schedule):
            if t > rt.clock.now():
                await asyncio.sleep(t - rt.clock.now())
            now = int(rt.clock.wall())
            if kind == "arrival":
                body = task_body(item.task_id, item.text)
                if item.signed:
                    nonce = f"n{item.task_id}".replace(".", "_").ljust(16, "0")
                    status, data, secs = await clients.send(item.region, "POST", SIGNED, body=body,
                                                            headers=signed_headers(key, SIGNED, body, now, nonce))
                else:
                    status, data, secs = await clients.send(item.region, "POST", SUBMIT, body=body)
                obs.sent.append(Sent(t, SIGNED if item.signed else SUBMIT, item.region, item.task_id, status, secs,
                                     data))
            elif kind == "partner-call":
                body = task_body(item.task_id, item.text)
                headers = signed_headers(key, SIGNED, body, now, f"replayed-nonce-{item.task_id}")
                replays[item.task_id] = (body, headers)
                status, data, secs = await clients.send(item.region, "POST", SIGNED, body=body, headers=headers)
                obs.sent.append(Sent(t, SIGNED, item.region, item.task_id, status, secs, data))
            elif kind == "crash-ledger":
                rt.faults.crash("NONCES", "nonces")
            elif kind == "replay":
                body, headers = replays[item.task_id]
                status, data, secs = await clients.send(item.region, "POST", SIGNED, body=body, headers=headers)
                obs.attacks.append((item.kind, Sent(t, SIGNED, item.region, item.task_id, status, secs, data)))
            elif kind == "attack":
                obs.attacks.append((item.kind, await _attack(clients, item, key, now, t)))
            elif kind == "probe":
                rs, rd, rsecs = await clients.send(item.region, "GET", "/readyz")
                ls, ld, lsecs = await clients.send(item.region, "GET", "/healthz")
                obs.probes.append((item.expect, Sent(t, "/readyz", item.region, "", rs, rsecs, rd),
                                   Sent(t, "/healthz", item.region, "", ls, lsecs, ld)))
        await asyncio.sleep(max(0.0, schedule.duration + DRAIN - rt.clock.now()))
    finally:
        await clients.close()


async def _attack(clients: Clients, attack: Any, key: str, now: int, t: float) -> Sent:
    body = task_body(attack.task_id, attack.text)
    nonce = f"attack-nonce-{attack.task_id}".replace(".", "_")
    if attack.kind == "unsigned":
        headers: dict[str, str] = {}
    elif attack.kind == "forged":
        headers = signed_headers(key, SIGNED, task_body(attack.task_id, "a harmless text"), now, nonce)
    elif attack.kind == "stale":
        headers = signed_headers(key, SIGNED, body, now - 600, nonce)
    else:  # wrong-key
        headers = signed_headers(key + "-not-the-key", SIGNED, body, now, nonce)
    status, data, secs = await clients.send(attack.region, "POST", SIGNED, body=body, headers=headers)
    return Sent(t, SIGNED, attack.region, attack.task_id, status, secs, data)


def _count(session: ProjectSession, obs: Observation, mark: int) -> None:
    trace = session.rt.trace
    per_second: Counter[tuple[str, int]] = Counter()
    for e in trace.events(("ai", "queue_dead_letter", "request", "queue_send", "do_event", "do_turn",
                           "analytics_write"), since=mark):
        d = e.data
        if e.kind == "ai":
            obs.ai_calls.append((e.t, "ok" if d.get("status") == "ok" else "error"))
            obs.ai_tokens.append((str(d.get("model", "")), int(d.get("input_tokens") or 0),
                                  int(d.get("output_tokens") or 0)))
        elif e.kind == "queue_dead_letter":
            obs.dead_letters += 1
        elif e.kind == "request":
            obs.http_requests += 1
        elif e.kind == "queue_send":
            obs.queue_sends += 1
        elif e.kind == "analytics_write":
            obs.data_points += 1
        elif e.kind == "do_event" and d.get("phase") == "start":
            obs.do_requests += 1
            per_second[(f"{d.get('binding')}:{d.get('object')}", int(e.t))] += 1
        elif e.kind == "do_turn":
            ops, writes = int(d.get("storage_ops") or 0), int(d.get("writes_committed") or 0)
            obs.storage_writes += writes
            obs.storage_reads += max(0, ops - writes)
    if per_second:
        (obj, second), n = max(per_second.items(), key=lambda kv: (kv[1], kv[0]))
        obs.busiest = (obj, second, n)


def observe(session: ProjectSession, schedule: Schedule, digest: str, key: str, *,
            fresh: bool = False) -> Observation:
    """The hour's observation: from the memo when these files already played it (unless ``fresh``)."""
    memo_key = (digest, schedule)
    if not fresh and memo_key in _MEMO:
        return _MEMO[memo_key]
    obs = play_hour(session, schedule, key)
    _MEMO[memo_key] = obs
    while len(_MEMO) > MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    return obs


def short(data: Any) -> str:
    text = json.dumps(data) if not isinstance(data, str) else data
    return text if len(text) <= 160 else text[:157] + "..."


__all__ = ["MEMO_SIZE", "Observation", "observe", "play_hour", "short"]
