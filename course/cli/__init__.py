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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="The Workers Agents course toolkit.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, target in SUBCOMMANDS.items():
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)

