"""The ``course`` command: serve a Worker, check the machine, and the course's tools.

Subcommands live in the modules that implement them; this file only wires them up, so each
feature adds one line to ``SUBCOMMANDS``.
"""
from __future__ import annotations

import argparse
import importlib
from typing import Callable, Sequence

#: name -> "module:function" that adds the subcommand's parser (called with the subparsers).
SUBCOMMANDS: dict[str, str] = {
    "serve": "course.cli.serve:add_parser",
    "doctor": "course.cli.doctor:add_parser",
    "d1": "course.cli.d1:add_parser",
    "deps": "course.cli.deps:add_parser",
    "check": "course.cli.grading:add_check_parser",
    "grade": "course.cli.grading:add_grade_parser",
    "release": "course.cli.grading:add_release_parser",
}


def _chosen(argv: Sequence[str] | None) -> list[str]:
    """The subcommands whose modules must be imported to parse ``argv``: the one it names, else all.

    Importing a subcommand's module imports what it runs (uvicorn for ``serve``, nbgrader for
    ``grade``...), so ``course check`` does not pay for ``course serve``'s imports.
    """
    first = next((a for a in (argv or []) if not a.startswith("-")), None)
    return [first] if first in SUBCOMMANDS else list(SUBCOMMANDS)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="The Workers Agents course toolkit.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _chosen(argv)
    for name, target in SUBCOMMANDS.items():
        if name not in chosen:
            continue
        module_name, func = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Not built yet: the module itself or its package (course.grading) is missing. A
            # missing dependency *inside* a built module is a real error and propagates.
            if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
                raise
            continue
        add: Callable[[argparse._SubParsersAction], None] = getattr(module, func)
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)

