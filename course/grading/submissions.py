"""Finding a class's submissions: nbgrader's ``<student>/<assignment>/*.ipynb`` or a flat LMS download.

LMS downloads name each file after the student, and each LMS its own way:

- Canvas: ``<name>[_LATE]_<user id>_<submission id>_<file>`` (``janesmith_LATE_123456_7890123_day1.ipynb``);
- Moodle: ``<Full Name>_<participant id>_assignsubmission_file_<file>``;
- Blackboard: ``<Assignment>_<user>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>``;
- anything else: ``<student>_<anything>.ipynb``.

The student's id is the LMS id when the name carries one (so the grades go back into the LMS
against the right person), and the name is kept for the CSV. Whatever is odd about a file
becomes a note on that student (a resubmission, an id shared by two names) or on the class (a
folder that holds no notebook), never an abort and never a silent skip. Each student also gets a
``key``: short, unique and made of safe characters, the name of its folders and files and the id
nbgrader sees (a 240-character id or one like ``[x]`` breaks file systems and nbgrader's globs).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

#: Characters kept in a student id taken from a file name (the rest become "-").
_UNSAFE = re.compile(r"[^A-Za-z0-9.@-]+")
#: Longest student key (the part of file and folder names that comes from the student id).
MAX_KEY = 48
#: nbgrader's collect writes the submission time here, in the student's assignment folder.
TIMESTAMP_FILE = "timestamp.txt"

_CANVAS = re.compile(r"^(?P<name>[^_]+?)(?P<late>_LATE)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?:file|onlinetext)_?(?P<file>.*)$")
_BLACKBOARD = re.compile(r"^(?P<assignment>.+?)_(?P<id>[^_]+)_attempt_(?P<at>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})_?(?P<file>.*)$")


class SubmissionError(ValueError):
    """The submissions folder cannot be read as a class."""


@dataclass
class LmsName:
    """What an LMS file name says about its submission."""

    student_id: str
    name: str = ""  # the student's name, as the LMS wrote it ("" if it did not)
    lms: str = ""  # canvas | moodle | blackboard | "" (a plain <student>_<anything> name)
    submitted_at: datetime | None = None
    late: bool = False  # the LMS marked it late (Canvas's _LATE)
    attempt: str = ""  # what orders two attempts of one student (a submission id or a time)
    file: str = ""  # the name the student gave the file


@dataclass
class Submission:
    """One student's files: {notebook name (no suffix): path}."""

    student_id: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    origin: str = ""  # where it came from, for messages
    name: str = ""  # the student's name from the LMS ("" if unknown)
    submitted_at: datetime | None = None  # when it was submitted, if the LMS or nbgrader says
    lms_late: bool = False
    notes: list[str] = field(default_factory=list)  # what the intake decided about these files
    key: str = ""  # safe, unique, short: folder and file names, and nbgrader's student id


@dataclass
class ClassIntake:
    submissions: list[Submission]
    notes: list[str] = field(default_factory=list)  # about the folder, not about one student


