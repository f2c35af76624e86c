"""``course doctor``: what this machine has for the course, and whether a live Worker answers."""
from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import platform
import shutil
import subprocess

import httpx

import course

PACKAGES = ("jupyterlab", "nbgrader", "pytest", "httpx", "matplotlib", "pydantic", "uvicorn", "json5",
            "croniter", "websockets")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="report versions, the live Worker URL, node and wrangler")
    p.add_argument("--url", default=None, help="live Worker URL to probe (default: $COURSE_WORKER_URL)")
    p.set_defaults(func=run)


def _version(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else None


def report(url: str | None = None) -> list[tuple[str, str, bool]]:
    """Rows of (item, finding, ok)."""
    rows: list[tuple[str, str, bool]] = [
        ("python", platform.python_version(), True),
        ("course", course.__version__, True),
    ]
    for name in PACKAGES:
        try:
            rows.append((name, md.version(name), True))
        except md.PackageNotFoundError:
            rows.append((name, "not installed", False))
    node = _version(["node", "--version"])
    rows.append(("node", node or "not found (only needed for conformance tests and benchmarks)", node is not None))
    npx = shutil.which("npx")
    rows.append(("npx", npx or "not found", npx is not None))
    url = url or os.environ.get("COURSE_WORKER_URL")
    if url:
        try:
            r = httpx.get(url, timeout=5)
            rows.append(("live Worker", f"{url} answered {r.status_code}", r.status_code < 500))
        except httpx.HTTPError as exc:
            rows.append(("live Worker", f"{url} did not answer: {exc}", False))
    else:
        rows.append(("live Worker", "COURSE_WORKER_URL not set: notebooks use the emulated Worker", True))
    return rows


def run(args: argparse.Namespace) -> int:
    rows = report(args.url)
    width = max(len(r[0]) for r in rows)
    for item, finding, ok in rows:
        print(f"{'ok ' if ok else '!! '} {item.ljust(width)}  {finding}")
    return 0 if all(ok for name, _, ok in rows if name in PACKAGES or name == "live Worker") else 1
