"""On real time (``course serve``), platform timers fire after their delay, not at once."""
from __future__ import annotations

import pytest

from course.runtime import Runtime


def test_call_later_on_real_time_is_scheduled_delay_seconds_ahead_on_the_loop() -> None:
    """Regression: the runtime clock and the loop's clock count from different origins."""
    with Runtime(virtual_time=False) as rt:
        handle = rt.call_later(120.0, lambda: None, label="probe")
        try:
            assert handle.when() - rt.loop.time() == pytest.approx(120.0, abs=1.0)
        finally:
            handle.cancel()


def test_call_at_on_virtual_time_uses_the_virtual_clock_directly() -> None:
    with Runtime(virtual_time=True) as rt:
        handle = rt.call_at(42.0, lambda: None, label="probe")
        assert handle.when() == 42.0
        fired = []
        rt.call_at(10.0, lambda: fired.append(rt.clock.now()), label="ten")
        rt.clock.advance(10)
        assert fired == [10.0]
