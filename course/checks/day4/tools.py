"""Question 3, the tool-use loop: an allowlist, validated arguments, a step limit.

The learner's ``run_tool_loop(ai, question, tools, max_steps=MAX_STEPS)`` asks the model (with
the tools' specs), runs the tool it calls, sends the result back, and repeats until the model
answers in text or ``max_steps`` model calls were made. The checker's tools act on a small
support desk and record every run; the model is scripted step by step, and some steps are
damaged. The checks:

- a tool runs only when the model named an offered tool with arguments that validate against
  its pydantic model, and then exactly once, with the validated arguments: the runs are exactly
  the scripted good calls, in order;
- the model sees what happened: after a run, the next request holds a ``tool`` message whose
  content is ``as_json(result)``; after a refused call, one whose content starts with ``error``;
- the text answer is returned as ``LoopResult(answer, "answer", steps)``; a model that never
  stops gets ``LoopResult(None, "step_limit", max_steps)`` after exactly ``max_steps`` calls;
- every request offers the same tools (their ``spec()``), nothing more.

Fault kinds (:data:`FAULTS`): ``hallucinated_tool`` (the emulator renames the call to a tool
nobody offered), ``malformed`` (the emulator breaks the arguments' JSON), ``invalid_args``
(JSON that does not validate: a negative amount, a missing id), ``loop`` (the model calls a
tool forever).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from pydantic import BaseModel, Field

from course.checks.day4.model import ScriptedAi, emulated_ai, fewer, run_learner, short
from course.checks.day4.types import MAX_STEPS, LoopResult, Tool, as_json
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream
from course.runtime.bindings.ai import tool_call

#: The fault kinds of the tool-loop scenarios; the visible test runs every one of them.
FAULTS = ("hallucinated_tool", "malformed", "invalid_args", "loop")
#: The step limit the ``loop`` asks pass (below the default, so a hard-coded limit shows).
LOOP_LIMIT = 4


class OrderArgs(BaseModel):
    order_id: str = Field(pattern=r"^[A-Z]-\d{2,4}$", description="An order id such as A-17")


class RefundArgs(BaseModel):
    order_id: str = Field(pattern=r"^[A-Z]-\d{2,4}$", description="The order to refund")
    amount: float = Field(gt=0, le=1000, description="EUR to refund")


class StatusArgs(BaseModel):
    service: Literal["api", "dashboard", "dns"] = Field(description="Which service")


ORDERS = {"A-17": 120.0, "B-204": 49.5, "C-31": 310.0, "D-88": 15.0}


class Desk:
    """The checker's tools, recording every run."""

    def __init__(self, log: MessageLog | None = None, rt: Any = None) -> None:
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.log, self.rt = log, rt

    def _ran(self, name: str, args: dict[str, Any]) -> None:
        self.runs.append((name, args))
        if self.log is not None:
            self.log.record(self.rt.clock.now(), "agent", name, "tool.run", short(json.dumps(args), 60))

    def tools(self) -> list[Tool]:
        def lookup_order(order_id: str) -> dict[str, Any]:
            self._ran("lookup_order", {"order_id": order_id})
            return {"order_id": order_id, "total": ORDERS.get(order_id, 0.0), "status": "delivered"}

        def refund(order_id: str, amount: float) -> dict[str, Any]:
            self._ran("refund", {"order_id": order_id, "amount": amount})
            return {"refunded": amount, "order_id": order_id}

        def check_status(service: str) -> dict[str, Any]:
            self._ran("check_status", {"service": service})
            return {"service": service, "status": "operational"}

        return [Tool("lookup_order", "Look up an order by id", OrderArgs, lookup_order),
                Tool("refund", "Refund part of an order", RefundArgs, refund),
                Tool("check_status", "Check whether a service is up", StatusArgs, check_status)]


