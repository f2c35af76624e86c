"""``course d1``: a project's local D1 databases, like ``wrangler d1 ... --local``.

``course d1 execute DB --file schema.sql [DIR]`` or ``--command "SELECT ..."`` runs the SQL in the
local database of binding (or database_name) ``DB`` of the project in ``DIR`` (default: the
current folder). Pending migrations are applied first, as loading the Worker would. Rows of
SELECT statements are printed as tables; ``--json`` prints every statement's results as JSON.

``course d1 migrations list DB [DIR]`` prints the ``.sql`` files of the database's
``migrations_dir`` not applied yet; ``course d1 migrations apply DB [DIR]`` applies them in name
order, each in a transaction, recorded in ``migrations_table`` (wrangler's names and output;
``--local`` is accepted and changes nothing: every database here is local).

State lives under ``--persist-to`` (default ``DIR/.wrangler/state``: the folder ``course serve
DIR`` and ``wrangler dev`` use by default).
References: https://developers.cloudflare.com/workers/wrangler/commands/#d1-execute,
https://developers.cloudflare.com/workers/wrangler/commands/#d1-migrations-apply
"""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

from course.runtime.bindings.d1 import D1, D1MigrationError, D1Store, database_key
from course.runtime.kernel.config import (ConfigError, ConfigWarning, D1Database, WranglerConfig,
                                          default_state_dir, find_config, parse_config_text, read_config_text,
                                          validate_config)
from course.runtime.platform import Runtime


class _IntermixedParser(argparse.ArgumentParser):
    """Accepts options between positionals (``execute DB --file F DIR``), as wrangler does."""

    _inner = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        if self._inner or self._subparsers is not None:  # argparse cannot intermix with subcommands
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

    migrations = commands.add_parser("migrations", help="list or apply a local D1 database's migrations")
    migrations.set_defaults(func=lambda args: (migrations.print_help(), 2)[1])
    actions = migrations.add_subparsers(dest="migrations_command", metavar="SUBCOMMAND",
                                        parser_class=_IntermixedParser)
    for name, func, text in (("list", run_migrations_list, "list the migrations not applied yet"),
                             ("apply", run_migrations_apply, "apply the migrations not applied yet")):
        mp = actions.add_parser(name, help=f"{text} (like wrangler d1 migrations {name} --local)")
        mp.add_argument("database", metavar="BINDING", help="the D1 binding (or database_name) in the wrangler config")
        mp.add_argument("directory", nargs="?", default=".", metavar="DIR", help="the Worker project (default: .)")
        mp.add_argument("--persist-to", type=Path, default=None,
                        help="state directory (default: DIR/.wrangler/state, as wrangler)")
        mp.add_argument("--local", action="store_true", help="accepted for wrangler compatibility (always local)")
        mp.set_defaults(func=func)


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


class _Failed(Exception):
    """A user-facing error: printed as wrangler prints errors, exit status 1."""


def _read_config(directory: Path) -> WranglerConfig:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConfigWarning)
        path = find_config(directory).resolve()
    for w in caught:
        print(f"▲ [WARNING] {w.message}", file=sys.stderr)
    text = read_config_text(path)
    return validate_config(parse_config_text(text, path), path, text)


@contextlib.contextmanager
def _local_database(args: argparse.Namespace) -> Iterator[tuple[D1Database, D1Store, Path, Path]]:
    """The D1 entry named by ``args.database``, its local store, the state folder and the
    database's migrations folder."""
    try:
        config = _read_config(Path(args.directory))
    except (ConfigError, FileNotFoundError) as exc:
        raise _Failed(str(exc)) from None
    entry = next((d for d in config.d1_databases if args.database in (d.binding, d.database_name)), None)
    if entry is None:
        have = ", ".join(d.binding for d in config.d1_databases) or "none"
        raise _Failed(f"{config.path}: no D1 database with binding or database_name {args.database!r} "
                      f"(d1_databases: {have})")
    persist = args.persist_to if args.persist_to is not None else default_state_dir(config.root)
    rt = Runtime(persist_to=persist)
    try:
        yield entry, D1.of(rt).store(database_key(entry)), Path(persist), config.root / entry.migrations_dir
    finally:
        rt.close()


