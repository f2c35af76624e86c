"""Cron Triggers: call a Worker's ``scheduled`` handler at each time its cron expressions match.

Configured as in wrangler (https://developers.cloudflare.com/workers/configuration/cron-triggers/)::

    [triggers]
    crons = ["*/1 * * * *", "0 17 * * sun"]

and handled by ``async def scheduled(self, controller, env, ctx)`` on the Worker's entrypoint
(https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/), called strictly as
workerd does. ``controller`` has ``cron`` (the expression that fired), ``scheduledTime``
(milliseconds since the epoch), ``type`` (``"scheduled"``) and ``noRetry()``.

Schedules run on the runtime clock in UTC, as on Cloudflare: each expression gets a platform
timer for its next match after the current time (so ``*/1 * * * *`` fires at 60 s, 120 s and
180 s of a runtime started on a whole minute: three times when the clock advances 180 s).

When they fire on their own depends on the clock. On virtual time (tests, graders, notebooks)
advancing the clock fires them: that is how a simulated day runs. On real time (``course
serve``, ``load(..., virtual_time=False)``) they fire only when asked, as under ``wrangler dev``,
which never runs them by itself: by the trigger routes (course.runtime.edges.scheduled), by
:func:`trigger`, or on the wall clock once ``crons(rt).start()`` is called (``course serve
--crons``). The
cron dialect is Cloudflare's: five fields, ``L``, ``W`` and ``#``, 3-letter month and weekday names,
and weekdays numbered 1-7 **with 1 = Sunday** (the docs' ``0 17 * * 1`` is "5PM on Sunday"); it is
translated to croniter's 0 = Sunday before evaluation. A bad expression is refused when the Worker
loads, with a :class:`ConfigError` naming ``triggers.crons``.

Tests and notebooks fire a trigger directly with :func:`trigger` (like ``wrangler dev
--test-scheduled``'s ``/__scheduled`` route), and inspect schedules with
``crons(rt).schedules()``. Every run records a ``cron`` trace event with its outcome.

Not emulated: retries of a failed scheduled event (Cloudflare does not document a retry policy;
``noRetry()`` is recorded in the trace and has no other effect) and the per-account trigger limits.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import functools
import re
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from croniter import croniter

from course.runtime.kernel.plugins import Plugin, ServiceSlot
from course.runtime.kernel.config import ConfigError

DOC = "https://developers.cloudflare.com/workers/configuration/cron-triggers/"
_DAY_NAMES = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}


class ScheduledController:
    """``controller`` of a ``scheduled`` call: ``cron``, ``scheduledTime`` (ms), ``noRetry()``."""

    type = "scheduled"

    def __init__(self, cron: str, scheduled_time_ms: int) -> None:
        self.cron = cron
        self.scheduledTime = scheduled_time_ms  # noqa: N815 - Cloudflare's name
        self.retry = True
        #: How the handler ended, once it ran: "ok" or "exception" (wrangler dev's trigger answer).
        self.outcome: str | None = None

    def noRetry(self) -> None:  # noqa: N802 - Cloudflare's name
        """Ask the platform not to retry this event if the handler fails."""
        self.retry = False

    no_retry = noRetry

    def __repr__(self) -> str:
        return f"<ScheduledController cron={self.cron!r} scheduledTime={self.scheduledTime}>"


# -- the cron dialect ------------------------------------------------------------------------
def _weekday_atom(atom: str) -> str:
    """One weekday value (number 1-7 or name, optional ``L`` / ``#n``) in croniter's numbering."""
    m = re.fullmatch(r"([0-9]+|[a-zA-Z]{3})(L|#[1-5])?", atom)
    if m is None:
        raise ValueError(f"bad weekday {atom!r}")
    value, suffix = m[1], m[2] or ""
    if value.isdigit():
        n = int(value)
        if not 1 <= n <= 7:
            raise ValueError(f"weekday {n} is out of range (1-7, where 1 is Sunday)")
        day = n - 1
    elif value.lower() in _DAY_NAMES:
        day = _DAY_NAMES[value.lower()]
    else:
        raise ValueError(f"unknown weekday name {value!r}")
    # Cloudflare writes "last Friday" as 6L / friL; croniter as L5.
    return f"L{day}" if suffix == "L" else f"{day}{suffix}"


def _weekday_field(text: str) -> str:
    out = []
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            translated = "*"
        elif "-" in base:
            lo, hi = base.split("-", 1)
            translated = f"{_weekday_atom(lo)}-{_weekday_atom(hi)}"
        else:
            translated = _weekday_atom(base)
        if step:
            if not step.isdigit() or int(step) == 0:
                raise ValueError(f"bad step {step!r}")
            translated += f"/{step}"
        out.append(translated)
    return ",".join(out)


def _weekday_rule(dom: str) -> Callable[[_dt.date], bool] | None:
    """A day-of-month ``W`` rule (``LW``, ``15W``) as a predicate; None if there is no ``W``.

    croniter has no ``W``, so such expressions are evaluated with day-of-month ``*`` and the
    matches are filtered by this predicate.
    """
    if "W" not in dom.upper():
        return None
    m = re.fullmatch(r"(L|[0-9]{1,2})W", dom, re.I)
    if m is None:
        raise ValueError(f"bad day-of-month {dom!r} (W takes one day: 15W, or LW)")

    def last_day(d: _dt.date) -> int:
        nxt = (d.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
        return (nxt - _dt.timedelta(days=1)).day

    def nearest_weekday(d: _dt.date) -> int:
        last = last_day(d)
        target = last if m[1].upper() == "L" else int(m[1])
        if not 1 <= target <= 31:
            raise ValueError(f"day {target} is out of range")
        target = min(target, last)
        wd = d.replace(day=target).weekday()  # Monday = 0
        if wd == 5:  # Saturday: Friday before, unless that leaves the month
            return target - 1 if target > 1 else target + 2
        if wd == 6:  # Sunday: Monday after, unless that leaves the month
            return target + 1 if target < last else target - 2
        return target

    nearest_weekday(_dt.date(2026, 1, 1))  # validates the day number now
    return lambda d: d.day == nearest_weekday(d)


def to_croniter(expression: str) -> str:
    """Translate a Cloudflare cron expression to croniter's dialect (raises ValueError)."""
    if not isinstance(expression, str):
        raise ValueError(f"a cron expression is a string, got {type(expression).__name__}")
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has 5 fields (minute hour day-of-month month "
                         f"day-of-week), this one has {len(fields)}")
    if _weekday_rule(fields[2]) is not None:
        fields[2] = "*"
    fields[4] = _weekday_field(fields[4])
    translated = " ".join(fields)
    if not croniter.is_valid(translated):
        raise ValueError("not a valid cron expression")
    return translated


@functools.lru_cache(maxsize=256)
def _compiled(expression: str) -> tuple[str, Callable[[_dt.date], bool] | None]:
    """croniter's form of ``expression`` and its day-of-month rule, checked once per expression."""
    return to_croniter(expression), _weekday_rule(expression.split()[2])


class CronCursor:
    """The matches of one expression in order, from ``after_epoch`` on: croniter parses an
    expression when it is built, so a schedule keeps one cursor instead of one per run."""

    def __init__(self, expression: str, after_epoch: float) -> None:
        translated, self._rule = _compiled(expression)
        self.expression = expression
        # Epoch seconds in and out: croniter then computes in UTC, as Cloudflare's cron triggers
        # do, a third faster than from a UTC datetime (the same matches).
        self._it = croniter(translated, float(after_epoch))
        #: the last match returned (or the start)
        self.at = after_epoch

    def next(self) -> float:
        """The first epoch second strictly after the last match matching the expression."""
        rule = self._rule
        for _ in range(100_000):
            candidate = self._it.get_next(float)
            if rule is None or rule(_dt.datetime.fromtimestamp(candidate, _dt.timezone.utc).date()):
                self.at = candidate
                return self.at
        raise ValueError(f"cron expression {self.expression!r} never matches")


def next_time(expression: str, after_epoch: float) -> float:
    """The first epoch second strictly after ``after_epoch`` matching ``expression`` (UTC)."""
    return CronCursor(expression, after_epoch).next()


# -- schedules -------------------------------------------------------------------------------
@dataclass
class CronSchedule:
    """One cron expression of one Worker, with its next due time (epoch seconds)."""

    worker: str
    cron: str
    next_wall: float | None = None
    runs: int = 0
    _timer: Any = field(default=None, repr=False)
    _cursor: CronCursor | None = field(default=None, repr=False)


class CronService:
    """Every cron schedule of one runtime (``crons(rt)``)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self._schedules: list[CronSchedule] = []
        #: Whether schedules fire on the runtime clock; on real time only after start().
        self.on_clock = bool(runtime.clock.virtual)

    def start(self) -> None:
        """Fire every schedule on the runtime clock from now on (real time: the wall clock, as on
        Cloudflare; ``course serve --crons``). Virtual time does so from the start."""
        if self.on_clock:
            return
        self.on_clock = True
        for schedule in self._schedules:
            self._arm(schedule)

    def schedules(self) -> list[dict[str, Any]]:
        """Each schedule: worker, cron, next run (ISO 8601, UTC) and how often it ran."""
        return [{"worker": s.worker, "cron": s.cron, "runs": s.runs,
                 "next": _dt.datetime.fromtimestamp(s.next_wall, _dt.timezone.utc).isoformat()
                 if s.next_wall is not None else None} for s in self._schedules]

    def add(self, worker: str, cron: str) -> None:
        schedule = CronSchedule(worker, cron)
        self._schedules.append(schedule)
        if self.on_clock:
            self._arm(schedule)  # rt.call_at is safe from any thread

    def _arm(self, schedule: CronSchedule) -> None:
        """Set the timer for the schedule's next match after its last one (or after now)."""
        rt = self.runtime
        after = schedule.next_wall if schedule.next_wall is not None else rt.clock.wall()
        cursor = schedule._cursor
        if cursor is None or cursor.at != after:
            cursor = schedule._cursor = CronCursor(schedule.cron, after)
        schedule.next_wall = cursor.next()
        # Runtime clock time of that wall instant: wall() - now() is the clock's epoch.
        when = schedule.next_wall - (rt.clock.wall() - rt.clock.now())

        def fire() -> Any:
            scheduled_ms = int(round(schedule.next_wall * 1000))  # type: ignore[operator]
            self._arm(schedule)  # the next run does not wait for this one
            schedule.runs += 1
            return self.run(schedule.worker, schedule.cron, scheduled_ms)

        schedule._timer = rt.call_at(when, fire, label=f"cron {schedule.cron} ({schedule.worker})",
                                     worker=schedule.worker, cron=schedule.cron)

    async def run(self, worker: str, cron: str, scheduled_ms: int) -> ScheduledController:
        """Call the Worker's ``scheduled`` handler once; failures are logged and traced."""
        rt = self.runtime
        controller = ScheduledController(cron, scheduled_ms)
        outcome, error = "ok", None
        try:
            await rt.invoke(worker, "scheduled", controller)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing cron is logged, the schedule goes on
            outcome, error = "exception", f"{type(exc).__name__}: {exc}"
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            rt.log("error", f"scheduled handler of {worker} ({cron}) threw:\n{tb.rstrip()}", worker=worker)
        rt.trace.record("cron", worker=worker, cron=cron, scheduled_time=scheduled_ms, outcome=outcome,
                        error=error, no_retry=not controller.retry)
        controller.outcome = outcome
        return controller

    def close(self) -> None:
        for s in self._schedules:
            if s._timer is not None:
                s._timer.cancel()


#: The runtime's cron schedules.
CRONS: ServiceSlot[CronService] = ServiceSlot("crons", CronService)


def crons(runtime: Any) -> CronService:
    """The runtime's cron schedules, for inspection and direct triggering."""
    return CRONS.of(runtime)


def trigger(runtime: Any, cron: str | None = None, worker: str | None = None,
            scheduled_time: float | None = None) -> ScheduledController:
    """Fire a Worker's ``scheduled`` handler now, from Python (a test or notebook); blocks until done.

    ``cron`` defaults to the Worker's first configured expression (or ``"* * * * *"`` if it has
    none, as ``wrangler dev --test-scheduled`` does); ``worker`` to the main Worker;
    ``scheduled_time`` (epoch seconds) to the runtime clock's now.
    """
    w = runtime.worker(worker)
    if cron is None:
        cron = w.config.triggers.crons[0] if w.config.triggers.crons else "* * * * *"
    when = runtime.clock.wall() if scheduled_time is None else scheduled_time
    return runtime.call(crons(runtime).run(w.name, cron, int(round(when * 1000))))


# -- binding hooks ---------------------------------------------------------------------------
def _validate(worker: Any) -> list[str]:
    path = worker.config.path or "<code>"
    for i, expression in enumerate(worker.config.triggers.crons):
        try:
            to_croniter(expression)
        except ValueError as exc:
            raise ConfigError(path, f"invalid cron expression {expression!r}: {exc} (see {DOC})",
                              key=f"triggers.crons[{i}]") from None
    return list(worker.config.triggers.crons)


def bind(runtime: Any, worker: Any) -> dict[str, object]:
    """Crons add nothing to ``env``; the expressions are checked here, before the Worker loads."""
    _validate(worker)
    return {}


def attach(runtime: Any, worker: Any) -> None:
    """Register the Worker's cron expressions (each gets a timer when the schedules run on the clock)."""
    service = crons(runtime)
    for expression in _validate(worker):
        service.add(worker.name, expression)


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('cron', ("triggers",), bind, attach)
