"""Start and stop the two conformance targets: workerd (``wrangler dev``) and the emulator.

``workerd`` is the real local Workers runtime: ``wrangler dev`` on js_probe/ (wrangler pinned by
package.json here, installed with ``npm ci`` when node_modules is missing). ``emulator`` is the
course's runtime: ``course serve`` on py_probe/. Each listens on a free local port with a fresh
state directory, answers before it is handed out, and is stopped with its whole process group.
Used by the conformance suite's fixtures (conftest.py) and by bench/bench_conformance_do.py.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
JS_PROBE = HERE / "js_probe"
PY_PROBE = HERE / "py_probe"
#: The second Worker of each target, reached from the probe by service bindings.
JS_HELPER = HERE / "js_helper"
PY_HELPER = HERE / "py_helper"
WRANGLER = HERE / "node_modules" / ".bin" / "wrangler"

#: How long a target may take to answer its first request (wrangler dev: a few seconds).
STARTUP_TIMEOUT_S = 90
HOW_TO_RUN = ("the conformance suite needs Node.js 18+ and npm (it runs `wrangler dev`); install "
              "them, then run: .venv/bin/python -m pytest -m conformance tests/conformance")


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_env() -> dict[str, str]:
    """No prompts, no telemetry, no colours: wrangler in a test."""
    env = dict(os.environ)
    env.update({"CI": "1", "WRANGLER_SEND_METRICS": "false", "NO_COLOR": "1", "FORCE_COLOR": "0"})
    return env


def ensure_wrangler() -> None:
    """``npm ci`` in tests/conformance when wrangler is not installed yet (the lockfile pins it)."""
    if WRANGLER.exists():
        return
    result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, env=quiet_env(),
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not WRANGLER.exists():
        raise RuntimeError(f"`npm ci` in {HERE} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@dataclass
class Target:
    """One running Workers runtime that serves the probe over HTTP."""

    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kwargs)  # type: ignore[arg-type]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_target(name: str, command: list[str], cwd: Path, port: int, log_path: Path) -> Target:
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=cwd, env=quiet_env(), stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    target = Target(name, f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before answering:\n{target.log_tail()}")
        try:
            if httpx.get(f"{target.base_url}/", timeout=2).status_code == 200:
                return target
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_target(target)
    raise RuntimeError(f"{name} did not answer within {STARTUP_TIMEOUT_S} s:\n{target.log_tail()}")


def stop_target(target: Target) -> None:
    """Stop the target's whole process group (wrangler starts workerd as a child)."""
    if target.process.poll() is not None:
        return
    try:
        os.killpg(target.process.pid, signal.SIGTERM)
        target.process.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(target.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        target.process.wait(5)


def start_workerd(state: Path, log_path: Path) -> Target:
    """``wrangler dev`` on js_probe/ and js_helper/, after applying the probe's D1 migrations to the
    same local state."""
    ensure_wrangler()
    migrate = subprocess.run([str(WRANGLER), "d1", "migrations", "apply", "DB", "--local", "--persist-to",
                              str(state)], cwd=JS_PROBE, env=quiet_env(), capture_output=True, text=True,
                             timeout=120)
    if migrate.returncode != 0:
        raise RuntimeError(f"wrangler d1 migrations apply failed:\n{migrate.stdout}\n{migrate.stderr}")
    port = free_port()
    # Several -c: one dev server runs the probe (first config, served) and the helper Worker.
    command = [str(WRANGLER), "dev", "-c", str(JS_PROBE / "wrangler.jsonc"), "-c",
               str(JS_HELPER / "wrangler.jsonc"), "--port", str(port), "--ip", "127.0.0.1",
               "--inspector-port", str(free_port()), "--persist-to", str(state), "--test-scheduled",
               "--show-interactive-dev-session=false"]
    return start_target("workerd", command, JS_PROBE, port, log_path)


def start_emulator(state: Path, log_path: Path) -> Target:
    """``course serve`` on py_probe/ with py_helper/ (the emulator applies D1 migrations when it loads)."""
    port = free_port()
    command = [sys.executable, "-m", "course.cli", "serve", str(PY_PROBE), "--with", str(PY_HELPER),
               "--port", str(port), "--persist-to", str(state), "--test-scheduled", "--quiet"]
    return start_target("emulator", command, REPO, port, log_path)


