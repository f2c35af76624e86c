"""Reading an nbgrader notebook as questions: solution cells, the grade cell that tests them, outcomes."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import nbformat

#: ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` (nbgrader's delimiters), as in the source.
HIDDEN_TESTS = re.compile(r"^[ \t]*#+[ \t]*BEGIN HIDDEN TESTS.*?^[ \t]*#+[ \t]*END HIDDEN TESTS[^\n]*\n?", re.M | re.S)
#: Errors that mean "the learner has not written this yet" (nbgrader's stub raises it).
NOT_ATTEMPTED = "NotImplementedError"
#: What a question graded by hand says instead of a test result.
MANUAL_REASON = "graded by hand by your instructor (no automatic tests)"
#: The error nbgrader's Execute records when a cell exceeds its timeout.
CELL_TIMEOUT_ERROR = "CellTimeoutError"


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


@dataclass
class Question:
    """One graded question: its solution cells and the grade cell that tests them."""

    grade_id: str
    points: float
    title: str
    solution_ids: list[str] = field(default_factory=list)
    #: A markdown answer cell graded by hand (nbgrader manual grading): no tests, no autograde score.
    manual: bool = False


@dataclass
class CellOutcome:
    """What running one cell produced: the first error (if any) and whether it wrote to stderr."""

    ename: str | None = None
    evalue: str = ""
    stderr: str = ""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.ename is None and not self.stderr


def questions(nb: nbformat.NotebookNode) -> list[Question]:
    """The notebook's grade cells in order, each with the solution cells since the previous one."""
    found: list[Question] = []
    pending: list[str] = []
    title = ""
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and not meta.get("grade"):
            heading = next((line.lstrip("# ").strip() for line in cell.source.splitlines() if line.startswith("#")), "")
            if heading:
                title = re.sub(r"\s*\(\d+(\.\d+)? points?\)\s*$", "", heading)
        if meta.get("solution") and not meta.get("grade") and cell.cell_type == "code":
            pending.append(meta.get("grade_id", ""))
        if meta.get("grade"):
            manual = cell.cell_type == "markdown"
            found.append(Question(meta.get("grade_id", ""), float(meta.get("points", 0) or 0), title,
                                  [] if manual else pending, manual))
            pending = []
    return found


def outcomes(nb: nbformat.NotebookNode) -> dict[str, CellOutcome]:
    """{grade_id: outcome} for every executed nbgrader code cell."""
    result: dict[str, CellOutcome] = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or "grade_id" not in meta:
            continue
        outcome = CellOutcome()
        for out in cell.get("outputs", []):
            # nbgrader interrupts a cell at its timeout: the cell shows KeyboardInterrupt and/or
            # the CellTimeoutError that nbgrader's Execute appends.
            if out.get("ename") in (CELL_TIMEOUT_ERROR, "KeyboardInterrupt"):
                outcome.timed_out = True
            if out.get("output_type") == "error" and outcome.ename is None:
                outcome.ename, outcome.evalue = out.get("ename"), str(out.get("evalue", ""))
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                outcome.stderr += out.get("text", "")
        result[meta["grade_id"]] = outcome
    return result


def hide_tests(source: str, note: str = "# (hidden tests: seeded scenarios run when grading)\n") -> str:
    """The grade cell's source with its hidden tests replaced by a one-line note."""
    return HIDDEN_TESTS.sub(note, source)


def question_status(q: Question, seen: dict[str, CellOutcome]) -> tuple[str, str]:
    """("pass" | "fail" | "not attempted" | "timeout" | "not run" | "manual", reason) for one question."""
    if q.manual:
        return "manual", MANUAL_REASON
    test = seen.get(q.grade_id)
    if test is None:
        return "not run", "the test cell was deleted from the notebook (or never ran)"
    for sid in q.solution_ids:
        sol = seen.get(sid)
        if sol is not None and sol.ename == NOT_ATTEMPTED:
            return "not attempted", "the solution cell still raises NotImplementedError"
        if sol is not None and sol.timed_out:
            return "timeout", "the solution cell did not finish before the cell timeout"
    if test.ename == NOT_ATTEMPTED:
        return "not attempted", "your code still raises NotImplementedError"
    if test.timed_out:
        return "timeout", "the tests did not finish before the cell timeout (an infinite loop?)"
    if test.ename is not None:
        reason = test.evalue.strip() if test.ename == "AssertionError" and test.evalue.strip() else f"{test.ename}: {test.evalue}".strip()
        reason = reason or test.ename
        # A test failing on a name the answer never defined is explained by the answer cell's own error.
        crashed = [seen[sid] for sid in q.solution_ids if sid in seen and seen[sid].ename is not None]
        if crashed:
            first = crashed[0]
            reason = (f"your answer cell stopped with {first.ename}: {first.evalue.strip()}".rstrip(": ")
                      + f"\nso the tests then failed with: {reason}")
        return "fail", reason
    if test.stderr:
        return "fail", f"the tests wrote to stderr, which nbgrader scores as a failure: {test.stderr.strip()[:300]}"
    return "pass", ""
