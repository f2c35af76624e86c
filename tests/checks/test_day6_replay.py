"""The Day 6 replay checks: a correct replayer passes every seed and fault kind, and each
deliberately broken replayer is caught by the property its bug breaks, with the shortest event
sequence that still fails, the deliveries as messages, and a reproduce line that runs."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from course.checks import day6
from course.checks.day6.types import empty_board
from course.checks.harness import MessageLog, parse_log, run_case

#: A correct replayer, as the exercise's solution writes it.
REFERENCE = 'def project(board, record):\n    """The board with one more event applied: a new board (the one given is never changed)."""\n    board = copy.deepcopy(board)\n    event, task = record["event"], record["event"]["task_id"]\n    if event["type"] == "task_created":\n        board["tasks"][task] = {"title": event["title"], "status": "open", "worker": None}\n    elif task in board["tasks"]:\n        board["tasks"][task]["status"] = "claimed" if event["type"] == "task_claimed" else "done"\n        board["tasks"][task]["worker"] = event["worker"]\n        if event["type"] == "task_completed":\n            board["completed_by"][event["worker"]] = board["completed_by"].get(event["worker"], 0) + 1\n    board["last_seq"] = record["seq"]\n    return board\n\n\ndef replay(records, snapshot=None, until=None):\n    """The board from `snapshot` (or empty) and the events after it: each seq once, in order, up to a gap."""\n    board = copy.deepcopy(snapshot) if snapshot is not None else empty_board()\n    tail = {r["seq"]: r for r in records if r["seq"] > board["last_seq"] and (until is None or r["at"] <= until)}\n    for seq in sorted(tail):\n        if seq != board["last_seq"] + 1:\n            break  # a gap: what follows cannot be applied before it\n        board = project(board, tail[seq])\n    return board\n\n\nclass LiveBoard:\n    """A projection kept up to date from at-least-once, unordered deliveries."""\n\n    def __init__(self, snapshot=None):\n        self._board = copy.deepcopy(snapshot) if snapshot is not None else empty_board()\n        self._waiting = {}  # seq -> record that arrived before the gap below it filled\n\n    def deliver(self, record):\n        if record["seq"] <= self._board["last_seq"]:\n            return  # a duplicate, or redelivered after a restart: already applied\n        self._waiting[record["seq"]] = record\n        while self._board["last_seq"] + 1 in self._waiting:\n            self._board = project(self._board, self._waiting.pop(self._board["last_seq"] + 1))\n\n    def board(self):\n        return copy.deepcopy(self._board)\n'

#: (broken replayer, one edit of the reference, the phrase the failure must hold, a fault kind that exposes it)
BROKEN = [
    # no dedupe: a duplicate delivery is applied twice (completed_by counts double)
    ("applies-duplicates", ("    tail = {r[\"seq\"]: r for r in records if r[\"seq\"] > board[\"last_seq\"] and (until is None or "
                            "r[\"at\"] <= until)}\n    for seq in sorted(tail):\n        if seq != board[\"last_seq\"] + 1:\n"
                            "            break  # a gap: what follows cannot be applied before it\n"
                            "        board = project(board, tail[seq])",
                            "    start = board[\"last_seq\"]\n    for record in sorted(records, key=lambda r: r[\"seq\"]):\n"
                            "        if record[\"seq\"] > start and (until is None or record[\"at\"] <= until):\n"
                            "            board = project(board, record)"),
     "each seq once, in seq order", "duplicate"),
    # replays in delivery order instead of seq order
    ("delivery-order", ("    for seq in sorted(tail):\n        if seq != board[\"last_seq\"] + 1:\n            break",
                        "    for seq in tail:\n        if False:\n            break"),
     "each seq once, in seq order", "reorder"),
    # off by one: the tail re-applies the snapshot's last event
    ("tail-off-by-one", ("r[\"seq\"] > board[\"last_seq\"] and", "r[\"seq\"] >= board[\"last_seq\"] and"),
     "the tail overlaps the snapshot", "duplicate"),
    # projects in place: the snapshot it was given (and every board handed out) changes
    ("mutates-snapshot", [("    board = copy.deepcopy(board)\n    event,", "    event,"),
                          ("    board = copy.deepcopy(snapshot) if snapshot", "    board = snapshot if snapshot")],
     "changed the snapshot", "duplicate"),
    # skips over a gap: the live board applies what arrives, however far ahead
    ("skips-gaps", ("        while self._board[\"last_seq\"] + 1 in self._waiting:\n"
                    "            self._board = project(self._board, self._waiting.pop(self._board[\"last_seq\"] + 1))",
                    "        self._board = project(self._board, self._waiting.pop(record[\"seq\"]))"),
     "wait at a gap", "partition"),
    # time travel by position instead of by when the event was written
    ("time-travel-ignores-at", ("(until is None or r[\"at\"] <= until)", "(until is None or r[\"seq\"] <= until)"),
     "what the agent knew at", "duplicate"),
    # a restart that forgets the snapshot: the live board starts empty after a crash
    ("restart-ignores-snapshot", ("        self._board = copy.deepcopy(snapshot) if snapshot is not None else empty_board()",
                                  "        self._board = empty_board()"), "LiveBoard.board() after deliveries", "crash"),
]


def replayer(edit: Any = None) -> tuple[Any, Any]:
    source = REFERENCE
    for old, new in ([edit] if isinstance(edit, tuple) else edit or []):
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    namespace: dict[str, Any] = {"copy": copy, "empty_board": empty_board}
    exec(compile(source, "<replayer>", "exec"), namespace)  # noqa: S102 - our own replayers
    return namespace["replay"], namespace["LiveBoard"]


def test_a_correct_replayer_passes_every_fault_kind_for_many_seeds() -> None:
    answer = replayer()
    for seed in range(12):
        result = day6.replay_scenario(seed).run(answer)
        assert result.passed and result.cases_total == len(day6.REPLAY_FAULTS), result.message()


@pytest.mark.parametrize("name, edit, phrase, kind", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_broken_replayer_is_caught_with_a_shrunk_event_sequence_and_a_reproduce_line(
        name: str, edit: Any, phrase: str, kind: str) -> None:
    answer = replayer(edit)
    result = day6.replay_scenario(0).run(answer)
    assert not result.passed and result.credit < 1, result.message()
    assert result.reproduce == "day6.replay_scenario(seed=0).run((replay, LiveBoard))"
    only = day6.replay_scenario(0, faults=[kind]).run(answer)
    assert not only.passed and phrase in only.reason, only.message()
    assert "events [" in only.smallest_case and only.message_log
    full = len(day6.replay_case(0, kind).log())
    assert int(only.smallest_case.split(" events", 1)[0]) <= full
    assert parse_log(only.message()) == list(only.diagram)
    namespace = {"day6": day6, "replay": answer[0], "LiveBoard": answer[1]}
    assert eval(only.reproduce, namespace) == only  # noqa: S307 - the line the learner pastes


def test_every_broken_replayer_loses_credit_on_every_hidden_seed() -> None:
    for name, edit, _, _ in BROKEN:
        answer = replayer(edit)
        for seed in (21, 22):
            assert day6.replay_scenario(seed).run(answer).credit < 1, (name, seed)


def test_the_shrinker_finds_the_shortest_failing_history() -> None:
    answer = replayer(BROKEN[1][1])
    result = day6.replay_scenario(3, faults=["reorder"]).run(answer)
    assert not result.passed
    shortest = int(result.smallest_case.split(" events", 1)[0])
    for n in range(1, shortest):
        assert run_case(day6.replay_case(3, "reorder", n), answer, MessageLog())[0] is None, n


def test_every_visible_seed_runs_every_fault_kind_the_hidden_seeds_use() -> None:
    for seed in (0, 21, 22):
        assert [c.kind for c in day6.replay_scenario(seed).cases()] == list(day6.REPLAY_FAULTS)
    assert set(day6.REPLAY_FAULTS) == {"duplicate", "reorder", "partition", "crash"}


def test_scenarios_are_deterministic_and_not_implemented_propagates() -> None:
    answer = replayer(BROKEN[1][1])
    assert day6.replay_scenario(5).run(answer) == day6.replay_scenario(5).run(answer)

    def todo(records: Any, snapshot: Any = None, until: Any = None) -> Any:
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        day6.replay_scenario(0).run((todo, replayer()[1]))


def test_sealed_day6_grades_like_the_package() -> None:
    from course.checks.sealed import sealed

    checks = sealed("day6")
    assert checks.grade_replay(*replayer(), seed=21).passed
    with pytest.raises(AssertionError, match=r"\[replay seed=22\] FAILED"):
        checks.grade_replay(*replayer(BROKEN[2][1]), seed=22)
