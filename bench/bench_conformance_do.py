"""Requests per second for one Durable Object read-modify-write route, three ways, in one run.

The route is the conformance probe's ``/do/counter`` (get a number from the object's storage,
add one, put it back, answer JSON), so the emulator runs ``tests/conformance/py_probe`` and
``wrangler dev`` runs its JavaScript twin ``tests/conformance/js_probe``. Every request goes to
the same object, so this is one object's serial throughput (input gate, storage, output gate).

    python bench/bench_conformance_do.py                  # about 40 s
    python bench/bench_conformance_do.py --duration 10    # steadier figures

| target | load |
|---|---|
| emulator in-process (``rt.async_client()``) | the async httpx generator, no sockets |
| emulator over HTTP (``course serve``) | the HTTP generator |
| wrangler dev over HTTP (workerd) | the same HTTP generator |

The HTTP generator is ``wrk`` when installed (``apt-get install -y wrk``), otherwise the same
async httpx generator (``--generator httpx`` forces it). Needs node for the wrangler run
(``--skip-wrangler`` leaves it out). Prints requests/s and the ratios to wrangler dev.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT / "tests" / "conformance"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(CONFORMANCE))

from targets import PY_PROBE, node_available, start_emulator, start_workerd, stop_target  # noqa: E402

ROUTE = "/do/counter?run=bench"
#: Requests in flight at any time, for every target.
DEFAULT_CONCURRENCY = 16
WARMUP_S = 1.0


@dataclass
class Measurement:
    target: str
    generator: str
    requests: int
    errors: int
    seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def httpx_load(client: httpx.AsyncClient, duration: float, concurrency: int) -> tuple[int, int, float]:
    """``concurrency`` workers send requests back to back for ``duration`` seconds."""
    done = errors = 0
    stop_at = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal done, errors
        while time.perf_counter() < stop_at:
            try:
                r = await client.get(ROUTE)
                if r.status_code == 200:
                    done += 1
                else:
                    errors += 1
            except httpx.HTTPError:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, errors, time.perf_counter() - started


def measure_httpx(target: str, client_factory, duration: float, concurrency: int) -> Measurement:
    async def run() -> Measurement:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with client_factory(limits) as client:
            await httpx_load(client, WARMUP_S, concurrency)
            done, errors, seconds = await httpx_load(client, duration, concurrency)
        return Measurement(target, f"httpx async, {concurrency} concurrent", done, errors, seconds)

    return asyncio.run(run())


def measure_wrk(target: str, base_url: str, duration: float, concurrency: int) -> Measurement:
    url = base_url + ROUTE
    subprocess.run(["wrk", "-t1", f"-c{concurrency}", "-d1s", url], capture_output=True, timeout=60)
    out = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(duration))}s", url],
                         capture_output=True, text=True, timeout=duration + 60).stdout
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", out)
    if m is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    total = int(m[1])
    seconds = float(m[2]) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m[3]]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad[1]) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return Measurement(target, f"wrk, {concurrency} connections", total - (int(bad[1]) if bad else 0), errors,
                       seconds)


def measure_http(target: str, base_url: str, generator: str, duration: float, concurrency: int) -> Measurement:
    if generator == "wrk":
        return measure_wrk(target, base_url, duration, concurrency)
    return measure_httpx(target, lambda limits: httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30),
                         duration, concurrency)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per target (default 5)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--generator", choices=("auto", "wrk", "httpx"), default="auto",
                        help="HTTP load generator, the same for both HTTP targets (auto: wrk if installed)")
    parser.add_argument("--skip-wrangler", action="store_true")
    args = parser.parse_args(argv)
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "httpx"
    if generator == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk), use --generator httpx")

    from course.runtime import load

    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bench-do-") as tmp:
        state = Path(tmp)
        # 1. The emulator in-process: no sockets, same async generator.
        rt = load(PY_PROBE, persist_to=state / "inprocess")
        try:
            results.append(measure_httpx("emulator in-process", lambda limits: rt.async_client(),
                                         args.duration, args.concurrency))
        finally:
            rt.close()
        # 2. The emulator over HTTP.
        target = start_emulator(state / "serve", state / "serve.log")
        try:
            results.append(measure_http("emulator over HTTP (course serve)", target.base_url, generator,
                                        args.duration, args.concurrency))
        finally:
            stop_target(target)
        # 3. wrangler dev over HTTP.
        if not args.skip_wrangler:
            if not node_available():
                print("node/npm not found: skipping wrangler dev (install Node.js 18+)", file=sys.stderr)
            else:
                target = start_workerd(state / "wrangler", state / "wrangler.log")
                try:
                    results.append(measure_http("wrangler dev over HTTP (workerd)", target.base_url, generator,
                                                args.duration, args.concurrency))
                finally:
                    stop_target(target)

    reference = next((r for r in results if r.target.startswith("wrangler")), None)
    print(f"\nDurable Object read-modify-write ({ROUTE}), {args.duration:g} s per target\n")
    print(f"| {'target':<36} | {'generator':<26} | {'req/s':>8} | {'errors':>6} | {'vs wrangler dev':>15} |")
    print(f"|{'-' * 38}|{'-' * 28}|{'-' * 10}:|{'-' * 8}:|{'-' * 17}:|")
    for r in results:
        ratio = f"{r.rps / reference.rps:.2f}x" if reference and reference.rps else "n/a"
        print(f"| {r.target:<36} | {r.generator:<26} | {r.rps:>8,.0f} | {r.errors:>6} | {ratio:>15} |")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
