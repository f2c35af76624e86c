"""Finding a class's submissions: nbgrader's ``<student>/<assignment>/*.ipynb`` or a flat LMS download."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

#: Characters kept in a student id taken from a file name (the rest become "-").
_UNSAFE = re.compile(r"[^A-Za-z0-9.@-]+")


class SubmissionError(ValueError):
    """The submissions folder cannot be read as a class."""


@dataclass
class Submission:
    """One student's files: {notebook name (no suffix): path}."""

    student_id: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    origin: str = ""  # where it came from, for messages


def _student_from_filename(name: str) -> str:
    # LMS downloads name files "<student>_<anything>.ipynb" (Canvas: name_id_fileid_title.ipynb).
    stem = name[: -len(".ipynb")]
    student = stem.split("_", 1)[0] if "_" in stem else stem
    return _UNSAFE.sub("-", student).strip("-.") or "anonymous"


def find_submissions(folder: Path, assignment: str, notebook_names: list[str]) -> list[Submission]:
    """Every student's submission in ``folder``, sorted by student id.

    ``notebook_names`` are the assignment's notebooks (from the source); a flat folder maps
    each file to the one notebook, or, for several, to the notebook its name ends with.
    """
    if not folder.is_dir():
        raise SubmissionError(f"{folder} is not a folder of submissions")
    nested = sorted(p for p in folder.glob(f"*/{assignment}") if p.is_dir())
    if nested:
        subs = []
        for path in nested:
            sub = Submission(path.parent.name, origin=str(path))
            for nb in sorted(path.glob("*.ipynb")):
                sub.notebooks[nb.stem] = nb
            subs.append(sub)
        return subs
    flat = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if not flat:
        raise SubmissionError(f"no submissions in {folder}: expected <student>/{assignment}/<notebook>.ipynb "
                              f"or <student>_<anything>.ipynb files")
    by_student: dict[str, Submission] = {}
    for path in flat:
        student = _student_from_filename(path.name)
        if len(notebook_names) == 1:
            notebook = notebook_names[0]
        else:
            matches = [n for n in notebook_names if path.stem.endswith(n)]
            if not matches:
                raise SubmissionError(f"{path.name}: cannot tell which of {notebook_names} it is (name it <student>_<notebook>.ipynb)")
            notebook = max(matches, key=len)
        sub = by_student.setdefault(student, Submission(student, origin=str(path)))
        if notebook in sub.notebooks:
            raise SubmissionError(f"two submissions of {notebook}.ipynb for student {student!r}: "
                                  f"{sub.notebooks[notebook].name} and {path.name}")
        sub.notebooks[notebook] = path
    return [by_student[s] for s in sorted(by_student)]
