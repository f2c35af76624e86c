"""Rubric items ``happy-path`` and ``burst``: updates reach their subscribers, right and within budgets.

``happy-path`` submits updates one after the other, to one feed or two, each feed with a
subscriber, and reads every notification three ways: the subscriber's stream, ``GET`` of the
update, and the feed's log. ``burst`` submits a dozen or more updates at the same instant across
feeds with two subscribers each, and measures what the mesh spent on them: upstream requests,
model calls and RPC messages per update, WebSocket frames per update per subscriber, and the
virtual time from the ``POST`` to the subscriber's frame.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.harness.streams import Streams
from course.checks.project2.contract import (
    SETTLE,
    UpdateSpec,
    Upstream,
    check_log,
    check_notification,
    check_stream,
    draw_update,
    queue_story,
    submit,
    update_path,
    updates_path,
)
from course.checks.projects import Budget, ProjectCase, ProjectScenario, ProjectSession

HAPPY_LATENCY = Budget("virtual time from POST to the subscriber's frame", 3.0, "s")
BURST_LATENCY = Budget("virtual time from POST to the subscriber's frame, slowest update of the burst", 5.0, "s")
UPSTREAM_PER_UPDATE = Budget("upstream requests per update", 1, "requests")
MODEL_CALLS_PER_UPDATE = Budget("Workers AI calls per update", 1, "calls")
RPC_PER_UPDATE = Budget("RPC messages per update (each call and each reply counts one)", 6, "messages")
FRAMES_PER_UPDATE = Budget("WebSocket frames per update per subscriber", 1, "frames")
BURST_BUDGETS = (UPSTREAM_PER_UPDATE, MODEL_CALLS_PER_UPDATE, RPC_PER_UPDATE, FRAMES_PER_UPDATE, BURST_LATENCY)


def feeds_of(updates: Sequence[UpdateSpec]) -> list[str]:
    return sorted({u.feed for u in updates})


@dataclass(frozen=True)
class HappyCase(ProjectCase):
    updates: tuple[UpdateSpec, ...]
    runtime_seed: int = 0

    def describe(self) -> str:
        return "one after the other: " + "; ".join(u.describe() for u in self.updates)

    def play(self, session: ProjectSession) -> str:
        Upstream(session, {u.update_id: u for u in self.updates}).install()
        feeds = feeds_of(self.updates)
        subs = {f: session.subscribe(f"{updates_path(f)}?after=0", f"sub-{f}") for f in feeds}
        unknown = session.get(update_path(feeds[0], "never-submitted"))
        if unknown.status != 404:
            raise CaseFailed(f"GET {update_path(feeds[0], 'never-submitted')} answered {unknown.brief()}; expected 404 "
                             "for an update that was never published")
        seen: dict[str, list[str]] = {f: [] for f in feeds}
        for spec in self.updates:
            sent = submit(session, spec)
            session.advance(SETTLE)
            reply = session.get(update_path(spec.feed, spec.update_id))
            if reply.status != 200:
                raise CaseFailed(f"GET {update_path(spec.feed, spec.update_id)} answered {reply.brief()} {SETTLE:g} "
                                 "virtual s after the update was submitted; expected 200 with its notification"
                                 + (f" ({queue_story(session)})" if reply.status == 404 else ""))
            check_notification(reply.json, spec, ("ok",))
            seen[spec.feed].append(spec.update_id)
            frames = check_stream(subs[spec.feed], spec.feed, seen[spec.feed])
            problem = HAPPY_LATENCY.check(round(frames[-1][0] - sent, 6), f"{spec.feed}/{spec.update_id}")
            if problem:
                raise CaseFailed(problem)
        for feed in feeds:
            check_log(session, feed, self.updates)
        return f"{len(self.updates)} updates announced once each, within {HAPPY_LATENCY.limit:g} s"

    def candidates(self) -> Sequence[ProjectCase]:
        return [replace(self, updates=(u,)) for u in self.updates] if len(self.updates) > 1 else []


class HappyScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, feeds in enumerate((("weather",), ("weather", "air"), ("river",))):
            rng = streams("happy", n)
            updates = tuple(draw_update(rng, feeds[i % len(feeds)], f"u{n}-{i}") for i in range(rng.randint(2, 4)))
            out.append(HappyCase(updates, runtime_seed=self.seed * 100 + n))
        return out


@dataclass(frozen=True)
class BurstCase(ProjectCase):
    updates: tuple[UpdateSpec, ...]
    runtime_seed: int = 0

    def describe(self) -> str:
        feeds = feeds_of(self.updates)
        return (f"{len(self.updates)} updates at the same instant across {', '.join(feeds)} (2 subscribers each): "
                + ", ".join(u.update_id for u in self.updates))

    def play(self, session: ProjectSession) -> str:
        upstream = Upstream(session, {u.update_id: u for u in self.updates}).install()
        feeds = feeds_of(self.updates)
        subs = {f: [session.subscribe(f"{updates_path(f)}?after=0", f"sub{k}-{f}") for k in (1, 2)] for f in feeds}
        mark = session.mark()
        sent = session.now()
        replies = session.concurrently(("POST", updates_path(u.feed), u.body()) for u in self.updates)
        for spec, reply in zip(self.updates, replies):
            if reply.status != 202:
                raise CaseFailed(f"POST {updates_path(spec.feed)} ({spec.update_id}) answered {reply.brief()}; "
                                 "expected 202")
        session.advance(SETTLE)
        n = len(self.updates)
        spent = {"upstream": sum(upstream.count(u.update_id) for u in self.updates) / n,
                 "ai": session.count("ai", since=mark) / n, "rpc": session.rpc_messages(since=mark) / n}
        slowest = 0.0
        for feed in feeds:
            notes = check_log(session, feed, self.updates)
            for spec in self.updates:
                if spec.feed == feed:
                    check_notification(notes[spec.update_id], spec, ("ok",))
            order = [u for u, _ in sorted(notes.items(), key=lambda kv: kv[1]["seq"])]
            for sub in subs[feed]:
                frames = check_stream(sub, feed, order)
                slowest = max(slowest, max(t for t, _ in frames) - sent)
        problems = [
            UPSTREAM_PER_UPDATE.check(spent["upstream"]),
            MODEL_CALLS_PER_UPDATE.check(spent["ai"]),
            RPC_PER_UPDATE.check(spent["rpc"]),
            BURST_LATENCY.check(round(slowest, 6)),
        ]
        for problem in problems:
            if problem:
                raise CaseFailed(problem)
        return f"{n} updates at once, each announced once per subscriber within {round(slowest, 3):g} s"

    def candidates(self) -> Sequence[ProjectCase]:
        if len(self.updates) <= 2:
            return []
        half = len(self.updates) // 2
        return [replace(self, updates=self.updates[:2]), replace(self, updates=self.updates[:half])]


class BurstScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, feeds in enumerate((("weather", "air"), ("weather", "air", "river"))):
            rng = streams("burst", n)
            count = rng.randint(12, 20)
            updates = tuple(draw_update(rng, feeds[i % len(feeds)], f"b{n}-{i}") for i in range(count))
            out.append(BurstCase(updates, runtime_seed=self.seed * 100 + n))
        return out


__all__ = ["BURST_BUDGETS", "BURST_LATENCY", "FRAMES_PER_UPDATE", "HAPPY_LATENCY", "MODEL_CALLS_PER_UPDATE",
           "RPC_PER_UPDATE", "UPSTREAM_PER_UPDATE", "BurstCase", "BurstScenario", "HappyCase", "HappyScenario"]
