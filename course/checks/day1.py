"""Seeded scenario checks for Day 1: the coordinator + worker pair.

One scenario per exercise question. Each draws its cases from ``seed`` alone, checks
*properties* the question states (never a hidden reference answer), and stops at the first
case that fails with a reason a learner can act on. The coordinator scenario drives the
learner's ``async`` coordinator against emulated workers with injected faults (crash, slow
reply, duplicate reply, wrong correlation id, error reply) on the runtime's virtual clock, so
a run that waits minutes of timeouts takes milliseconds and replays identically.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import itertools
import json
import math
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from course.checks.day1_types import (
    AGENT_NAME_PATTERN,
    MAX_ID_LENGTH,
    MESSAGE_TYPES,
    REPLY_TYPES,
    IllegalTransition,
    Subtask,
    TaskState,
    WorkResult,
    word_counts,
)
from course.checks.result import CheckResult

#: Words the seeded documents are made of (small, so counts collide across subtasks).
VOCABULARY = ("agent", "task", "queue", "worker", "retry", "alarm", "state", "reply", "edge", "durable")
#: Fault kinds an emulated worker can have.
FAULTS = ("crash", "slow", "duplicate", "wrong-correlation", "error")
#: Faults after which the worker never delivers a usable result (``duplicate`` still does).
BREAKING_FAULTS = ("crash", "slow", "wrong-correlation", "error")
#: Virtual seconds after which a coordinator run is stopped as hung.
COORDINATOR_DEADLINE = 3600.0
#: Real seconds a coordinator run may take (a loop that never awaits cannot be stopped sooner).
COORDINATOR_REAL_TIMEOUT = 60.0
#: A worker answers between these many virtual seconds after an assignment.
WORKER_LATENCY = (0.05, 1.0)
#: Slack for comparing virtual times.
EPS = 1e-6


def _rng(*parts: object) -> random.Random:
    """A random stream fixed by ``parts`` (stable across Python runs, unlike ``hash``)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Fail(Exception):
    """A case failed: the message is the reason shown to the learner."""


@dataclass
class _Scenario:
    name: str
    seed: int
    reproduce_template: str

    def _result(self, passed: bool, reason: str, target: str) -> CheckResult:
        return CheckResult(self.name, self.seed, passed, reason, self.reproduce_template.format(seed=self.seed, target=target))

    def _guard(self, body: Callable[[], str], target: str) -> CheckResult:
        try:
            summary = body()
        except NotImplementedError:
            raise  # "not attempted" is the grader's verdict, not a failed scenario
        except _Fail as exc:
            return self._result(False, str(exc), target)
        except Exception as exc:  # the learner's code blew up where it should have answered
            return self._result(False, f"your code raised {_describe(exc)}", target)
        return self._result(True, summary, target)


# -- Q1: the message envelope ------------------------------------------------------------------

def _iso(seconds: float, *, aware: bool = True) -> str:
    base = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(seconds=seconds)
    return base.isoformat().replace("+00:00", "Z") if aware else base.replace(tzinfo=None).isoformat()


def _agent(rng: random.Random) -> str:
    return rng.choice(["coordinator", "worker", "planner", "summariser", "w"]) + rng.choice(["", "-1", "-2", "7", "-eu"])


def _valid_envelope(rng: random.Random, n: int) -> dict[str, Any]:
    kind = rng.choice(MESSAGE_TYPES)
    sender = _agent(rng)
    recipient = rng.choice([r for r in ("coordinator", "worker-1", "worker-2", "planner") if r != sender])
    msg: dict[str, Any] = {
        "id": f"m-{rng.randrange(10**6)}-{n}",
        "type": kind,
        "sender": sender,
        "recipient": recipient,
        "sent_at": _iso(rng.uniform(0, 86400)),
        "payload": {"task_id": f"t{rng.randrange(100)}", "index": rng.randrange(8)},
    }
    if kind in REPLY_TYPES or rng.random() < 0.5:
        msg["correlation_id"] = f"m-{rng.randrange(10**6)}"
    if rng.random() < 0.5:
        msg["causation_id"] = f"c-{rng.randrange(10**6)}"
    if rng.random() < 0.5:
        msg["schema_version"] = 1
    return msg