@dataclass(frozen=True)
class Ask:
    question: str
    steps: tuple[tuple[str, str, Any], ...]  # (fault or "", tool name, args) per model call
    answer: str
    max_steps: int | None = None  # None: the learner's default

    @property
    def good_calls(self) -> list[tuple[str, dict[str, Any]]]:
        return [(name, args) for fault, name, args in self.steps if not fault]

    def describe(self) -> str:
        steps = ", ".join(f"{name}{'!' + fault if fault else ''}" for fault, name, _ in self.steps)
        limit = f", max_steps={self.max_steps}" if self.max_steps else ""
        return f"{short(self.question, 40)!r}: [{steps}]{' then an answer' if self.answer else ' forever'}{limit}"


def _responder(ask: Ask) -> Any:
    def reply(inputs: dict[str, Any], n: int) -> Any:
        if not ask.answer:  # the model that never stops
            return tool_call("check_status", service="api")
        if n < len(ask.steps):
            fault, name, args = ask.steps[n]
            return tool_call(name, **args)
        return ask.answer
    return reply


def _tool_messages(inputs: dict[str, Any]) -> list[str]:
    return [str(m.get("content")) for m in inputs.get("messages") or [] if isinstance(m, dict) and m.get("role") == "tool"]


@dataclass(frozen=True)
class ToolCase(Case):
    seed: int
    kind: str
    asks: tuple[Ask, ...]

    def describe(self) -> str:
        return f"{len(self.asks)} question{'s' if len(self.asks) != 1 else ''}: " + "; ".join(a.describe() for a in self.asks)

    def smaller(self) -> Any:
        return fewer(self, "asks")

    def check(self, run_tool_loop: Any, log: MessageLog) -> str:
        for ask in self.asks:
            self._one(run_tool_loop, ask, log)
        return f"{len(self.asks)} tool loops ran only valid calls"

    def _one(self, run_tool_loop: Any, ask: Ask, log: MessageLog) -> None:
        faults = [f if f in ("hallucinated_tool", "malformed") else None for f, _, _ in ask.steps]
        rt = emulated_ai(self.seed)
        desk = Desk(log, rt)
        tools = desk.tools()
        try:
            ai = ScriptedAi(rt, log, _responder(ask), faults=faults)
            kwargs = {"max_steps": ask.max_steps} if ask.max_steps else {}
            call = f"run_tool_loop(ai, {short(ask.question, 40)!r}, tools{', max_steps=%d' % ask.max_steps if ask.max_steps else ''})"
            got = run_learner(rt, lambda: run_tool_loop(ai, ask.question, tools, **kwargs))
            requests = ai.requests
        finally:
            rt.close()
        specs = [t.spec() for t in tools]
        for i, (_, inputs) in enumerate(requests):
            if inputs.get("tools") != specs:
                raise CaseFailed(f"{call}: call {i + 1} did not offer the tools as [t.spec() for t in tools]")
        if not ask.answer:
            limit = ask.max_steps or MAX_STEPS
            if len(requests) != limit:
                raise CaseFailed(f"{call}: the model never stops calling tools; the loop must stop after exactly "
                                 f"max_steps={limit} model calls, it made {len(requests)}")
            if got != LoopResult(None, "step_limit", limit):
                raise CaseFailed(f"{call} returned {got!r}, expected LoopResult(answer=None, stopped='step_limit', "
                                 f"steps={limit})")
            return
        expected = ask.good_calls
        if desk.runs != expected:
            bad = [r for r in desk.runs if r not in expected]
            why = (f"it ran {bad[0][0]}({bad[0][1]}) which the model never validly asked for" if bad else
                   "a valid call was not run exactly once, in order")
            raise CaseFailed(f"{call} ran the tools {desk.runs}, expected exactly {expected}: {why}")
        for i, (fault, name, args) in enumerate(ask.steps):
            if i + 1 >= len(requests):
                raise CaseFailed(f"{call} stopped after {len(requests)} model calls, before the model answered")
            before, after = _tool_messages(requests[i][1]), _tool_messages(requests[i + 1][1])
            new = after[len(before):] if after[: len(before)] == before else after
            if fault and not any(m.strip().lower().startswith("error") for m in new):
                raise CaseFailed(f"{call}: after refusing the {fault.replace('_', ' ')} call of step {i + 1}, the next "
                                 "request must carry a 'tool' message starting with 'error' (the model must learn why)")
            if not fault:
                result = [r for n, r in _results(tools, name, args)]
                if result and not any(m == as_json(result[0]) for m in new):
                    raise CaseFailed(f"{call}: after running {name} at step {i + 1}, the next request must carry a "
                                     f"'tool' message with as_json(result) = {as_json(result[0])!r}")
        if got != LoopResult(ask.answer, "answer", len(ask.steps) + 1):
            raise CaseFailed(f"{call} returned {short(repr(got), 90)}, expected "
                             f"LoopResult(answer={ask.answer!r}, stopped='answer', steps={len(ask.steps) + 1})")


