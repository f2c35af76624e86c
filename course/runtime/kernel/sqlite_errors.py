"""SQLite errors worded as workerd words them, for D1 and Durable Object SQL storage.

workerd appends the error's byte offset to syntax errors ("near "SELEC": syntax error at
offset 0") and the extended result code to constraint errors ("SQLITE_CONSTRAINT (extended:
SQLITE_CONSTRAINT_UNIQUE)"); both were observed on local workerd (tests/conformance).
"""
from __future__ import annotations

import re
import sqlite3

_NEAR = re.compile(r'^near "(.*)": syntax error$', re.S)


def result_code(exc: BaseException) -> str:
    """``SQLITE_X``, or ``SQLITE_X (extended: SQLITE_X_Y)`` when SQLite gave an extended code."""
    name = getattr(exc, "sqlite_errorname", None) or "SQLITE_ERROR"
    primary = "_".join(name.split("_")[:2])
    return primary if name == primary else f"{primary} (extended: {name})"


def describe(exc: sqlite3.Error, statement: str) -> str:
    """``<message>[ at offset N]: <code>`` for an error raised while running ``statement``."""
    message = str(exc)
    near = _NEAR.match(message)
    if near:
        offset = statement.encode("utf-8").find(near[1].encode("utf-8"))
        if offset >= 0:
            message += f" at offset {offset}"
    return f"{message}: {result_code(exc)}"