def _invalid_envelopes(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """(rule broken, message) pairs: one message per rule the question states."""
    def base() -> dict[str, Any]:
        return _valid_envelope(rng, rng.randrange(1000))

    cases: list[tuple[str, dict[str, Any]]] = []
    m = base(); del m[rng.choice(["id", "type", "sender", "recipient", "sent_at"])]
    cases.append(("a required field is missing", m))
    m = base(); m["type"] = rng.choice(["task.assigned", "result", "TASK.ASSIGN", "ping"])
    cases.append(("unknown message type", m))
    m = base(); m["recipient"] = m["sender"]
    cases.append(("sender equals recipient", m))
    m = base(); m[rng.choice(["sender", "recipient"])] = rng.choice(["Worker-1", "1worker", "worker 1", "", "w" * 33, "worker_1"])
    cases.append(("agent name does not match ^[a-z][a-z0-9-]{0,31}$", m))
    m = base(); m["type"] = rng.choice(REPLY_TYPES); m.pop("correlation_id", None)
    cases.append(("reply without correlation_id", m))
    m = base(); m["type"] = rng.choice(REPLY_TYPES); m["correlation_id"] = None
    cases.append(("reply with correlation_id None", m))
    m = base(); m["causation_id"] = m["id"]
    cases.append(("causation_id equals the message's own id", m))
    m = base(); m["sent_at"] = _iso(rng.uniform(0, 86400), aware=False)
    cases.append(("sent_at without a timezone", m))
    m = base(); m["schema_version"] = rng.choice([0, 2, 3])
    cases.append(("unsupported schema_version", m))
    m = base(); m[rng.choice(["priority", "ttl", "reply_to"])] = 1
    cases.append(("unknown extra field", m))
    m = base(); m["id"] = rng.choice(["", "x" * (MAX_ID_LENGTH + 1 + rng.randrange(10))])
    cases.append((f"id empty or longer than {MAX_ID_LENGTH} characters", m))
    m = base(); m["payload"] = rng.choice([[1, 2], "text", 3])
    cases.append(("payload is not an object", m))
    return cases


def envelope_scenario(seed: int = 0) -> "EnvelopeScenario":
    """Valid and invalid Day 1 messages drawn from ``seed``."""
    return EnvelopeScenario(seed)


class EnvelopeScenario(_Scenario):
    def __init__(self, seed: int = 0) -> None:
        super().__init__("envelope", seed, "course.checks.day1.envelope_scenario(seed={seed}).run({target})")

    def run(self, envelope_cls: Any) -> CheckResult:
        return self._guard(lambda: self._check(envelope_cls), getattr(envelope_cls, "__name__", "Envelope"))

    def _check(self, cls: Any) -> str:
        from pydantic import BaseModel, ValidationError

        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            raise _Fail(f"expected a pydantic BaseModel subclass, got {cls!r}")
        rng = _rng("envelope", self.seed)
        valid = [_valid_envelope(rng, n) for n in range(8)]
        for msg in valid:
            try:
                env = cls.model_validate(msg)
                again = cls.model_validate_json(env.model_dump_json())
            except ValidationError as exc:
                raise _Fail(f"a valid message was rejected: {json.dumps(msg)}\n  {_describe(exc)}") from None
            if again != env:
                raise _Fail(f"a valid message does not survive model_dump_json -> model_validate_json: {json.dumps(msg)}")
            if getattr(env, "schema_version", None) != 1:
                raise _Fail(f"schema_version should default to 1, got {getattr(env, 'schema_version', None)!r}")
            if msg["type"] not in REPLY_TYPES and "correlation_id" not in msg and getattr(env, "correlation_id", "?") is not None:
                raise _Fail("correlation_id should default to None")
            try:
                from_json = cls.model_validate_json(json.dumps(msg))
            except ValidationError as exc:
                raise _Fail(f"a valid message sent as JSON text was rejected: {json.dumps(msg)}\n  {_describe(exc)}") from None
            if from_json != env:
                raise _Fail("the same message parsed from a dict and from JSON text gives different envelopes")
        env = cls.model_validate(valid[0])
        try:
            env.sender = "someone-else"
        except (ValidationError, TypeError, AttributeError):
            pass
        else:
            raise _Fail("envelopes must be immutable (frozen), but assigning env.sender worked")
        for rule, msg in _invalid_envelopes(rng):
            try:
                cls.model_validate(msg)
            except ValidationError:
                continue
            raise _Fail(f"an invalid message was accepted ({rule}): {json.dumps(msg)}")
        return f"{len(valid)} valid messages accepted and round-tripped, 12 invalid ones rejected"


def grade_envelope(envelope_cls: Any, seed: int = 0) -> CheckResult:
    return envelope_scenario(seed).run(envelope_cls).assert_ok()


# -- Q2: the task lifecycle ------------------------------------------------------------------

#: The question's transition table: (state, event) -> next state. Anything else is illegal.
LIFECYCLE_TABLE: dict[tuple[TaskState, str], TaskState] = {
    (TaskState.CREATED, "assign"): TaskState.ASSIGNED,
    (TaskState.ASSIGNED, "start"): TaskState.RUNNING,
    (TaskState.ASSIGNED, "fail"): TaskState.FAILED,
    (TaskState.RUNNING, "complete"): TaskState.DONE,
    (TaskState.RUNNING, "fail"): TaskState.FAILED,
    (TaskState.FAILED, "assign"): TaskState.ASSIGNED,
}
LIFECYCLE_EVENTS = ("assign", "start", "complete", "fail")
#: A legal path from CREATED to each state.
_PATH_TO = {
    TaskState.CREATED: [],
    TaskState.ASSIGNED: ["assign"],
    TaskState.RUNNING: ["assign", "start"],
    TaskState.DONE: ["assign", "start", "complete"],
    TaskState.FAILED: ["assign", "fail"],
}


def _apply(task: Any, event: str, worker: str) -> None:
    if event == "assign":
        task.assign(worker)
    elif event == "fail":
        task.fail("boom")
    else:
        getattr(task, event)()


def lifecycle_scenario(seed: int = 0) -> "LifecycleScenario":
    """Every (state, event) pair of the lifecycle table, then seeded random event walks."""
    return LifecycleScenario(seed)


class LifecycleScenario(_Scenario):
    def __init__(self, seed: int = 0) -> None:
        super().__init__("lifecycle", seed, "course.checks.day1.lifecycle_scenario(seed={seed}).run({target})")

    def run(self, lifecycle_cls: Any) -> CheckResult:
        return self._guard(lambda: self._check(lifecycle_cls), getattr(lifecycle_cls, "__name__", "TaskLifecycle"))

    def _check(self, cls: Any) -> str:
        rng = _rng("lifecycle", self.seed)
        task_id = f"t{rng.randrange(1000)}"
        # 1. the whole table, from a fresh task driven to each state by a legal path
        for state, path in _PATH_TO.items():
            for event in LIFECYCLE_EVENTS:
                task = cls(task_id, max_attempts=3)
                for step in path:
                    _apply(task, step, "w1")
                if _state(task) != state:
                    raise _Fail(f"after events {path} the state is {_state(task)!r}, expected {state.value!r}")
                history_before = list(task.history)
                expected = LIFECYCLE_TABLE.get((state, event))
                try:
                    _apply(task, event, "w2")
                except IllegalTransition:
                    if expected is not None:
                        raise _Fail(f"{event!r} from {state.value!r} must go to {expected.value!r}, but raised IllegalTransition") from None
                    if _state(task) != state or list(task.history) != history_before:
                        raise _Fail(f"an illegal {event!r} from {state.value!r} changed the task (state or history)") from None
                    continue
                if expected is None:
                    raise _Fail(f"{event!r} from {state.value!r} is illegal and must raise IllegalTransition, but it was accepted")
                if _state(task) != expected:
                    raise _Fail(f"{event!r} from {state.value!r} must go to {expected.value!r}, got {_state(task)!r}")
        # 2. attempts run out: max_attempts assignments, then a reassign from FAILED is illegal
        max_attempts = rng.randint(1, 4)
        task = cls(task_id, max_attempts=max_attempts)
        for attempt in range(1, max_attempts + 1):
            _apply(task, "assign", f"w{attempt}")
            if task.attempts != attempt or task.worker != f"w{attempt}":
                raise _Fail(f"after assignment #{attempt} to 'w{attempt}' expected attempts={attempt}, worker='w{attempt}'; "
                            f"got attempts={task.attempts!r}, worker={task.worker!r}")
            _apply(task, "fail", "")
        try:
            _apply(task, "assign", "w-last")
        except IllegalTransition:
            pass
        else:
            raise _Fail(f"with max_attempts={max_attempts}, assignment #{max_attempts + 1} after a failure must raise IllegalTransition")
        # 3. seeded random walks compared with the table (history and attempts included)
        for walk in range(5):
            limit = rng.randint(1, 4)
            task = cls(task_id, max_attempts=limit)
            state, attempts, history = TaskState.CREATED, 0, []
            for _ in range(25):
                event = rng.choice(LIFECYCLE_EVENTS)
                nxt = LIFECYCLE_TABLE.get((state, event))
                if event == "assign" and state is TaskState.FAILED and attempts >= limit:
                    nxt = None
                try:
                    _apply(task, event, f"w{rng.randrange(3)}")
                    accepted = True
                except IllegalTransition:
                    accepted = False
                if accepted != (nxt is not None):
                    raise _Fail(f"walk {walk} (max_attempts={limit}): after history {_fmt_history(history)}, "
                                f"{event!r} from {state.value!r} should be {'legal' if nxt else 'illegal'}")
                if nxt is not None:
                    history.append((state, event, nxt))
                    attempts += event == "assign"
                    state = nxt
                if _state(task) != state or task.attempts != attempts:
                    raise _Fail(f"walk {walk}: after {_fmt_history(history)} expected state {state.value!r} and "
                                f"attempts={attempts}, got {_state(task)!r} and attempts={task.attempts!r}")
            got = [(_value(a), e, _value(b)) for a, e, b in task.history]
            want = [(a.value, e, b.value) for a, e, b in history]
            if got != want:
                raise _Fail(f"walk {walk}: history should be {want}, got {got}")
        return "transition table, attempt limit and 5 random walks all match"


def _value(state: Any) -> Any:
    return state.value if isinstance(state, TaskState) else state


def _state(task: Any) -> str:
    return _value(task.state)


def _fmt_history(history: list[tuple[TaskState, str, TaskState]]) -> str:
    return "[" + ", ".join(e for _, e, _ in history) + "]"


def grade_lifecycle(lifecycle_cls: Any, seed: int = 0) -> CheckResult:
    return lifecycle_scenario(seed).run(lifecycle_cls).assert_ok()


# -- Q3: splitting a task ------------------------------------------------------------------------

def _documents(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 6))) for _ in range(n)]


