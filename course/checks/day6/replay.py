"""Question 3, event replay: a read model rebuilt from a log that arrives with duplicates, out of order, late.

The learner writes ``replay(records, snapshot=None, until=None)`` (the board for a log: from
``snapshot`` or empty, applying each ``seq`` after the snapshot's ``last_seq`` once, in ``seq``
order, stopping at a gap; ``until`` keeps only the events written at or before that time) and
``LiveBoard`` (``LiveBoard(snapshot=None)``, ``deliver(record)``, ``board()``): the projection a
consumer keeps up to date as deliveries arrive.

Each case draws a task history (creations, claims, completions by two workers) and a delivery
of it with one fault kind (:data:`FAULTS`): ``duplicate`` (records delivered twice),
``reorder`` (neighbours swapped), ``partition`` (a run of records held back, delivered after
the ones behind it: a gap the consumer must wait out), ``crash`` (the live board's process dies:
a new ``LiveBoard`` starts from the snapshot it saved, and the queue redelivers from before
it). Then it checks five properties, each against the board the rules give
(:data:`~.types.BOARD_RULES`):

1. rebuild: ``replay(log)`` is the board;
2. a messy delivery (the faulty one) replays to the same board;
3. snapshot plus tail: ``replay(tail, snapshot)`` equals the full replay, with a tail that
   overlaps the snapshot and is shuffled, and the snapshot is not changed;
4. time travel: ``replay(log, until=t)`` is the board of the events written by ``t``;
5. live: after *every* delivery, ``LiveBoard.board()`` is the board of the contiguous prefix
   delivered so far (never ahead of a gap, never counting twice), and a snapshot it handed out
   never changes afterwards.

A failing case shrinks to the shortest event history that still fails.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day6.types import empty_board
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

FAULTS = ("duplicate", "reorder", "partition", "crash")
WORKERS = ("w1", "w2")
TITLES = ("fetch prices", "rank sources", "summarise reviews", "check stock", "draft report", "notify owner")


def board_of(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The board the rules give for ``records`` applied in ``seq`` order, each once, up to the first gap."""
    board = empty_board()
    for record in sorted({r["seq"]: r for r in records}.values(), key=lambda r: r["seq"]):
        if record["seq"] != board["last_seq"] + 1:
            break
        event, task = record["event"], record["event"]["task_id"]
        if event["type"] == "task_created":
            board["tasks"][task] = {"title": event["title"], "status": "open", "worker": None}
        elif task in board["tasks"]:
            board["tasks"][task].update(status="claimed" if event["type"] == "task_claimed" else "done",
                                        worker=event["worker"])
            if event["type"] == "task_completed":
                board["completed_by"][event["worker"]] = board["completed_by"].get(event["worker"], 0) + 1
        board["last_seq"] = record["seq"]
    return board


def history(seed: int, n: int) -> list[dict[str, Any]]:
    """``n`` stored records of a plausible task history, drawn from ``seed`` (the same prefix for every ``n``)."""
    rng = random_stream("day6", "replay-history", seed)
    records: list[dict[str, Any]] = []
    open_tasks: list[str] = []
    claimed: dict[str, str] = {}
    at, created = 0.0, 0
    while len(records) < n:
        at = round(at + rng.choice((0.5, 1.0, 1.0, 2.0)), 1)
        choice = rng.random()
        if choice < 0.4 or not (open_tasks or claimed):
            created += 1
            task = f"t{created}"
            event = {"type": "task_created", "task_id": task, "title": rng.choice(TITLES)}
            open_tasks.append(task)
        elif choice < 0.7 and open_tasks:
            task = open_tasks.pop(0)
            claimed[task] = rng.choice(WORKERS)
            event = {"type": "task_claimed", "task_id": task, "worker": claimed[task]}
        elif claimed:
            task = sorted(claimed)[0]
            event = {"type": "task_completed", "task_id": task, "worker": claimed.pop(task)}
        else:
            task = open_tasks.pop(0)
            claimed[task] = rng.choice(WORKERS)
            event = {"type": "task_claimed", "task_id": task, "worker": claimed[task]}
        records.append({"seq": len(records) + 1, "at": at, "event": event})
    return records


