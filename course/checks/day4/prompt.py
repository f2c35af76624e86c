"""Question 1, the prompt template: within a token budget, keeping what matters most.

The learner's ``fit_prompt(facts, history, question, budget)`` returns the messages of
:func:`~.types.prompt_messages` for the facts and history turns it keeps. The rule (the
question states it) gives one right selection, which the checker verifies as properties:

- the prompt is at most ``budget`` tokens (:func:`~.types.count_messages`); the system prompt
  and the question are always there, verbatim (a budget too small for them raises ``ValueError``);
- facts are kept most important first (priority 1 before 2 before 3, ties in the given order),
  and the first fact that does not fit stops the facts: kept facts are a prefix of that order,
  and the next one would not have fitted;
- then history turns, newest first, while they fit: kept turns are the most recent ones, whole
  and in order, and the next older turn would not have fitted.

The checker then sends the prompt to a model whose context window is ``budget`` plus the
answer's ``max_tokens`` (a prompt over budget is refused, as Workers AI refuses it), scripted
to answer from the facts it is given: an answer that needed a cut fact comes back "I don't know".

Fault kinds (:data:`FAULTS`): ``long_history`` (the conversation alone is over budget),
``many_facts`` (more facts than fit), ``tight_budget`` (room for little, and one budget too
small for the question itself).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day4.model import ScriptedAi, fewer, emulated_ai, run_learner, short
from course.checks.day4.types import SYSTEM_PROMPT, Fact, count_messages, prompt_messages
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream
from course.runtime.bindings.ai import ModelInfo

#: The scenario kinds of the prompt checks; the visible test runs every one of them.
FAULTS = ("long_history", "many_facts", "tight_budget")
#: The model the checker sends the prompt to: its context window is set per ask.
CHECK_MODEL = "@cf/course/support-small"
#: ``max_tokens`` of the checker's request.
ANSWER_TOKENS = 64
UNKNOWN = "I don't know from the facts I was given."

#: (question, the fact that answers it) pairs; the other facts are noise of priority 2 or 3.
KNOWLEDGE = (
    ("What is the refund limit?", "Refunds above 500 EUR need a manager's approval."),
    ("When is the maintenance window?", "Maintenance runs every Sunday from 02:00 to 04:00 UTC."),
    ("How long are backups kept?", "Backups are kept for 30 days and then deleted."),
    ("Which regions host databases?", "Databases are hosted in Frankfurt, Virginia and Singapore."),
    ("What is the API rate limit?", "The API allows 1200 requests per minute per account."),
)
NOISE = ("The office closes at 18:00 on Fridays.", "Invoices are sent on the first day of each month.",
         "The status page lists incidents of the last 90 days.", "Support speaks English, French and Portuguese.",
         "Free plans include one custom domain.", "Logs are retained for seven days on the free plan.",
         "Two-factor authentication is required for administrators.", "Bandwidth is not billed inside the EU.")
TURNS = ("Hi, I have a question about my account.", "Sure, what would you like to know?",
         "We moved our site last week and traffic doubled since then.", "Good to hear; nothing needs to change.",
         "Our team also asked about invoices for last quarter.", "You can download them from the billing page.",
         "And is there anything special about the weekend schedule?", "Only the maintenance window on Sundays.")


@dataclass(frozen=True)
class Ask:
    facts: tuple[Fact, ...]
    history: tuple[tuple[str, str], ...]  # (role, content)
    question: str
    answer: str  # the fact that answers the question
    budget: int

    def describe(self) -> str:
        facts = ", ".join(f"p{f.priority} {short(f.text, 24)!r}" for f in self.facts)
        return (f"budget {self.budget}, question {self.question!r}, {len(self.facts)} facts [{facts}], "
                f"{len(self.history)} history turns")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [{"role": r, "content": c} for r, c in self.history]

    @property
    def ordered_facts(self) -> list[Fact]:
        return sorted(self.facts, key=lambda f: f.priority)  # stable: ties keep the given order

    @property
    def floor(self) -> int:
        return count_messages(prompt_messages([], [], self.question))


def _parse(prompt: Any) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    if not isinstance(prompt, list) or len(prompt) < 2 or not all(isinstance(m, dict) for m in prompt):
        raise CaseFailed(f"fit_prompt returned {short(repr(prompt), 80)}: expected the list of messages "
                         "prompt_messages(...) builds")
    system = prompt[0]
    if system.get("role") != "system" or not str(system.get("content", "")).startswith(SYSTEM_PROMPT):
        raise CaseFailed("the first message must be the system prompt (SYSTEM_PROMPT, then the facts): build the "
                         "prompt with prompt_messages(facts, history, question)")
    content = str(system["content"])[len(SYSTEM_PROMPT):]
    facts = [line[2:] for line in content.split("\n\nFacts:\n", 1)[-1].split("\n")] if content else []
    return facts, [dict(m) for m in prompt[1:-1]], dict(prompt[-1])


@dataclass(frozen=True)
class PromptCase(Case):
    seed: int
    kind: str
    asks: tuple[Ask, ...]

    def describe(self) -> str:
        return f"{len(self.asks)} prompt{'s' if len(self.asks) != 1 else ''}: " + "; ".join(a.describe() for a in self.asks)

    def smaller(self) -> Any:
        return fewer(self, "asks")

    def check(self, fit_prompt: Any, log: MessageLog) -> str:
        for ask in self.asks:
            self._one(fit_prompt, ask, log)
        return f"{len(self.asks)} prompts fit their budgets"

    def _one(self, fit_prompt: Any, ask: Ask, log: MessageLog) -> None:
        call = f"fit_prompt(<{len(ask.facts)} facts>, <{len(ask.history)} turns>, {ask.question!r}, budget={ask.budget})"
        if ask.budget < ask.floor:
            try:
                got = fit_prompt(list(ask.facts), ask.messages, ask.question, ask.budget)
            except ValueError:
                return
            raise CaseFailed(f"{call} returned a prompt, but the system prompt and the question alone take "
                             f"{ask.floor} tokens: a budget that small must raise ValueError")
        prompt = fit_prompt(list(ask.facts), ask.messages, ask.question, ask.budget)
        facts, history, last = _parse(prompt)
        size = count_messages(prompt)
        text = self._ask_model(ask, prompt, log)
        if last != {"role": "user", "content": ask.question}:
            raise CaseFailed(f"{call}: the last message must be the question, verbatim, got {short(repr(last), 80)}")
        if size > ask.budget:
            raise CaseFailed(f"{call} is {size} tokens, over its budget of {ask.budget}")
        order = ask.ordered_facts
        if facts != [f.text for f in order[: len(facts)]]:
            raise CaseFailed(f"{call} kept the facts {[short(f, 30) for f in facts]}, expected the most important "
                             f"first (priority 1, then 2, then 3; ties in the given order): "
                             f"{[short(f.text, 30) for f in order[: len(facts)]]}")
        if len(facts) < len(order) and count_messages(prompt_messages(order[: len(facts) + 1], [], ask.question)) \
                <= ask.budget:
            raise CaseFailed(f"{call} cut the fact {order[len(facts)].text!r} (priority {order[len(facts)].priority}) "
                             f"although it fits: facts come before history, most important first")
        turns = ask.messages
        if history and history != turns[len(turns) - len(history):]:
            raise CaseFailed(f"{call} kept {len(history)} history turns that are not the most recent ones, whole "
                             f"and in order: cut the oldest turns first")
        if len(history) < len(turns) and count_messages(
                prompt_messages(order[: len(facts)], turns[len(turns) - len(history) - 1:], ask.question)) <= ask.budget:
            raise CaseFailed(f"{call} cut the history turn {short(turns[len(turns) - len(history) - 1]['content'], 50)!r} "
                             f"although it fits: keep the most recent turns that fit")
        if text != ask.answer:
            raise CaseFailed(f"the model answered {text!r} to {ask.question!r}: the fact that answers it "
                             f"(priority 1) was cut from the prompt")

    def _ask_model(self, ask: Ask, prompt: list[dict[str, Any]], log: MessageLog) -> str | None:
        """The model's answer to ``prompt`` (None if it refused it: over its context window)."""
        rt = emulated_ai(self.seed)
        try:
            rt.ai.register_model(ModelInfo(CHECK_MODEL, context_window=ask.budget + ANSWER_TOKENS, json_mode=True))

            def reply(inputs: dict[str, Any], n: int) -> str:
                system = inputs["messages"][0]["content"]
                return ask.answer if ask.answer in system else UNKNOWN

            ai = ScriptedAi(rt, log, reply, actor="checker")
            try:
                return run_learner(rt, lambda: ai.run(CHECK_MODEL, {"messages": prompt, "max_tokens": ANSWER_TOKENS}))[
                    "response"]
            except Exception:  # noqa: BLE001 - refused (over the context window): the log shows why
                return None
        finally:
            rt.close()