def expected_sizes(n_items: int, max_per_subtask: int) -> list[int]:
    """Chunk sizes the question specifies: fewest chunks, balanced, larger ones first."""
    if n_items == 0:
        return []
    k = math.ceil(n_items / max_per_subtask)
    base, extra = divmod(n_items, k)
    return [base + 1] * extra + [base] * (k - extra)


def split_scenario(seed: int = 0) -> "SplitScenario":
    """Seeded batches (empty ones included) split with several chunk limits."""
    return SplitScenario(seed)


class SplitScenario(_Scenario):
    def __init__(self, seed: int = 0) -> None:
        super().__init__("split", seed, "course.checks.day1.split_scenario(seed={seed}).run({target})")

    def run(self, split_task: Callable[..., Any]) -> CheckResult:
        return self._guard(lambda: self._check(split_task), getattr(split_task, "__name__", "split_task"))

    def _check(self, split_task: Callable[..., Any]) -> str:
        rng = _rng("split", self.seed)
        for bad in (0, -rng.randint(1, 5)):
            try:
                split_task("t", ["a"], bad)
            except ValueError:
                pass
            else:
                raise _Fail(f"max_per_subtask={bad} must raise ValueError")
        cases = [(0, rng.randint(1, 5))] + [(rng.randint(1, 40), rng.randint(1, 7)) for _ in range(12)]
        for n, limit in cases:
            task_id = f"task-{rng.randrange(1000)}"
            items = _documents(rng, n)
            original = list(items)
            got = split_task(task_id, items, limit)
            call = f"split_task({task_id!r}, <{n} items>, {limit})"
            if items != original:
                raise _Fail(f"{call} modified the items list it was given")
            if not isinstance(got, list) or not all(isinstance(s, Subtask) for s in got):
                raise _Fail(f"{call} must return a list of Subtask, got {type(got).__name__}")
            sizes = [len(s.items) for s in got]
            want = expected_sizes(n, limit)
            if sizes != want:
                raise _Fail(f"{call} gave chunk sizes {sizes}, expected {want} (fewest chunks, sizes differ by at most 1, larger first)")
            if [i for s in got for i in s.items] != original:
                raise _Fail(f"{call}: the chunks joined together are not the items in their original order")
            if [s.index for s in got] != list(range(len(got))) or any(s.task_id != task_id for s in got):
                raise _Fail(f"{call}: subtasks must carry task_id={task_id!r} and indices 0..{len(got) - 1} in order")
            if any(not isinstance(s.items, tuple) for s in got):
                raise _Fail(f"{call}: Subtask.items must be a tuple")
            if split_task(task_id, list(original), limit) != got:
                raise _Fail(f"{call} gave a different answer the second time (must be deterministic)")
        return f"{len(cases)} batches split correctly; bad limits rejected"


