"""A fixed class of submissions built from a day's solution: the solution, the release, and one
student per mistake, each the solution with a few exact source edits.

Each ``tests/grading/dayN_class.py`` lists its edits and builds its class with
:class:`EditedClass`; the notebooks are committed under ``fixtures/`` with the grades they must
get, and regenerated (only when the class itself should change) by running that file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: {student: {answer cell grade_id: [(old text, new text), ...]}}: each old text occurs once.
Edits = dict[str, dict[str, list[tuple[str, str]]]]


@dataclass(frozen=True)
class EditedClass:
    """The class of ``day``: the committed notebooks live in ``class_dir``."""

    day: str
    edits: Edits
    class_dir: Path

    @property
    def solution_nb(self) -> Path:
        return ROOT / "solutions" / self.day / f"{self.day}_exercises.ipynb"

    @property
    def exercise_nb(self) -> Path:
        return ROOT / "exercises" / self.day / f"{self.day}_exercises.ipynb"

    def solution_answers(self) -> dict[str, str]:
        """{answer cell grade_id: source} of the solution notebook (code answers only)."""
        nb = json.loads(self.solution_nb.read_text())
        return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
                if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "code"}

    def answered(self, answers: dict[str, str]) -> str:
        """The released notebook with ``answers`` typed into its answer cells, as a learner would."""
        nb = json.loads(self.exercise_nb.read_text())
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell["source"] = answers[grade_id]
        return json.dumps(nb, indent=1, sort_keys=True) + "\n"

    def edited(self, student: str) -> dict[str, str]:
        """The solution's answers with ``student``'s edits applied."""
        answers = self.solution_answers()
        for cell, edits in self.edits[student].items():
            for old, new in edits:
                if answers[cell].count(old) != 1:
                    raise ValueError(f"{student}: {old!r} does not occur exactly once in {cell}")
                answers[cell] = answers[cell].replace(old, new)
        return answers

    def class_notebooks(self) -> dict[str, str]:
        """{student: notebook text} for the whole class."""
        notebooks = {"correct": self.answered(self.solution_answers()), "blank": self.exercise_nb.read_text()}
        notebooks.update({student: self.answered(self.edited(student)) for student in self.edits})
        return notebooks

    def write_class(self, folder: Path | None = None) -> list[Path]:
        folder = folder or self.class_dir
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for student, text in self.class_notebooks().items():
            path = folder / f"{student}_{self.day}_exercises.ipynb"
            path.write_text(text)
            written.append(path)
        return written
