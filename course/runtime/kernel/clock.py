"""The runtime's clock: real time for `course serve`, virtual time for tests and grading.

Virtual time follows ``trio.testing.MockClock``: time stands still until someone advances it,
and every timer that falls due on the way runs in order. While a request or ``run_until_idle``
is waiting on the runtime (an *autojump hold*), an idle loop jumps straight to its next timer,
so a handler that sleeps for an hour returns at once with the clock an hour later.

The event loop of a runtime is a ``SelectorEventLoop`` whose ``time()`` is the clock and whose
selector, when the loop is idle, moves the clock instead of blocking.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import selectors
import threading
import time as _time
from typing import Any, Callable

from course.runtime.kernel.cpu_limit import LoopWatchdog, SelectorWrapper, WatchedSelector

#: Wall-clock instant that virtual time starts from: 2026-01-01T00:00:00Z. Fixed so that the
#: same seed and inputs give the same trace, timestamps included.
VIRTUAL_EPOCH = 1_767_225_600.0

#: Real seconds after work arrives from another thread during which an idle runtime waits for
#: more before autojumping virtual time (see _VirtualSelector.select).
AUTOJUMP_THRESHOLD = 0.01

#: Real seconds an idle runtime with waiting callers, no timer, no outside I/O and no new work
#: waits before it declares that those callers can never get an answer (workerd's "The script
#: will never generate a response."). Long enough for a second thread's request to arrive.
NEVER_RESPONDS_GRACE = 2.0

_real_time = _time.time
_real_time_ns = _time.time_ns
_tls = threading.local()
_patch_lock = threading.Lock()
_patched = False


def _virtual_aware_time() -> float:
    clock = getattr(_tls, "clock", None)
    return clock.wall() if clock is not None else _real_time()


def _virtual_aware_time_ns() -> int:
    clock = getattr(_tls, "clock", None)
    return int(round(clock.wall() * 1e9)) if clock is not None else _real_time_ns()


def install_time_patch() -> None:
    """Make ``time.time()`` read the virtual clock on runtime threads (and real time elsewhere).

    Cloudflare's examples read ``time.time()`` and ``datetime.now()``; on the virtual clock they
    must agree with alarms and timers. Only the calling thread's clock matters, so notebooks,
    Jupyter and uvicorn on other threads keep real time.
    """
    global _patched
    with _patch_lock:
        if not _patched:
            _time.time = _virtual_aware_time
            _time.time_ns = _virtual_aware_time_ns
            _patched = True


def bind_thread(clock: "Clock | None") -> None:
    """Declare which virtual clock the current thread reads (None: real time)."""
    _tls.clock = clock if clock is not None and clock.virtual else None


class _AcceptsBase(type):
    """isinstance(real_datetime, VirtualDateTime) stays True inside Worker modules."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.__mro__[1])

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.__mro__[1])


class VirtualDateTime(_dt.datetime, metaclass=_AcceptsBase):
    """``datetime.datetime`` whose ``now``/``utcnow``/``today`` read the (patched) ``time.time``."""

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> "VirtualDateTime":  # type: ignore[override]
        return cls.fromtimestamp(_time.time(), tz)

    @classmethod
    def utcnow(cls) -> "VirtualDateTime":  # type: ignore[override]
        return cls.fromtimestamp(_time.time(), _dt.timezone.utc).replace(tzinfo=None)

    @classmethod
    def today(cls) -> "VirtualDateTime":  # type: ignore[override]
        return cls.now()


class VirtualDate(_dt.date, metaclass=_AcceptsBase):
    @classmethod
    def today(cls) -> "VirtualDate":  # type: ignore[override]
        return cls.fromtimestamp(_time.time())


class _VirtualDatetimeModule:
    """Stands in for the ``datetime`` module inside Worker modules, with virtual ``now()``."""

    datetime = VirtualDateTime
    date = VirtualDate

    def __getattr__(self, name: str) -> Any:
        return getattr(_dt, name)


VIRTUAL_DATETIME_MODULE = _VirtualDatetimeModule()


def virtualize_module_globals(namespace: dict[str, Any]) -> None:
    """Point a Worker module's ``datetime`` names at the virtual-clock versions."""
    for name, value in list(namespace.items()):
        if value is _dt:
            namespace[name] = VIRTUAL_DATETIME_MODULE
        elif value is _dt.datetime:
            namespace[name] = VirtualDateTime
        elif value is _dt.date:
            namespace[name] = VirtualDate
        elif value is _real_time:
            namespace[name] = _virtual_aware_time