def grade_split(split_task: Callable[..., Any], seed: int = 0) -> CheckResult:
    return split_scenario(seed).run(split_task).assert_ok()


# -- Q4: aggregating results ------------------------------------------------------------------------

def aggregate_scenario(seed: int = 0) -> "AggregateScenario":
    """Seeded result streams with duplicates, strays from other tasks, gaps and shuffles."""
    return AggregateScenario(seed)


class AggregateScenario(_Scenario):
    def __init__(self, seed: int = 0) -> None:
        super().__init__("aggregate", seed, "course.checks.day1.aggregate_scenario(seed={seed}).run({target})")

    def run(self, aggregate: Callable[..., Any]) -> CheckResult:
        return self._guard(lambda: self._check(aggregate), getattr(aggregate, "__name__", "aggregate"))

    def _check(self, aggregate: Callable[..., Any]) -> str:
        rng = _rng("aggregate", self.seed)
        for case in range(6):
            task_id = f"task-{rng.randrange(1000)}"
            n = rng.randint(0, 8) if case else 0
            per_index = {i: word_counts(_documents(rng, rng.randint(1, 4))) for i in range(n)}
            answered = sorted(rng.sample(range(n), rng.randint(0, n))) if case % 3 == 2 else list(range(n))
            results = [WorkResult(task_id, i, f"w{rng.randrange(3)}", per_index[i]) for i in answered]
            results += [WorkResult(task_id, i, "w9", per_index[i]) for i in rng.sample(answered, min(len(answered), 3))]
            results += [WorkResult("other-task", rng.randrange(max(n, 1)), "w1", {"stray": 5}),
                        WorkResult(task_id, n + rng.randrange(3), "w1", {"out-of-range": 7}),
                        WorkResult(task_id, -1, "w1", {"negative": 1})]
            want_counts: dict[str, int] = {}
            for i in answered:
                for word, c in per_index[i].items():
                    want_counts[word] = want_counts.get(word, 0) + c
            want_missing = tuple(i for i in range(n) if i not in answered)
            label = f"case {case}: {n} subtasks, answered {answered}, with duplicates and strays"
            first = None
            for attempt in range(4):
                shuffled = list(results)
                rng.shuffle(shuffled)
                if attempt == 3:
                    shuffled = shuffled + shuffled  # everything delivered twice
                got = aggregate(task_id, n, iter(shuffled))  # an iterator: it can be read only once
                self._compare(label, got, task_id, want_counts, tuple(answered), want_missing)
                if first is None:
                    first = got
                elif _aggregate_key(got) != _aggregate_key(first):
                    raise _Fail(f"{label}: a different delivery order gave a different aggregate")
        return "6 result streams aggregated correctly in 4 orders each, duplicates and strays ignored"

    @staticmethod
    def _compare(label: str, got: Any, task_id: str, counts: dict[str, int], done: tuple[int, ...],
                 missing: tuple[int, ...]) -> None:
        if getattr(got, "task_id", None) != task_id:
            raise _Fail(f"{label}: aggregate.task_id should be {task_id!r}, got {getattr(got, 'task_id', None)!r}")
        if dict(getattr(got, "counts", {}) or {}) != counts:
            raise _Fail(f"{label}: counts should be {counts}, got {dict(getattr(got, 'counts', {}) or {})}")
        if tuple(getattr(got, "done", ())) != done or tuple(getattr(got, "missing", ())) != missing:
            raise _Fail(f"{label}: expected done={done}, missing={missing}; got done={tuple(got.done)}, missing={tuple(got.missing)}")


