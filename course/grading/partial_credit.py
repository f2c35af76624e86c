"""Partial credit per hidden scenario: the class-level ``--partial-credit`` policy of ``course grade``.

nbgrader scores a test cell all or nothing: an error (or anything on stderr) gives 0, a clean
run gives the cell's points, and a cell whose last value is a number gives that number. (Source:
nbgrader 0.9.6, ``nbgrader.utils.determine_grade`` and ``get_partial_grade``, which read a test
cell's ``execute_result`` ``text/plain`` as its points; its user guide, ``what_is_nbgrader.rst``:
"If a autograder test cell outputs a single number ... it will use that as the number of
points".) A question's hidden tests here
are a sequence of seeded scenario calls (``checks.grade_coordinator(run_coordinator, seed=54)``,
each raising ``AssertionError`` with the scenario's story when it fails), so with nbgrader's
default one failing scenario of 14 stops the cell and costs the whole question.

``--partial-credit scenario`` rewrites the hidden-tests block of each grade cell in the private
master copy of the assignment (never in ``solutions/`` or the release), before nbgrader stores
the cells in the gradebook: every scenario call runs, the passing ones are counted, and when
one fails the cell still fails, with the first failure's story followed by one tally line,
``partial credit <run tag>: K of N hidden scenarios passed``. The grader then scores the question
``points * K / N`` (rounded to 2 decimals). Seeds fix the scenarios, so the same submission gets
the same grade on every run. Visible tests come before the hidden block and still gate the
question: if they fail, no scenario runs and the question scores 0.

Why scenarios rather than cases: a scenario stops at its first failing case unless it sets
``partial_credit`` (``course.checks.harness.scenario``), so ``cases_passed`` of a failing
scenario undercounts; a scenario either holds or not, the same for every question.

Why not nbgrader's numeric output: a cell's displayed value goes through IPython's formatters,
which a submission can re-register from its own cells; the tally instead travels in the error
of the hidden block itself, counted in a function's locals, and carries a tag made for this
run. It is a tripwire like the in-process guard (``course.grading.sandbox``): a submission that
introspects the grader's frames while a hidden test calls it could read the tag.

The default is ``all-or-nothing``, nbgrader's own behaviour: the grades a class already got
stay what they were, and an instructor opts in to partial credit for a class.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from course.grading.notebook_cells import HIDDEN_TESTS, nbgrader_meta

#: The ``--partial-credit`` policies.
ALL_OR_NOTHING, PER_SCENARIO = "all-or-nothing", "scenario"
POLICIES = (PER_SCENARIO, ALL_OR_NOTHING)
#: nbgrader's own behaviour; keeps every grade already given as it was.
DEFAULT_POLICY = ALL_OR_NOTHING
#: A question's partial score is rounded to this many decimals.
SCORE_DECIMALS = 2
_TALLY = re.compile(r"^partial credit (?P<tag>[0-9a-f]+): (?P<passed>\d+) of (?P<total>\d+) hidden scenarios passed$")
_FUNCTION = "_course_hidden_scenarios"


class _CountScenarios(ast.NodeTransformer):
    """Each ``<checker>.grade_*(...)`` statement becomes: run it, count a pass, keep the first failure."""

    def __init__(self, checkers: set[str]) -> None:
        self.checkers = checkers
        self.found = 0

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name) and call.func.value.id in self.checkers):
            return node
        self.found += 1
        wrapped = ast.parse(
            "_total += 1\n"
            "try:\n    pass\n"
            "except (_GradingCodeModified, NotImplementedError):\n    raise\n"
            "except Exception as _failure:\n"
            "    _first = _first if _first is not None else _failure\n"
            "else:\n    _passed += 1\n").body
        wrapped[1].body = [node]
        return wrapped


def _checker_names(tree: ast.Module) -> set[str]:
    """Names bound to ``sealed(...)``: the hidden tests' way into the checkers."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Name) and node.value.func.id == "sealed":
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def rewrite_hidden_block(body: str, tag: str) -> str | None:
    """The hidden tests ``body`` counting its scenarios, or None when it has no scenario calls to count."""
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return None
    if any(isinstance(n, (ast.Await, ast.Return, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal))
           for n in ast.walk(tree)):
        return None  # would change meaning inside a function: leave this cell all or nothing
    counter = _CountScenarios(_checker_names(tree))
    tree = counter.visit(tree)
    if not counter.found:
        return None
    head = ("from course.checks.sealed import GradingCodeModified as _GradingCodeModified\n"
            "_passed, _total, _first = 0, 0, None\n")
    tail = (f"if _first is not None:\n"
            f"    _story = str(_first) if isinstance(_first, AssertionError) else f'{{type(_first).__name__}}: {{_first}}'\n"
            f"    raise AssertionError(_story.rstrip() + '\\npartial credit {tag}: %d of %d hidden scenarios passed'"
            f" % (_passed, _total))\n")
    inner = head + ast.unparse(ast.fix_missing_locations(tree)) + "\n" + tail
    indented = "".join("    " + line if line.strip() else line for line in inner.splitlines(keepends=True))
    return f"def {_FUNCTION}():\n{indented}try:\n    {_FUNCTION}()\nfinally:\n    del {_FUNCTION}\n"


def rewrite_cell(source: str, tag: str) -> str:
    """A grade cell's source with each hidden-tests block counting its scenarios (delimiters kept)."""
    def one(match: re.Match[str]) -> str:
        lines = match.group(0).splitlines(keepends=True)
        begin, end = lines[0], lines[-1]
        new = rewrite_hidden_block("".join(lines[1:-1]), tag)
        return match.group(0) if new is None else begin + new + end

    return HIDDEN_TESTS.sub(one, source)


def rewrite_assignment(folder: Path, tag: str) -> int:
    """Rewrite the grade cells of every source notebook in ``folder`` in place; returns how many changed."""
    changed = 0
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        touched = False
        for cell in nb.cells:
            if cell.cell_type == "code" and nbgrader_meta(cell).get("grade"):
                new = rewrite_cell(cell.source, tag)
                if new != cell.source:
                    cell.source, touched = new, True
                    changed += 1
        if touched:
            nbformat.write(nb, path)
    return changed


def tally(evalue: str, tag: str) -> tuple[int, int] | None:
    """(passed, total) from a failed grade cell's error, when its last line is this run's tally."""
    lines = evalue.rstrip().splitlines()
    m = _TALLY.match(lines[-1].strip()) if lines else None
    if not m or m["tag"] != tag:
        return None
    passed, total = int(m["passed"]), int(m["total"])
    return (passed, total) if 0 <= passed < total else None


def without_tally(evalue: str) -> str:
    """The error's text with the tally line taken off (what the learner reads)."""
    lines = evalue.rstrip().splitlines()
    return "\n".join(lines[:-1]) if lines and _TALLY.match(lines[-1].strip()) else evalue


def score(points: float, passed: int, total: int) -> float:
    return round(points * passed / total, SCORE_DECIMALS) if total else 0.0


__all__ = ["ALL_OR_NOTHING", "DEFAULT_POLICY", "PER_SCENARIO", "POLICIES", "rewrite_assignment", "rewrite_cell",
           "rewrite_hidden_block", "score", "tally", "without_tally"]
