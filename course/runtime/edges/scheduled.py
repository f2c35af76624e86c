"""wrangler dev's routes that fire a Worker's ``scheduled`` handler on request.

Under ``wrangler dev`` cron triggers never fire on their own; a developer fires them by HTTP:

- ``/cdn-cgi/handler/scheduled?cron=...&time=...`` (always on; ``time`` in milliseconds since
  the epoch, default now) answers ``ok`` (200) or ``exception`` (500), as Miniflare does;
- ``/__scheduled?cron=...`` (only with ``wrangler dev --test-scheduled``) answers
  ``Ran scheduled event``.

(https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/#background,
https://developers.cloudflare.com/workers/configuration/cron-triggers/#test-cron-triggers-locally)

``course serve`` (edges/asgi.py) and the in-process transports (edges/transport.py) both answer
these routes here, so a trigger behaves the same in a notebook and over real HTTP. The request
is parsed on the caller's side (:func:`scheduled_trigger`); :meth:`ScheduledTrigger.answer` runs
on the runtime's loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from course.runtime.bindings.cron import crons

#: Miniflare's trigger route, always on under ``wrangler dev``.
SCHEDULED_TRIGGER_PATH = "/cdn-cgi/handler/scheduled"
#: ``wrangler dev --test-scheduled``'s route.
TEST_SCHEDULED_PATH = "/__scheduled"
#: What ``/__scheduled`` answers (wrangler dev's text).
TEST_SCHEDULED_ANSWER = "Ran scheduled event"


@dataclass(frozen=True)
class TriggerAnswer:
    """The HTTP answer of a trigger route: a status and a plain-text body."""

    status: int
    text: str


@dataclass(frozen=True)
class ScheduledTrigger:
    """One request to a trigger route: which route, the ``cron`` and the ``time`` asked for."""

    path: str
    cron: str
    time: str

    async def answer(self, runtime: Any, worker: str | None = None) -> TriggerAnswer:
        """Fire ``worker``'s (default: the main Worker's) ``scheduled`` handler once and say how
        it went; runs on the runtime's loop."""
        try:
            scheduled_ms = int(self.time) if self.time else None
        except ValueError:
            return TriggerAnswer(400, f"Bad request: time={self.time!r} is not milliseconds since the epoch\n")
        if scheduled_ms is None:
            scheduled_ms = int(runtime.clock.wall() * 1000)
        controller = await crons(runtime).run(runtime.worker(worker).name, self.cron, scheduled_ms)
        if self.path == TEST_SCHEDULED_PATH:
            return TriggerAnswer(200, TEST_SCHEDULED_ANSWER)
        return TriggerAnswer(200 if controller.outcome == "ok" else 500, controller.outcome or "")


def scheduled_trigger(path: str, query: str, *, test_scheduled: bool = False) -> ScheduledTrigger | None:
    """The trigger a request to ``path?query`` asks for, or None when the Worker's fetch answers it
    (``/__scheduled`` is a trigger only with ``test_scheduled``)."""
    if path != SCHEDULED_TRIGGER_PATH and not (test_scheduled and path == TEST_SCHEDULED_PATH):
        return None
    params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    # /__scheduled takes no time: it always fires "now", as wrangler dev's does.
    when = params.get("time", "") if path == SCHEDULED_TRIGGER_PATH else ""
    return ScheduledTrigger(path, params.get("cron", ""), when)


__all__ = ["SCHEDULED_TRIGGER_PATH", "TEST_SCHEDULED_ANSWER", "TEST_SCHEDULED_PATH", "ScheduledTrigger",
           "TriggerAnswer", "scheduled_trigger"]
