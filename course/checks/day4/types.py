"""The types and constants Day 4's exercises share with their checks (given to learners).

- models and limits: :data:`MODEL` and :data:`FALLBACK_MODEL` (Workers AI model ids),
  :data:`MAX_ATTEMPTS`, :data:`MAX_STEPS`, :data:`AI_TIMEOUT`, the token budgets;
- tokens: :func:`count_tokens` and :func:`count_messages`, the emulator's tokenizer (about four
  characters a token, like the models' own);
- the prompt template (Q1): :data:`SYSTEM_PROMPT`, :class:`Fact` and :func:`prompt_messages`;
- structured replies (Q2): :class:`Triage`, :class:`Route` and :class:`NoValidReply`;
- tools (Q3, Q6): :class:`Tool` (a name, a description, a pydantic model of its arguments and
  the function that runs it), :class:`LoopResult`, :class:`TransientToolError`;
- fallbacks (Q4): :class:`Answer` and :func:`rule_answer`, the degraded rule-based answer;
- context (Q5): :data:`CHAT_SYSTEM`, :data:`SUMMARIZER_PROMPT`, :data:`HISTORY_BUDGET`;
- planning (Q6): :class:`Step`, :class:`Plan`, :class:`PlanOutcome`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from course.runtime.bindings.ai.tokens import count as _count
from course.runtime.bindings.ai.tokens import count_messages as _count_messages

#: The model the agents ask first: function calling and JSON mode
#: (https://developers.cloudflare.com/workers-ai/models/llama-3.3-70b-instruct-fp8-fast/).
MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
#: A smaller, cheaper model to fall back on (JSON mode, no function calling).
FALLBACK_MODEL = "@cf/meta/llama-3.1-8b-instruct"
#: Model calls an agent may make for one structured answer (the first try and two retries).
MAX_ATTEMPTS = 3
#: Model calls a tool-use loop may make before it stops.
MAX_STEPS = 6
#: Seconds one model call may take before the agent gives up on it.
AI_TIMEOUT = 5.0
#: Tokens of conversation (every message but the system prompt) a conversation agent sends.
HISTORY_BUDGET = 120
#: Longest plan a planner accepts.
MAX_PLAN_STEPS = 6
#: Extra tries of a plan step that failed with a TransientToolError.
STEP_RETRIES = 2

#: The system prompt of the support agent's template (Q1).
SYSTEM_PROMPT = ("You are the support agent of a hosting company. Answer in two sentences at most, "
                 "using only the facts below. If they do not answer the question, say so.")
#: The conversation agent's system prompt (Q5); a summary of earlier turns is appended to it.
CHAT_SYSTEM = "You are a concise assistant. Keep track of every note the user gives you."
#: The system prompt of a summarisation request (Q5): the check's model recognises it.
SUMMARIZER_PROMPT = "Summarize the conversation below in a few lines. Keep every note number."


def count_tokens(text: str) -> int:
    """Tokens in ``text``, as the emulated Workers AI counts them (``usage`` in every reply)."""
    return _count(text)


def count_messages(messages: list[dict[str, Any]]) -> int:
    """Prompt tokens of a chat: every message's content plus 4 tokens of template per message."""
    return _count_messages(messages)


@dataclass(frozen=True)
class Fact:
    """One fact a prompt may carry; ``priority`` 1 is the most important."""

    text: str
    priority: int = 2


def prompt_messages(facts: list[Fact] | list[str], history: list[dict[str, Any]], question: str) -> list[dict[str, Any]]:
    """The template: the system prompt with the facts as a list, the history, the question last."""
    lines = [f.text if isinstance(f, Fact) else str(f) for f in facts]
    system = SYSTEM_PROMPT + ("\n\nFacts:\n" + "\n".join(f"- {line}" for line in lines) if lines else "")
    return [{"role": "system", "content": system}, *[dict(m) for m in history], {"role": "user", "content": question}]


class Triage(BaseModel):
    """A support ticket, triaged: the structured answer of Q2."""

    model_config = ConfigDict(extra="forbid")
    category: Literal["billing", "outage", "account", "other"]
    priority: int = Field(ge=1, le=4)
    summary: str = Field(min_length=1, max_length=200)


class Route(BaseModel):
    """Which agent of the mesh takes a request: the other structured answer of Q2."""

    model_config = ConfigDict(extra="forbid")
    agent: Literal["data", "analysis", "notification"]
    reason: str = Field(min_length=1, max_length=200)


class NoValidReply(Exception):
    """The model gave no valid answer in :data:`MAX_ATTEMPTS` calls."""


@dataclass(frozen=True)
class Tool:
    """A tool an agent may run: ``args`` is the pydantic model of its arguments, ``fn(**args)`` runs it."""

    name: str
    description: str
    args: type[BaseModel]
    fn: Callable[..., Any] = field(compare=False)

    def spec(self) -> dict[str, Any]:
        """The tool as Workers AI takes it in ``tools``: name, description, JSON Schema parameters."""
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        return {"name": self.name, "description": self.description, "parameters": schema}


@dataclass(frozen=True)
class LoopResult:
    """How a tool-use loop ended: ``stopped`` is ``"answer"`` or ``"step_limit"``."""

    answer: str | None
    stopped: Literal["answer", "step_limit"]
    steps: int


class TransientToolError(Exception):
    """A tool failed for a passing reason (a timeout, a 503): the same call may succeed later."""


@dataclass(frozen=True)
class Answer:
    """An agent's answer and where it came from: a model id, ``"cache"`` or ``"rules"``."""

    text: str
    source: str
    degraded: bool = False


#: The rule-based answers of the degraded mode (Q4): keyword -> answer.
RULES = (("refund", "Refunds are handled within 5 business days; see the billing page."),
         ("password", "Reset your password from the login page; the link is valid for one hour."),
         ("outage", "Check the status page for current incidents."),
         ("invoice", "Invoices are on the billing page, one per month."))
#: What the rules say when no keyword matches.
RULE_DEFAULT = "We could not answer automatically; a person will reply within one business day."


def rule_answer(question: str) -> str:
    """The rule-based answer to ``question``: no model, always available, less helpful."""
    lowered = question.lower()
    return next((text for word, text in RULES if word in lowered), RULE_DEFAULT)


class Step(BaseModel):
    """One step of a plan: a tool and its arguments."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class Plan(BaseModel):
    """A plan the model proposes (Q6): the steps, in order."""

    steps: list[Step] = Field(min_length=1)


@dataclass(frozen=True)
class PlanOutcome:
    """What a planner did: ``status`` ``"done"`` or ``"failed"``, the steps it ran, their results."""

    status: Literal["done", "failed"]
    steps_run: int
    results: tuple[Any, ...] = ()


def as_json(value: Any) -> str:
    """``value`` as compact JSON (what a tool's result looks like in a ``tool`` message)."""
    return json.dumps(value, sort_keys=True, default=str)


__all__ = ["MODEL", "FALLBACK_MODEL", "MAX_ATTEMPTS", "MAX_STEPS", "AI_TIMEOUT", "HISTORY_BUDGET", "MAX_PLAN_STEPS",
           "STEP_RETRIES", "SYSTEM_PROMPT", "CHAT_SYSTEM", "SUMMARIZER_PROMPT", "count_tokens", "count_messages",
           "Fact", "prompt_messages", "Triage", "Route", "NoValidReply", "Tool", "LoopResult", "TransientToolError",
           "Answer", "RULES", "RULE_DEFAULT", "rule_answer", "Step", "Plan", "PlanOutcome", "as_json"]
