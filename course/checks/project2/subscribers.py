"""Rubric item ``resume``: subscribers that disconnect and come back miss nothing and get nothing twice.

One feed, three subscribers. ``steady`` stays connected the whole time, while the
NotificationAgent hibernates and is evicted. ``roamer`` disconnects after the first updates and
reconnects with ``?after=`` the last ``seq`` it saw, after more updates were published: it must
get exactly the ones it missed, then the live ones. ``late`` connects at the current end of the
log and must get only what comes next. Each subscriber's stream is one frame per update, in
``seq`` order, without a gap or a repeat.
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
    check_stream,
    draw_update,
    updates_path,
)
from course.checks.projects import Budget, ProjectCase, ProjectScenario, ProjectSession

FRAMES = Budget("WebSocket frames per update per subscriber, across reconnections", 1, "frames")


def submit_all(session: ProjectSession, updates: Sequence[UpdateSpec]) -> None:
    for spec in updates:
        reply = session.post(updates_path(spec.feed), spec.body())
        if reply.status != 202:
            raise CaseFailed(f"POST {updates_path(spec.feed)} ({spec.update_id}) answered {reply.brief()}; "
                             "expected 202")
    session.advance(SETTLE)


@dataclass(frozen=True)
class ResumeCase(ProjectCase):
    before: tuple[UpdateSpec, ...]  # published while roamer is connected
    away: tuple[UpdateSpec, ...]  # published while roamer is away (the agent is evicted in between)
    after: tuple[UpdateSpec, ...]  # published once everybody is back
    evict: bool = True
    runtime_seed: int = 0

    @property
    def feed(self) -> str:
        return self.before[0].feed

    def describe(self) -> str:
        ids = lambda specs: ", ".join(u.update_id for u in specs)  # noqa: E731
        return (f"feed {self.feed}: steady and roamer subscribe at ?after=0; {ids(self.before)} published; roamer "
                f"disconnects; {ids(self.away)} published"
                + ("; the NotificationAgent is evicted" if self.evict else "")
                + f"; roamer reconnects with ?after=<its last seq> and late subscribes at the end of the log; "
                f"{ids(self.after)} published")

    def play(self, session: ProjectSession) -> str:
        everything = (*self.before, *self.away, *self.after)
        Upstream(session, {u.update_id: u for u in everything}).install()
        feed, path = self.feed, updates_path(self.feed)
        steady = session.subscribe(f"{path}?after=0", "steady")
        roamer = session.subscribe(f"{path}?after=0", "roamer")
        submit_all(session, self.before)
        order = self.order(session, self.before)
        frames = check_stream(roamer, feed, order)
        last_seq = frames[-1][1]["seq"]
        roamer.close()
        submit_all(session, self.away)
        if self.evict:
            session.rt.evict("NOTIFY", feed)
        order = self.order(session, (*self.before, *self.away))
        back = session.subscribe(f"{path}?after={last_seq}", "roamer-again")
        late = session.subscribe(f"{path}?after={len(order)}", "late")
        session.advance(1.0)
        check_stream(back, feed, order[last_seq:], first_seq=last_seq + 1)
        check_stream(late, feed, [], first_seq=len(order) + 1)
        submit_all(session, self.after)
        full = self.order(session, everything)
        check_stream(steady, feed, full)
        check_stream(back, feed, full[last_seq:], first_seq=last_seq + 1)
        check_stream(late, feed, full[len(order):], first_seq=len(order) + 1)
        return (f"{len(full)} updates: steady got each once, roamer resumed after seq {last_seq} with no gap and no "
                "repeat, late got only the new ones")

    def order(self, session: ProjectSession, specs: Sequence[UpdateSpec]) -> list[str]:
        """The update ids in the feed's log order (the log must hold exactly ``specs``)."""
        notes = check_log(session, self.feed, specs)
        return [u for u, _ in sorted(notes.items(), key=lambda kv: kv[1]["seq"])]

    def candidates(self) -> Sequence[ProjectCase]:
        out: list[ProjectCase] = []
        if self.evict:
            out.append(replace(self, evict=False))
        if len(self.before) > 1 or len(self.away) > 1 or len(self.after) > 1:
            out.append(replace(self, before=self.before[:1], away=self.away[:1], after=self.after[:1]))
        return out


class ResumeScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n, feed in enumerate(("weather", "air", "river")):
            rng = streams("resume", n)
            sizes = [rng.randint(1, 3) for _ in range(3)]
            specs = [draw_update(rng, feed, f"rs{n}-{i}") for i in range(sum(sizes))]
            a, b = sizes[0], sizes[0] + sizes[1]
            out.append(ResumeCase(tuple(specs[:a]), tuple(specs[a:b]), tuple(specs[b:]),
                                  runtime_seed=self.seed * 100 + n))
        return out


__all__ = ["FRAMES", "ResumeCase", "ResumeScenario"]
