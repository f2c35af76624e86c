"""``course d1 execute``: run SQL against a project's local D1 state, like ``wrangler d1 execute --local``.

``course d1 execute DB --file schema.sql [DIR]`` or ``--command "SELECT ..."`` runs the SQL in the
local database of binding (or database_name) ``DB`` of the project in ``DIR`` (default: the
current folder), stored under ``--persist-to`` (default ``DIR/.wrangler/state``, the folder
``course serve DIR --persist-to DIR/.wrangler/state`` reads). Pending migrations are applied
first, as loading the Worker would. Rows of SELECT statements are printed as tables; ``--json``
prints every statement's results as JSON instead.
Reference: https://developers.cloudflare.com/workers/wrangler/commands/#d1-execute
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from course.runtime.kernel.config import ConfigError, find_config, parse_config_text, validate_config


class _IntermixedParser(argparse.ArgumentParser):
    """Accepts options between positionals (``execute DB --file F DIR``), as wrangler does."""

    _inner = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        if self._inner:
            return super().parse_known_args(args, namespace)
        self._inner = True
        try:
            return super().parse_known_intermixed_args(args, namespace)
        finally:
            self._inner = False


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("d1", help="work with a project's local D1 databases (like wrangler d1)")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    commands = parser.add_subparsers(dest="d1_command", metavar="SUBCOMMAND", parser_class=_IntermixedParser)
    ex = commands.add_parser("execute", help="run SQL in a local D1 database (like wrangler d1 execute --local)")
    ex.add_argument("database", metavar="BINDING", help="the D1 binding (or database_name) in the wrangler config")
    ex.add_argument("directory", nargs="?", default=".", metavar="DIR", help="the Worker project (default: .)")
    source = ex.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", type=Path, help="a .sql file to run")
    source.add_argument("--command", help="SQL to run")
    ex.add_argument("--persist-to", type=Path, default=None,
                    help="state directory (default: DIR/.wrangler/state, as wrangler)")
    ex.add_argument("--local", action="store_true", help="accepted for wrangler compatibility (always local)")
    ex.add_argument("--json", action="store_true", help="print results as JSON")
    ex.set_defaults(func=run_execute)


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as a box-drawn table, as wrangler prints them."""
    def cell(v: Any) -> str:
        if v is None:
            return "null"
        if isinstance(v, bytes):
            return "[" + ",".join(str(b) for b in v) + "]"
        return str(v)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(str(c))] + [len(r[i]) for r in body]) for i, c in enumerate(columns)]

    def line(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right

    def row_text(values: Sequence[str]) -> str:
        return "│" + "│".join(f" {v.ljust(w)} " for v, w in zip(values, widths)) + "│"

    out = [line("┌", "┬", "┐"), row_text([str(c) for c in columns]), line("├", "┼", "┤")]
    out += [row_text(r) for r in body]
    out.append(line("└", "┴", "┘"))
    return "\n".join(out)


def run_execute(args: argparse.Namespace) -> int:
    from course.runtime.bindings.d1 import D1, D1MigrationError, database_key
    from course.runtime.platform import Runtime

    directory = Path(args.directory)
    try:
        path = find_config(directory).resolve()
        text = path.read_text(encoding="utf-8")
        config = validate_config(parse_config_text(text, path), path, text)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"✘ [ERROR] {exc}", file=sys.stderr)
        return 1
    entry = next((d for d in config.d1_databases if args.database in (d.binding, d.database_name)), None)
    if entry is None:
        have = ", ".join(d.binding for d in config.d1_databases) or "none"
        print(f"✘ [ERROR] {path}: no D1 database with binding or database_name {args.database!r} "
              f"(d1_databases: {have})", file=sys.stderr)
        return 1
    if args.file is not None:
        try:
            sql = args.file.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"✘ [ERROR] cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 1
    else:
        sql = args.command
    persist = args.persist_to if args.persist_to is not None else config.root / ".wrangler" / "state"
    rt = Runtime(persist_to=persist)
    try:
        store = D1.of(rt).store(database_key(entry))
        try:
            store.apply_migrations(config.root / entry.migrations_dir, entry.migrations_table)
            results = store.execute_script(sql)
        except D1MigrationError as exc:
            print(f"✘ [ERROR] {exc}", file=sys.stderr)
            return 1
        except Exception as exc:  # noqa: BLE001 - a D1 error from the SQL: report it, exit 1
            print(f"✘ [ERROR] {getattr(exc, 'message', str(exc))}", file=sys.stderr)
            return 1
        if args.json:
            out = [{"results": [dict(zip(cols, [list(v) if isinstance(v, bytes) else v for v in row]))
                                for row in rows], "success": True} for cols, rows in results]
            print(json.dumps(out, indent=2))
            return 0
        print(f"🌀 Executing on local database {entry.database_name or entry.binding} "
              f"({database_key(entry)}) from {Path(persist)}:")
        for columns, rows in results:
            if columns:
                print(format_table(columns, rows))
        print(f"🚣 {len(results)} command{'s' if len(results) != 1 else ''} executed successfully.")
        return 0
    finally:
        rt.close()
