"""The Day 1 scenario checks: the reference solution passes, each typical bug fails with its reason."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from course.checks import day1
from course.checks import CheckResult

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "day1" / "day1_exercises.ipynb"


@pytest.fixture(scope="module")
def solution() -> dict[str, Any]:
    """The solution notebook's setup and solution cells, run in one namespace (no kernel needed)."""
    nb = json.loads(SOLUTION.read_text())
    # A real module, so pydantic can resolve the model's annotations in its namespace.
    module = types.ModuleType("day1_solution")
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and (meta.get("solution") or meta.get("grade_id") == "setup"):
            exec(compile("".join(cell["source"]), f"<{meta['grade_id']}>", "exec"), namespace)
    return namespace


def _fails(result: CheckResult, *needles: str) -> None:
    assert not result.passed, result.message()
    for needle in needles:
        assert needle in result.reason, result.message()


def test_solution_passes_every_scenario_for_many_seeds(solution: dict[str, Any]) -> None:
    for seed in range(12):
        for result in (day1.envelope_scenario(seed).run(solution["Envelope"]),
                       day1.lifecycle_scenario(seed).run(solution["TaskLifecycle"]),
                       day1.split_scenario(seed).run(solution["split_task"]),
                       day1.aggregate_scenario(seed).run(solution["aggregate"]),
                       day1.coordinator_scenario(seed).run(solution["run_coordinator"])):
            assert result.passed, result.message()
    for fault in day1.FAULTS:
        assert day1.coordinator_scenario(3, faults={"worker:w2": fault}).run(solution["run_coordinator"]).passed
    assert day1.design_scenario(0).run(solution["design"]).passed


def test_the_exercise_envelope_rules_are_course_protocols_rules(solution: dict[str, Any]) -> None:
    """One protocol: every message the Q1 check calls valid, course.protocol.Envelope (the lesson's and
    the lab's) accepts, and every message it calls invalid, course.protocol rejects."""
    from pydantic import ValidationError

    from course.checks.day1.corpus import day1_stream
    from course.checks.day1.envelope import _invalid_envelopes, _valid_envelope
    from course.protocol import Envelope as Reference

    for seed in range(20):
        rng = day1_stream("envelope", seed)
        for message in (_valid_envelope(rng, n) for n in range(8)):
            assert day1.envelope_problems(message) == []
            Reference.model_validate(message)
        for rule, message in _invalid_envelopes(rng):
            assert day1.envelope_problems(message), rule
            with pytest.raises(ValidationError):
                Reference.model_validate(message)
    assert day1.envelope_scenario(0).run(Reference).reason.startswith("this is course.protocol's Envelope")
    assert set(day1.MESSAGE_TYPES) == {"task.submit", "task.assign", "task.result", "task.failed", "task.report",
                                       "agent.heartbeat"}


