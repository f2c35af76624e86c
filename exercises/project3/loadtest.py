"""The load test: send tasks at a steady rate, measure what came back, write the results.

Run it against your Worker, emulated or live:

    python loadtest.py                          # the emulator, on its virtual clock
    python loadtest.py --url https://project3-production.<you>.workers.dev --tasks 200 --rate 10

``run()`` is the entry point the course's harness calls too, with the emulator's clock, and
compares the results file with what it measured itself from the runtime's trace. Definitions:
latency is the time from sending a request to reading its answer, p50/p99 are nearest-rank
percentiles in milliseconds, throughput is requests answered per second from the first request
sent to the last answer received.
"""
import argparse
import json
import math
import time


def percentile(values, q):
    """The nearest-rank ``q`` percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def run(client, *, tasks=100, rate=10.0, clock=time.monotonic, sleep=time.sleep,
        results_path="loadtest_results.json", prefix="load"):
    """POST ``tasks`` tasks to /tasks at ``rate`` per second through ``client`` (an httpx.Client);
    write and return {"sent", "accepted", "errors", "p50_ms", "p99_ms", "throughput_rps", "duration_s"}."""
    results = {}  # TODO: send the tasks at `rate`, time each answer with clock(), fill in the numbers
    with open(results_path, "w") as f:
        json.dump(results, f, indent=2)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a live Worker (default: this project on the course's emulator)")
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0)
    args = parser.parse_args()
    if args.url:
        import httpx

        with httpx.Client(base_url=args.url, timeout=30) as client:
            print(json.dumps(run(client, tasks=args.tasks, rate=args.rate), indent=2))
        return
    from course.runtime import load  # the course's emulator (not needed against a live Worker)

    rt = load(".", virtual_time=True)
    try:
        with rt.client() as client:
            print(json.dumps(run(client, tasks=args.tasks, rate=args.rate, clock=rt.clock.now,
                                 sleep=rt.clock.advance), indent=2))
    finally:
        rt.close()


if __name__ == "__main__":
    main()
