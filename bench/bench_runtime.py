"""Requests per second for the hello route: in-process, over HTTP (`course serve`), and under
`wrangler dev` (the real local Workers runtime), side by side with the ratios.

    python bench/bench_runtime.py                 # about 30 s
    python bench/bench_runtime.py --duration 10   # longer, steadier runs

The two HTTP targets are measured with the same load generator: `wrk` when installed
(`apt-get install wrk`), otherwise a concurrent httpx client. The wrangler run needs node and
the pinned wrangler in tests/conformance (`npm ci` there; this script runs it if needed).
Results are printed and written to bench/results/runtime.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HELLO_PY = ROOT / "tests" / "projects" / "hello"
HELLO_JS = ROOT / "bench" / "wrangler_hello"
CONFORMANCE = ROOT / "tests" / "conformance"
WRANGLER = CONFORMANCE / "node_modules" / ".bin" / "wrangler"
EXPECTED_BODY = "Hello from a Python Worker!"
STARTUP_TIMEOUT = 60.0


@dataclass
class Result:
    target: str
    requests_per_s: float | None
    requests: int = 0
    errors: int = 0
    generator: str = ""
    note: str = ""


# -- load generators ----------------------------------------------------------------------------

def run_wrk(url: str, duration: float, connections: int) -> tuple[float, int, int]:
    threads = max(1, min(2, connections))
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", url],
                         capture_output=True, text=True, timeout=duration + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    total = int(re.search(r"(\d+) requests in", out)[1])
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return rps, total, errors


def run_httpx(url: str, duration: float, connections: int) -> tuple[float, int, int]:
    async def main() -> tuple[int, int, float]:
        done = errors = 0
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            started = time.perf_counter()
            deadline = started + duration

            async def worker() -> None:
                nonlocal done, errors
                while time.perf_counter() < deadline:
                    try:
                        r = await client.get(url)
                        if r.status_code >= 400:
                            errors += 1
                    except httpx.HTTPError:
                        errors += 1
                    done += 1

            await asyncio.gather(*(worker() for _ in range(connections)))
            return done, errors, time.perf_counter() - started

    done, errors, elapsed = asyncio.run(main())
    return done / elapsed, done, errors


def http_load(url: str, generator: str, duration: float, connections: int) -> tuple[float, int, int]:
    run = run_wrk if generator == "wrk" else run_httpx
    run(url, min(1.0, duration), connections)  # warm-up, not counted
    return run(url, duration, connections)


# -- targets --------------------------------------------------------------------------------------

def bench_in_process(duration: float) -> Result:
    from course.runtime import load

    with load(HELLO_PY) as rt, rt.client() as client:
        assert client.get("/").text == EXPECTED_BODY
        for _ in range(200):  # warm-up
            client.get("/")
        n = errors = 0
        started = time.perf_counter()
        deadline = started + duration
        while time.perf_counter() < deadline:
            if client.get("/").status_code != 200:
                errors += 1
            n += 1
        elapsed = time.perf_counter() - started
    return Result("in-process (rt.client(), sync loop)", n / elapsed, n, errors, "python loop")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server subprocess in its own process group, output to a temp file (never a full pipe)."""

    def __init__(self, cmd: list[str], *, cwd: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with {self.proc.returncode}:\n{self.output()}")
            try:
                r = httpx.get(self.url, timeout=2)
                if r.text != EXPECTED_BODY:
                    raise RuntimeError(f"unexpected body {r.text!r}")
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"not ready within {STARTUP_TIMEOUT} s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C, as a user stops it
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()

    def __enter__(self) -> "Server":
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bench_course_serve(generator: str, duration: float, connections: int) -> Result:
    port = free_port()
    cmd = [sys.executable, "-m", "course.cli", "serve", str(HELLO_PY), "--port", str(port)]
    with Server(cmd, cwd=ROOT, port=port) as server:
        rps, n, errors = http_load(server.url, generator, duration, connections)
    return Result("HTTP: course serve (uvicorn)", rps, n, errors, generator)


def ensure_wrangler() -> str | None:
    """Why wrangler cannot run here, or None when it can (installing the pinned copy if needed)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm not found"
    if not WRANGLER.exists():
        if not (CONFORMANCE / "package-lock.json").exists():
            return "tests/conformance/package-lock.json missing"
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CONFORMANCE,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not WRANGLER.exists():
            return f"npm ci failed: {done.stderr.strip()[-300:]}"
    return None


def bench_wrangler_dev(generator: str, duration: float, connections: int) -> Result:
    name = "HTTP: wrangler dev (workerd, JS twin)"
    reason = ensure_wrangler()
    if reason:
        return Result(name, None, note=f"skipped: {reason}")
    port = free_port()
    cmd = [str(WRANGLER), "dev", "--port", str(port), "--ip", "127.0.0.1", "--inspector-port", str(free_port())]
    env = {"CI": "1", "WRANGLER_SEND_METRICS": "false", "NO_COLOR": "1"}
    try:
        with Server(cmd, cwd=HELLO_JS, port=port, env=env) as server:
            rps, n, errors = http_load(server.url, generator, duration, connections)
    except RuntimeError as exc:
        return Result(name, None, note=f"failed to start: {str(exc)[:300]}")
    return Result(name, rps, n, errors, generator)


# -- report ---------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per target")
    parser.add_argument("--connections", type=int, default=16, help="concurrent HTTP connections")
    parser.add_argument("--generator", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--skip-wrangler", action="store_true")
    args = parser.parse_args(argv)
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "httpx"

    started = time.perf_counter()
    results = [bench_in_process(args.duration),
               bench_course_serve(generator, args.duration, args.connections)]
    if args.skip_wrangler:
        results.append(Result("HTTP: wrangler dev (workerd, JS twin)", None, note="skipped: --skip-wrangler"))
    else:
        results.append(bench_wrangler_dev(generator, args.duration, args.connections))

    reference = results[-1].requests_per_s
    print(f"\nhello route (GET /), {args.duration:g} s per target, HTTP load: {generator} "
          f"with {args.connections} connections, {os.cpu_count()} CPU(s), Python {platform.python_version()}")
    print(f"{'target':<40} {'req/s':>10} {'vs wrangler dev':>16}  errors")
    for r in results:
        rps = f"{r.requests_per_s:,.0f}" if r.requests_per_s else "-"
        ratio = f"{r.requests_per_s / reference:.2f}x" if r.requests_per_s and reference else "-"
        print(f"{r.target:<40} {rps:>10} {ratio:>16}  {r.errors}{'  ' + r.note if r.note else ''}")
    print(f"(total {time.perf_counter() - started:.0f} s)")

    out = ROOT / "bench" / "results" / "runtime.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"generator": generator, "duration_s": args.duration,
                               "connections": args.connections, "cpus": os.cpu_count(),
                               "results": [asdict(r) for r in results]}, indent=2) + "\n")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
