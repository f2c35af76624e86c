"""The harness's pieces on their own: streams, the virtual clock, the network's faults, the log, results."""
from __future__ import annotations

import asyncio
import hashlib
import random
import time
from typing import Any, Sequence

import pytest

from course.checks.harness import (
    Case,
    CaseFailed,
    CheckResult,
    Crash,
    Delay,
    Drop,
    Duplicate,
    MessageLog,
    Network,
    RealTimeExceeded,
    Reorder,
    Reply,
    Scenario,
    Streams,
    VirtualDeadlineExceeded,
    parse_log,
    random_stream,
    run_on_virtual_clock,
)


def test_a_stream_is_fixed_by_seed_and_purpose_like_the_runtimes_rng() -> None:
    digest = hashlib.sha256(b"7:latency").digest()
    runtime_style = random.Random(int.from_bytes(digest[:8], "big"))
    assert Streams(7)("latency").random() == runtime_style.random()
    assert random_stream(7, "latency").random() != random_stream(7, "faults").random()
    assert Streams(7)("latency", "worker-1", 3).random() == random_stream(7, "latency", "worker-1", 3).random()


def test_an_hour_of_timeouts_runs_on_the_virtual_clock_in_no_real_time() -> None:
    async def waits() -> str:
        await asyncio.sleep(3599)
        return "done"

    started = time.monotonic()
    value, elapsed = run_on_virtual_clock(waits)
    assert value == "done" and elapsed == pytest.approx(3599)
    assert time.monotonic() - started < 5


def test_code_that_waits_forever_hits_the_virtual_deadline() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    with pytest.raises(VirtualDeadlineExceeded, match="within 60 virtual seconds"):
        run_on_virtual_clock(forever, deadline=60)


def test_a_loop_that_never_awaits_hits_the_real_time_guard() -> None:
    async def spins() -> None:
        end = time.monotonic() + 1.0  # bounded, so the abandoned thread ends soon after the test
        while time.monotonic() < end:
            pass

    with pytest.raises(RealTimeExceeded, match="a loop that never awaits"):
        run_on_virtual_clock(spins, real_timeout=0.2)


def _echo(name: str) -> Any:
    def answer(message: dict[str, Any], arrives: float) -> Sequence[Reply]:
        return [Reply({"id": f"{name}-r-{message['id']}", "type": "ping.reply", "sender": name,
                       "recipient": message["sender"], "correlation_id": message["id"]})]
    return answer


def _exchange(faults: dict[str, list[Any]], pings: int = 3, seed: int = 1) -> tuple[list[tuple[float, dict]], MessageLog]:
    log = MessageLog()

    async def main() -> list[tuple[float, dict]]:
        net = Network(seed=seed, latency=lambda recipient, n: 0.1 * n, faults=faults, log=log)
        net.add_peer("peer", _echo("peer"))
        box = net.mailbox("me")
        for i in range(pings):
            await box.send({"id": f"p{i}", "type": "ping", "sender": "me", "recipient": "peer"})
        while await box.receive(timeout=30) is not None:
            pass
        return net.delivered

    delivered, _ = run_on_virtual_clock(main)
    return delivered, log


def test_replies_arrive_after_the_links_latency_in_order() -> None:
    delivered, log = _exchange({})
    assert [(round(t, 3), m["correlation_id"]) for t, m in delivered] == [(0.1, "p0"), (0.2, "p1"), (0.3, "p2")]
    assert [m.fate for m in log.messages] == [""] * 6


def test_a_crashed_peer_loses_every_message_and_the_log_says_so() -> None:
    delivered, log = _exchange({"peer": [Crash()]})
    assert delivered == []
    assert [m.fate for m in log.messages] == ["lost: peer has crashed"] * 3


def test_a_dropping_link_loses_messages_and_a_duplicating_one_delivers_twice() -> None:
    assert _exchange({"peer": [Drop(1.0)]})[0] == []
    delivered, log = _exchange({"peer": [Duplicate(0.5)]}, pings=1)
    assert [(round(t, 3), m["id"]) for t, m in delivered] == [(0.1, "peer-r-p0"), (0.6, "peer-r-p0-dup")]
    assert log.messages[-1].fate == "duplicate"


def test_a_delay_makes_replies_late_and_reordering_lets_a_later_reply_overtake() -> None:
    delivered, log = _exchange({"peer": [Delay(5.0)]}, pings=1)
    assert round(delivered[0][0], 3) == 5.1 and log.messages[-1].fate == "delayed 5 s"
    orders = {tuple(m["correlation_id"] for _, m in _exchange({"peer": [Reorder(2.0)]}, pings=4, seed=s)[0])
              for s in range(6)}
    assert any(order != ("p0", "p1", "p2", "p3") for order in orders)


def test_the_message_log_reads_back_into_diagram_arrows() -> None:
    _, log = _exchange({"peer": [Duplicate(0.5)]}, pings=2)
    text = "[x seed=1] FAILED: why\n" + "\n".join("  " + line for line in log.text().splitlines()) + "\n  reproduce: x"
    assert parse_log(text) == list(log.arrows())
    assert [style for *_, style in parse_log(text)] == ["call", "call", "reply", "reply", "reply", "reply"]
    _, lost = _exchange({"peer": [Crash()]}, pings=1)
    assert parse_log(lost.text())[0][4] == "fault"


class _Threshold(Case):
    def __init__(self, n: int) -> None:
        self.n = n

    def describe(self) -> str:
        return f"n={self.n}"

    def check(self, target: Any, log: MessageLog) -> str:
        if not target(self.n):
            raise CaseFailed(f"wrong for n={self.n}")
        return "ok"

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(0, self.n).map(_Threshold)


class _Counting(Scenario):
    partial_credit = True

    def cases(self) -> list[Case]:
        return [_Threshold(n) for n in (1, 5, 20, 40)]


def test_partial_credit_counts_every_case_and_the_failure_shrinks_to_the_boundary() -> None:
    def below_ten(n: int) -> bool:
        return n < 10

    result = _Counting("counting", 3, "toy.counting(seed=3)").run(below_ten)
    assert not result.passed and (result.cases_passed, result.cases_total) == (2, 4) and result.credit == 0.5
    assert result.reason == "wrong for n=20" and result.smallest_case == "n=10"
    assert "smallest failing case: n=10" in result.message()
    assert result.reproduce == "toy.counting(seed=3).run(below_ten)"


def test_a_passing_result_has_full_credit_and_no_case_to_show() -> None:
    result = _Counting("counting", 3, "toy.counting(seed=3)").run(lambda n: True)
    assert result.passed and result.credit == 1.0 and result.smallest_case == "" and result.message().count("\n") == 1
    assert isinstance(result, CheckResult)
