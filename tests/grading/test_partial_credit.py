"""``course grade --partial-credit scenario``: a question earns points x (hidden scenarios passed / run).

The learner here is a real one: their ``split_task`` rejects only the limits the visible checks
try (0 and -3), so it passes the visible tests and hidden seed 31 (which draws -3 too) and fails
seeds 32 (-4: a ZeroDivisionError) and 33 (-1). With nbgrader's all-or-nothing rule question 3 scores 0; per
scenario it scores 1 of its 3 points, the same on every run.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from day1_class import answered, solution_answers

from course.grading import partial_credit
from course.grading.course_dir import generate
from course.grading.notebook_cells import nbgrader_meta

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
OVERFIT = ("    if max_per_subtask < 1:\n", "    if max_per_subtask in (0, -3):  # the limits the visible checks try\n")


def _overfit_notebook() -> str:
    answers = solution_answers()
    assert answers["q3_split"].count(OVERFIT[0]) == 1
    answers["q3_split"] = answers["q3_split"].replace(*OVERFIT)
    return answered(answers)


def _grade_cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def test_the_tally_is_read_only_from_the_last_line_and_this_runs_tag():
    story = "[split seed=32] FAILED: max_per_subtask=-4 must raise ValueError\n  reproduce: day1.split_scenario(seed=32)"
    assert partial_credit.tally(f"{story}\npartial credit ab12: 1 of 3 hidden scenarios passed", "ab12") == (1, 3)
    assert partial_credit.tally(f"{story}\npartial credit ff00: 1 of 3 hidden scenarios passed", "ab12") is None
    assert partial_credit.tally(f"partial credit ab12: 1 of 3 hidden scenarios passed\n{story}", "ab12") is None
    assert partial_credit.tally("partial credit ab12: 3 of 3 hidden scenarios passed", "ab12") is None
    assert partial_credit.without_tally(f"{story}\npartial credit ab12: 1 of 3 hidden scenarios passed") == story
    assert partial_credit.score(6, 13, 14) == 5.57 and partial_credit.score(3, 1, 3) == 1.0


def test_the_rewritten_source_releases_the_same_notebook_and_keeps_visible_tests_first(tmp_path):
    plain = generate(tmp_path / "plain", "day1", SOLUTIONS)
    counted = generate(tmp_path / "counted", "day1", SOLUTIONS, partial_credit_tag="ab12")
    for name in ("day1_exercises.ipynb",):
        a, b = nbformat.read(plain / name, as_version=4), nbformat.read(counted / name, as_version=4)
        assert [c.source for c in a.cells] == [c.source for c in b.cells]
    source = nbformat.read(tmp_path / "counted" / "source" / "day1" / "day1_exercises.ipynb", as_version=4)
    original = nbformat.read(SOLUTIONS / "day1" / "day1_exercises.ipynb", as_version=4)
    for grade_id in ("q1_envelope_tests", "q3_split_tests", "q5_coordinator_tests"):
        new, old = _grade_cell(source, grade_id).source, _grade_cell(original, grade_id).source
        visible = old.split("### BEGIN HIDDEN TESTS")[0]
        assert new.startswith(visible) and "partial credit ab12" in new and new.rstrip().endswith("### END HIDDEN TESTS")


def test_the_counting_hidden_block_runs_every_scenario_and_tells_the_first_failure(tmp_path):
    nb = nbformat.reads(_overfit_notebook(), as_version=4)
    namespace: dict = {}
    for cell in nb.cells:  # the learner's notebook, as a kernel would run it, up to the question's answer
        if cell.cell_type == "code" and not nbgrader_meta(cell).get("grade"):
            exec(compile(cell.source, "<answer>", "exec"), namespace)
    source = _grade_cell(nbformat.read(SOLUTIONS / "day1" / "day1_exercises.ipynb", as_version=4), "q3_split_tests").source
    hidden = source.split("### BEGIN HIDDEN TESTS\n")[1].split("### END HIDDEN TESTS")[0]
    with pytest.raises(AssertionError) as raised:
        exec(compile(partial_credit.rewrite_hidden_block(hidden, "ab12"), "<hidden>", "exec"), namespace)
    message = str(raised.value)
    assert message.splitlines()[0].startswith("[split seed=32] FAILED: your code raised ZeroDivisionError")
    assert partial_credit.tally(message, "ab12") == (1, 3)
    assert "_course_hidden_scenarios" not in namespace


def _grade(folder: Path, out: Path, *policy: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(folder), "--assignment", "day1",
                           "--out", str(out), "--timeout", "30", *policy], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = json.loads((out / "results.json").read_text())
    return result


@pytest.mark.slow
def test_one_failing_hidden_scenario_of_three_costs_a_third_of_the_question_and_the_grade_repeats(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "overfit_day1_exercises.ipynb").write_text(_overfit_notebook())
    scenario = _grade(folder, tmp_path / "scenario", "--partial-credit", "scenario")
    q3 = next(q for q in scenario["questions"] if q["grade_id"] == "q3_split_tests")
    assert (q3["score"], q3["status"]) == (1.0, "fail")
    assert q3["reason"].startswith("[split seed=32] FAILED: your code raised ZeroDivisionError")
    assert q3["reason"].endswith("(partial credit: 1 of 3 hidden scenarios passed, 1 of 3 points)")
    assert scenario["score"] == 22.0  # the solution's 24 (q7 waits for a hand grade) less 2 of q3's 3
    assert json.loads((tmp_path / "scenario" / "run.json").read_text())["partial_credit"] == "scenario"
    again = _grade(folder, tmp_path / "again", "--partial-credit", "scenario")
    assert [q["score"] for q in again["questions"]] == [q["score"] for q in scenario["questions"]]
    strict = _grade(folder, tmp_path / "strict")  # the default: nbgrader's all or nothing
    assert next(q for q in strict["questions"] if q["grade_id"] == "q3_split_tests")["score"] == 0.0
    assert strict["score"] == 21.0


def test_every_days_grade_cells_are_rewritten_to_valid_python_that_hides_to_the_same_release():
    from course.grading.notebook_cells import hide_tests

    rewritten = 0
    for path in sorted(SOLUTIONS.glob("day*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or not nbgrader_meta(cell).get("grade"):
                continue
            new = partial_credit.rewrite_cell(cell.source, "ab12")
            assert new != cell.source, f"{path.name} {nbgrader_meta(cell)['grade_id']}: hidden scenarios not counted"
            compile(new, f"{path.name}:{nbgrader_meta(cell)['grade_id']}", "exec")
            assert hide_tests(new) == hide_tests(cell.source)
            rewritten += 1
    assert rewritten == 42  # six autograded questions a day, seven days
