"""Benchmark: a day of cron-driven queue traffic on the virtual clock.

A Python Worker with a ``* * * * *`` cron trigger sends 50 messages a minute with ``sendBatch``;
the same Worker consumes its queue (production defaults: batches of 10, 5 s timeout) and acks
every message. The runtime simulates 24 hours and prints how fast it went::

    python bench/bench_queues_cron.py [--hours 24] [--per-minute 50]

Prints queue messages delivered per wall-clock second and simulated seconds per wall-clock
second. Speed is measured here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.runtime import load  # noqa: E402
from course.runtime.bindings.queues import queues  # noqa: E402

WRANGLER = """
name = "ticker"
main = "src/entry.py"
compatibility_date = "2025-01-01"

[vars]
PER_MINUTE = "{per_minute}"

[triggers]
crons = ["* * * * *"]

[[queues.producers]]
binding = "TICKS"
queue = "ticks"

[[queues.consumers]]
queue = "ticks"
"""

ENTRY = """
from workers import WorkerEntrypoint, Response

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ticker")

    async def scheduled(self, controller, env, ctx):
        # workerd passes env and ctx as None to a class's scheduled/queue: use self.env
        n = int(self.env.PER_MINUTE)
        for start in range(0, n, 100):
            await self.env.TICKS.sendBatch([{"body": {"tick": controller.scheduledTime, "i": i}}
                                       for i in range(start, min(n, start + 100))])

    async def queue(self, batch, env, ctx):
        for message in batch.messages:
            message.ack()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--per-minute", type=int, default=50, help="messages sent per cron run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        (root / "wrangler.toml").write_text(WRANGLER.format(per_minute=args.per_minute))
        (root / "src" / "entry.py").write_text(textwrap.dedent(ENTRY))
        with load(root, virtual_time=True) as rt:
            simulated = args.hours * 3600
            started = time.perf_counter()
            rt.clock.advance(simulated)
            rt.run_until_idle()
            wall = time.perf_counter() - started
            stats = queues(rt).queue("ticks").stats()
            crons = rt.trace.count("cron", outcome="ok")

    delivered = stats["delivered"]
    print(f"simulated {simulated:,.0f} s ({args.hours:g} h) in {wall:.2f} s wall")
    print(f"cron runs: {crons:,}   messages sent: {stats['sent']:,}   delivered: {delivered:,}   "
          f"acked: {stats['acked']:,}   left in queue: {stats['depth']}")
    print(f"queue messages delivered per wall second: {delivered / wall:,.0f}")
    print(f"simulated seconds per wall second: {simulated / wall:,.0f}")


if __name__ == "__main__":
    main()
