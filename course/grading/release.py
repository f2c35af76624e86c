"""``course release``: regenerate exercises/<assignment>/ from solutions/ with nbgrader.

nbgrader's own GenerateAssignment does the work (ClearSolutions, ClearHiddenTests, LockCells,
ComputeChecksums...). Its output is then normalised so the same source always gives the same
bytes: outputs and execution counts cleared, notebook metadata cut to the kernelspec and the
language, keys sorted. A test can then assert that the committed exercises/ is up to date.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from course.grading.config import RELEASE_DIRECTORY, REPO_ROOT, SOURCE_DIRECTORY
from course.grading.course_dir import generate
from course.grading.project_release import is_project, render_project_release

#: Notebook-level metadata kept in released notebooks (everything else is editor state).
KEPT_NOTEBOOK_METADATA = ("kernelspec",)


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip what changes from run to run (outputs, counts, editor metadata)."""
    nb.metadata = nbformat.from_dict({k: nb.metadata[k] for k in KEPT_NOTEBOOK_METADATA if k in nb.metadata}
                                     | {"language_info": {"name": "python"}})
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for volatile in ("collapsed", "scrolled", "execution", "ExecuteTime", "jupyter", "trusted"):
            cell.metadata.pop(volatile, None)
    return nb


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return (nbformat.writes(nb, version=4) + "\n").encode()


def available_assignments(solutions_dir: Path) -> list[str]:
    return sorted(p.name for p in solutions_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def render_release(assignment: str, solutions_dir: Path) -> dict[str, bytes]:
    """The released files of ``assignment`` as {relative path: bytes}, without touching exercises/."""
    if is_project(solutions_dir / assignment):  # a Worker project: the starter, not nbgrader's release
        return render_project_release(solutions_dir / assignment,
                                      notebook=lambda p: notebook_bytes(normalise(nbformat.read(p, as_version=4))))
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        release = generate(Path(tmp), assignment, solutions_dir)
        files: dict[str, bytes] = {}
        for path in sorted(release.rglob("*")):
            if not path.is_file() or ".ipynb_checkpoints" in path.parts:
                continue
            rel = path.relative_to(release).as_posix()
            if path.suffix == ".ipynb":
                files[rel] = notebook_bytes(normalise(nbformat.read(path, as_version=4)))
            else:
                files[rel] = path.read_bytes()
        return files


def release(assignments: list[str] | None = None, *, solutions_dir: Path | None = None,
            exercises_dir: Path | None = None) -> dict[str, list[Path]]:
    """Regenerate ``exercises_dir/<assignment>/`` for each assignment (all of them by default)."""
    solutions_dir = solutions_dir or REPO_ROOT / SOURCE_DIRECTORY
    exercises_dir = exercises_dir or REPO_ROOT / RELEASE_DIRECTORY
    names = assignments or available_assignments(solutions_dir)
    written: dict[str, list[Path]] = {}
    for name in names:
        files = render_release(name, solutions_dir)  # everything generated before anything is replaced
        target = exercises_dir / name
        if target.exists():
            shutil.rmtree(target)
        written[name] = []
        for rel, data in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written[name].append(path)
    return written
