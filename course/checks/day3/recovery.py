"""Question 3, the crash-safe agent: crashed at every point of its task, it loses nothing and does nothing twice.

The learner's ``TaskRunner`` Durable Object takes a task (``start``: a task id and its steps),
runs the steps from an ``alarm()``, calling the checks' tool once per step
(``env.TOOLS.getByName("tools").run(key, task_id, step, payload)``), and reports with
``status(task_id)``. The tool has side effects: a request with a key it has seen is replayed
(same answer, no second effect), a new key executes the step again.

The search (:mod:`.emulate`): one run without faults numbers every operation of the task (the
agent's storage calls, and each tool call twice: the request arriving, the effect applied);
then one run per operation ``k`` crashes the agent right after it, and one run per ``k``
evicts it there. After each run the clock moves :data:`SETTLE` seconds (alarms retry on it)
and the checks ask for the status. Every run must end with the task done, its results in step
order, and each step executed by the tool exactly once. A crash during ``start`` fails the
caller's call; the caller retries it once, a second later (that is all it does).

Fault kinds (:data:`FAULTS`): ``none``; ``crash`` and ``evict`` (every operation in turn);
``duplicate`` (``start`` delivered twice).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day3.emulate import ObjectRaised, OpCounter, call, emulated, instrumented, move_to, follow_platform
from course.checks.day3.types import tool_result
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream
from course.workers import DurableObject

#: The fault kinds; the visible test runs every one of them.
FAULTS = ("none", "crash", "evict", "duplicate")
#: The agent's binding and name, the tool's.
BINDING, AGENT, TOOLS = "AGENT", "runner", "tools"
#: Seconds the clock runs after the task was started (an alarm's six retries take 126 s).
SETTLE = 300.0
#: Seconds after a failed ``start`` when the caller retries it.
RETRY_AFTER = 1.0
#: Words the steps are made of.
WORDS = ("fetch", "prices", "summarise", "report", "notify", "owner", "check", "stock", "rank", "sources")


@dataclass(frozen=True)
class RecoveryCase(Case):
    """One task, and the fault: none, or a crash / eviction right after operation ``fault_at``."""

    seed: int
    kind: str
    task_id: str
    steps: tuple[str, ...]
    fault_at: int | None = None
    point: str = ""  # what operation ``fault_at`` is, in the run without faults

    def describe(self) -> str:
        task = f"task {self.task_id} with {len(self.steps)} step{'s' if len(self.steps) != 1 else ''} {list(self.steps)}"
        if self.kind in ("crash", "evict") and self.fault_at is not None:
            what = f" ({self.point})" if self.point else ""
            return f"{task}; {self.kind} the agent right after operation {self.fault_at}{what}"
        if self.kind == "duplicate":
            return f"{task}; start() delivered twice"
        return f"{task}; no fault"

    @property
    def expected(self) -> list[str]:
        return [tool_result(self.task_id, i, p) for i, p in enumerate(self.steps)]

    def check(self, runner_cls: Any, log: MessageLog) -> str:
        return _Run(self, runner_cls, log).go()[0]

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        if self.fault_at is None:
            return st.integers(1, len(self.steps)).map(lambda n: replace(self, steps=self.steps[:n]))
        return st.tuples(st.integers(1, len(self.steps)), st.integers(1, self.fault_at)).map(
            lambda t: replace(self, steps=self.steps[:t[0]], fault_at=t[1], point=""))


class _Run:
    def __init__(self, case: RecoveryCase, runner_cls: Any, log: MessageLog) -> None:
        self.case, self.log = case, log
        self.by_key: dict[str, str] = {}
        self.executions: list[tuple[int, str, float]] = []  # (step, key, time)
        world = self

        class Tools(DurableObject):
            async def run(self, key: Any, task_id: Any, step: Any, payload: Any) -> Any:
                return world.tool(str(key), str(task_id), step, str(payload))

        self.counter = OpCounter(None, BINDING, fault_at=case.fault_at, kind=case.kind,
                                 on_fault=lambda kind, what: self.log.record(
                                     self.rt.clock.now(), "platform", "agent", kind,
                                     f"right after {what}", "fault"))
        self.rt = emulated({BINDING: instrumented(runner_cls, self.counter), "TOOLS": Tools}, seed=case.seed)
        self.counter.rt = self.rt
        follow_platform(self.rt, log, {BINDING: "agent"})

    def tool(self, key: str, task_id: str, step: Any, payload: str) -> str:
        t, c = self.rt.clock.now(), self.counter
        detail = f"key={key!r} step={step}"
        if c.fenced:
            self.log.record(t, "agent", "tools", "tools.run", detail, "lost: sent by an instance that was reset")
            raise RuntimeError("the calling instance was reset")
        if c.hit(f"tools.run(step {step}) request arrives"):
            self.log.record(t, "agent", "tools", "tools.run", detail, "lost: the agent crashed")
            c.fire(AGENT)
            raise RuntimeError("the agent was reset")
        self.log.record(t, "agent", "tools", "tools.run", detail)
        if key in self.by_key:
            result = self.by_key[key]
            self.log.record(t, "tools", "agent", "tools.result", f"{result!r} (replayed: key seen before)")
        else:
            result = tool_result(task_id, int(step) if isinstance(step, (int, float)) else -1, payload)
            self.by_key[key] = result
            self.executions.append((int(step) if isinstance(step, (int, float)) else -1, key, t))
            self.log.record(t, "tools", "agent", "tools.result", f"{result!r} (executed)")
        if c.hit(f"tools.run(step {step}) effect applied"):
            c.fire(AGENT)
        return result

    def start(self, note: str = "") -> bool:
        task = {"task_id": self.case.task_id, "steps": list(self.case.steps)}
        t = self.rt.clock.now()
        self.log.record(t, "client", "agent", "start", f"{self.case.task_id} steps={len(self.case.steps)}", note)
        try:
            call(self.rt, lambda: self.rt.env[BINDING].getByName(AGENT).start(task),
                 on_reply=lambda reply: self.log.record(self.rt.clock.now(), "agent", "client", "start.reply",
                                                        repr(reply)[:60]))
        except ObjectRaised as exc:
            self.log.record(self.rt.clock.now(), "agent", "client", "start.error", str(exc)[:60])
            return False
        return True

    def go(self) -> tuple[str, OpCounter]:
        case, rt = self.case, self.rt
        try:
            if not self.start():
                move_to(rt, rt.clock.now() + RETRY_AFTER)
                if not self.start("retry"):
                    raise CaseFailed("start() failed twice in a row (only one fault was injected): "
                                     f"{self.log.messages[-1].detail}")
            if case.kind == "duplicate":
                move_to(rt, 0.5)
                self.start("duplicate delivery")
            move_to(rt, SETTLE)
            self.counter.active = False
            t = rt.clock.now()
            try:
                got = call(rt, lambda: rt.env[BINDING].getByName(AGENT).status(case.task_id))
            except ObjectRaised as exc:
                raise CaseFailed(f"at t={t:g}s status({case.task_id!r}) raised {exc}") from None
            self.log.record(t, "client", "agent", "status", case.task_id)
            self.log.record(t, "agent", "client", "status.reply", repr(got)[:80])
            self.verify(got, t)
            return "done, each step once", self.counter
        finally:
            rt.close()

    def verify(self, got: Any, t: float) -> None:
        case = self.case
        want = {"task_id": case.task_id, "status": "done", "results": case.expected}
        ran: dict[int, list[str]] = {}
        for step, key, _ in self.executions:
            ran.setdefault(step, []).append(key)
        twice = {s: keys for s, keys in ran.items() if len(keys) > 1}
        if twice:
            step, keys = min(twice.items())
            raise CaseFailed(f"step {step} was executed {len(keys)} times by the tool (keys {keys}): a tool with "
                             f"side effects (a payment, an e-mail) did it twice. Use one idempotency key per step, "
                             f"derived from the task and the step (never random, never per attempt), so a retry "
                             f"is replayed")
        if got != want:
            missing = [i for i in range(len(case.steps)) if i not in ran]
            why = (f"; step{'s' if len(missing) > 1 else ''} {missing} never reached the tool: the task was lost "
                   f"(keep it, and your progress, in storage; an alarm resumes it)" if missing else "")
            raise CaseFailed(f"at t={t:g}s, {SETTLE:g}s after start, status({case.task_id!r}) returned {got!r}, "
                             f"expected {want!r}{why}")
        firsts = [min(x[2] for x in self.executions if x[0] == i) for i in range(len(case.steps))]
        if firsts != sorted(firsts):
            raise CaseFailed(f"the steps ran out of order (first executions at {firsts}): step i+1 must start "
                             f"after step i's result is recorded")


def recovery_case(seed: int, kind: str, fault_at: int | None = None, point: str = "") -> RecoveryCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day3", "recovery", seed)
    steps = tuple(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(2, 3)))
    return RecoveryCase(seed, kind, f"task-{rng.randrange(100, 999)}", steps, fault_at, point)


def crash_points(runner_cls: Any, seed: int) -> list[str]:
    """Every operation of a run without faults, in order: the points the search crashes at."""
    case = recovery_case(seed, "none")
    run = _Run(case, runner_cls, MessageLog())
    try:
        run.go()
    except (CaseFailed, Exception):  # noqa: BLE001 - the run without faults reports its own failure
        pass
    return list(run.counter.ops)


class RecoveryScenario(Scenario):
    """The task without faults, then a crash and an eviction right after every one of its operations."""

    default_target = "TaskRunner"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("crash-safe" if faults is None else f"crash-safe/{'+'.join(self.kinds)}", seed,
                         f"day3.crash_safe_scenario(seed={seed}{extra})")
        self._points: list[str] = []

    def run(self, target: Any) -> CheckResult:
        self._points = crash_points(target, self.seed) if {"crash", "evict"} & set(self.kinds) else []
        return super().run(target)

    def cases(self) -> Sequence[Case]:
        out: list[Case] = []
        for kind in self.kinds:
            if kind in ("crash", "evict"):
                out += [recovery_case(self.seed, kind, k, p) for k, p in enumerate(self._points, 1)]
            else:
                out.append(recovery_case(self.seed, kind))
        return out

    def summary(self, cases: Sequence[Case], last: str) -> str:
        n = len(self._points)
        searched = [f"{kind} right after each of the {n} operations" for kind in self.kinds if kind in ("crash", "evict")]
        return (f"{len(cases)} runs ({', '.join(searched) or 'no crash search'}; also {', '.join(k for k in self.kinds if k not in ('crash', 'evict'))}): "
                "every task done, every step executed once")


def crash_safe_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> RecoveryScenario:
    """The crash-safe agent, crashed and evicted right after every operation of its task in turn."""
    return RecoveryScenario(seed, faults)


def grade_crash_safe(runner_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return crash_safe_scenario(seed, faults).run(runner_cls).assert_ok()


__all__ = ["FAULTS", "RecoveryCase", "RecoveryScenario", "crash_points", "crash_safe_scenario", "grade_crash_safe",
           "recovery_case"]
