"""Day 1 failure reports: the smallest failing case, its messages, and a reproduce line that runs.

The answers are the fixed class of Day 1 submissions (tests/grading/day1_class.py): the
solution with one mistake each, as a learner's notebook would hold them.
"""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Callable

import pytest

from course.checks import day1
from course.checks.harness import CheckResult, parse_log

from conftest import ROOT, notebook_namespace

#: (class member, the scenario call that fails for it, the answer's name in the notebook)
FAILING = [
    ("no-retry", "day1.coordinator_scenario(seed=1, faults={'worker:w1': 'crash'})", "run_coordinator"),
    ("double-count", "day1.coordinator_scenario(seed=50)", "run_coordinator"),
    ("loose-envelope", "day1.envelope_scenario(seed=0)", "Envelope"),
    ("skips-running", "day1.lifecycle_scenario(seed=0)", "TaskLifecycle"),
    ("greedy-split", "day1.split_scenario(seed=0)", "split_task"),
    ("aggregate-duplicates", "day1.aggregate_scenario(seed=0)", "aggregate"),
    ("trusts-causation", "day1.coordinator_scenario(seed=1, faults={'worker:w1': 'wrong-correlation'})", "run_coordinator"),
]


def _run(answers_of: Callable[[str], dict[str, Any]], student: str, call: str, answer: str) -> CheckResult:
    return eval(call, {"day1": day1}).run(answers_of(student)[answer])  # noqa: S307 - our own call strings


@pytest.mark.parametrize("student, call, answer", FAILING, ids=[s for s, _, _ in FAILING])
def test_the_reproduce_line_runs_as_pasted_into_the_exercise_notebook(
        answers_of: Callable[[str], dict[str, Any]], student: str, call: str, answer: str) -> None:
    result = _run(answers_of, student, call, answer)
    assert not result.passed and result.reproduce == f"{call}.run({answer})"
    namespace = answers_of(student)  # the released notebook's import cell, then the answers
    assert "day1" in namespace, "the exercise notebook's import cell must bind day1"
    assert eval(result.reproduce, namespace) == result  # noqa: S307 - the line the learner pastes


def test_a_coordinator_that_never_retries_shrinks_to_one_item_and_the_crashed_worker(
        answers_of: Callable[[str], dict[str, Any]]) -> None:
    result = _run(answers_of, *FAILING[0])
    assert result.smallest_case.startswith("1 item ['queue']")
    assert "workers=['worker:w1', 'worker:w2'], faults={'worker:w1': 'crash'}" in result.smallest_case
    assert result.smallest_reason.startswith("word counts are wrong (word: (got, expected)) {'queue': (0, 1)}")
    assert result.message_log.splitlines()[1].strip().endswith("[lost: worker:w1 has crashed]")
    assert parse_log(result.message()) == list(result.diagram) and len(result.diagram) == 1


def test_a_double_counted_duplicate_shows_in_the_smallest_cases_messages(
        answers_of: Callable[[str], dict[str, Any]]) -> None:
    result = _run(answers_of, *FAILING[1])
    assert "faults={'worker:w1': 'duplicate'}" in result.smallest_case and "wrong-correlation" not in result.smallest_case
    assert "[duplicate]" in result.message_log
    assert len(result.smallest_case) < len(result.reason)


def test_a_reply_from_another_conversation_is_named_with_both_ids_in_the_log(
        answers_of: Callable[[str], dict[str, Any]]) -> None:
    result = _run(answers_of, *FAILING[6])
    assert result.reason.startswith("counted a reply from another conversation")
    assert "conv=" in result.message_log and "answers=" in result.message_log
    assert "[another conversation]" in result.message_log


def test_a_greedy_split_shrinks_to_a_batch_of_four(answers_of: Callable[[str], dict[str, Any]]) -> None:
    result = _run(answers_of, *FAILING[4])
    assert result.smallest_case == "split_task('task-30', ['alarm', 'agent', 'worker', 'state'], 3)"
    assert "gave chunk sizes [3, 1], expected [2, 2]" in result.smallest_reason


def test_a_shrunk_invalid_envelope_breaks_the_same_rule_and_no_other(answers_of: Callable[[str], dict[str, Any]]) -> None:
    result = _run(answers_of, *FAILING[2])
    shrunk = json.loads(result.smallest_case.split(") ", 1)[1])
    assert day1.envelope_problems(shrunk) == ["sender equals recipient"] and "payload" not in shrunk


def test_a_scenario_gives_the_same_report_every_run(answers_of: Callable[[str], dict[str, Any]]) -> None:
    for student, call, answer in FAILING:
        assert _run(answers_of, student, call, answer) == _run(answers_of, student, call, answer), student


def test_a_fresh_process_gives_the_same_reports_word_for_word(answers_of: Callable[[str], dict[str, Any]]) -> None:
    here = {student: _run(answers_of, student, call, answer).message() for student, call, answer in FAILING}
    script = (
        "import json, sys\nsys.path.insert(0, 'tests/checks')\n"
        "from conftest import notebook_namespace\nimport day1_class\nfrom course.checks import day1\n"
        f"failing = {FAILING!r}\nout = {{}}\n"
        "for student, call, answer in failing:\n"
        "    ns = notebook_namespace(day1_class.edited(student), 'fresh_' + student.replace('-', '_'))\n"
        "    out[student] = eval(call, {'day1': day1}).run(ns[answer]).message()\n"
        "print(json.dumps(out))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PYTHONHASHSEED": "12345", "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == here


def test_the_solution_passes_with_nothing_to_shrink(answers_of: Callable[[str], dict[str, Any]]) -> None:
    ns = answers_of("correct")
    result = day1.coordinator_scenario(seed=1, faults={"worker:w1": "crash"}).run(ns["run_coordinator"])
    assert result.passed and result.smallest_case == "" and result.message_log == "" and result.credit == 1.0
