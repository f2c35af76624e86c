"""Question 2, an event-sourced aggregate's stream with optimistic concurrency (expected-version appends).

The learner writes ``EventStore`` with ``read(stream)`` (the stream's events, in order; a new
list) and ``append(stream, expected_version, events)``: when the stream is at
``expected_version``, add ``events`` (dicts with an ``event_id``) and return the new version
(its length); when it is not, raise :class:`~.types.ConcurrencyError` and add nothing. An append
whose event ids are *all* in the stream already is a retry of one that succeeded: it returns
the version that append produced and adds nothing, whatever ``expected_version`` says now.

Each case runs three writers, each an aggregate deciding against what it read: it reads the
task stream, claims the first task nobody has claimed and appends the claim with the version
it read; on a conflict it reads again and decides again. Steps interleave from the seed. Fault
kinds (:data:`FAULTS`): ``interleave`` (writers racing), ``retry`` (an append's reply is lost
and the same append is sent again later, after others wrote), ``duplicate`` (an append
delivered twice at once), ``partition`` (a writer cut off with a stale read appends long
after). The checker keeps the stream the rules give and compares every reply and read; a
failure shrinks to the shortest schedule.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from course.checks.day6.common import KindScenario, short
from course.checks.day6.types import ConcurrencyError
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, random_stream

FAULTS = ("interleave", "retry", "duplicate", "partition")
STREAM = "board-1"
WRITERS = ("w1", "w2", "w3")
TASKS = ("t1", "t2", "t3", "t4")


@dataclass(frozen=True)
class StoreCase(Case):
    seed: int
    kind: str
    steps: tuple[str, ...]  # writer names, in the order they act; "w1*" = w1's last append again

    def describe(self) -> str:
        return f"{len(self.steps)} steps ({self.kind}): " + " ".join(self.steps)

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, len(self.steps)).map(lambda n: store_case(self.seed, self.kind, n))

    def check(self, store_cls: Any, log: MessageLog) -> str:
        store, truth = store_cls(), []
        state = {w: {"read": None, "last": None, "n": 0} for w in WRITERS}
        t = 0.0
        for step in self.steps:
            t += 0.1
            writer, again = step.rstrip("*"), step.endswith("*")
            me = state[writer]
            if again:
                if me["last"] is None:
                    continue
                expected_version, events = me["last"]
                self._append(store, truth, writer, expected_version, events, log, t, "resent: the reply was lost"
                             if self.kind == "retry" else "delivered twice")
                continue
            if me["read"] is None:
                log.record(t, writer, "store", "read", STREAM)
                got = store.read(STREAM)
                log.record(t, "store", writer, "events", f"{len(got) if isinstance(got, list) else got!r}")
                if got != truth:
                    raise CaseFailed(f"read({STREAM!r}) returned {short(got)}; the appends so far give {short(truth)}")
                got.append({"event_id": "junk"})  # a reader's list is its own
                me["read"] = list(truth)
                continue
            seen = me["read"]
            claimed = {e["task_id"] for e in seen}
            free = [task for task in TASKS if task not in claimed]
            me["read"] = None
            if not free:
                continue
            me["n"] += 1
            events = [{"event_id": f"{writer}-{me['n']}", "type": "task_claimed", "task_id": free[0], "worker": writer}]
            me["last"] = (len(seen), events)
            self._append(store, truth, writer, len(seen), events, log, t, "")
        final = store.read(STREAM)
        if final != truth:
            raise CaseFailed(f"at the end read({STREAM!r}) returned {short(final)}; expected {short(truth)}")
        tasks = [e["task_id"] for e in truth]
        if len(tasks) != len(set(tasks)):
            raise CaseFailed(f"a task was claimed twice: {tasks}")
        return f"{len(truth)} events, every append and conflict as the rules say"

    @staticmethod
    def _append(store: Any, truth: list[dict[str, Any]], writer: str, expected_version: int,
                events: list[dict[str, Any]], log: MessageLog, t: float, fate: str) -> None:
        ids = [e["event_id"] for e in events]
        log.record(t, writer, "store", "append", f"expected_version={expected_version} ids={','.join(ids)}", fate)
        where = [i for i, e in enumerate(truth) if e["event_id"] in ids]
        if len(where) == len(ids):
            want: Any = where[-1] + 1
        elif expected_version != len(truth):
            want = ConcurrencyError
        else:
            truth.extend(dict(e) for e in events)
            want = len(truth)
        call = f"append({STREAM!r}, {expected_version}, {ids})"
        try:
            got = store.append(STREAM, expected_version, [dict(e) for e in events])
        except ConcurrencyError as exc:
            log.record(t, "store", writer, "conflict", str(exc))
            if want is ConcurrencyError:
                return
            if len(where) == len(ids):
                raise CaseFailed(f"{call} raised ConcurrencyError, but {ids} are already in the stream (at version "
                                 f"{want}): a retried append succeeded before, so return {want} and add nothing") from None
            raise CaseFailed(f"{call} raised ConcurrencyError ({exc}); the stream is at version {expected_version}: "
                             f"append and return {want}") from None
        log.record(t, "store", writer, "ok", f"version {got!r}")
        if want is ConcurrencyError:
            raise CaseFailed(f"{call} returned {got!r}, but the stream is at version {len(truth)}: another writer "
                             f"appended after {writer} read it, so raise ConcurrencyError (its decision may be stale)")
        if got != want:
            raise CaseFailed(f"{call} returned {got!r}; expected version {want}"
                             + (" (the same ids again: a retry returns the version the first append produced, "
                                "and adds nothing)" if len(where) == len(ids) else ""))


def store_case(seed: int, kind: str, n: int | None = None) -> StoreCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day6", "store", seed, kind)
    steps: list[str] = []
    cut = rng.choice(WRITERS)
    while len(steps) < 16:
        writer = rng.choice(WRITERS)
        if kind == "partition" and writer == cut and 2 <= len(steps) < 11:
            continue  # cut off: its read goes stale while the others write
        steps.append(writer)
        if kind == "duplicate" and rng.random() < 0.3:
            steps.append(writer + "*")
        if kind == "retry" and rng.random() < 0.25:
            steps.append(rng.choice(WRITERS) + "*")
    return StoreCase(seed, kind, tuple(steps[:n] if n else steps))


class StoreScenario(KindScenario):
    name_root, faults, default_target, what = "store", FAULTS, "EventStore", "writer schedules"
    make = staticmethod(store_case)


def store_scenario(seed: int = 0, faults: Any = None) -> StoreScenario:
    """Three aggregates claiming tasks through one stream: racing, retried, duplicated, partitioned appends."""
    return StoreScenario(seed, faults)


def grade_store(store_cls: Any, seed: int = 0, faults: Any = None) -> CheckResult:
    return store_scenario(seed, faults).run(store_cls).assert_ok()


__all__ = ["FAULTS", "StoreCase", "StoreScenario", "grade_store", "store_case", "store_scenario"]
