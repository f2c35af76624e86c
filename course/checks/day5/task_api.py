"""Question 1, the agent card and task API: a conformance client walks every route, state and error.

The learner's ``TaskAgent`` is a Durable Object whose ``fetch`` is an agent's HTTP API in the
style of A2A (:mod:`course.protocol.agent_api`): its card at the well-known path, ``POST
/tasks`` (202 and a ``Location``), ``GET /tasks/{id}`` (submitted, working, then completed
:data:`~.types.WORK_SECONDS` later; ``input-required`` for empty input), ``POST
/tasks/{id}/cancel`` (canceled, or 409 once terminal), and every error as RFC 9457 problem
details with the right status (400, 404, 405 with ``Allow``, 409, 422).

Fault kinds (:data:`FAULTS`): ``routes`` (the card, tasks polled through their states),
``errors`` (broken and wrong requests), ``cancel`` (cancels before and after the end), ``evict``
(the agent's memory is lost between requests; its storage is not).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from pydantic import ValidationError

from course.checks.day5.emulate import AGENT_URL, AgentUnderTest, body_of, expect_problem, short
from course.checks.day5.types import SKILLS, WORK_SECONDS, run_skill
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream
from course.protocol.agent_api import TERMINAL_STATES, WELL_KNOWN_AGENT_CARD, A2AAgentCard, A2ATask, A2ATaskState

#: The fault kinds of the task-API scenarios; the visible test runs every one of them.
FAULTS = ("routes", "errors", "cancel", "evict")
TEXTS = ("the quick brown fox", "agents talk over http", "one two three four five", "retry with jitter please")


@dataclass(frozen=True)
class Step:
    t: float
    op: str
    arg: Any = None

    def describe(self) -> str:
        return f"{self.t:g}s {self.op}" + (f"({self.arg!r})" if self.arg is not None else "")


@dataclass
class _Task:
    id: str
    skill: str
    text: str
    created: float
    canceled: bool = False

    def state(self, now: float) -> A2ATaskState:
        if self.canceled:
            return A2ATaskState.CANCELED
        if not self.text:
            return A2ATaskState.INPUT_REQUIRED
        return A2ATaskState.WORKING if now < self.created + WORK_SECONDS else A2ATaskState.COMPLETED


@dataclass(frozen=True)
class TaskApiCase(Case):
    seed: int
    kind: str
    steps: tuple[Step, ...]

    def describe(self) -> str:
        return f"{len(self.steps)} requests: " + ", ".join(s.describe() for s in self.steps)

    def check(self, agent_cls: Any, log: MessageLog) -> str:
        with AgentUnderTest(agent_cls, seed=self.seed, log=log) as agent:
            tasks: list[_Task] = []
            for step in self.steps:
                agent.move_to(step.t)
                _STEPS[step.op](agent, tasks, step.arg)
        return f"{len(self.steps)} requests answered as the protocol says"


def _card(agent: AgentUnderTest, tasks: list[_Task], arg: Any) -> None:
    r = agent.call("GET", WELL_KNOWN_AGENT_CARD)
    what = f"GET {WELL_KNOWN_AGENT_CARD}"
    if r.status_code != 200:
        raise CaseFailed(f"{what} answered {r.status_code}, expected 200 with the agent card")
    try:
        card = A2AAgentCard.model_validate(body_of(r, what))
    except ValidationError as exc:
        raise CaseFailed(f"{what}: the card is not a valid A2AAgentCard: {exc.errors()[0]['loc']}: "
                         f"{exc.errors()[0]['msg']}") from None
    if sorted(card.skill_ids()) != sorted(SKILLS) or card.url != AGENT_URL:
        raise CaseFailed(f"{what}: the card offers skills {card.skill_ids()} at {card.url!r}, expected "
                         f"{list(SKILLS)} at {AGENT_URL!r}")


def _submit(agent: AgentUnderTest, tasks: list[_Task], arg: Any) -> None:
    skill, text = arg
    what = f"POST /tasks {{'skill': {skill!r}, 'input': {text!r}}}"
    r = agent.call("POST", "/tasks", body={"skill": skill, "input": text})
    if r.status_code != 202:
        raise CaseFailed(f"{what} answered {r.status_code}, expected 202 Accepted (the work goes on after the answer)")
    task = _task(r, what)
    want = A2ATaskState.INPUT_REQUIRED if not text else A2ATaskState.SUBMITTED
    if task.state != want or task.skill != skill:
        raise CaseFailed(f"{what} returned a task in state {task.state.value!r} for skill {task.skill!r}, expected "
                         f"{want.value!r} for {skill!r}")
    if any(t.id == task.id for t in tasks):
        raise CaseFailed(f"{what} returned the id {task.id!r} of an earlier task: each task needs its own id")
    if r.headers.get("location") != f"/tasks/{task.id}":
        raise CaseFailed(f"{what}: the Location header is {r.headers.get('location')!r}, expected "
                         f"'/tasks/{task.id}' (where to poll the task)")
    tasks.append(_Task(task.id, skill, text, agent.now()))


def _task(r: Any, what: str) -> A2ATask:
    try:
        return A2ATask.model_validate(body_of(r, what))
    except ValidationError as exc:
        raise CaseFailed(f"{what}: the body {short(r.text, 80)} is not an A2ATask: "
                         f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None


def _get(agent: AgentUnderTest, tasks: list[_Task], arg: Any) -> None:
    model = tasks[arg]
    what = f"GET /tasks/{model.id} ({agent.now() - model.created:g}s after it was submitted)"
    r = agent.call("GET", f"/tasks/{model.id}")
    if r.status_code != 200:
        raise CaseFailed(f"{what} answered {r.status_code}, expected 200")
    task, want = _task(r, what), model.state(agent.now())
    if task.state != want:
        why = {A2ATaskState.WORKING: f"it completes {WORK_SECONDS:g}s after it was submitted",
               A2ATaskState.COMPLETED: f"it completed {WORK_SECONDS:g}s after it was submitted",
               A2ATaskState.CANCELED: "it was canceled, and a terminal state never changes",
               A2ATaskState.INPUT_REQUIRED: "its input is empty"}[want]
        raise CaseFailed(f"{what} says {task.state.value!r}, expected {want.value!r}: {why}")
    if want == A2ATaskState.COMPLETED and task.result != run_skill(model.skill, model.text):
        raise CaseFailed(f"{what}: result {task.result!r}, expected {run_skill(model.skill, model.text)!r}")


def _cancel(agent: AgentUnderTest, tasks: list[_Task], arg: Any) -> None:
    model = tasks[arg]
    state = model.state(agent.now())
    what = f"POST /tasks/{model.id}/cancel (the task is {state.value})"
    r = agent.call("POST", f"/tasks/{model.id}/cancel")
    if state in TERMINAL_STATES:
        expect_problem(r, 409, what + ": a terminal task cannot be canceled")
        return
    if r.status_code != 200:
        raise CaseFailed(f"{what} answered {r.status_code}, expected 200 and the canceled task")
    if _task(r, what).state != A2ATaskState.CANCELED:
        raise CaseFailed(f"{what} returned state {_task(r, what).state.value!r}, expected 'canceled'")
    model.canceled = True


def _error(agent: AgentUnderTest, tasks: list[_Task], arg: Any) -> None:
    if arg == "bad_json":
        expect_problem(agent.call("POST", "/tasks", raw="{'skill': reverse"), 400, "POST /tasks with a body that is "
                       "not JSON")
    elif arg == "missing_input":
        expect_problem(agent.call("POST", "/tasks", body={"skill": "reverse"}), 400, "POST /tasks without 'input'")
    elif arg == "unknown_skill":
        expect_problem(agent.call("POST", "/tasks", body={"skill": "translate", "input": "hola"}), 422,
                       "POST /tasks for the skill 'translate' (not on the card)")
    elif arg == "unknown_task":
        expect_problem(agent.call("GET", "/tasks/t-does-not-exist"), 404, "GET /tasks/t-does-not-exist")
    elif arg == "unknown_path":
        expect_problem(agent.call("GET", "/agents/42"), 404, "GET /agents/42 (no such route)")
    elif arg == "wrong_method":
        r = agent.call("DELETE", "/tasks")
        expect_problem(r, 405, "DELETE /tasks")
        if "POST" not in r.headers.get("allow", ""):
            raise CaseFailed(f"DELETE /tasks answered 405 with Allow {r.headers.get('allow')!r}: a 405 must list "
                             "the allowed methods in an Allow header (here: POST)")
    elif arg == "cancel_unknown":
        expect_problem(agent.call("POST", "/tasks/t-does-not-exist/cancel"), 404,
                       "POST /tasks/t-does-not-exist/cancel")


def _evict(agent: AgentUnderTest, tasks: list[_Task], arg: Any) -> None:
    agent.evict()


_STEPS = {"card": _card, "submit": _submit, "get": _get, "cancel": _cancel, "error": _error, "evict": _evict}
ERRORS = ("bad_json", "missing_input", "unknown_skill", "unknown_task", "unknown_path", "wrong_method",
          "cancel_unknown")


def task_api_case(seed: int, kind: str) -> TaskApiCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day5", "task_api", seed, kind)
    t = 0.5
    steps: list[Step] = []

    def add(op: str, arg: Any = None, gap: float = 1.0) -> None:
        nonlocal t
        steps.append(Step(round(t, 3), op, arg))
        t += gap

    def submit() -> None:
        add("submit", (rng.choice(SKILLS), rng.choice(TEXTS)))

    if kind == "routes":
        add("card")
        submit()
        submit()
        add("get", 0)
        add("get", 1, gap=WORK_SECONDS + 1)
        add("get", 0)
        add("get", 1)
        add("submit", (rng.choice(SKILLS), ""))
        add("get", 2, gap=WORK_SECONDS + 1)
        add("get", 2)
    elif kind == "errors":
        errors = list(ERRORS)
        rng.shuffle(errors)
        submit()
        for name in errors:
            add("error", name)
    elif kind == "cancel":
        submit()
        submit()
        add("cancel", 0)
        add("get", 0, gap=WORK_SECONDS + 1)
        add("get", 1)
        add("cancel", 1)
        add("cancel", 0)
        add("submit", (rng.choice(SKILLS), ""))
        add("cancel", 2)
        add("get", 2)
    else:  # evict
        submit()
        add("evict")
        add("get", 0, gap=WORK_SECONDS + 1)
        submit()
        add("cancel", 1)
        add("evict")
        add("get", 0, gap=WORK_SECONDS + 1)
        add("get", 1)
        add("card")
    return TaskApiCase(seed, kind, tuple(steps))


class TaskApiScenario(Scenario):
    default_target = "TaskAgent"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("task_api" if faults is None else f"task_api/{'+'.join(self.kinds)}", seed,
                         f"day5.task_api_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [task_api_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"the card, every route, state and error conform under {list(self.kinds)}"


def task_api_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> TaskApiScenario:
    """A conformance client against the agent's card and task API: routes, states, errors, evictions."""
    return TaskApiScenario(seed, faults)


def grade_task_api(agent_cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return task_api_scenario(seed, faults).run(agent_cls).assert_ok()


__all__ = ["FAULTS", "TaskApiCase", "TaskApiScenario", "grade_task_api", "task_api_case", "task_api_scenario"]