def _aggregate_key(agg: Any) -> tuple[Any, ...]:
    return (agg.task_id, sorted(dict(agg.counts).items()), tuple(agg.done), tuple(agg.missing))


def grade_aggregate(aggregate: Callable[..., Any], seed: int = 0) -> CheckResult:
    return aggregate_scenario(seed).run(aggregate).assert_ok()


# -- Q5: the coordinator under faults --------------------------------------------------------------

class ProtocolViolation(Exception):
    """The coordinator sent something the workers cannot accept."""


@dataclass
class _Sent:
    t: float
    worker: str
    index: int
    id: str


@dataclass
class _Setup:
    task_id: str
    items: list[str]
    workers: list[str]
    faults: dict[str, str]
    max_per_subtask: int
    reply_timeout: float
    max_attempts: int


def _coordinator_setup(seed: int, faults: Mapping[str, str] | None) -> _Setup:
    rng = _rng("coordinator", seed)
    n_workers = rng.randint(2, 4)
    workers = [f"worker-{i + 1}" for i in range(n_workers)]
    max_attempts = 3
    if faults is None:
        # Recoverable by construction: fewer broken workers than attempts and than workers,
        # so a coordinator that follows the rules reaches a healthy worker for every subtask.
        # Every fifth seed is the exception where every worker has crashed.
        if seed % 5 == 4:
            faults = {w: "crash" for w in workers}
        else:
            n_broken = rng.randint(0, min(n_workers - 1, max_attempts - 1))
            broken = rng.sample(workers, n_broken)
            faults = {w: rng.choice(BREAKING_FAULTS) for w in broken}
            for w in workers:
                if w not in faults and rng.random() < 0.4:
                    faults[w] = "duplicate"
    unknown = {w: f for w, f in faults.items() if w not in workers or f not in FAULTS}
    if unknown:
        raise ValueError(f"faults must map one of {workers} to one of {FAULTS}, got {unknown}")
    broken = [w for w in workers if faults.get(w) in BREAKING_FAULTS]
    if len(broken) == len(workers) and any(faults.get(w) == "slow" for w in workers):
        # A late reply may or may not be accepted then, so the expected outcome is ambiguous.
        raise ValueError("when every worker is broken, none may be 'slow' (use crash, error or wrong-correlation)")
    return _Setup(task_id=f"batch-{rng.randrange(1000)}", items=_documents(rng, rng.randint(4, 16)), workers=workers,
                  faults=dict(sorted(faults.items())), max_per_subtask=rng.randint(2, 4),
                  reply_timeout=rng.choice([2.0, 5.0]), max_attempts=max_attempts)