def _report(run: Any, args: argparse.Namespace) -> int:
    try:
        return run(args)
    except _Failed as exc:
        print(f"✘ [ERROR] {exc}", file=sys.stderr)
        return 1


def pending_migrations(store: D1Store, directory: Path, table: str) -> list[str]:
    """The ``.sql`` files of ``directory`` not recorded in ``table``, in the order they apply."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
        raise _Failed(f"migrations_table {table!r} is not a valid table name")
    done = {row["name"] for row in store.query(f"SELECT name FROM {table}")} if table in store.tables() else set()
    return [p.name for p in sorted(directory.glob("*.sql")) if p.name not in done]


def _migrations(args: argparse.Namespace, apply: bool) -> int:
    with _local_database(args) as (entry, store, persist, folder):
        if not folder.is_dir():
            raise _Failed(f"No migrations present at {folder} (migrations_dir of {entry.binding}).")
        pending = pending_migrations(store, folder, entry.migrations_table)
        if not pending:
            print("✅ No migrations to apply!")
            return 0
        print("Migrations to be applied:")
        # wrangler's own headings: "Name" when listing, "name" when applying.
        print(format_table(["name" if apply else "Name"], [[name] for name in pending]))
        if not apply:
            return 0
        print(f"🌀 Executing on local database {entry.database_name or entry.binding} "
              f"({database_key(entry)}) from {persist}:")
        failure = None
        try:
            applied = store.apply_migrations(folder, entry.migrations_table)
        except D1MigrationError as exc:
            failure = exc
            applied = [n for n in pending if n not in pending_migrations(store, folder, entry.migrations_table)]
        failed = next((n for n in pending if n not in applied), None) if failure else None
        status = {n: "✅" for n in applied} | ({failed: "❌"} if failed else {})
        print(format_table(["name", "status"], [[n, status.get(n, "🕒️")] for n in pending]))
        if failure is not None:
            raise _Failed(f"Migration {failed} failed with the following errors:\n{failure}")
        return 0


def run_migrations_list(args: argparse.Namespace) -> int:
    return _report(lambda a: _migrations(a, apply=False), args)


def run_migrations_apply(args: argparse.Namespace) -> int:
    return _report(lambda a: _migrations(a, apply=True), args)


def run_execute(args: argparse.Namespace) -> int:
    return _report(_execute, args)


def _execute(args: argparse.Namespace) -> int:
    if args.file is not None:
        try:
            sql = read_config_text(args.file)
        except OSError as exc:
            raise _Failed(f"cannot read {args.file}: {exc.strerror}") from None
        except ConfigError as exc:
            raise _Failed(str(exc)) from None
    else:
        sql = args.command
    with _local_database(args) as (entry, store, persist, migrations):
        try:
            store.apply_migrations(migrations, entry.migrations_table)
            results = store.execute_script(sql)
        except D1MigrationError as exc:
            raise _Failed(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a D1 error from the SQL: report it, exit 1
            raise _Failed(getattr(exc, "message", str(exc))) from None
        if args.json:
            out = [{"results": [dict(zip(cols, [list(v) if isinstance(v, bytes) else v for v in row]))
                                for row in rows], "success": True} for cols, rows in results]
            print(json.dumps(out, indent=2))
            return 0
        print(f"🌀 Executing on local database {entry.database_name or entry.binding} "
              f"({database_key(entry)}) from {persist}:")
        for columns, rows in results:
            if columns:
                print(format_table(columns, rows))
        print(f"🚣 {len(results)} command{'s' if len(results) != 1 else ''} executed successfully.")
        return 0
