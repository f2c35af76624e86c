"""A private nbgrader course directory: the source copied in and the assignment generated.

``course release`` and ``course grade`` never write nbgrader's working files (gradebook.db,
release/, submitted/, autograded/) into the repository: they work in a throwaway directory
laid out the way nbgrader expects and copy out only what they produce.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from course.grading.config import course_config


class NbgraderError(RuntimeError):
    """nbgrader reported a failure; the message carries its log."""


def quiet_nbgrader() -> None:
    """nbgrader logs every step at INFO; the course's commands report for themselves."""
    for name in ("traitlets", "nbgrader", "NbGraderAPI", "GenerateAssignment", "Autograde"):
        logging.getLogger(name).setLevel(logging.ERROR)


def ensure_tools_on_path() -> None:
    """nbgrader runs the ``alembic`` command when it creates a gradebook: find it next to Python."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def api_for(root: Path, **settings: object):  # -> nbgrader.apps.NbGraderAPI
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    quiet_nbgrader()
    ensure_tools_on_path()
    config = course_config(root, source_directory="source", release_directory="release",
                           db_url=f"sqlite:///{root / 'gradebook.db'}", **settings)  # type: ignore[arg-type]
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    api.log.setLevel(logging.ERROR)
    return api


def create_gradebook(path: Path) -> None:
    """An empty gradebook, as nbgrader's ``Gradebook`` creates one, without its ``alembic heads`` run.

    nbgrader learns the schema's alembic revision by running the ``alembic`` command in a new
    Python process (about 2 s, most of ``generate``); the same revision is read here in-process
    from nbgrader's own migration scripts. A gradebook that has tables is then opened as is.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from nbgrader.dbutil import ALEMBIC_DIR
    from sqlalchemy import create_engine, text

    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    engine = create_engine(f"sqlite:///{path}", future=True)
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as db:
            db.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);"))
            db.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head);"), {"head": head})
    finally:
        engine.dispose()


def generate(root: Path, assignment: str, solutions_dir: Path, partial_credit_tag: str = "") -> Path:
    """Copy ``solutions_dir/assignment`` into ``root/source`` and run nbgrader's GenerateAssignment.

    Returns ``root/release/assignment``; ``root/gradebook.db`` then knows the assignment, its
    grade cells and their checksums, which is what autograding compares submissions against.
    With ``partial_credit_tag``, the copied grade cells count their hidden scenarios first
    (``course.grading.partial_credit``); the release comes out the same, hidden tests removed.
    """
    src = solutions_dir / assignment
    if not src.is_dir():
        raise FileNotFoundError(f"no assignment {assignment!r}: {src} is not a directory")
    if not any(src.glob("*.ipynb")):
        raise FileNotFoundError(f"assignment {assignment!r} has no notebooks in {src}")
    dest = root / "source" / assignment
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    if partial_credit_tag:
        from course.grading.partial_credit import rewrite_assignment

        rewrite_assignment(dest, partial_credit_tag)
    if not (root / "gradebook.db").exists():
        create_gradebook(root / "gradebook.db")
    result = api_for(root).generate_assignment(assignment, force=True, create=True)
    if not result.get("success"):
        raise NbgraderError(f"nbgrader generate_assignment {assignment} failed:\n{result.get('error') or result.get('log')}")
    return root / "release" / assignment