def coordinator_scenario(seed: int = 0, faults: Mapping[str, str] | None = None) -> "CoordinatorScenario":
    """The learner's coordinator against emulated workers; ``faults`` maps worker -> fault kind."""
    return CoordinatorScenario(seed, faults)


class _Mailbox:
    """The coordinator's side of the emulated network: send to workers, receive their replies."""

    name = "coordinator"

    def __init__(self, run: "_CoordinatorRun") -> None:
        self._run = run
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def now(self) -> float:
        """Virtual seconds since the scenario started."""
        return asyncio.get_running_loop().time()

    async def send(self, message: Any) -> None:
        self._run.deliver(message)
        await asyncio.sleep(0)

    async def receive(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message for the coordinator, or None if none arrives within ``timeout`` s."""
        if timeout is None:
            return await self._inbox.get()
        if timeout <= 0:
            try:
                return self._inbox.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.sleep(0)
                return None
        try:
            return await asyncio.wait_for(self._inbox.get(), timeout)
        except asyncio.TimeoutError:
            return None


@dataclass
class _CoordinatorRun:
    setup: _Setup
    seed: int
    sent: list[_Sent] = field(default_factory=list)
    error_replies: dict[str, float] = field(default_factory=dict)  # assignment id -> when the error arrived
    violation: str | None = None
    mailbox: _Mailbox | None = None
    _replies: itertools.count = field(default_factory=itertools.count)

    def deliver(self, message: Any) -> None:
        try:
            self._deliver(message)
        except ProtocolViolation as exc:
            self.violation = self.violation or str(exc)
            raise

    def _deliver(self, message: Any) -> None:
        s = self.setup
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
        if msg["sender"] != "coordinator":
            raise ProtocolViolation(f"sender must be 'coordinator', got {msg['sender']!r}")
        if msg["recipient"] not in s.workers:
            raise ProtocolViolation(f"recipient {msg['recipient']!r} is not one of the workers {s.workers}")
        if not isinstance(msg["id"], str) or not msg["id"] or any(x.id == msg["id"] for x in self.sent):
            raise ProtocolViolation(f"message ids must be unique non-empty strings; {msg['id']!r} was reused or empty")
        payload = msg["payload"]
        if not isinstance(payload, dict) or payload.get("task_id") != s.task_id or not isinstance(payload.get("index"), int) \
                or not isinstance(payload.get("items"), list):
            raise ProtocolViolation(f"payload must be {{'task_id': {s.task_id!r}, 'index': int, 'items': list}}, got {payload}")
        loop = asyncio.get_running_loop()
        now = loop.time()
        worker = msg["recipient"]
        self.sent.append(_Sent(now, worker, payload["index"], msg["id"]))
        fault = s.faults.get(worker)
        if fault == "crash":
            return
        rng = _rng("latency", self.seed, worker, len(self.sent))
        delay = rng.uniform(*WORKER_LATENCY)
        body = {"task_id": s.task_id, "index": payload["index"]}
        if fault == "error":
            reply = self._reply(worker, msg["id"], "task.error", {**body, "error": "worker out of memory"}, now + delay)
            loop.call_later(delay, self._arrive_error, msg["id"], reply)
            return
        reply_body = {**body, "counts": word_counts(str(i) for i in payload["items"])}
        correlation = f"not-{msg['id']}" if fault == "wrong-correlation" else msg["id"]
        if fault == "slow":
            delay += s.reply_timeout * 1.5
        reply = self._reply(worker, correlation, "task.result", reply_body, now + delay)
        loop.call_later(delay, self._arrive, reply)
        if fault == "duplicate":
            loop.call_later(delay + 0.3, self._arrive, dict(reply, id=reply["id"] + "-dup"))

    def _reply(self, worker: str, correlation: str, kind: str, payload: dict[str, Any], at: float) -> dict[str, Any]:
        return {"id": f"{worker}-r{next(self._replies)}", "type": kind, "sender": worker, "recipient": "coordinator",
                "correlation_id": correlation, "causation_id": correlation, "sent_at": _iso(at), "schema_version": 1,
                "payload": payload}

    def _arrive(self, reply: dict[str, Any]) -> None:
        assert self.mailbox is not None
        self.mailbox._inbox.put_nowait(json.loads(json.dumps(reply)))  # a fresh copy: the wire carries JSON

    def _arrive_error(self, assignment_id: str, reply: dict[str, Any]) -> None:
        self.error_replies[assignment_id] = asyncio.get_running_loop().time()
        self._arrive(reply)


def _run_on_virtual_clock(make: Callable[[], Any], deadline: float, real_timeout: float) -> tuple[Any, float]:
    """Run ``make()`` (a coroutine) on a fresh virtual-time loop in its own thread.

    Its own thread because a Jupyter kernel already runs a loop on the main one. The loop is
    the runtime's, with autojump held: whenever every task waits, time jumps to the next timer.
    """
    from course.runtime.kernel.clock import Clock, RuntimeEventLoop

    outcome: dict[str, Any] = {}

    def body() -> None:
        clock = Clock(virtual=True)
        clock.hold()
        loop = RuntimeEventLoop(clock)
        try:
            asyncio.set_event_loop(loop)
            outcome["value"] = loop.run_until_complete(asyncio.wait_for(make(), deadline))
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            outcome["elapsed"] = loop.time()
            asyncio.set_event_loop(None)
            loop.close()

    thread = threading.Thread(target=body, name="day1-coordinator-scenario", daemon=True)
    thread.start()
    thread.join(real_timeout)
    if thread.is_alive():
        raise _Fail(f"still running after {real_timeout:.0f} s of real time: a loop that never awaits?")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], outcome["elapsed"]


class CoordinatorScenario(_Scenario):
    def __init__(self, seed: int = 0, faults: Mapping[str, str] | None = None) -> None:
        self.setup = _coordinator_setup(seed, faults)
        kinds = sorted(set(self.setup.faults.values()))
        super().__init__("coordinator/" + ("+".join(kinds) if kinds else "healthy"), seed,
                         "course.checks.day1.coordinator_scenario(seed={seed}" + (f", faults={dict(faults)!r}".replace("{", "{{").replace("}", "}}") if faults is not None else "")
                         + ").run({target})")

    def describe(self) -> str:
        s = self.setup
        return (f"{len(s.items)} items, max_per_subtask={s.max_per_subtask}, workers={s.workers}, "
                f"faults={s.faults or 'none'}, reply_timeout={s.reply_timeout}, max_attempts={s.max_attempts}")

    def run(self, coordinator: Callable[..., Any]) -> CheckResult:
        return self._guard(lambda: self._check(coordinator), getattr(coordinator, "__name__", "run_coordinator"))

    def _check(self, coordinator: Callable[..., Any]) -> str:
        s = self.setup
        run = _CoordinatorRun(s, self.seed)

        async def main() -> Any:
            run.mailbox = _Mailbox(run)
            return await coordinator(s.task_id, list(s.items), list(s.workers), run.mailbox,
                                     max_per_subtask=s.max_per_subtask, reply_timeout=s.reply_timeout,
                                     max_attempts=s.max_attempts)

        where = f"({self.describe()})"
        try:
            agg, elapsed = _run_on_virtual_clock(main, COORDINATOR_DEADLINE, COORDINATOR_REAL_TIMEOUT)
        except (asyncio.TimeoutError, TimeoutError):
            raise _Fail(f"did not return within {COORDINATOR_DEADLINE:.0f} virtual seconds: is it waiting for a reply "
                        f"that will never come? {where}") from None
        except ProtocolViolation as exc:
            raise _Fail(f"protocol violation: {exc} {where}") from None
        if run.violation:
            raise _Fail(f"protocol violation: {run.violation} {where}")
        self._check_assignments(run, where)
        n_subtasks = len(expected_sizes(len(s.items), s.max_per_subtask))
        all_down = all(s.faults.get(w) in BREAKING_FAULTS for w in s.workers)
        want_missing = tuple(range(n_subtasks)) if all_down else ()
        want_counts = {} if all_down else word_counts(s.items)
        got_counts = dict(getattr(agg, "counts", {}) or {})
        if got_counts != want_counts:
            diff = {w: (got_counts.get(w, 0), want_counts.get(w, 0)) for w in sorted(set(got_counts) | set(want_counts))
                    if got_counts.get(w, 0) != want_counts.get(w, 0)}
            raise _Fail(f"word counts are wrong (word: (got, expected)) {diff}: a duplicate or stray reply counted, "
                        f"or a subtask lost? {where}")
        if tuple(getattr(agg, "missing", ("?",))) != want_missing:
            raise _Fail(f"aggregate.missing should be {want_missing}, got {getattr(agg, 'missing', None)!r} {where}")
        budget = s.max_attempts * s.reply_timeout + 2 * WORKER_LATENCY[1]
        if elapsed > budget + EPS:
            raise _Fail(f"took {elapsed:.2f} virtual s; with parallel assignments and {s.reply_timeout} s timeouts it "
                        f"should finish within {budget:.2f} s {where}")
        return f"returned the right aggregate after {elapsed:.2f} virtual s with {len(run.sent)} assignments {where}"

    def _check_assignments(self, run: _CoordinatorRun, where: str) -> None:
        s = self.setup
        by_index: dict[int, list[_Sent]] = {}
        for sent in run.sent:
            by_index.setdefault(sent.index, []).append(sent)
        n_subtasks = len(expected_sizes(len(s.items), s.max_per_subtask))
        if sorted(by_index) != list(range(n_subtasks)):
            raise _Fail(f"expected assignments for subtasks 0..{n_subtasks - 1}, got {sorted(by_index)} {where}")
        for index, sends in sorted(by_index.items()):
            first = sends[0]
            want_worker = s.workers[index % len(s.workers)]
            if first.t > EPS or first.worker != want_worker:
                raise _Fail(f"subtask {index} must first go to {want_worker} at t=0 (all at once, round-robin); "
                            f"it went to {first.worker} at t={first.t:.2f} {where}")
            if len(sends) > s.max_attempts:
                raise _Fail(f"subtask {index} was assigned {len(sends)} times; max_attempts is {s.max_attempts} {where}")
            failed: list[str] = []
            for prev, nxt in zip(sends, sends[1:]):
                errored = run.error_replies.get(prev.id)
                timed_out = nxt.t - prev.t >= s.reply_timeout - EPS
                if not timed_out and (errored is None or errored > nxt.t + EPS):
                    raise _Fail(f"subtask {index} was reassigned {nxt.t - prev.t:.2f} s after its last assignment, "
                                f"before an error reply or the {s.reply_timeout} s timeout {where}")
                failed.append(prev.worker)
                if nxt.worker in failed:
                    raise _Fail(f"subtask {index} was reassigned to {nxt.worker}, which already failed it {where}")


def grade_coordinator(coordinator: Callable[..., Any], seed: int = 0, faults: Mapping[str, str] | None = None) -> CheckResult:
    return coordinator_scenario(seed, faults).run(coordinator).assert_ok()


__all__ = [
    "AggregateScenario", "CoordinatorScenario", "EnvelopeScenario", "LifecycleScenario", "SplitScenario",
    "aggregate_scenario", "coordinator_scenario", "envelope_scenario", "lifecycle_scenario", "split_scenario",
    "grade_aggregate", "grade_coordinator", "grade_envelope", "grade_lifecycle", "grade_split",
    "expected_sizes", "ProtocolViolation",
]
# Re-exported so notebooks can import everything Day 1 needs from one place.
from course.checks.day1_types import Aggregate, IllegalTransition, Subtask, TaskState, WorkResult, word_counts  # noqa: E402,F811

__all__ += ["Aggregate", "IllegalTransition", "Subtask", "TaskState", "WorkResult", "word_counts"]
