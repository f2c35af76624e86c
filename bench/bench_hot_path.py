"""The emulator's hot path in one run: in-process and HTTP rates next to ``wrangler dev``, the
simulated day, seeded scenarios per second and a learner's 10,000-request load test.

    python bench/bench_hot_path.py                          # about 90 s
    python bench/bench_hot_path.py --baseline /tmp/before   # the same, also on an older tree
    python bench/bench_hot_path.py --skip-http              # in-process only, about 30 s

Every measurement runs in a fresh subprocess, so a ``--baseline`` tree (an older checkout, e.g.
``git worktree add /tmp/before <commit>`` or ``git archive <commit> | tar -x -C /tmp/before``)
is measured the same way, interleaved with this one, and the table prints the ratio now/before
from the same sitting. The HTTP rows also run ``wrangler dev`` (the JavaScript twin of the probe,
tests/conformance/js_probe) with the same load generator, for the ratio to the real local runtime.

| row | what runs | load |
|---|---|---|
| httpx floor | ``httpx.AsyncClient`` on a transport that answers at once | 16 concurrent |
| hello in-process | tests/projects/hello, ``rt.client()`` | a synchronous loop |
| DO in-process | conformance probe ``/do/counter`` (read, add one, write; one object), ``rt.async_client()`` | 16 concurrent |
| DO in-process, rt.fetch | the same route through ``rt.fetch`` (no httpx on either side) | 16 concurrent |
| DO on the runtime's loop | the same route through ``rt.dispatch`` from the runtime's own loop (no client) | 16 concurrent |
| trivial / DO over HTTP | ``course serve`` on the probe and ``wrangler dev`` on its twin | wrk (or httpx), 16 connections |
| simulated day | bench_queues_cron.py's Worker: cron every minute, 72,000 queue messages | virtual clock |
| Day 1 scenarios | ``day1.coordinator_scenario(seed).run(solution's run_coordinator)`` | seeds 0, 1, 2... |
| load test | 10,000 ``GET /workers/w{i % 100}`` on the lab Worker, one ``asyncio.gather`` over ``rt.async_client()``, then over ``rt.fetch`` | all at once |

Figures are requests (or scenarios) per second of wall time, and CPU microseconds per request
(all threads of the measuring process), which moves much less than wall time on a shared machine.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DO_ROUTE = "/do/counter?run=bench"
CONCURRENCY = 16
LOAD_TEST_REQUESTS = 10_000
LOAD_TEST_OBJECTS = 100


# -- measurements (each runs in a subprocess with --measure NAME --root TREE) ---------------------

def _gen(call: Callable[[], Any], duration: float) -> tuple[float, float]:
    """``CONCURRENCY`` coroutines calling ``call`` back to back: (per second, CPU us per call)."""
    import asyncio

    async def run(d: float) -> tuple[float, float]:
        done = 0

        async def worker(stop: float) -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await call()
                done += 1

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(t0 + d) for _ in range(CONCURRENCY)))
        return done / (time.perf_counter() - t0), (time.process_time() - c0) / done * 1e6

    return run(duration)  # type: ignore[return-value]


def measure_httpx_floor(tree: Path, duration: float) -> dict[str, float]:
    import asyncio

    import httpx

    class Instant(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=b'{"n":1}', headers={"content-type": "application/json"},
                                  request=request)

    async def main() -> tuple[float, float]:
        async with httpx.AsyncClient(transport=Instant(), base_url="http://localhost:8787") as c:
            await _gen(lambda: c.get(DO_ROUTE), 0.5)
            return await _gen(lambda: c.get(DO_ROUTE), duration)

    rate, cpu = asyncio.run(main())
    return {"rate": rate, "cpu_us": cpu}


def measure_hello(tree: Path, duration: float) -> dict[str, float]:
    from course.runtime import load

    with load(tree / "tests" / "projects" / "hello") as rt, rt.client() as client:
        for _ in range(300):
            client.get("/")
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < duration:
            assert client.get("/").status_code == 200
            n += 1
        return {"rate": n / (time.perf_counter() - t0), "cpu_us": (time.process_time() - c0) / n * 1e6}


@contextlib.contextmanager
def _probe(tree: Path) -> Iterator[Any]:
    """The conformance probe of ``tree`` loaded with its state in a temporary folder (SQLite files)."""
    from course.runtime import load

    with tempfile.TemporaryDirectory() as state:
        rt = load(tree / "tests" / "conformance" / "py_probe", persist_to=Path(state))
        try:
            yield rt
        finally:
            rt.close()


async def _after_warm_up(call: Callable[[], Any], duration: float) -> dict[str, float]:
    """:func:`_gen` for ``duration`` seconds after half a second of the same."""
    await _gen(call, 0.5)
    rate, cpu = await _gen(call, duration)
    return {"rate": rate, "cpu_us": cpu}


def measure_do(tree: Path, duration: float) -> dict[str, float]:
    import asyncio

    async def main(rt: Any) -> dict[str, float]:
        async with rt.async_client() as c:
            return await _after_warm_up(lambda: c.get(DO_ROUTE), duration)

    with _probe(tree) as rt:
        return asyncio.run(main(rt))


def measure_do_fetch(tree: Path, duration: float) -> dict[str, float]:
    import asyncio

    with _probe(tree) as rt:
        if not hasattr(rt, "fetch"):
            return {}  # a tree from before rt.fetch: the row shows "-"
        return asyncio.run(_after_warm_up(lambda: rt.fetch(DO_ROUTE), duration))


def measure_do_on_loop(tree: Path, duration: float) -> dict[str, float]:
    from course.workers.http import Request

    url = "http://localhost:8787" + DO_ROUTE
    with _probe(tree) as rt:
        return rt.call(_after_warm_up(lambda: rt.dispatch(Request(url)), duration))


def measure_do_fetch_on_loop(tree: Path, duration: float) -> dict[str, float]:
    """``rt.fetch`` x16 in a coroutine run by ``rt.call``: a load test on the runtime's own loop,
    where ``rt.fetch`` awaits the Worker directly (no thread hop)."""
    with _probe(tree) as rt:
        if not hasattr(rt, "fetch"):
            return {}
        return rt.call(_after_warm_up(lambda: rt.fetch(DO_ROUTE), duration))


def measure_day(tree: Path, duration: float) -> dict[str, float]:
    import textwrap

    from course.runtime import load  # first: the measured tree's course, whatever day's module adds

    sys.path.insert(0, str(HERE))
    import bench_queues_cron as day  # the Worker of bench_queues_cron.py, unchanged

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        (root / "wrangler.toml").write_text(day.WRANGLER.format(per_minute=50))
        (root / "src" / "entry.py").write_text(textwrap.dedent(day.ENTRY))
        with load(root, virtual_time=True) as rt:
            t0, c0 = time.perf_counter(), time.process_time()
            rt.clock.advance(86_400)
            rt.run_until_idle()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            delivered = day.queues(rt).queue("ticks").stats()["acked"]
    if delivered != 72_000:
        raise RuntimeError(f"the simulated day acked {delivered} messages, not 72,000")
    return {"seconds": wall, "cpu_s": cpu}


def measure_scenarios(tree: Path, duration: float) -> dict[str, float]:
    import types

    from course.checks import day1

    nb = json.loads((tree / "solutions" / "day1" / "day1_exercises.ipynb").read_text())
    module = types.ModuleType("day1_solution")  # a real module, so pydantic resolves annotations
    sys.modules[module.__name__] = module
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and (meta.get("solution") or meta.get("grade_id") == "setup"):
            exec(compile("".join(cell["source"]), f"<{meta['grade_id']}>", "exec"), module.__dict__)
    coordinator = module.__dict__["run_coordinator"]
    day1.coordinator_scenario(0).run(coordinator)  # warm-up
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < duration:
        result = day1.coordinator_scenario(n).run(coordinator)
        if not result.passed:
            raise RuntimeError(result.message())
        n += 1
    return {"rate": n / (time.perf_counter() - t0), "cpu_us": (time.process_time() - c0) / n * 1e6}


async def _load_test(send: Callable[[str], Any], status: Callable[[Any], int]) -> dict[str, float]:
    """``asyncio.gather`` of LOAD_TEST_REQUESTS ``send(path)`` over LOAD_TEST_OBJECTS agents (each
    constructed first), as a learner writes it on Day 7."""
    import asyncio

    paths = [f"/workers/w{i % LOAD_TEST_OBJECTS}" for i in range(LOAD_TEST_REQUESTS)]
    await asyncio.gather(*(send(p) for p in paths[:LOAD_TEST_OBJECTS]))  # construct them
    t0, c0 = time.perf_counter(), time.process_time()
    responses = await asyncio.gather(*(send(p) for p in paths))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    bad = [status(r) for r in responses if status(r) != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} requests failed, e.g. {bad[:3]}")
    return {"rate": LOAD_TEST_REQUESTS / wall, "seconds": wall, "cpu_us": cpu / LOAD_TEST_REQUESTS * 1e6}


def measure_load_test(tree: Path, duration: float) -> dict[str, float]:
    import asyncio

    from course.runtime import load

    async def main(rt: Any) -> dict[str, float]:
        async with rt.async_client() as client:
            return await _load_test(client.get, lambda r: r.status_code)

    with load(tree / "course" / "lab", virtual_time=True, seed=7) as rt:
        return asyncio.run(main(rt))


def measure_load_test_fetch(tree: Path, duration: float, *, on_loop: bool = False) -> dict[str, float]:
    """The same load test written with ``rt.fetch`` instead of an httpx client."""
    import asyncio

    from course.runtime import load

    with load(tree / "course" / "lab", virtual_time=True, seed=7) as rt:
        if not hasattr(rt, "fetch"):
            return {}
        test = _load_test(rt.fetch, lambda r: r.status)
        return rt.call(test) if on_loop else asyncio.run(test)


def measure_load_test_on_loop(tree: Path, duration: float) -> dict[str, float]:
    """The ``rt.fetch`` load test, its coroutine run by ``rt.call`` (on the runtime's loop)."""
    return measure_load_test_fetch(tree, duration, on_loop=True)


MEASURES: dict[str, Callable[[Path, float], dict[str, float]]] = {
    "httpx_floor": measure_httpx_floor, "hello": measure_hello, "do": measure_do, "do_fetch": measure_do_fetch,
    "do_on_loop": measure_do_on_loop, "do_fetch_on_loop": measure_do_fetch_on_loop, "day": measure_day,
    "scenarios": measure_scenarios, "load_test": measure_load_test, "load_test_fetch": measure_load_test_fetch,
    "load_test_on_loop": measure_load_test_on_loop,
}


def run_measure(name: str, tree: Path, duration: float) -> dict[str, float] | str:
    """One measurement in a fresh interpreter with ``tree``'s ``course`` first on sys.path."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", name, "--root", str(tree),
           "--duration", str(duration)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return f"failed: {(done.stderr or done.stdout).strip().splitlines()[-1:] or ['?']}"
    return json.loads(lines[-1])


# -- HTTP -----------------------------------------------------------------------------------------

def wrk(url: str, duration: float) -> float:
    subprocess.run(["wrk", "-t1", f"-c{CONCURRENCY}", "-d1s", url], capture_output=True, timeout=60)
    out = subprocess.run(["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{max(1, round(duration))}s", url],
                         capture_output=True, text=True, timeout=duration + 60).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"errors under load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]


def http_rates(tree: Path | None, duration: float) -> dict[str, float] | str:
    """Trivial route and DO route over HTTP: ``course serve`` of ``tree`` (None: wrangler dev)."""
    sys.path.insert(0, str(ROOT / "tests" / "conformance"))
    import targets

    with tempfile.TemporaryDirectory() as tmp:
        state, log = Path(tmp) / "state", Path(tmp) / "serve.log"
        try:
            if tree is None:
                target = targets.start_workerd(state, log)
            else:
                port = targets.free_port()
                cmd = [sys.executable, "-m", "course.cli", "serve", str(tree / "tests/conformance/py_probe"),
                       "--with", str(tree / "tests/conformance/py_helper"), "--port", str(port),
                       "--persist-to", str(state), "--test-scheduled", "--quiet"]
                target = targets.start_target("emulator", cmd, tree, port, log)
        except RuntimeError as exc:
            return f"failed to start: {str(exc)[:200]}"
        try:
            return {"trivial": wrk(target.base_url + "/", duration), "do": wrk(target.base_url + DO_ROUTE, duration)}
        finally:
            targets.stop_target(target)


# -- report ---------------------------------------------------------------------------------------

def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}{unit}" if value < 10 else f"{value:,.0f}{unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per rate measurement")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (median reported)")
    parser.add_argument("--baseline", type=Path, help="an older tree measured the same way, interleaved")
    parser.add_argument("--skip-http", action="store_true", help="leave out course serve and wrangler dev")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(MEASURES[args.measure](args.root.resolve(), args.duration)))
        return 0

    trees = {"now": ROOT}
    if args.baseline is not None:
        trees["before"] = args.baseline.resolve()
    results: dict[str, dict[str, list[dict[str, float]]]] = {t: {} for t in trees}
    failures: list[str] = []
    for name in MEASURES:
        for _ in range(args.repeat):
            for label, tree in trees.items():
                got = run_measure(name, tree, args.duration)
                if isinstance(got, str):
                    failures.append(f"{name} ({label}): {got}")
                else:
                    results[label].setdefault(name, []).append(got)
                print(f"  {name:<12} {label:<6} {got}", file=sys.stderr, flush=True)

    http: dict[str, dict[str, float]] = {}
    if not args.skip_http and shutil.which("wrk"):
        for label, tree in [*trees.items(), ("wrangler", None)]:
            got = http_rates(tree, args.duration)
            if isinstance(got, str):
                failures.append(f"HTTP ({label}): {got}")
            else:
                http[label] = got
            print(f"  http         {label:<8} {got}", file=sys.stderr, flush=True)
    elif not args.skip_http:
        failures.append("HTTP: wrk is not installed (apt-get install -y wrk)")

    def med(label: str, name: str, key: str) -> float | None:
        runs = results.get(label, {}).get(name)
        return statistics.median(r[key] for r in runs) if runs and key in runs[0] else None

    wrangler = http.get("wrangler", {})
    rows: list[tuple[str, str, str, str]] = [
        ("httpx floor (no Worker), req/s", "httpx_floor", "rate", ""),
        ("hello in-process, rt.client() sync loop, req/s", "hello", "rate", "trivial"),
        ("DO read-modify-write in-process, rt.async_client() x16, req/s", "do", "rate", "do"),
        ("DO read-modify-write in-process, rt.fetch() x16, req/s", "do_fetch", "rate", "do"),
        ("DO read-modify-write on the runtime's loop, rt.dispatch x16, req/s", "do_on_loop", "rate", "do"),
        ("DO read-modify-write on the runtime's loop, rt.fetch() x16 in rt.call(), req/s", "do_fetch_on_loop",
         "rate", "do"),
        ("simulated day (72,000 messages), s", "day", "seconds", ""),
        ("Day 1 coordinator scenarios, per s", "scenarios", "rate", ""),
        ("load test, 10,000 requests on 100 objects, rt.async_client(), req/s", "load_test", "rate", ""),
        ("load test, 10,000 requests on 100 objects, rt.fetch(), req/s", "load_test_fetch", "rate", ""),
        ("load test, 10,000 requests on 100 objects, rt.fetch() in rt.call(), req/s", "load_test_on_loop",
         "rate", ""),
    ]
    base = "before" in trees
    head = ("| measurement | " + ("before | " if base else "") + "now | " + ("now/before | " if base else "")
            + "vs wrangler dev | CPU us/req now | " + ("CPU before/now |" if base else ""))
    print("\n" + head)
    print("|" + "---|" * (head.count("|") - 1))
    for title, name, key, ref in rows:
        now, before = med("now", name, key), med("before", name, key)
        cells = [title]
        if base:
            cells.append(fmt(before))
        cells.append(fmt(now))
        if base:
            ratio = None if now is None or before is None else (before / now if key == "seconds" else now / before)
            cells.append(fmt(ratio, "x"))
        cells.append(fmt(now / wrangler[ref], "x") if ref and now and wrangler.get(ref) else "-")
        cpu_key = "cpu_us" if med("now", name, "cpu_us") is not None else "cpu_s"
        cpu_now, cpu_before = med("now", name, cpu_key), med("before", name, cpu_key)
        cells.append(fmt(cpu_now, " s" if cpu_key == "cpu_s" else ""))
        if base:
            cells.append(fmt(cpu_before / cpu_now, "x") if cpu_now and cpu_before else "-")
        print("| " + " | ".join(cells) + " |")
    for route, title in (("trivial", "trivial route over HTTP (GET /), req/s"),
                         ("do", "DO read-modify-write over HTTP, req/s")):
        if not http:
            break
        now, before, ref = (http.get(k, {}).get(route) for k in ("now", "before", "wrangler"))
        cells = [f"{title}: course serve"]
        if base:
            cells.append(fmt(before))
        cells.append(fmt(now))
        if base:
            cells.append(fmt(now / before, "x") if now and before else "-")
        cells += [fmt(now / ref, "x") if now and ref else "-", "-"] + (["-"] if base else [])
        print("| " + " | ".join(cells) + " |")
        print(f"| {title}: wrangler dev | " + ("- | " if base else "") + f"{fmt(ref)} | " +
              ("- | " if base else "") + "1.00x | - |" + (" - |" if base else ""))
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
          f"{args.duration:g} s per rate, median of {args.repeat}")
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
