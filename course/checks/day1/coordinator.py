"""Question 5, the coordinator: the learner's ``async`` coordinator against emulated workers.

A case is a batch, a list of workers and a fault schedule: which worker crashes (never
answers), is slow (answers after the coordinator's timeout), duplicates its reply, answers
from another conversation (the wrong ``correlation_id``), or answers ``task.failed``. Messages
are the course's one envelope (``course.protocol``): ``correlation_id`` is the task,
``causation_id`` the assignment a reply answers. The workers are peers on the
harness's emulated network (:mod:`course.checks.harness.network`), on a virtual clock, so a run
that waits minutes of timeouts takes milliseconds and replays identically. The checks are the
question's protocol: every subtask assigned at once round-robin, reassigned only after an error
or a timeout and never to a worker that already failed it, at most ``max_attempts`` times, the
right word counts and missing subtasks, within a time budget.

A failing case shrinks to fewer documents, fewer workers, fewer faults and (if the mistake does
not depend on it) replies that all take the same time; the report shows that case's messages.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from course.checks.day1.corpus import day1_stream, documents
from course.checks.day1.envelope import envelope_problems
from course.checks.day1.split import expected_sizes
from course.checks.day1.types import COORDINATOR, word_counts
from course.checks.harness import (
    Case,
    CaseFailed,
    CheckResult,
    Crash,
    Delay,
    Duplicate,
    MessageLog,
    Network,
    RealTimeExceeded,
    Reply,
    Scenario,
    VirtualDeadlineExceeded,
    run_on_virtual_clock,
)

#: Fault kinds an emulated worker can have; the visible tests run each of them, the hidden
#: tests the same kinds with other seeds and combinations.
FAULTS = ("crash", "slow", "duplicate", "wrong-correlation", "error")
#: What each fault kind does, as the exercise and ``course check`` name it.
FAULT_MEANINGS = {
    "crash": "never answers (its assignments time out)",
    "slow": "answers after the reply timeout",
    "duplicate": "answers twice (at-least-once delivery)",
    "wrong-correlation": "answers from another conversation (correlation_id of another task)",
    "error": "answers task.failed",
}
#: The words a reply from another conversation counts (never in a Day 1 batch).
STRAY_DOCUMENT = "other conversation"
#: Faults after which the worker never delivers a usable result (``duplicate`` still does).
BREAKING_FAULTS = ("crash", "slow", "wrong-correlation", "error")
#: Virtual seconds after which a coordinator run is stopped as hung.
COORDINATOR_DEADLINE = 3600.0
#: Real seconds a coordinator run may take (a loop that never awaits cannot be stopped sooner).
COORDINATOR_REAL_TIMEOUT = 60.0
#: A worker answers between these many virtual seconds after an assignment.
WORKER_LATENCY = (0.05, 1.0)
#: How long every reply takes in a shrunk case without latency jitter.
STEADY_LATENCY = 0.5
#: A slow worker's reply comes this many reply timeouts late.
SLOW_FACTOR = 1.5
#: A duplicated reply's second copy arrives this many seconds after the first.
DUPLICATE_GAP = 0.3
#: How many attempts each subtask gets.
MAX_ATTEMPTS = 3
#: Slack for comparing virtual times.
EPS = 1e-6


class ProtocolViolation(Exception):
    """The coordinator sent something the workers cannot accept."""


@dataclass
class _Sent:
    t: float
    worker: str
    index: int
    id: str


@dataclass(frozen=True)
class CoordinatorCase(Case):
    """A batch, the workers, their faults and the timing: everything one coordinator run depends on."""

    seed: int
    task_id: str
    items: tuple[str, ...]
    workers: tuple[str, ...]
    faults: tuple[tuple[str, str], ...]
    max_per_subtask: int
    reply_timeout: float
    max_attempts: int = MAX_ATTEMPTS
    jitter: bool = True  # seeded latencies (False: every reply takes STEADY_LATENCY)

    @property
    def fault_map(self) -> dict[str, str]:
        return dict(self.faults)

    def describe(self) -> str:
        latency = "seeded latencies" if self.jitter else f"every reply after {STEADY_LATENCY} s"
        items = f"{len(self.items)} item{'s' if len(self.items) != 1 else ''}"
        return (f"{items} {list(self.items)}, max_per_subtask={self.max_per_subtask}, "
                f"workers={list(self.workers)}, faults={self.fault_map or 'none'}, reply_timeout={self.reply_timeout}, "
                f"max_attempts={self.max_attempts}, {latency}")

    def where(self) -> str:
        return (f"({len(self.items)} item{'s' if len(self.items) != 1 else ''}, max_per_subtask={self.max_per_subtask}, workers={list(self.workers)}, "
                f"faults={self.fault_map or 'none'}, reply_timeout={self.reply_timeout}, max_attempts={self.max_attempts})")

    def valid(self) -> bool:
        """Whether the expected outcome is unambiguous (see :func:`_validate`)."""
        try:
            _validate(list(self.workers), self.fault_map)
        except ValueError:
            return False
        return bool(self.items) and bool(self.workers)

    def latency(self, worker: str, n_sent: int) -> float:
        if not self.jitter:
            return STEADY_LATENCY
        return day1_stream("latency", self.seed, worker, n_sent).uniform(*WORKER_LATENCY)

    def check(self, coordinator: Callable[..., Any], log: MessageLog) -> str:
        run = _Run(self)
        network_box: dict[str, Network] = {}

        async def main() -> Any:
            network = network_box["n"] = run.network(log)
            return await coordinator(self.task_id, list(self.items), list(self.workers), network.mailbox(COORDINATOR),
                                     max_per_subtask=self.max_per_subtask, reply_timeout=self.reply_timeout,
                                     max_attempts=self.max_attempts)

        where = self.where()
        try:
            agg, elapsed = run_on_virtual_clock(main, deadline=COORDINATOR_DEADLINE, real_timeout=COORDINATOR_REAL_TIMEOUT,
                                                thread_name="day1-coordinator-scenario")
        except VirtualDeadlineExceeded:
            raise CaseFailed(f"did not return within {COORDINATOR_DEADLINE:.0f} virtual seconds: is it waiting for a reply "
                             f"that will never come? {where}") from None
        except RealTimeExceeded as exc:
            raise CaseFailed(str(exc)) from None
        except ProtocolViolation as exc:
            raise CaseFailed(f"protocol violation: {exc} {where}") from None
        if run.violation:
            raise CaseFailed(f"protocol violation: {run.violation} {where}")
        network = network_box["n"]
        errors = {}
        for t, message in network.delivered:
            if message.get("type") == "task.failed":
                errors.setdefault(str(message.get("causation_id")), t)
        self._check_assignments(run.sent, errors, where)
        n_subtasks = len(expected_sizes(len(self.items), self.max_per_subtask))
        faults = self.fault_map
        all_down = all(faults.get(w) in BREAKING_FAULTS for w in self.workers)
        want_missing = tuple(range(n_subtasks)) if all_down else ()
        want_counts = {} if all_down else word_counts(self.items)
        got_counts = dict(getattr(agg, "counts", {}) or {})
        stray = sorted(set(got_counts) & set(word_counts([STRAY_DOCUMENT])))
        if stray:
            raise CaseFailed(f"counted a reply from another conversation (its correlation_id is not {self.task_id!r}, "
                             f"words {stray}): accept a reply only if correlation_id is this task and causation_id "
                             f"names an outstanding assignment {where}")
        if got_counts != want_counts:
            diff = {w: (got_counts.get(w, 0), want_counts.get(w, 0)) for w in sorted(set(got_counts) | set(want_counts))
                    if got_counts.get(w, 0) != want_counts.get(w, 0)}
            raise CaseFailed(f"word counts are wrong (word: (got, expected)) {diff}: a duplicate or stray reply counted, "
                             f"or a subtask lost? {where}")
        if tuple(getattr(agg, "missing", ("?",))) != want_missing:
            raise CaseFailed(f"aggregate.missing should be {want_missing}, got {getattr(agg, 'missing', None)!r} {where}")
        budget = self.max_attempts * self.reply_timeout + 2 * WORKER_LATENCY[1]
        if elapsed > budget + EPS:
            raise CaseFailed(f"took {elapsed:.2f} virtual s; with parallel assignments and {self.reply_timeout} s timeouts it "
                             f"should finish within {budget:.2f} s {where}")
        return f"returned the right aggregate after {elapsed:.2f} virtual s with {len(run.sent)} assignments {where}"

    def _check_assignments(self, sent: list[_Sent], error_replies: Mapping[str, float], where: str) -> None:
        by_index: dict[int, list[_Sent]] = {}
        for s in sent:
            by_index.setdefault(s.index, []).append(s)
        n_subtasks = len(expected_sizes(len(self.items), self.max_per_subtask))
        if sorted(by_index) != list(range(n_subtasks)):
            raise CaseFailed(f"expected assignments for subtasks 0..{n_subtasks - 1}, got {sorted(by_index)} {where}")
        for index, sends in sorted(by_index.items()):
            first = sends[0]
            want_worker = self.workers[index % len(self.workers)]
            if first.t > EPS or first.worker != want_worker:
                raise CaseFailed(f"subtask {index} must first go to {want_worker} at t=0 (all at once, round-robin); "
                                 f"it went to {first.worker} at t={first.t:.2f} {where}")
            if len(sends) > self.max_attempts:
                raise CaseFailed(f"subtask {index} was assigned {len(sends)} times; max_attempts is {self.max_attempts} {where}")
            failed: list[str] = []
            for prev, nxt in zip(sends, sends[1:]):
                errored = error_replies.get(prev.id)
                timed_out = nxt.t - prev.t >= self.reply_timeout - EPS
                if not timed_out and (errored is None or errored > nxt.t + EPS):
                    raise CaseFailed(f"subtask {index} was reassigned {nxt.t - prev.t:.2f} s after its last assignment, "
                                     f"before an error reply or the {self.reply_timeout} s timeout {where}")
                failed.append(prev.worker)
                if nxt.worker in failed:
                    raise CaseFailed(f"subtask {index} was reassigned to {nxt.worker}, which already failed it {where}")

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        n, k = len(self.items), len(self.workers)

        def build(t: tuple[list[bool], bool, int, list[bool], bool]) -> CoordinatorCase:
            keep_items, whole_items, n_workers, keep_faults, jitter = t
            items = [item if whole_items else item.split()[0] for item, keep in zip(self.items, keep_items) if keep]
            workers = self.workers[:n_workers]
            faults = tuple((w, f) for (w, f), keep in zip(self.faults, keep_faults) if keep and w in workers)
            return CoordinatorCase(self.seed, self.task_id, tuple(items), workers, faults, self.max_per_subtask,
                                   self.reply_timeout, self.max_attempts, jitter)

        return st.tuples(st.lists(st.booleans(), min_size=n, max_size=n), st.booleans(), st.integers(1, k),
                         st.lists(st.booleans(), min_size=len(self.faults), max_size=len(self.faults)),
                         st.booleans()).map(build).filter(lambda c: c.valid())


@dataclass
class _Run:
    """One coordinator run: the assignments it made and the first protocol violation."""

    case: CoordinatorCase
    sent: list[_Sent] = field(default_factory=list)
    violation: str | None = None
    _replies: itertools.count = field(default_factory=itertools.count)

    def network(self, log: MessageLog) -> Network:
        faults: dict[str, list[Any]] = {}
        for worker, fault in self.case.faults:
            if fault == "crash":
                faults[worker] = [Crash()]
            elif fault == "slow":
                faults[worker] = [Delay(self.case.reply_timeout * SLOW_FACTOR)]
            elif fault == "duplicate":
                faults[worker] = [Duplicate(DUPLICATE_GAP)]
        network = Network(seed=self.case.seed, latency=self.case.latency, faults=faults, accept=self.accept, log=log,
                          describe=describe_envelope)
        for worker in self.case.workers:
            network.add_peer(worker, self.worker(worker))
        return network

    def accept(self, message: Any) -> dict[str, Any]:
        try:
            return self._accept(message)
        except ProtocolViolation as exc:
            self.violation = self.violation or str(exc)
            raise

    def _accept(self, message: Any) -> dict[str, Any]:
        import asyncio

        s = self.case
        if hasattr(message, "model_dump"):
            msg = message.model_dump(mode="json")
        elif isinstance(message, dict):
            try:
                msg = json.loads(json.dumps(message, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o)))
            except (TypeError, ValueError) as exc:
                raise ProtocolViolation(f"message is not JSON-serialisable: {exc}") from None
        else:
            raise ProtocolViolation(f"send() takes an Envelope or a dict, got {type(message).__name__}")
        for key in ("id", "type", "sender", "recipient", "sent_at", "payload"):
            if key not in msg:
                raise ProtocolViolation(f"message has no {key!r}: {msg}")
        if msg["type"] != "task.assign":
            raise ProtocolViolation(f"the coordinator only sends 'task.assign' here, got {msg['type']!r}")
        problems = envelope_problems(msg)
        if problems:
            raise ProtocolViolation(f"not a valid envelope ({'; '.join(problems)}): {msg}")
        if msg["sender"] != COORDINATOR:
            raise ProtocolViolation(f"sender must be {COORDINATOR!r}, got {msg['sender']!r}")
        if msg["correlation_id"] != s.task_id:
            raise ProtocolViolation(f"correlation_id must be the conversation, the task id {s.task_id!r}; "
                                    f"got {msg['correlation_id']!r}")
        if msg["recipient"] not in s.workers:
            raise ProtocolViolation(f"recipient {msg['recipient']!r} is not one of the workers {list(s.workers)}")
        if not isinstance(msg["id"], str) or not msg["id"] or any(x.id == msg["id"] for x in self.sent):
            raise ProtocolViolation(f"message ids must be unique non-empty strings; {msg['id']!r} was reused or empty")
        payload = msg["payload"]
        if not isinstance(payload, dict) or payload.get("task_id") != s.task_id or not isinstance(payload.get("index"), int) \
                or not isinstance(payload.get("items"), list):
            raise ProtocolViolation(f"payload must be {{'task_id': {s.task_id!r}, 'index': int, 'items': list}}, got {payload}")
        self.sent.append(_Sent(asyncio.get_running_loop().time(), msg["recipient"], payload["index"], msg["id"]))
        return msg

    def worker(self, name: str) -> Callable[[dict[str, Any], float], Sequence[Reply]]:
        """The emulated worker ``name``: counts words, or answers as its fault says."""
        fault = self.case.fault_map.get(name)

        def answer(msg: dict[str, Any], arrives: float) -> list[Reply]:
            body = {"task_id": self.case.task_id, "index": msg["payload"]["index"]}
            if fault == "error":
                return [Reply(self._reply(name, msg["id"], "task.failed", {**body, "error": "worker out of memory"}, arrives))]
            if fault == "wrong-correlation":
                other = f"{self.case.task_id}-other"
                return [Reply(self._reply(name, msg["id"], "task.result",
                                          {"task_id": other, "index": body["index"], "counts": word_counts([STRAY_DOCUMENT])},
                                          arrives, conversation=other), "another conversation")]
            counts = word_counts(str(i) for i in msg["payload"]["items"])
            return [Reply(self._reply(name, msg["id"], "task.result", {**body, "counts": counts}, arrives))]

        return answer

    def _reply(self, worker: str, cause: str, kind: str, payload: dict[str, Any], at: float, *,
               conversation: str | None = None) -> dict[str, Any]:
        return {"id": f"{worker.split(':', 1)[1]}-r{next(self._replies)}", "type": kind, "sender": worker,
                "recipient": COORDINATOR, "correlation_id": conversation or self.case.task_id, "causation_id": cause,
                "sent_at": round(at, 6), "schema_version": 1, "payload": payload}


def describe_envelope(message: Mapping[str, Any]) -> str:
    """The log's detail for a Day 1 message: its id, its conversation, what it answers, its subtask."""
    parts = [f"id={message.get('id')}"]
    if message.get("correlation_id") is not None:
        parts.append(f"conv={message['correlation_id']}")
    if message.get("causation_id") is not None:
        parts.append(f"answers={message['causation_id']}")
    payload = message.get("payload")
    if isinstance(payload, Mapping) and "index" in payload:
        parts.append(f"index={payload['index']}")
    return " ".join(parts)


