"""Releasing a Worker project: ``solutions/projectN/`` (the reference) -> ``exercises/projectN/`` (the starter).

A project's source folder is a Worker project that runs as it is (``wrangler.toml``, ``src/``,
``pyproject.toml``) plus its brief notebook. Its Python files mark what is the learner's to write,
the way nbgrader marks a solution cell, but in comments, so the reference still deploys:

    # BEGIN SOLUTION
    ...the reference code...
    # END SOLUTION
    # STARTER: return error(501, "TODO: ...")

The release drops every ``BEGIN SOLUTION`` .. ``END SOLUTION`` region and turns each
``# STARTER: <code>`` line into ``<code>`` at the same indentation, so the starter runs (and does
little). Notebooks are normalised by the caller's function (``course.grading.release``); other
files are copied as they are; local state, vendored packages and caches are never released. The
same source always gives the same bytes.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

#: Files that make a solutions/ folder a Worker project rather than a notebook assignment.
PROJECT_MARKERS = ("wrangler.toml", "wrangler.jsonc", "wrangler.json")
BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
STARTER = re.compile(r"^(?P<indent>\s*)# STARTER: (?P<code>.*)$")
#: Never released: local state, vendored dependencies, caches, editors' leftovers.
NOT_RELEASED = ("python_modules", ".wrangler", "__pycache__", ".ipynb_checkpoints", ".venv", "node_modules")


class ReleaseMarkerError(ValueError):
    """A solution region is not closed, or is closed without being opened."""


def is_project(folder: Path) -> bool:
    return any((folder / name).is_file() for name in PROJECT_MARKERS)


def starter_source(text: str, where: str = "") -> str:
    """``text`` with its solution regions removed and its STARTER lines turned into code."""
    out: list[str] = []
    inside = None
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside is not None:
                raise ReleaseMarkerError(f"{where}:{number}: {BEGIN} inside the region opened on line {inside}")
            inside = number
            continue
        if stripped == END:
            if inside is None:
                raise ReleaseMarkerError(f"{where}:{number}: {END} without {BEGIN}")
            inside = None
            continue
        if inside is not None:
            continue
        starter = STARTER.match(line.rstrip("\r\n"))
        out.append(f"{starter['indent']}{starter['code']}\n" if starter else line)
    if inside is not None:
        raise ReleaseMarkerError(f"{where}:{inside}: {BEGIN} is never closed")
    return "".join(out)


def render_project_release(source: Path, *, notebook: Callable[[Path], bytes]) -> dict[str, bytes]:
    """The released files of the project in ``source`` as {relative path: bytes}."""
    files: dict[str, bytes] = {}
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if not path.is_file() or path.is_symlink() or any(part in NOT_RELEASED for part in rel.parts):
            continue
        if path.suffix == ".ipynb":
            files[rel.as_posix()] = notebook(path)
        elif path.suffix == ".py":
            files[rel.as_posix()] = starter_source(path.read_text(encoding="utf-8"), rel.as_posix()).encode()
        else:
            files[rel.as_posix()] = path.read_bytes()
    return files


__all__ = ["BEGIN", "END", "NOT_RELEASED", "PROJECT_MARKERS", "ReleaseMarkerError", "is_project",
           "render_project_release", "starter_source"]
