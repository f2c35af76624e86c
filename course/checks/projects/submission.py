"""A submitted Worker project: find it in a folder, say which course project it is, load it.

A learner submits a Worker project as it would deploy (``wrangler.toml`` or ``wrangler.jsonc``
and ``src/``), often wrapped in one more folder by a zip tool or an LMS. :func:`project_root`
finds the folder that holds the wrangler config; :func:`project_name` reads which course
project it is (``[tool.course] project = "project1"`` in its ``pyproject.toml``, else a folder
named ``projectN``); :func:`load_submission` loads it on the emulator with a virtual clock and a
seed, and turns whatever goes wrong while loading (a bad config, a syntax error, an import of a
module that is not there, a dependency that cannot be vendored) into one
:class:`SubmissionDoesNotLoad` whose message a learner can act on.

Loading runs the submission's module code in this process: a grader runs this in a process of
its own, on a copy of the folder (``course.grading.project_grade``).
"""
from __future__ import annotations

import re
import tomllib
import traceback
from pathlib import Path

from course.runtime import Runtime, load

#: The wrangler config files a project may have, in wrangler's order of preference.
CONFIG_NAMES = ("wrangler.toml", "wrangler.jsonc", "wrangler.json")
#: How deep below the given folder a project's root may sit (a zip's own folder, an LMS folder).
MAX_DEPTH = 2
#: Folders never searched for a project (vendored packages, local state, editors' caches).
SKIPPED = ("python_modules", "node_modules", ".wrangler", ".venv", "__pycache__", "__MACOSX", ".git")
_PROJECT_FOLDER = re.compile(r"^project\d+$")


class SubmissionDoesNotLoad(Exception):
    """The submission cannot be loaded as a Worker; the message says why."""


def _has_config(folder: Path) -> bool:
    return any((folder / name).is_file() and not (folder / name).is_symlink() for name in CONFIG_NAMES)


def project_root(folder: Path | str) -> Path:
    """The folder holding the wrangler config: ``folder`` itself or the one project folder inside it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SubmissionDoesNotLoad(f"{folder} is not a folder")
    level = [folder]
    for _ in range(MAX_DEPTH + 1):
        found = [f for f in level if _has_config(f)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise SubmissionDoesNotLoad("more than one Worker project in the submission: "
                                        + ", ".join(str(f.relative_to(folder)) for f in found))
        level = sorted(child for f in level for child in f.iterdir()
                       if child.is_dir() and not child.is_symlink() and child.name not in SKIPPED
                       and not child.name.startswith("."))
    raise SubmissionDoesNotLoad(f"no {' or '.join(CONFIG_NAMES)} in {folder.name}/ (a Worker project has one at its "
                                "top, next to src/)")


def project_name(folder: Path | str) -> str | None:
    """Which course project ``folder`` is: ``[tool.course] project`` in pyproject.toml, else its folder name."""
    root = project_root(folder)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            name = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("course", {}).get("project")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            name = None
        if isinstance(name, str) and name:
            return name
    for part in (root, *root.parents[:MAX_DEPTH]):
        if _PROJECT_FOLDER.match(part.name):
            return part.name
    return None


def describe_load_error(exc: BaseException, root: Path) -> str:
    """One or two lines: what failed, and where in the learner's files (never the emulator's)."""
    # paths relative to the project: the learner knows them, and a grader's temporary folder
    # must not make two runs on the same files read differently
    text = str(exc).replace(f"{root}/", "").replace(str(root), ".").strip().splitlines()
    head = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    if isinstance(exc, SyntaxError) and exc.filename:
        where = Path(exc.filename)
        shown = where.relative_to(root) if where.is_relative_to(root) else where.name
        return f"SyntaxError in {shown}, line {exc.lineno}: {exc.msg}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).is_relative_to(root)]
    if frames:
        last = frames[-1]
        head += f" (at {Path(last.filename).relative_to(root)}, line {last.lineno})"
    return head


def load_submission(folder: Path | str, *, seed: int = 0) -> Runtime:
    """The submission's Worker on a new runtime with a virtual clock, or :class:`SubmissionDoesNotLoad`."""
    root = project_root(folder).resolve()
    try:
        return load(root, virtual_time=True, seed=seed)
    except Exception as exc:  # anything the learner's files can raise while loading becomes a verdict
        raise SubmissionDoesNotLoad(f"the Worker does not load: {describe_load_error(exc, root)}") from exc


__all__ = ["CONFIG_NAMES", "SubmissionDoesNotLoad", "describe_load_error", "load_submission", "project_name",
           "project_root"]
