"""Question 6's design check: a sound design passes, each broken one is rejected with a reason that names the culprit."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from course.checks import day1
from course.checks.day1 import AgentSpec, HandlerSpec, MessageSpec, PairDesign, StateField

C, W = "coordinator:main", "worker:w1"


def sound() -> PairDesign:
    return PairDesign(
        agents=(AgentSpec(address=C, role="coordinator", state=(
                    StateField(name="tasks", store="storage", memory="long-term"),
                    StateField(name="deadlines", store="memory", memory="short-term"),
                    StateField(name="rules", store="kv", memory="shared", readers=(W,)))),
                AgentSpec(address=W, role="worker", state=(StateField(name="seen", store="storage", memory="long-term"),))),
        messages=(MessageSpec(type="task.submit", sender="client", recipient=C),
                  MessageSpec(type="task.assign", sender=C, recipient=W),
                  MessageSpec(type="task.result", sender=W, recipient=C, answers="task.assign"),
                  MessageSpec(type="task.failed", sender=W, recipient=C, answers="task.assign", failure=True)),
        handlers=(HandlerSpec(agent=C, on="task.submit", writes=("tasks", "deadlines"), emits=("task.assign",)),
                  HandlerSpec(agent=W, on="task.assign", reads=("rules",), writes=("seen",),
                              emits=("task.result", "task.failed")),
                  HandlerSpec(agent=C, on="task.result", writes=("tasks",)),
                  HandlerSpec(agent=C, on="task.failed", writes=("tasks",), emits=("task.assign",)),
                  HandlerSpec(agent=C, on="timeout", writes=("tasks",), emits=("task.assign",))))


def _replace(design: PairDesign, **changes: Any) -> PairDesign:
    return design.model_copy(update=changes)


def _agent(design: PairDesign, which: str, **changes: Any) -> PairDesign:
    agents = tuple(a.model_copy(update=changes) if a.address == which else a for a in design.agents)
    return _replace(design, agents=agents)


def _without_handler(design: PairDesign, agent: str, on: str) -> PairDesign:
    return _replace(design, handlers=tuple(h for h in design.handlers if (h.agent, h.on) != (agent, on)))


#: (what is broken, how to break the sound design, words the reason must contain)
BROKEN: list[tuple[str, Callable[[PairDesign], PairDesign], tuple[str, ...]]] = [
    ("two coordinators", lambda d: _agent(d, W, role="coordinator"),
     ("exactly one coordinator and one worker",)),
    ("a bare agent name", lambda d: _agent(d, W, address="worker"),
     ("address 'worker' is not role:name",)),
    ("a message nobody handles", lambda d: _without_handler(d, C, "task.result"),
     ("message 'task.result': no handler on its recipient coordinator:main",)),
    ("a message from nobody", lambda d: _replace(d, messages=d.messages + (MessageSpec(type="agent.heartbeat",
                                                                                    sender="monitor:m", recipient=C),)),
     ("sender 'monitor:m' is not an agent",)),
    ("the same field owned twice", lambda d: _agent(d, W, state=(StateField(name="tasks", store="storage",
                                                                            memory="long-term"),)),
     ("state field 'tasks': declared by ['coordinator:main', 'worker:w1']", "one owner")),
    ("shared mutable state", lambda d: _replace(d, handlers=tuple(
        h.model_copy(update={"writes": h.writes + ("tasks",)}) if h.agent == W else h for h in d.handlers)),
     ("writes 'tasks', owned by coordinator:main: shared mutable state",)),
    ("reading another agent's private storage", lambda d: _agent(d, C, state=(
        StateField(name="tasks", store="storage", memory="long-term", readers=(W,)),
        StateField(name="rules", store="kv", memory="shared", readers=(W,)))),
     ("only its owner can reach",)),
    ("no failure message", lambda d: _replace(d, messages=tuple(m.model_copy(update={"failure": False})
                                                                for m in d.messages)),
     ("failure path: no failure message",)),
    ("no timeout handler", lambda d: _without_handler(d, C, "timeout"),
     ("no 'timeout' handler", "crashed worker")),
    ("a reply going the wrong way", lambda d: _replace(d, messages=tuple(
        m.model_copy(update={"answers": "task.submit"}) if m.type == "task.result" else m for m in d.messages)),
     ("message 'task.result': answers 'task.submit'",)),
    ("a task table in memory only", lambda d: _agent(d, C, state=(
        StateField(name="tasks", store="memory", memory="short-term"),
        StateField(name="deadlines", store="memory", memory="short-term"),
        StateField(name="rules", store="kv", memory="shared", readers=(W,)))),
     ("no long-term field in durable storage",)),
    ("a handler emitting someone else's message", lambda d: _replace(d, handlers=tuple(
        h.model_copy(update={"emits": ("task.assign",)}) if (h.agent, h.on) == (W, "task.assign") else h
        for h in d.handlers)),
     ("emits 'task.assign', but that message's sender is coordinator:main",)),
]


def test_a_sound_design_passes_every_property() -> None:
    assert day1.design_problems(sound()) == []
    result = day1.design_scenario(0).run(sound())
    assert result.passed and result.credit == 1.0, result.message()


@pytest.mark.parametrize("what, breaks, needles", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_design_is_rejected_with_a_reason_naming_the_culprit(
        what: str, breaks: Callable[[PairDesign], PairDesign], needles: tuple[str, ...]) -> None:
    design = breaks(sound())
    problems = day1.design_problems(design)
    assert problems, what
    assert any(all(n in p for n in needles) for p in problems), problems
    result = day1.design_scenario(0).run(design)
    assert not result.passed and result.credit < 1.0
    assert all(p in result.message() for p in problems)  # every problem at once, not one per run
    assert result.reproduce == "day1.design_scenario(seed=0).run(design)"
    with pytest.raises(AssertionError, match="problem"):
        day1.grade_design(design)


def test_something_that_is_not_a_design_gets_a_clear_reason() -> None:
    result = day1.design_scenario(0).run({"agents": []})
    assert not result.passed and "not a PairDesign" in result.reason


def test_the_solution_design_and_the_class_mistakes(answers_of: Callable[[str], dict[str, Any]]) -> None:
    assert day1.design_scenario(0).run(answers_of("correct")["design"]).passed
    shared = day1.design_problems(answers_of("shared-state")["design"])
    assert shared == ["handler worker:w1 on 'task.assign' writes 'tasks', owned by coordinator:main: shared mutable "
                      "state (only the owner writes; send it a message instead)"]
    no_path = day1.design_problems(answers_of("no-failure-path")["design"])
    assert len(no_path) == 1 and "no 'timeout' handler" in no_path[0]
