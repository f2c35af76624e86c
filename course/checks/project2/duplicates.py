"""Rubric item ``duplicates``: at-least-once delivery, from the queue and from the client, costs nothing twice.

The queue redelivers acknowledged messages (``rt.faults.duplicate`` on ``queue:mesh-updates``,
at a seeded rate), and a client that did not see its ``202`` posts the same update again once
the first was announced. Each update must still be processed once: one upstream request (the
cached readings serve the copies), one Workers AI call (the stored analysis serves them), one
notification in the feed's log and one frame per subscriber.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.harness.streams import Streams
from course.checks.project2.contract import (
    QUEUE,
    SETTLE,
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

UPSTREAM_ONCE = Budget("upstream requests per update, copies included", 1, "requests")
MODEL_ONCE = Budget("Workers AI calls per update, copies included", 1, "calls")
NOTIFIED_ONCE = Budget("notifications per update", 1, "notifications")
DUPLICATE_BUDGETS = (NOTIFIED_ONCE, UPSTREAM_ONCE, MODEL_ONCE)


@dataclass(frozen=True)
class DuplicateCase(ProjectCase):
    updates: tuple[UpdateSpec, ...]
    resent: tuple[str, ...]  # update ids the client posts again after they were announced
    rate: float  # chance an acknowledged message is delivered again
    runtime_seed: int = 0

    def describe(self) -> str:
        again = f"; the client posts {', '.join(self.resent)} again" if self.resent else ""
        return (f"the queue redelivers acknowledged messages at rate {self.rate:g}; updates "
                + "; ".join(u.describe() for u in self.updates) + again)

    def play(self, session: ProjectSession) -> str:
        upstream = Upstream(session, {u.update_id: u for u in self.updates}).install()
        feeds = sorted({u.feed for u in self.updates})
        subs = {f: session.subscribe(f"{updates_path(f)}?after=0", f"sub-{f}") for f in feeds}
        session.rt.faults.duplicate(self.rate, target=f"queue:{QUEUE}")
        mark = session.mark()
        for spec in self.updates:
            submit(session, spec)
        session.advance(SETTLE)
        for spec in self.updates:
            if spec.update_id in self.resent:
                submit(session, spec)
        session.advance(SETTLE)
        redelivered = session.count("queue_duplicate", since=mark)
        for feed in feeds:
            notes = check_log(session, feed, self.updates)  # once each: NOTIFIED_ONCE
            for spec in self.updates:
                if spec.feed == feed:
                    check_notification(notes[spec.update_id], spec, ("ok",))
            check_stream(subs[feed], feed, [u for u, _ in sorted(notes.items(), key=lambda kv: kv[1]["seq"])])
        for spec in self.updates:
            problem = UPSTREAM_ONCE.check(upstream.count(spec.update_id),
                                          f"{spec.update_id}: cache the readings in KV; a copy must not fetch again")
            if problem:
                raise CaseFailed(problem)
        problem = MODEL_ONCE.check(session.count("ai", since=mark) / len(self.updates),
                                   "store each analysis by update id; a copy must not ask the model again")
        if problem:
            raise CaseFailed(problem)
        return (f"{len(self.updates)} updates, {redelivered} queue redeliveries and {len(self.resent)} client "
                "resends: each processed once")

    def candidates(self) -> Sequence[ProjectCase]:
        if len(self.updates) <= 1:
            return []
        return [replace(self, updates=(u,), resent=tuple(r for r in self.resent if r == u.update_id))
                for u in self.updates]


class DuplicateScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, (feeds, rate) in enumerate(((("weather",), 0.7), (("weather", "air"), 0.5), (("river",), 0.5))):
            rng = streams("duplicates", n)
            updates = tuple(draw_update(rng, feeds[i % len(feeds)], f"d{n}-{i}") for i in range(rng.randint(2, 4)))
            resent = tuple(u.update_id for u in rng.sample(updates, rng.randint(1, len(updates))))
            out.append(DuplicateCase(updates, resent, rate, runtime_seed=self.seed * 100 + n))
        return out


__all__ = ["DUPLICATE_BUDGETS", "MODEL_ONCE", "NOTIFIED_ONCE", "UPSTREAM_ONCE", "DuplicateCase", "DuplicateScenario"]
