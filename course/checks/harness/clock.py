"""Running the learner's ``async`` code on a virtual clock, with a real-time guard.

A scenario that waits out minutes of timeouts must take milliseconds and replay identically,
so the code under test runs on the runtime's own event loop (``course.runtime.kernel.clock``)
with autojump held: whenever every task waits, time jumps to the next timer. Two limits stop a
run that never ends: a *virtual* deadline (the code waits for something that never comes) and
a *real* one (a loop that never awaits cannot be interrupted from inside the loop, so it runs
in a thread of its own that the caller stops waiting for).
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable

#: Virtual seconds after which a run counts as hung, unless the scenario says otherwise.
DEFAULT_VIRTUAL_DEADLINE = 3600.0
#: Real seconds a run may take (a loop that never awaits cannot be stopped sooner).
DEFAULT_REAL_TIMEOUT = 60.0


class VirtualDeadlineExceeded(Exception):
    """The code was still waiting when the virtual deadline passed."""

    def __init__(self, deadline: float) -> None:
        super().__init__(f"did not return within {deadline:.0f} virtual seconds")
        self.deadline = deadline


class RealTimeExceeded(Exception):
    """The code used up the real-time budget: most likely a loop that never awaits."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"still running after {seconds:.0f} s of real time: a loop that never awaits?")
        self.seconds = seconds


def run_on_virtual_clock(make: Callable[[], Awaitable[Any]], *, deadline: float = DEFAULT_VIRTUAL_DEADLINE,
                         real_timeout: float = DEFAULT_REAL_TIMEOUT,
                         thread_name: str = "scenario") -> tuple[Any, float]:
    """``(value, virtual seconds elapsed)`` of the coroutine ``make()`` run on a fresh virtual loop.

    The loop runs in its own thread because a Jupyter kernel already runs one on the main
    thread. Exceptions of the code under test are re-raised here, in the caller's thread.
    """
    from course.runtime.kernel.clock import Clock, RuntimeEventLoop

    outcome: dict[str, Any] = {}

    def body() -> None:
        clock = Clock(virtual=True)
        clock.hold()
        loop = RuntimeEventLoop(clock)
        try:
            asyncio.set_event_loop(loop)
            outcome["value"] = loop.run_until_complete(asyncio.wait_for(make(), deadline))
        except (asyncio.TimeoutError, TimeoutError):
            outcome["error"] = VirtualDeadlineExceeded(deadline)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            outcome["elapsed"] = loop.time()
            asyncio.set_event_loop(None)
            loop.close()

    thread = threading.Thread(target=body, name=thread_name, daemon=True)
    thread.start()
    thread.join(real_timeout)
    if thread.is_alive():
        raise RealTimeExceeded(real_timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], outcome["elapsed"]


__all__ = ["DEFAULT_REAL_TIMEOUT", "DEFAULT_VIRTUAL_DEADLINE", "RealTimeExceeded", "VirtualDeadlineExceeded",
           "run_on_virtual_clock"]
