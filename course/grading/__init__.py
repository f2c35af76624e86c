"""The course's grading pipeline on nbgrader: release exercises, check a notebook, grade a class."""