def _results(tools: list[Tool], name: str, args: dict[str, Any]) -> list[tuple[str, Any]]:
    # What the tool returns for these arguments, from a fresh desk (so the real one records nothing).
    fresh = {t.name: t for t in Desk().tools()}
    return [(name, fresh[name].fn(**args))] if name in fresh else []


GOOD = (("lookup_order", {"order_id": "A-17"}), ("lookup_order", {"order_id": "C-31"}),
        ("refund", {"order_id": "B-204", "amount": 20.0}), ("check_status", {"service": "dns"}),
        ("refund", {"order_id": "D-88", "amount": 15.0}))
INVALID = (("refund", {"order_id": "B-204", "amount": -20.0}), ("lookup_order", {"order_id": "order seventeen"}),
           ("refund", {"order_id": "C-31"}), ("check_status", {"service": "email"}))
QUESTIONS = ("Was order A-17 delivered, and can you refund part of B-204?", "Is DNS down again?",
             "Refund the 15 EUR of D-88 please.", "What did order C-31 cost?")


def _ask(rng: Any, kind: str) -> Ask:
    question = rng.choice(QUESTIONS)
    if kind == "loop":
        return Ask(question, (), "", LOOP_LIMIT)
    n = rng.randint(2, 3)
    calls = [rng.choice(GOOD) for _ in range(n)]
    bad_at = rng.randrange(n)
    steps: list[tuple[str, str, Any]] = []
    for i, (name, args) in enumerate(calls):
        if i == bad_at:
            if kind == "invalid_args":
                bad_name, bad_args = rng.choice(INVALID)
                steps.append((kind, bad_name, dict(bad_args)))
            else:
                steps.append((kind, name, dict(args)))
        steps.append(("", name, dict(args)))
    return Ask(question, tuple(steps), f"Done: {len(calls)} tool calls answered it.")


def tool_case(seed: int, kind: str) -> ToolCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day4", "tools", seed, kind)
    return ToolCase(seed, kind, tuple(_ask(rng, kind) for _ in range(1 if kind == "loop" else 2)))


class ToolScenario(Scenario):
    default_target = "run_tool_loop"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("tool-loop" if faults is None else f"tool-loop/{'+'.join(self.kinds)}", seed,
                         f"day4.tool_loop_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [tool_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"tool loops under {list(self.kinds)} ran only allowed, valid calls and stopped in time"


def tool_loop_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> ToolScenario:
    """Tool-use loops with invented tools, broken and invalid arguments, and a model that never stops."""
    return ToolScenario(seed, faults)


def grade_tool_loop(run_tool_loop: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return tool_loop_scenario(seed, faults).run(run_tool_loop).assert_ok()


__all__ = ["FAULTS", "LOOP_LIMIT", "ToolCase", "ToolScenario", "grade_tool_loop", "tool_case", "tool_loop_scenario"]