def _ask(rng: Any, kind: str, *, impossible: bool = False) -> Ask:
    question, answer = rng.choice(KNOWLEDGE)
    n_noise = {"many_facts": 7, "long_history": 2, "tight_budget": 4}[kind]
    noise = [Fact(text, rng.choice((2, 3))) for text in rng.sample(NOISE, n_noise)]
    facts = noise[:]
    facts.insert(rng.randrange(len(facts) + 1), Fact(answer, 1))
    n_turns = {"many_facts": 2, "long_history": 8, "tight_budget": 4}[kind]
    history = tuple(("user" if i % 2 == 0 else "assistant", TURNS[i]) for i in range(n_turns))
    base = count_messages(prompt_messages([answer], [], question))
    if impossible:
        budget = count_messages(prompt_messages([], [], question)) - rng.randint(1, 10)
    elif kind == "tight_budget":
        budget = base + rng.randint(0, 8)
    elif kind == "many_facts":
        budget = base + rng.randint(40, 70)
    else:
        budget = base + rng.randint(30, 60)
    return Ask(tuple(facts), history, question, answer, budget)


def prompt_case(seed: int, kind: str) -> PromptCase:
    """The case of kind ``kind`` (one of :data:`FAULTS`) drawn from ``seed``."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day4", "prompt", seed, kind)
    asks = [_ask(rng, kind) for _ in range(2)]
    if kind == "tight_budget":
        asks.append(_ask(rng, kind, impossible=True))
    return PromptCase(seed, kind, tuple(asks))


class PromptScenario(Scenario):
    default_target = "fit_prompt"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = _kinds(faults, FAULTS)
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("prompt" if faults is None else f"prompt/{'+'.join(self.kinds)}", seed,
                         f"day4.prompt_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [prompt_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        n = sum(len(c.asks) for c in cases if isinstance(c, PromptCase))
        return f"{n} prompts ({', '.join(self.kinds)}) fit their budgets and kept what matters"


def _kinds(faults: Sequence[str] | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    kinds = tuple(faults) if faults is not None else allowed
    for kind in kinds:
        if kind not in allowed:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {allowed}")
    return kinds


def prompt_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> PromptScenario:
    """Prompts to fit: long conversations, many facts, tight budgets; sent to a model with that window."""
    return PromptScenario(seed, faults)


def grade_prompt(fit_prompt: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return prompt_scenario(seed, faults).run(fit_prompt).assert_ok()


__all__ = ["FAULTS", "PromptCase", "PromptScenario", "grade_prompt", "prompt_case", "prompt_scenario"]