def _validate(workers: list[str], faults: Mapping[str, str]) -> None:
    unknown = {w: f for w, f in faults.items() if w not in workers or f not in FAULTS}
    if unknown:
        raise ValueError(f"faults must map one of {workers} to one of {FAULTS}, got {unknown}")
    broken = [w for w in workers if faults.get(w) in BREAKING_FAULTS]
    if len(broken) == len(workers) and any(faults.get(w) == "slow" for w in workers):
        # A late reply may or may not be accepted then, so the expected outcome is ambiguous.
        raise ValueError("when every worker is broken, none may be 'slow' (use crash, error or wrong-correlation)")


def coordinator_case(seed: int, faults: Mapping[str, str] | None = None) -> CoordinatorCase:
    """The case a seed gives: recoverable by construction, except every fifth seed (all crashed)."""
    rng = day1_stream("coordinator", seed)
    n_workers = rng.randint(2, 4)
    workers = [f"worker:w{i + 1}" for i in range(n_workers)]
    if faults is None:
        # Recoverable by construction: fewer broken workers than attempts and than workers,
        # so a coordinator that follows the rules reaches a healthy worker for every subtask.
        if seed % 5 == 4:
            faults = {w: "crash" for w in workers}
        else:
            n_broken = rng.randint(0, min(n_workers - 1, MAX_ATTEMPTS - 1))
            broken = rng.sample(workers, n_broken)
            faults = {w: rng.choice(BREAKING_FAULTS) for w in broken}
            for w in workers:
                if w not in faults and rng.random() < 0.4:
                    faults[w] = "duplicate"
    _validate(workers, faults)
    return CoordinatorCase(seed=seed, task_id=f"batch-{rng.randrange(1000)}", items=tuple(documents(rng, rng.randint(4, 16))),
                           workers=tuple(workers), faults=tuple(sorted(faults.items())),
                           max_per_subtask=rng.randint(2, 4), reply_timeout=rng.choice([2.0, 5.0]))