def _clean(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-.") or "anonymous"


def parse_lms_name(filename: str) -> LmsName:
    """The student, and what else the LMS put in ``filename`` (see the module docstring)."""
    stem = filename[: -len(".ipynb")] if filename.endswith(".ipynb") else filename
    m = _MOODLE.match(stem)
    if m:
        return LmsName(m["id"], m["name"].strip(), "moodle", attempt="", file=m["file"])
    m = _BLACKBOARD.match(stem)
    if m:
        at = datetime.strptime(m["at"], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=timezone.utc)
        return LmsName(_clean(m["id"]), "", "blackboard", submitted_at=at, attempt=m["at"], file=m["file"])
    m = _CANVAS.match(stem)
    if m:
        return LmsName(m["id"], m["name"], "canvas", late=bool(m["late"]), attempt=m["sub"].zfill(20), file=m["file"])
    student = stem.split("_", 1)[0] if "_" in stem else stem
    return LmsName(_clean(student), file=stem)


def student_key(student_id: str, taken: set[str]) -> str:
    """A safe, unique, short key for ``student_id`` (added to ``taken``)."""
    base = _clean(student_id)[:MAX_KEY].strip("-.") or "anonymous"
    if base != student_id or base in taken:
        base = f"{base[:MAX_KEY - 9]}-{hashlib.sha256(student_id.encode()).hexdigest()[:8]}"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    taken.add(key)
    return key


def read_timestamp(folder: Path) -> datetime | None:
    """nbgrader's ``timestamp.txt`` in a submission folder, as an aware datetime (None if absent or unreadable)."""
    path = folder / TIMESTAMP_FILE
    if not path.is_file() or path.is_symlink():
        return None
    try:
        from dateutil.parser import parse

        stamp = parse(path.read_text(encoding="utf-8").strip())
    except (ValueError, OverflowError, OSError, UnicodeDecodeError):
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def find_submissions(folder: Path, assignment: str, notebook_names: list[str]) -> list[Submission]:
    """Every student's submission in ``folder``, sorted by student id (see :func:`find_class`)."""
    return find_class(folder, assignment, notebook_names).submissions


def find_class(folder: Path, assignment: str, notebook_names: list[str]) -> ClassIntake:
    """Every student's submission in ``folder``, sorted by student id, and notes on what was odd.

    ``notebook_names`` are the assignment's notebooks (from the source); a flat folder maps
    each file to the one notebook, or, for several, to the notebook its name ends with.
    """
    if not folder.is_dir():
        raise SubmissionError(f"{folder} is not a folder of submissions")
    nested = sorted(p for p in folder.iterdir() if p.is_dir() and (p / assignment).is_dir())
    intake = _nested(folder, nested, assignment) if nested else _flat(folder, notebook_names)
    if not intake.submissions:
        raise SubmissionError(f"no submissions in {folder}: expected <student>/{assignment}/<notebook>.ipynb "
                              f"or <student>_<anything>.ipynb files")
    taken: set[str] = set()
    for sub in sorted(intake.submissions, key=lambda s: s.student_id):
        sub.key = student_key(sub.student_id, taken)
    intake.submissions.sort(key=lambda s: s.student_id)
    return intake


def _nested(folder: Path, nested: list[Path], assignment: str) -> ClassIntake:
    intake = ClassIntake([])
    for student_dir in nested:
        path = student_dir / assignment
        sub = Submission(student_dir.name, origin=str(path), submitted_at=read_timestamp(path))
        if student_dir.is_symlink() or path.is_symlink():
            sub.notes.append(f"{student_dir.name}/{assignment} is a symbolic link, not a folder; not followed")
        else:
            for nb in sorted(p for p in path.iterdir() if p.suffix == ".ipynb"):
                sub.notebooks[nb.stem] = nb
            if not sub.notebooks:
                sub.notes.append(f"{student_dir.name}/{assignment}/ holds no notebook")
        intake.submissions.append(sub)
    for other in sorted(p for p in folder.iterdir() if p not in nested and not p.name.startswith(".")):
        intake.notes.append(f"{other.name}{'/' if other.is_dir() else ''}: not a <student>/{assignment}/ folder; skipped")
    return intake


def _flat(folder: Path, notebook_names: list[str]) -> ClassIntake:
    intake = ClassIntake([])
    files: list[tuple[Path, str]] = []  # (path, where it was found)
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            inside = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not inside:
                intake.notes.append(f"{entry.name}/: a folder with no notebook in a flat download; skipped")
            for nb in inside:
                files.append((nb, f"{entry.name}/"))
        elif entry.suffix == ".ipynb":
            files.append((entry, ""))
        else:
            intake.notes.append(f"{entry.name}: not a notebook; skipped")
    by_student: dict[str, Submission] = {}
    raw_names: dict[str, set[str]] = {}
    attempts: dict[tuple[str, str], tuple[str, Path]] = {}
    for path, inside in files:
        # a Moodle "submissions in folders" download names the folder, not the file, after the student
        parsed = parse_lms_name(inside.rstrip("/") + ".ipynb") if inside else parse_lms_name(path.name)
        student = parsed.student_id
        if len(notebook_names) == 1:
            notebook = notebook_names[0]
        else:
            matches = [n for n in notebook_names if path.stem.endswith(n) or path.stem.startswith(n)]
            sub = by_student.setdefault(student, Submission(student, origin=str(path), name=parsed.name))
            if not matches:
                sub.notes.append(f"{path.name}: cannot tell which of {', '.join(notebook_names)} it is "
                                 "(name it <student>_<notebook>.ipynb); not graded")
                continue
            notebook = max(matches, key=len)
        sub = by_student.setdefault(student, Submission(student, origin=str(path), name=parsed.name))
        raw_names.setdefault(student, set()).add(path.name.split("_", 1)[0] if not parsed.lms else parsed.name)
        sub.name = sub.name or parsed.name
        order = parsed.attempt or _mtime_order(path)
        previous = attempts.get((student, notebook))
        if previous is None or order > previous[0]:
            if previous is not None:
                sub.notes.append(f"{notebook}.ipynb submitted more than once: graded {path.name} (the latest), "
                                 f"not {previous[1].name}")
            attempts[(student, notebook)] = (order, path)
            sub.notebooks[notebook] = path
            sub.submitted_at, sub.lms_late = parsed.submitted_at, parsed.late
        else:
            sub.notes.append(f"{notebook}.ipynb submitted more than once: graded {previous[1].name} (the latest), "
                             f"not {path.name}")
    for student, names in raw_names.items():
        if len(names) > 1:
            by_student[student].notes.append(f"files with different names ({', '.join(sorted(names))}) give the same "
                                             f"student id {student!r}; graded as one student, check they are")
    intake.submissions = list(by_student.values())
    return intake


def _mtime_order(path: Path) -> str:
    """Files without an attempt in their name are ordered by modification time (then name)."""
    return f"{path.stat().st_mtime_ns:020d}:{path.name}"
