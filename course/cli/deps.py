"""``course deps``: vendor a Worker project's Python dependencies, like ``pywrangler sync``.

``course deps sync DIR`` installs ``DIR/pyproject.toml``'s ``[project].dependencies`` into
``DIR/python_modules`` (pip install --target), skipping what the course environment already
provides and refusing, with both versions named, a package that would clash with the emulator's
own; ``course deps status DIR`` says whether that folder is up to date. ``course serve DIR`` and
``load(DIR)`` sync on their own when it is missing or stale (course.runtime.kernel.vendoring).
Reference: https://developers.cloudflare.com/workers/languages/python/packages/
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.runtime.kernel.vendoring import VendoringError, plan, status, sync

#: What `course deps status` prints for each state.
STATUS_TEXT = {
    "none": "nothing to vendor (no dependencies, or all provided by the course environment)",
    "fresh": "python_modules is up to date",
    "stale": "python_modules is stale: run `course deps sync`",
    "missing": "python_modules is missing: run `course deps sync`",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deps", help="vendor a Worker project's dependencies into python_modules (like pywrangler sync)")
    actions = p.add_subparsers(dest="deps_command", metavar="ACTION")
    s = actions.add_parser("sync", help="install pyproject.toml dependencies into DIR/python_modules")
    s.add_argument("directory", nargs="?", default=".", help="the Worker project (default: .)")
    s.add_argument("--force", action="store_true", help="reinstall even if python_modules is up to date")
    s.add_argument("--find-links", action="append", default=[], metavar="DIR",
                   help="also look for wheels in DIR (passed to pip); repeatable")
    s.add_argument("--no-index", action="store_true", help="do not use the package index (offline, with --find-links)")
    s.set_defaults(func=run_sync)
    st = actions.add_parser("status", help="is DIR/python_modules up to date?")
    st.add_argument("directory", nargs="?", default=".")
    st.set_defaults(func=run_status)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_sync(args: argparse.Namespace) -> int:
    root = Path(args.directory)
    if not root.is_dir():
        print(f"course deps sync: {root} is not a folder", file=sys.stderr)
        return 1
    pip_args = [a for d in args.find_links for a in ("--find-links", d)] + (["--no-index"] if args.no_index else [])
    try:
        sync(root, pip_args=pip_args, force=args.force, progress=lambda line: print(line, flush=True))
    except VendoringError as exc:
        print(f"course deps sync: {exc}", file=sys.stderr)
        return 1
    return 0


def run_status(args: argparse.Namespace) -> int:
    root = Path(args.directory)
    try:
        state = status(root)
        provided = plan(root).provided
    except VendoringError as exc:
        print(f"course deps status: {exc}", file=sys.stderr)
        return 1
    print(f"{root}: {STATUS_TEXT[state]}")
    for requirement, version in provided.items():
        print(f"  {requirement}: {version} from the course environment")
    return 0 if state in ("none", "fresh") else 1