class Clock:
    """The time source of one runtime. ``now()`` is seconds since the runtime started."""

    def __init__(self, *, virtual: bool, epoch: float | None = None) -> None:
        self.virtual = virtual
        self._now = 0.0
        self._epoch = VIRTUAL_EPOCH if virtual and epoch is None else (epoch if epoch is not None else _real_time())
        self._mono0 = _time.monotonic()
        self._advance_target: float | None = None
        self._advance_done: asyncio.Future[None] | None = None
        self._holds = 0
        #: Real seconds an idle loop waits for other threads' work before an autojump.
        self.autojump_threshold = AUTOJUMP_THRESHOLD
        self._last_arrival = float("-inf")
        #: Operations waiting on real I/O in threads (a real AI backend): no autojump meanwhile.
        self._external = 0
        self.never_responds_grace = NEVER_RESPONDS_GRACE
        self.runtime: Any = None  # set by the Runtime

    # -- reading -----------------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the runtime started (virtual or real)."""
        if self.virtual:
            return self._now
        return _time.monotonic() - self._mono0

    def wall(self) -> float:
        """Seconds since the Unix epoch, as ``time.time()`` reads inside the Worker."""
        return self._epoch + self.now()

    def wall_ms(self) -> int:
        return int(self.wall() * 1000)

    def datetime(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.wall(), _dt.timezone.utc)

    # -- moving (virtual only) ---------------------------------------------------------------
    def advance(self, seconds: float) -> float:
        """Move virtual time forward, running every timer that falls due, in order.

        Returns the new ``now()``. Call it from outside the runtime (a notebook, a test).
        """
        if not self.virtual:
            raise RuntimeError("clock.advance() needs virtual time: load(..., virtual_time=True)")
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards ({seconds} s)")
        self.runtime.call(self._advance(seconds))
        return self._now

    def advance_to(self, t: float) -> float:
        return self.advance(max(0.0, t - self.now()))

    async def _advance(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        target = self._now + seconds
        self._advance_target = target
        self._advance_done = loop.create_future()
        await self._advance_done

    def hold(self) -> None:
        """Someone waits on the runtime: an idle loop may jump to its next timer."""
        self._holds += 1

    def note_arrival(self) -> None:
        """Work from another thread just reached the loop (see _VirtualSelector.select)."""
        self._last_arrival = _time.monotonic()

    def release(self) -> None:
        self._holds -= 1

    @property
    def autojumping(self) -> bool:
        return self._holds > 0

    # -- called by the selector when the loop has nothing ready ------------------------------
    def _idle(self, timeout: float | None) -> bool:
        """The loop is idle; the next timer is ``timeout`` seconds away (None: no timer).

        Returns True if the clock moved (the loop should spin again without blocking).
        """
        target = self._advance_target
        if target is not None:
            if timeout is not None and self._now + timeout <= target:
                self._now += timeout
                return True
            self._now = max(self._now, target)
            self._advance_target = None
            done, self._advance_done = self._advance_done, None
            if done is not None and not done.done():
                done.set_result(None)
            return True
        if self._holds > 0 and self._external == 0 and timeout is not None:
            self._now += timeout
            return True
        return False

    def external_io_started(self) -> None:
        """Real I/O (off the loop) began: virtual time must not jump past it."""
        self._external += 1

    def external_io_finished(self) -> None:
        self._external -= 1

    def _stalled(self) -> bool:
        """Callers wait, yet nothing can ever wake them: no timer, no I/O, no advance."""
        return self._holds > 0 and self._external == 0 and self._advance_target is None


def _nothing() -> None:
    return None


class _VirtualSelector(SelectorWrapper):
    """Wraps the loop's selector: when idle on virtual time, move the clock, don't block."""

    def __init__(self, inner: selectors.BaseSelector, clock: Clock,
                 before_wait: Callable[[], None] | None = None) -> None:
        super().__init__(inner)
        self._clock = clock
        #: called at the top of every select (the loop ran what was ready): see Kernel.when_waiting
        self._before_wait = before_wait or _nothing

    def select(self, timeout: float | None = None) -> list:
        self._before_wait()
        if timeout is not None and timeout <= 0:
            return self._inner.select(0)
        events = self._inner.select(0)
        if events:
            return events
        clock = self._clock
        if clock._holds > 0 and clock._advance_target is None and timeout is not None:
            # Before jumping, give callers on other threads a moment to hand in work they are
            # submitting right now (asyncio.gather over rt.async_client()): otherwise the first
            # request could jump the clock before its siblings arrive, and the trace would
            # depend on thread scheduling. Only right after an arrival, so a handler that
            # sleeps in a loop still jumps at full speed. Trio's MockClock has the same knob.
            quiet = clock._last_arrival + clock.autojump_threshold - _time.monotonic()
            if quiet > 0:
                events = self._inner.select(quiet)
                if events:
                    return events
        if clock._idle(timeout):
            return []
        if timeout is None and clock._stalled() and clock.runtime is not None:
            events = self._inner.select(clock.never_responds_grace)
            if events:
                return events
            if clock._stalled():
                clock.runtime._fail_stalled_callers()
            return []
        return self._inner.select(None)


class _RealTimeSelector(_VirtualSelector):
    """Real time: block as usual, but fail callers that wait on something nothing can finish.

    With no timer scheduled (``timeout`` None), no real I/O pending and a caller waiting, no
    event can ever wake the loop again: as on virtual time, the waiting requests fail with
    workerd's "will never generate a response" after :attr:`Clock.never_responds_grace` real
    seconds, instead of hanging their client until it gives up.
    """

    def select(self, timeout: float | None = None) -> list:
        self._before_wait()
        clock = self._clock
        if timeout is None and clock._stalled() and clock.runtime is not None:
            events = self._inner.select(clock.never_responds_grace)
            if events:
                return events
            if clock._stalled():
                clock.runtime._fail_stalled_callers()
            return []
        return self._inner.select(timeout)


class RuntimeEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose time is the runtime clock."""

    def __init__(self, clock: Clock, watchdog: LoopWatchdog | None = None,
                 before_wait: Callable[[], None] | None = None) -> None:
        self._runtime_clock = clock
        selector: selectors.BaseSelector = selectors.DefaultSelector()
        kind = _VirtualSelector if clock.virtual else _RealTimeSelector
        selector = kind(selector, clock, before_wait)
        if watchdog is not None:
            selector = WatchedSelector(selector, watchdog)
        super().__init__(selector)

    def time(self) -> float:
        if self._runtime_clock.virtual:
            return self._runtime_clock._now
        return super().time()