def test_visible_coordinator_tests_name_every_fault_kind_the_hidden_tests_use() -> None:
    solution = json.loads(SOLUTION.read_text())
    cell = next("".join(c["source"]) for c in solution["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == "q5_coordinator_tests")
    visible, hidden = cell.split("### BEGIN HIDDEN TESTS")
    assert "for fault in day1.FAULTS" in visible
    hidden_kinds = {kind for kind in day1.FAULTS if f'"{kind}"' in hidden}
    assert hidden_kinds <= set(day1.FAULTS) and set(day1.FAULTS) == set(day1.FAULT_MEANINGS)
    title = next("".join(c["source"]) for c in solution["cells"]
                 if c["metadata"].get("nbgrader", {}).get("grade_id") == "q5_text").splitlines()[0]
    assert all(kind in title for kind in day1.FAULTS), title  # course check prints this title


def test_scenarios_are_deterministic_and_failures_name_scenario_seed_and_reproduction(solution: dict[str, Any]) -> None:
    def double_counting(task_id: str, n: int, results: Any) -> Any:
        counts: dict[str, int] = {}
        done = set()
        for r in results:
            if r.task_id == task_id and 0 <= r.index < n:
                done.add(r.index)
                for w, c in r.counts.items():
                    counts[w] = counts.get(w, 0) + c
        return day1.Aggregate(task_id, counts, tuple(sorted(done)), tuple(i for i in range(n) if i not in done))

    first = day1.aggregate_scenario(5).run(double_counting)
    assert first == day1.aggregate_scenario(5).run(double_counting)
    _fails(first, "counts should be")
    message = first.message()
    assert "[aggregate seed=5] FAILED" in message
    assert "reproduce: day1.aggregate_scenario(seed=5).run(double_counting)" in message
    with pytest.raises(AssertionError, match=r"\[aggregate seed=5\]"):
        day1.grade_aggregate(double_counting, seed=5)
    assert day1.coordinator_scenario(8).run(solution["run_coordinator"]) == \
        day1.coordinator_scenario(8).run(solution["run_coordinator"])


def test_not_implemented_propagates_so_the_grader_can_say_not_attempted() -> None:
    def stub(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError()

    async def async_stub(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        day1.split_scenario(0).run(stub)
    with pytest.raises(NotImplementedError):
        day1.coordinator_scenario(0).run(async_stub)


def test_envelope_check_catches_a_model_without_cross_field_rules() -> None:
    from datetime import datetime
    from typing import Literal

    from pydantic import BaseModel, ConfigDict

    class Loose(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        id: str
        type: Literal["task.submit", "task.assign", "task.result", "task.failed", "task.report", "agent.heartbeat"]
        sender: str
        recipient: str
        correlation_id: str
        causation_id: str | None = None
        sent_at: float
        schema_version: int = 1
        payload: dict = {}

        def reply(self, type: str, payload: dict, *, sent_at: float, id: str) -> "Loose":
            return Loose(id=id, type=type, sender=self.recipient, recipient=self.sender,
                         correlation_id=self.correlation_id, causation_id=self.id, sent_at=sent_at, payload=payload)

    _fails(day1.envelope_scenario(0).run(Loose), "an invalid message was accepted")


def test_lifecycle_check_catches_reassignment_past_max_attempts(solution: dict[str, Any]) -> None:
    class Unlimited(solution["TaskLifecycle"]):
        def assign(self, worker: str) -> None:
            self.max_attempts = 10**9
            super().assign(worker)

    _fails(day1.lifecycle_scenario(0).run(Unlimited), "must raise IllegalTransition")


def test_split_check_catches_unbalanced_chunks() -> None:
    def greedy(task_id: str, items: Any, limit: int) -> list:
        if limit < 1:
            raise ValueError(limit)
        items = list(items)
        return [day1.Subtask(task_id, i, tuple(items[s:s + limit])) for i, s in enumerate(range(0, len(items), limit))]

    _fails(day1.split_scenario(0).run(greedy), "chunk sizes")


def test_coordinator_check_catches_a_coordinator_that_trusts_every_reply(solution: dict[str, Any]) -> None:
    ns = solution

    async def naive(task_id: str, items: Any, workers: list, mailbox: Any, *, max_per_subtask: int = 4,
                    reply_timeout: float = 5.0, max_attempts: int = 3) -> Any:
        subtasks = ns["split_task"](task_id, items, max_per_subtask)
        for s in subtasks:
            await mailbox.send({"id": f"a{s.index}", "type": "task.assign", "sender": "coordinator:main",
                                "recipient": workers[s.index % len(workers)], "correlation_id": task_id,
                                "sent_at": mailbox.now(),
                                "payload": {"task_id": task_id, "index": s.index, "items": list(s.items)}})
        results = []
        for _ in range(len(subtasks) + 4):
            msg = await mailbox.receive(timeout=reply_timeout)
            if msg is None:
                break
            if msg["type"] == "task.result":
                p = msg["payload"]
                results.append(day1.WorkResult(task_id, p["index"], msg["sender"], p["counts"]))
        counts: dict[str, int] = {}
        for r in results:  # no deduplication: a duplicated reply counts twice
            for w, c in r.counts.items():
                counts[w] = counts.get(w, 0) + c
        return day1.Aggregate(task_id, counts, (), ())

    _fails(day1.coordinator_scenario(4, faults={"worker:w1": "duplicate"}).run(naive), "word counts are wrong")
    _fails(day1.coordinator_scenario(4, faults={"worker:w1": "crash"}).run(naive), "word counts are wrong")
    _fails(day1.coordinator_scenario(1, faults={"worker:w1": "wrong-correlation"}).run(naive),
           "counted a reply from another conversation")

    async def old_protocol(task_id: str, items: Any, workers: list, mailbox: Any, **kwargs: Any) -> Any:
        await mailbox.send({"id": "a0", "type": "task.assign", "sender": "coordinator", "recipient": workers[0],
                            "sent_at": 0.0, "payload": {"task_id": task_id, "index": 0, "items": list(items)}})
        return day1.Aggregate(task_id, {}, (), ())

    _fails(day1.coordinator_scenario(0, faults={}).run(old_protocol), "protocol violation: not a valid envelope",
           "required field 'correlation_id' is missing", "address is not role:name")

    async def hangs(*args: Any, **kwargs: Any) -> Any:
        mailbox = args[3]
        while True:  # waits for a reply that never comes, without a timeout
            await mailbox.receive()

    _fails(day1.coordinator_scenario(0, faults={}).run(hangs), "did not return within 3600 virtual seconds")


def test_bad_fault_spec_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="faults must map"):
        day1.coordinator_scenario(0, faults={"worker:w9": "crash"})
    with pytest.raises(ValueError, match="faults must map"):
        day1.coordinator_scenario(0, faults={"worker:w1": "explode"})