class CoordinatorScenario(Scenario):
    """The learner's coordinator against emulated workers; ``faults`` maps worker -> fault kind."""

    default_target = "run_coordinator"

    def __init__(self, seed: int = 0, faults: Mapping[str, str] | None = None) -> None:
        self.case = coordinator_case(seed, faults)
        kinds = sorted(set(self.case.fault_map.values()))
        call = f"day1.coordinator_scenario(seed={seed}" + (f", faults={dict(faults)!r}" if faults is not None else "") + ")"
        super().__init__("coordinator/" + ("+".join(kinds) if kinds else "healthy"), seed, call)

    @property
    def setup(self) -> CoordinatorCase:
        return self.case

    def describe(self) -> str:
        return self.case.describe()

    def cases(self) -> Sequence[Case]:
        return [self.case]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return last


def coordinator_scenario(seed: int = 0, faults: Mapping[str, str] | None = None) -> CoordinatorScenario:
    """The learner's coordinator against emulated workers; ``faults`` maps worker -> fault kind."""
    return CoordinatorScenario(seed, faults)


def grade_coordinator(coordinator: Callable[..., Any], seed: int = 0, faults: Mapping[str, str] | None = None) -> CheckResult:
    return coordinator_scenario(seed, faults).run(coordinator).assert_ok()


__all__ = ["BREAKING_FAULTS", "FAULTS", "FAULT_MEANINGS", "describe_envelope", "CoordinatorCase", "CoordinatorScenario", "ProtocolViolation",
           "coordinator_case", "coordinator_scenario", "grade_coordinator"]
