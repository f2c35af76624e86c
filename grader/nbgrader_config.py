"""nbgrader configuration for the course: solutions/ is the source, exercises/ the release.

Used by the plain nbgrader commands, run from this folder (nbgrader reads ./nbgrader_config.py):

    cd grader && nbgrader generate_assignment day1 --force

The ``course release`` / ``course grade`` commands apply the same settings (they come from
``course.grading.config``) in a private course directory, so they never write a gradebook here.
"""
from pathlib import Path

from course.grading.config import apply_settings

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

ROOT = Path(__file__).resolve().parent.parent
apply_settings(
    c,
    root=ROOT,
    source_directory="solutions",
    release_directory="exercises",
    # The gradebook of a plain nbgrader run stays next to this file, out of the course's folders.
    db_url=f"sqlite:///{ROOT / 'grader' / 'gradebook.db'}",
)