@dataclass(frozen=True)
class ReplayCase(Case):
    seed: int
    kind: str
    records: str  # JSON: the log in seq order
    delivery: tuple[int, ...]  # indexes into the log, in delivery order
    snapshot_at: int  # the snapshot covers seq 1..snapshot_at
    crash_after: int = -1  # the live board dies after this many deliveries (crash kind)
    restart_from: int = 0  # ...and the queue redelivers from this delivery position

    def log(self) -> list[dict[str, Any]]:
        return json.loads(self.records)

    def describe(self) -> str:
        log = self.log()
        events = ", ".join(f"{r['seq']}:{r['event']['type'].split('_')[1]} {r['event']['task_id']}"
                           + (f" by {r['event']['worker']}" if "worker" in r["event"] else "") for r in log)
        order = [log[i]["seq"] for i in self.delivery]
        fault = {"duplicate": "some delivered twice", "reorder": "neighbours swapped",
                 "partition": "a run held back and delivered late",
                 "crash": f"the live board crashes after delivery {self.crash_after} and restarts from its snapshot; "
                          f"the queue redelivers from delivery {self.restart_from + 1}"}[self.kind]
        return (f"{len(log)} events [{events}] delivered in the order {order} ({fault}); "
                f"snapshot at seq {self.snapshot_at}")

    def smaller(self) -> Any:
        """The same seed and fault kind over a shorter history (the shortest event sequence that fails)."""
        from hypothesis import strategies as st

        return st.integers(1, len(self.log())).map(lambda m: replay_case(self.seed, self.kind, m))

    def check(self, answer: Any, log: MessageLog) -> str:
        replay, live_cls = _unpack(answer)
        records = self.log()
        want = board_of(records)
        t = 0.0

        def call(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal t
            t += 0.001
            log.record(t, "checker", "replayer", "replay", what.removeprefix("replay(").removesuffix(")"))
            got = fn(*args, **kwargs)
            log.record(t, "replayer", "checker", "replay.reply", _short(got, 90))
            return got

        got = call(f"replay(log of {len(records)})", replay, copy.deepcopy(records))
        _same(got, want, f"replay(log) of the {len(records)} events in seq order")
        delivered = [copy.deepcopy(records[i]) for i in self.delivery]
        got = call(f"replay(delivery of {len(delivered)})", replay, delivered)
        _same(got, want, f"replay of the delivery {[r['seq'] for r in delivered]} ({self.kind}): each seq once, "
                         f"in seq order")
        snapshot = board_of(records[:self.snapshot_at])
        kept = copy.deepcopy(snapshot)
        rng = random_stream("day6", "replay-tail", self.seed, self.kind, len(records))
        tail = [copy.deepcopy(r) for r in records[max(0, self.snapshot_at - 2):]]
        rng.shuffle(tail)
        got = call(f"replay(tail of {len(tail)}, snapshot at seq {self.snapshot_at})", replay, tail, snapshot)
        _same(got, want, f"replay(tail {[r['seq'] for r in tail]}, snapshot at seq {self.snapshot_at}) (the tail "
                         f"overlaps the snapshot: events at or below its last_seq are already in it)")
        if snapshot != kept:
            raise CaseFailed(f"replay changed the snapshot it was given: it was {_short(kept)}, it became "
                             f"{_short(snapshot)}; a snapshot is shared (others replay from it): build new state")
        for when in sorted({records[len(records) // 2]["at"], records[0]["at"] - 0.5, records[-1]["at"]}):
            expected = board_of([r for r in records if r["at"] <= when])
            got = call(f"replay(log, until={when:g})", replay, copy.deepcopy(records), until=when)
            _same(got, expected, f"replay(log, until={when:g}): what the agent knew at t={when:g}s (the events "
                                 f"written at or before it)")
        self.check_live(live_cls, records, log)
        return f"{len(records)} events, {len(self.delivery)} deliveries ({self.kind}): every replay agrees"

    def check_live(self, live_cls: Any, records: list[dict[str, Any]], log: MessageLog) -> None:
        live = live_cls()
        seen: list[dict[str, Any]] = []
        order = list(self.delivery)
        position, crashed, saved = 0, False, None
        handed: list[tuple[dict[str, Any], dict[str, Any]]] = []
        while position < len(order):
            record = copy.deepcopy(records[order[position]])
            fate = ""
            if order[:position].count(order[position]):
                fate = "redelivered" if crashed else "duplicate"
            elif any(i > order[position] for i in order[:position]):
                fate = "late"
            log.record(1.0 + position * 0.1, "queue", "live-board", "deliver",
                       f"seq={record['seq']} {record['event']['type']}", fate)
            live.deliver(record)
            seen.append(record)
            now = live.board()
            handed.append((now, copy.deepcopy(now)))
            _same(now, board_of(seen), f"LiveBoard.board() after deliveries {[r['seq'] for r in seen]}: the "
                                       f"board of the contiguous prefix delivered (each seq once; wait at a gap)")
            position += 1
            if self.kind == "crash" and not crashed and position == self.crash_after:
                crashed, saved = True, copy.deepcopy(live.board())
                log.record(1.0 + position * 0.1 - 0.05, "platform", "live-board", "crash",
                           f"restarts from its snapshot at seq {saved['last_seq']}", "fault")
                live = live_cls(copy.deepcopy(saved))
                seen = [r for r in seen if r["seq"] <= saved["last_seq"]]
                order = order[:position] + order[self.restart_from:]
        for before, kept in handed:
            if before != kept:
                raise CaseFailed(f"a board LiveBoard.board() returned earlier changed afterwards (it was "
                                 f"{_short(kept)}, now {_short(before)}): hand out copies, or build new state")


def _unpack(answer: Any) -> tuple[Any, Any]:
    try:
        replay, live_cls = answer
    except (TypeError, ValueError):
        raise CaseFailed(f"run the scenario on (replay, LiveBoard), got {answer!r}") from None
    return replay, live_cls


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _same(got: Any, want: dict[str, Any], what: str) -> None:
    if got != want:
        diff = ""
        if isinstance(got, dict):
            keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            diff = "; differs in " + ", ".join(f"{k}: got {_short(got.get(k), 80)}, expected {_short(want.get(k), 80)}"
                                               for k in keys)
        raise CaseFailed(f"{what} returned {_short(got)}, expected {_short(want)}{diff}")


def replay_case(seed: int, kind: str, n: int | None = None) -> ReplayCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day6", "replay", seed, kind)
    size = rng.randint(8, 12)
    n = size if n is None else n
    records = history(seed, n)
    order = list(range(n))
    crash_after, restart_from = -1, 0
    if kind == "duplicate":
        completions = {i for i, r in enumerate(records) if r["event"]["type"] == "task_completed"}
        for i in sorted(set(rng.sample(range(n), max(1, n // 3))) | completions, reverse=True):
            order.insert(i + 1 + rng.randint(0, 2), i)
    elif kind == "reorder":
        for i in range(0, n - 1, 2):
            if rng.random() < 0.7:
                order[i], order[i + 1] = order[i + 1], order[i]
    elif kind == "partition":
        start = rng.randint(0, max(0, n - 2))
        held = order[start:start + max(1, min(3, n - start - 1))]
        order = [i for i in order if i not in held] + held
    else:
        crash_after = max(1, (2 * n) // 3)
        restart_from = max(0, crash_after - rng.randint(1, 3))
    snapshot_at = min(n, max(1, n // 2))
    return ReplayCase(seed, kind, json.dumps(records), tuple(order), snapshot_at, crash_after, restart_from)


class ReplayScenario(Scenario):
    default_target = "(replay, LiveBoard)"
    partial_credit = True

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("replay" if faults is None else f"replay/{'+'.join(self.kinds)}", seed,
                         f"day6.replay_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [replay_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return (f"{len(cases)} delivery schedules ({', '.join(self.kinds)}): rebuild, messy delivery, snapshot + "
                f"tail, time travel and the live board all equal the log's board")


def replay_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> ReplayScenario:
    """A task log replayed five ways, delivered with duplicates, reordering, a partition and a crash."""
    return ReplayScenario(seed, faults)


def grade_replay(replay: Any, live_board: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return replay_scenario(seed, faults).run((replay, live_board)).assert_ok()


__all__ = ["FAULTS", "ReplayCase", "ReplayScenario", "board_of", "grade_replay", "history", "replay_case",
           "replay_scenario"]
