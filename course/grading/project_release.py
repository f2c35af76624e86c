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
little). Markdown files (a project's ``DESIGN.md``: the reference rationale in ``solutions/``, a
template in the release) use the same markers as HTML comments: ``<!-- BEGIN SOLUTION -->``,
``<!-- END SOLUTION -->`` and ``<!-- STARTER: <text> -->``. Notebooks are normalised by the caller's function (``course.grading.release``); other
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
#: The same markers in Markdown, as HTML comments (invisible when the reference is rendered).
MD_BEGIN = "<!-- BEGIN SOLUTION -->"
MD_END = "<!-- END SOLUTION -->"
MD_STARTER = re.compile(r"^(?P<indent>\s*)<!-- STARTER: (?P<code>.*) -->$")
#: Never released: local state, vendored dependencies, caches, editors' leftovers.
NOT_RELEASED = ("python_modules", ".wrangler", "__pycache__", ".ipynb_checkpoints", ".venv", "node_modules")


class ReleaseMarkerError(ValueError):
    """A solution region is not closed, or is closed without being opened."""


def is_project(folder: Path) -> bool:
    return any((folder / name).is_file() for name in PROJECT_MARKERS)


def starter_source(text: str, where: str = "", *, begin: str = BEGIN, end: str = END,
                   starter_line: re.Pattern[str] = STARTER) -> str:
    """``text`` with its solution regions removed and its STARTER lines turned into code."""
    out: list[str] = []
    inside = None
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        stripped = line.strip()
        if stripped == begin:
            if inside is not None:
                raise ReleaseMarkerError(f"{where}:{number}: {begin} inside the region opened on line {inside}")
            inside = number
            continue
        if stripped == end:
            if inside is None:
                raise ReleaseMarkerError(f"{where}:{number}: {end} without {begin}")
            inside = None
            continue
        if inside is not None:
            continue
        starter = starter_line.match(line.rstrip("\r\n"))
        out.append(f"{starter['indent']}{starter['code']}\n" if starter else line)
    if inside is not None:
        raise ReleaseMarkerError(f"{where}:{inside}: {begin} is never closed")
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
        elif path.suffix == ".md":
            files[rel.as_posix()] = starter_source(path.read_text(encoding="utf-8"), rel.as_posix(), begin=MD_BEGIN,
                                                   end=MD_END, starter_line=MD_STARTER).encode()
        else:
            files[rel.as_posix()] = path.read_bytes()
    return files


__all__ = ["BEGIN", "END", "MD_BEGIN", "MD_END", "NOT_RELEASED", "PROJECT_MARKERS", "ReleaseMarkerError", "is_project",
           "render_project_release", "starter_source"]
