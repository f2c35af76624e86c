"""The CPU-time limit: a runaway handler is stopped instead of starving every other request.

Cloudflare stops an invocation that uses more CPU time than its limit: 30 s by default on the
Standard plan, configurable with ``[limits] cpu_ms = ...`` up to 300,000 ms
(https://developers.cloudflare.com/workers/platform/limits/#cpu-time), and the caller gets
"Error 1102: Worker exceeded resource limits"
(https://developers.cloudflare.com/workers/observability/errors/#error-pages-generated-by-workers).

All Worker code of a runtime runs on one loop thread, so a handler that computes without
awaiting blocks every other request. A watchdog thread watches the loop: when one stretch of
code (from one return to the loop to the next) has run longer than the limit, it raises
:class:`CpuTimeLimitExceeded` inside the loop thread (``PyThreadState_SetAsyncExc``), which
unwinds the handler like any exception; the request fails with 1102 and the runtime keeps
serving. Approximations, on purpose: the time is the wall time of one uninterrupted stretch (CPU
between awaits), not the sum over the invocation; a single long call into C (a huge regex, a
blocking ``time.sleep``) is interrupted only when it returns to Python; with several Workers
loaded the smallest limit applies.
"""
from __future__ import annotations

import ctypes
import selectors
import threading
import time
from typing import Any, Iterable

#: Standard plan's default CPU time per invocation, in ms (page above).
DEFAULT_CPU_MS = 30_000
#: The largest ``limits.cpu_ms`` Cloudflare accepts, in ms (page above).
MAX_CPU_MS = 300_000
#: What the caller of a stopped invocation sees (Cloudflare's error page for 1102).
EXCEEDED_RESPONSE = "Error 1102: Worker exceeded resource limits"
#: How often the watchdog looks at the loop, in seconds.
_POLL_SECONDS = 0.01


class CpuTimeLimitExceeded(Exception):
    """Raised inside a handler that ran past its CPU-time limit."""

    def __init__(self, limit_ms: float | None = None) -> None:
        super().__init__("Worker exceeded CPU time limit." if limit_ms is None else
                         f"Worker exceeded CPU time limit ({limit_ms:g} ms; [limits] cpu_ms in the wrangler config).")


def configured_cpu_ms(configs: Iterable[Any]) -> float:
    """The limit that applies to a runtime's Workers: the smallest ``limits.cpu_ms``, else the default."""
    limits = []
    for config in configs:
        section = (getattr(config, "model_extra", None) or {}).get("limits")
        value = section.get("cpu_ms") if isinstance(section, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            limits.append(min(float(value), MAX_CPU_MS))
    return min(limits) if limits else float(DEFAULT_CPU_MS)


class LoopWatchdog:
    """Watches one event loop thread and interrupts a stretch of code that runs too long."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self.limit_ms = float(DEFAULT_CPU_MS)
        #: increments each time the loop comes back from waiting (see WatchedSelector)
        self.steps = 0
        self.step_started = time.perf_counter()
        self.waiting = True
        self.interrupted = 0
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def wait_begins(self) -> None:
        self.waiting = True

    def wait_ends(self) -> None:
        self.steps += 1
        self.step_started = time.perf_counter()
        self.waiting = False

    def start(self, loop_thread: threading.Thread) -> None:
        self._thread = loop_thread
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name=f"{self._thread.name}-cpu", daemon=True)
            self._watcher.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        fired_for = -1
        while not self._stop.wait(_POLL_SECONDS):
            steps, started = self.steps, self.step_started
            if self.waiting or steps == fired_for or (time.perf_counter() - started) * 1000 < self.limit_ms:
                continue
            if self.steps != steps or self.waiting or self._thread is None or not self._thread.is_alive():
                continue  # the loop moved on meanwhile
            fired_for = steps
            self.interrupted += 1
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread.ident or 0),
                                                       ctypes.py_object(CpuTimeLimitExceeded))


class SelectorWrapper(selectors.BaseSelector):
    """A selector that hands everything to ``inner`` except what a subclass changes (``select``).

    The runtime's loop stacks these: virtual or real time (kernel/clock.py), then the watchdog.
    """

    def __init__(self, inner: selectors.BaseSelector) -> None:
        self._inner = inner

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list:
        return self._inner.select(timeout)

    def close(self) -> None:
        self._inner.close()

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Any:
        return self._inner.get_map()


class WatchedSelector(SelectorWrapper):
    """The loop's selector, telling the watchdog when the loop waits and when it runs code."""

    def __init__(self, inner: selectors.BaseSelector, watchdog: LoopWatchdog) -> None:
        super().__init__(inner)
        self._watchdog = watchdog

    def select(self, timeout: float | None = None) -> list:
        self._watchdog.wait_begins()
        try:
            return self._inner.select(timeout)
        finally:
            self._watchdog.wait_ends()
