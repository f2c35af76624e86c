"""Flagging answer cells that reach for the grader's machinery, for an instructor to look at.

The in-kernel guards (``course.checks.sealed``, ``course.grading.sandbox``) stop the known ways
of cheating the hidden tests, but an in-process sandbox can always be outwitted by someone
determined. What such code needs, though, is plain in the submission: frames, ``gc``,
``sys.modules``, ``builtins``, IPython's hooks, ``exec``... An exercise answer never needs them,
so a use of one is reported (never scored) for an instructor to read.
"""
from __future__ import annotations

import ast

#: Names and attributes an exercise answer has no use for, and that can tamper with grading.
SUSPICIOUS_NAMES = frozenset({
    "get_ipython", "builtins", "__builtins__", "__import__", "importlib", "gc", "inspect", "ctypes", "sys",
    "exec", "eval", "compile", "globals", "vars", "setattr", "delattr", "subprocess", "signal", "_exit",
    "sqlite3", "AssertionError", "SystemExit", "os", "shutil", "open", "__subclasses__", "__globals__", "__code__",
    "__closure__", "f_back", "f_globals", "f_locals", "_getframe", "settrace", "modules", "course",
})
#: Names that are suspicious as bare names but ordinary methods of everyday objects:
#: ``ctx.storage.sql.exec(...)`` (the Durable Object SQL API), ``re.compile``, ``path.open``.
ORDINARY_METHODS = frozenset({"exec", "compile", "open"})


def suspicious_uses(source: str) -> list[str]:
    """The suspicious names ``source`` uses, sorted (syntax errors are the grader's business, not ours)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in SUSPICIOUS_NAMES:
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in SUSPICIOUS_NAMES and node.attr not in ORDINARY_METHODS:
            found.add(f".{node.attr}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found.update(f"import {m}" for m in modules if m.split(".")[0] in SUSPICIOUS_NAMES)
    return sorted(found)


def review_verdicts(sources: dict[str, str]) -> list[str]:
    """One verdict per answer cell that uses something suspicious: {grade_id: source} in."""
    verdicts = []
    for grade_id, source in sources.items():
        uses = suspicious_uses(source)
        if uses:
            verdicts.append(f"for instructor review (not scored): answer {grade_id!r} uses {', '.join(uses)}, "
                            "which an exercise answer does not need and which can interfere with grading")
    return verdicts
