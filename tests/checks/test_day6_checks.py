"""The Day 6 scenario checks: the solution passes every seed, each typical mistake fails with its reason.

The answers come from the solution notebook and from the fixed class of Day 6 submissions
(tests/grading/day6_class.py), run in one namespace after the released notebook's import cell,
as a learner's kernel would hold them. (The replay question's own checks are tested with seven
broken replayers in test_day6_replay.py.)
"""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from course.checks import day6
from course.checks.harness import MessageLog, parse_log, run_case

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "grading"))

import day6_class  # noqa: E402  (the fixed class of Day 6 submissions)

_CACHE: dict[str, dict[str, Any]] = {}


def answers(student: str = "correct") -> dict[str, Any]:
    """That class member's notebook namespace: the release's import cell, then its answers."""
    if student not in _CACHE:
        release = json.loads(day6_class.EXERCISE_NB.read_text())
        setup = next("".join(c["source"]) for c in release["cells"]
                     if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup")
        code = day6_class.solution_answers() if student == "correct" else day6_class.edited(student)
        module = types.ModuleType("day6_student_" + student.replace("-", "_"))
        sys.modules[module.__name__] = module
        exec(compile(setup, "<setup>", "exec"), module.__dict__)
        for grade_id, source in code.items():
            exec(compile(source, f"<{grade_id}>", "exec"), module.__dict__)
        _CACHE[student] = module.__dict__
    return _CACHE[student]


#: (scenario, the answer as the reproduce line names it, its fault kinds, the hidden seeds in the notebook)
SCENARIOS = [(day6.schema_scenario, "parse_event", day6.SCHEMA_FAULTS, (11, 12, 13)),
             (day6.store_scenario, "EventStore", day6.STORE_FAULTS, (21, 22, 23)),
             (day6.replay_scenario, "(replay, LiveBoard)", day6.REPLAY_FAULTS, (31, 32, 33)),
             (day6.consumer_scenario, "Consumer", day6.CONSUMER_FAULTS, (41, 42, 43)),
             (day6.resume_scenario, "Hub", day6.RESUME_FAULTS, (51, 52, 53)),
             (day6.lease_scenario, "(claim, complete)", day6.LEASE_FAULTS, (61, 62, 63))]


@pytest.mark.parametrize("scenario, answer, kinds, hidden", SCENARIOS, ids=[s[1] for s in SCENARIOS])
def test_the_solution_passes_every_scenario_for_many_seeds_and_the_hidden_ones(
        scenario: Any, answer: str, kinds: Any, hidden: Any) -> None:
    target = eval(answer, answers())  # noqa: S307 - our own names
    for seed in (*range(10), *hidden):
        result = scenario(seed).run(target)
        assert result.passed and result.cases_total == len(kinds), result.message()


#: (class member, the scenario that fails for it, the answer, a phrase the reason must hold)
FAILING = [
    ("schema-future-is-invalid", "day6.schema_scenario(seed=0, faults=['future'])", "parse_event",
     "expected UnknownEventVersion: newer code wrote it"),
    ("store-retry-conflicts", "day6.store_scenario(seed=0, faults=['retry'])", "EventStore",
     "a retried append succeeded before"),
    ("replay-tail-off-by-one", "day6.replay_scenario(seed=0, faults=['duplicate'])", "(replay, LiveBoard)",
     "the tail overlaps the snapshot"),
    ("consumer-dedupe-by-message-id", "day6.consumer_scenario(seed=0, faults=['duplicate'])", "Consumer",
     "credited too often"),
    ("hub-resume-repeats-last", "day6.resume_scenario(seed=0, faults=['disconnect'])", "Hub", "a duplicate"),
    ("lease-complete-ignores-lease", "day6.lease_scenario(seed=0, faults=['slow'])", "(claim, complete)",
     "complete only while your lease holds"),
    ("claim-unconditional-update", "day6.lease_scenario(seed=0, faults=['race'])", "(claim, complete)",
     "claim with one conditional UPDATE"),
]


@pytest.mark.parametrize("student, call, answer, phrase", FAILING, ids=[s for s, *_ in FAILING])
def test_each_mistake_fails_with_its_reason_a_shrunk_case_and_a_reproduce_line_that_runs_as_pasted(
        student: str, call: str, answer: str, phrase: str) -> None:
    namespace = answers(student)
    target = eval(answer, namespace)  # noqa: S307 - our own names
    result = eval(call, {"day6": day6}).run(target)  # noqa: S307 - our own call strings
    assert not result.passed and phrase in result.message(), result.message()
    assert result.reproduce == f"{call}.run({answer})"
    assert eval(result.reproduce, namespace) == result  # noqa: S307 - the line the learner pastes
    assert result.smallest_case and result.message_log and parse_log(result.message()) == list(result.diagram)
    assert f"[{result.scenario} seed=0] FAILED" in result.message()
    whole = eval(call.replace(", faults", ", faults"), {"day6": day6}).cases()[0]  # noqa: S307
    assert len(result.smallest_case) <= len(whole.describe())
    for seed in (0, *dict((s[0].__name__, s[3]) for s in SCENARIOS)[call.split("(")[0].split(".")[1]]):
        full = eval(call.split("(")[0] + f"({seed})", {"day6": day6}).run(target)  # noqa: S307
        assert not full.passed and full.credit < 1, (student, seed)


def test_every_visible_seed_runs_every_fault_kind_the_hidden_seeds_use() -> None:
    for scenario, _, kinds, hidden in SCENARIOS:
        visible = [case.kind for case in scenario(0).cases()]
        assert visible == list(kinds)
        for seed in hidden:
            assert [case.kind for case in scenario(seed).cases()] == visible
    assert set(day6.CONSUMER_FAULTS) >= {"duplicate", "reorder", "crash"}
    assert {"partition", "crash", "duplicate"} <= set(day6.RESUME_FAULTS)
    assert {"crash", "duplicate"} <= set(day6.LEASE_FAULTS) and "partition" in day6.STORE_FAULTS


def test_the_hidden_seeds_in_the_solution_notebook_are_the_ones_this_test_names() -> None:
    text = day6_class.SOLUTION_NB.read_text()
    for *_, seeds in SCENARIOS:
        assert f"for seed in {seeds}:" in text, seeds
    assert text.count('checks = sealed(\\"day6\\")') == 6


def test_the_shrinker_finds_the_shortest_failing_lease_and_consumer_cases() -> None:
    for student, make, kind, answer in (("lease-complete-ignores-lease", day6.lease_case, "slow", "(claim, complete)"),
                                        ("consumer-dedupe-by-message-id", day6.consumer_case, "duplicate", "Consumer"),
                                        ("hub-resume-repeats-last", day6.resume_case, "disconnect", "Hub")):
        target = eval(answer, answers(student))  # noqa: S307
        scenario = {"slow": day6.lease_scenario, "duplicate": day6.consumer_scenario,
                    "disconnect": day6.resume_scenario}[kind]
        result = scenario(0, faults=[kind]).run(target)
        assert not result.passed
        for n in range(1, 40):
            if run_case(make(0, kind, n), target, MessageLog())[0] is not None:
                assert make(0, kind, n).describe() == result.smallest_case, student
                break


def test_scenarios_are_deterministic_and_not_implemented_propagates() -> None:
    broken = answers("claim-unconditional-update")
    first = day6.lease_scenario(3).run((broken["claim"], broken["complete"]))
    assert first == day6.lease_scenario(3).run((broken["claim"], broken["complete"])) and not first.passed

    class Todo:
        def __init__(self, *args: Any) -> None:
            raise NotImplementedError()

    for scenario in (day6.store_scenario, day6.consumer_scenario, day6.resume_scenario):
        with pytest.raises(NotImplementedError):
            scenario(0).run(Todo)


def test_unknown_fault_kinds_are_refused() -> None:
    for scenario in (day6.schema_scenario, day6.store_scenario, day6.consumer_scenario, day6.resume_scenario,
                     day6.lease_scenario):
        with pytest.raises(ValueError, match="unknown fault kind"):
            scenario(0, faults=["meteor"])


def test_sealed_day6_grades_like_the_package() -> None:
    from course.checks.sealed import sealed

    checks = sealed("day6")
    good, bad = answers(), answers("store-retry-conflicts")
    assert checks.grade_store(good["EventStore"], seed=21).passed
    assert checks.grade_leases(good["claim"], good["complete"], seed=61).passed
    with pytest.raises(AssertionError, match=r"\[store seed=22\] FAILED"):
        checks.grade_store(bad["EventStore"], seed=22)
