"""Question 4, the fallback chain: an answer always, flagged degraded when no model gave it.

The learner's ``answer_question(ai, cache, question)`` tries :data:`~.types.MODEL`, then
:data:`~.types.FALLBACK_MODEL`, each once and for at most :data:`~.types.AI_TIMEOUT` seconds;
a model's answer is stored in ``cache`` (a dict: question -> text) and returned as
``Answer(text, model, degraded=False)``. When both fail, the cached answer to that question is
returned as ``Answer(text, "cache", True)``, else the rule-based one as
``Answer(rule_answer(question), "rules", True)``. The checker asks a series of questions (one
asked twice) with a fault per question and model, and verifies every answer, the models asked
(in order, each once, none after an answer), the cache, and the time each answer took.

Fault kinds (:data:`FAULTS`): ``rate_limit`` (AiError 3040), ``server_error`` (3043),
``timeout`` (3007), ``latency`` (the model answers, 30 s late: the agent must stop waiting at
``AI_TIMEOUT``), ``outage`` (every call fails after the first question: 100 % failure).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day4.model import ScriptedAi, emulated_ai, fewer, run_learner, short
from course.checks.day4.types import AI_TIMEOUT, FALLBACK_MODEL, MODEL, Answer, rule_answer
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the fallback scenarios; the visible test runs every one of them.
FAULTS = ("rate_limit", "server_error", "timeout", "latency", "outage")
MODELS = (MODEL, FALLBACK_MODEL)
#: How late a model answers under the ``latency`` fault.
SLOW_SECONDS = 30.0
#: Slack on top of one AI_TIMEOUT per model.
SLACK = 0.5
QUESTIONS = ("How do I get a refund for a double charge?", "I forgot my password, what now?",
             "Is there an outage in Frankfurt?", "Where can I find last month's invoice?",
             "Can I move my site to another region?")


@dataclass(frozen=True)
class Asked:
    question: str
    faults: tuple[str | None, str | None]  # the primary's and the fallback's

    def describe(self) -> str:
        shown = "/".join(f or "ok" for f in self.faults)
        return f"{short(self.question, 32)!r} [{shown}]"


def model_reply(model: str, question: str) -> str:
    """What the scripted model ``model`` answers to ``question``."""
    return f"{model.rsplit('/', 1)[-1]} says: about {question.rstrip('?').lower()}, here is what to do."


@dataclass(frozen=True)
class FallbackCase(Case):
    seed: int
    kind: str
    asks: tuple[Asked, ...]

    def describe(self) -> str:
        return f"{len(self.asks)} question{'s' if len(self.asks) != 1 else ''}: " + ", ".join(a.describe() for a in self.asks)

    def smaller(self) -> Any:
        return fewer(self, "asks")

    def check(self, answer_question: Any, log: MessageLog) -> str:
        rt = emulated_ai(self.seed)
        cache: dict[str, str] = {}
        expected_cache: dict[str, str] = {}
        try:
            current: dict[str, Asked] = {}

            def fault_for(model: str, inputs: dict[str, Any]) -> str | None:
                asked = current["now"]
                return asked.faults[MODELS.index(model)] if model in MODELS else None

            ai = ScriptedAi(rt, log, lambda inputs, n: model_reply(ai.model_now, current["now"].question),
                            fault_for=fault_for, latency=SLOW_SECONDS)
            for asked in self.asks:
                current["now"] = asked
                start, calls = rt.clock.now(), ai.calls
                call = f"answer_question(ai, cache, {asked.question!r})"
                log.record(start, "user", "agent", "question", short(asked.question, 50))
                got = run_learner(rt, lambda: answer_question(ai, cache, asked.question))
                took = rt.clock.now() - start
                log.record(rt.clock.now(), "agent", "user", "answer.reply", short(repr(got), 70))
                asked_models = [m for m, _ in ai.requests[calls:]]
                ok = next((i for i, f in enumerate(asked.faults) if f is None), None)
                want_models = list(MODELS[: (ok + 1) if ok is not None else len(MODELS)])
                budget = len(want_models) * AI_TIMEOUT + SLACK
                if took > budget:
                    raise CaseFailed(f"{call} took {took:g} s of virtual time: with a timeout of AI_TIMEOUT="
                                     f"{AI_TIMEOUT:g} s per model it must answer within {budget:g} s")
                if asked_models != want_models:
                    raise CaseFailed(f"{call} asked the models {[m.rsplit('/', 1)[-1] for m in asked_models]}, "
                                     f"expected {[m.rsplit('/', 1)[-1] for m in want_models]}: each model once, in "
                                     "order, and none after one answered")
                if ok is not None:
                    want = Answer(model_reply(MODELS[ok], asked.question), MODELS[ok], False)
                    expected_cache[asked.question] = want.text
                elif asked.question in expected_cache:
                    want = Answer(expected_cache[asked.question], "cache", True)
                else:
                    want = Answer(rule_answer(asked.question), "rules", True)
                if got != want:
                    raise CaseFailed(f"{call} returned {short(repr(got), 120)}, expected {short(repr(want), 120)}")
                if cache != expected_cache:
                    raise CaseFailed(f"after {call} the cache holds {short(repr(cache), 100)}, expected "
                                     f"{short(repr(expected_cache), 100)}: store every model's answer, nothing else")
        finally:
            rt.close()
        return f"{len(self.asks)} questions answered"


def fallback_case(seed: int, kind: str) -> FallbackCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day4", "fallback", seed, kind)
    first, second, third = rng.sample(QUESTIONS, 3)
    if kind == "outage":
        failing = ("rate_limit", "server_error", "timeout")
        down = lambda: (rng.choice(failing), rng.choice(failing))  # noqa: E731
        asks = [Asked(first, (None, None)), Asked(first, down()), Asked(second, down()), Asked(third, down())]
    else:
        asks = [Asked(first, (None, None)), Asked(second, (kind, None)), Asked(third, (kind, kind)),
                Asked(second, (kind, kind)), Asked(first, (kind, None))]
    return FallbackCase(seed, kind, tuple(asks))


class FallbackScenario(Scenario):
    default_target = "answer_question"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("fallback" if faults is None else f"fallback/{'+'.join(self.kinds)}", seed,
                         f"day4.fallback_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [fallback_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"every question answered under {list(self.kinds)}, degraded answers flagged"


def fallback_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> FallbackScenario:
    """Questions under capacity errors, server errors, timeouts, slow models and a full outage."""
    return FallbackScenario(seed, faults)


def grade_fallback(answer_question: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return fallback_scenario(seed, faults).run(answer_question).assert_ok()


__all__ = ["FAULTS", "MODELS", "FallbackCase", "FallbackScenario", "fallback_case", "fallback_scenario",
           "grade_fallback", "model_reply"]
