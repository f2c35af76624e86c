"""Question 5, context management: a conversation in a Durable Object, summarised past a budget.

The learner's ``Conversation`` Durable Object keeps a chat in its storage. ``say(text)`` adds the
user's message, folds the oldest messages (with the previous summary) into a new summary while
the messages exceed :data:`~.types.HISTORY_BUDGET` tokens, asks the model with the summary in
the system prompt and the messages after it, stores the reply and returns it. The checker runs
it on the emulator under the binding ``CONVERSATIONS``, each user message carrying a numbered
note ("Note 07: ..."), and reads every request the object sends to ``env.AI``:

- a chat request starts with a system message beginning with :data:`~.types.CHAT_SYSTEM`, ends
  with the new user message, and its other messages are the conversation's most recent ones,
  whole and in order, within ``HISTORY_BUDGET`` tokens (system excluded);
- nothing is forgotten: every note given so far appears in the request (in a message or in the
  summary); the scripted summariser keeps every note number it is shown, so a note is lost only
  if the object dropped it;
- a summarisation request has :data:`~.types.SUMMARIZER_PROMPT` as its system message;
- ``say`` returns the model's reply.

Fault kinds (:data:`FAULTS`): ``evict`` and ``crash`` between turns (memory gone, storage kept:
a conversation kept in attributes is lost), ``long`` (longer notes: several summaries in a row).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.day4.model import (COMPATIBILITY_DATE, ObjectRaised, describe_reply, describe_request, emulated_ai,
                                      rpc, short)
from course.checks.day4.types import CHAT_SYSTEM, HISTORY_BUDGET, MODEL, SUMMARIZER_PROMPT, count_messages
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The fault kinds of the conversation scenarios; the visible test runs every one of them.
FAULTS = ("evict", "crash", "long")
BINDING = "CONVERSATIONS"
NOTE = re.compile(r"\bnote (\d{2})\b", re.I)
TOPICS = (("deploy window", "Tuesday at 14:00 UTC"), ("on-call engineer", "Priya"), ("error budget", "0.1 percent"),
          ("database region", "Frankfurt"), ("release name", "Juniper"), ("cache TTL", "300 seconds"),
          ("backup hour", "03:00"), ("API version", "v2"), ("load target", "1200 requests per second"),
          ("incident channel", "#ops-live"), ("feature flag", "new-checkout"), ("budget owner", "Tomás"))
LONG = " Please remember it exactly, it matters for the report we send to the whole team next week."

# The compatibility date the object runs with is the checks' (COMPATIBILITY_DATE in .model).
_ = COMPATIBILITY_DATE


def chat_reply(note: str) -> str:
    return f"Noted {note}."


def summary_of(text: str) -> str:
    numbers = sorted(set(NOTE.findall(text)))
    return "Earlier the user gave " + (", ".join(f"note {n}" for n in numbers) if numbers else "no notes") + "."


@dataclass(frozen=True)
class Turn:
    note: str
    text: str
    fault: str = ""  # "", "evict" or "crash": done to the object after this turn

    def describe(self) -> str:
        return f"note {self.note}{' then ' + self.fault if self.fault else ''}"


@dataclass(frozen=True)
class ContextCase(Case):
    seed: int
    kind: str
    turns: tuple[Turn, ...]

    def describe(self) -> str:
        return f"{len(self.turns)} turns: " + ", ".join(t.describe() for t in self.turns)

    def smaller(self) -> Any:
        # Hypothesis is imported only when a case fails and is shrunk (it costs ~0.3 s at import).
        from hypothesis import strategies as st

        n = len(self.turns)
        return st.tuples(st.integers(1, n), st.lists(st.booleans(), min_size=n, max_size=n)).map(
            lambda t: replace(self, turns=tuple(replace(turn, fault=turn.fault if keep else "")
                                                for turn, keep in zip(self.turns[: t[0]], t[1]))))

    def check(self, cls: Any, log: MessageLog) -> str:
        rt = emulated_ai(self.seed, {BINDING: cls})
        requests: list[dict[str, Any]] = []

        def reply(inputs: dict[str, Any]) -> str:
            messages = inputs.get("messages") or []
            t = rt.clock.now()
            log.record(t, "conversation", "model", "ai.run", describe_request(MODEL, inputs))
            requests.append(inputs)
            first = messages[0].get("content", "") if messages and isinstance(messages[0], dict) else ""
            if str(first).startswith(SUMMARIZER_PROMPT):
                text = summary_of(" ".join(str(m.get("content", "")) for m in messages[1:] if isinstance(m, dict)))
            else:
                found = NOTE.findall(str(messages[-1].get("content", ""))) if messages else []
                text = chat_reply(found[0] if found else "nothing")
            log.record(t, "model", "conversation", "ai.reply", describe_reply({"response": text}))
            return text

        try:
            rt.ai.script(lambda inputs: True, reply)
            stub = rt.env[BINDING].getByName("chat-1")
            conversation: list[dict[str, Any]] = []
            notes: list[str] = []
            for turn in self.turns:
                before = len(requests)
                log.record(rt.clock.now(), "user", "conversation", "say", short(turn.text, 60))
                got = _call(rt, lambda: stub.say(turn.text), f"say({short(turn.text, 30)!r})")
                got = got.to_py() if hasattr(got, "to_py") else got
                log.record(rt.clock.now(), "conversation", "user", "say.reply", short(repr(got), 40))
                conversation.append({"role": "user", "content": turn.text})
                notes.append(turn.note)
                chats = [r for r in requests[before:] if not _is_summary(r)]
                if not chats:
                    raise CaseFailed(f"say(note {turn.note}) never asked the model for a reply")
                self._check_chat(chats[-1], turn, conversation, notes)
                want = chat_reply(turn.note)
                if got != want:
                    raise CaseFailed(f"say(note {turn.note}) returned {short(repr(got), 60)}, expected the model's "
                                     f"reply {want!r}")
                conversation.append({"role": "assistant", "content": want})
                if turn.fault:
                    getattr(rt, turn.fault)(BINDING, "chat-1")
                    log.record(rt.clock.now(), "platform", "conversation", turn.fault, "memory lost, storage kept",
                               "fault")
                rt.clock.advance(30.0)
        finally:
            rt.close()
        return f"{len(self.turns)} turns, nothing forgotten"

    def _check_chat(self, request: dict[str, Any], turn: Turn, conversation: list[dict[str, Any]],
                    notes: list[str]) -> None:
        messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
        where = f"the request for note {turn.note}"
        if not messages or messages[0].get("role") != "system" or not str(messages[0].get("content", "")).startswith(
                CHAT_SYSTEM):
            raise CaseFailed(f"{where} must start with a system message beginning with CHAT_SYSTEM")
        rest = [{"role": m.get("role"), "content": m.get("content")} for m in messages[1:]]
        if not rest or rest[-1] != {"role": "user", "content": turn.text}:
            raise CaseFailed(f"{where} must end with the new user message, verbatim")
        if rest != conversation[len(conversation) - len(rest):]:
            raise CaseFailed(f"{where} carries {len(rest)} messages that are not the conversation's most recent "
                             "ones, whole and in order")
        size = count_messages(rest)
        if size > HISTORY_BUDGET:
            raise CaseFailed(f"{where} carries {size} tokens of conversation, over HISTORY_BUDGET={HISTORY_BUDGET}: "
                             "fold the oldest messages into the summary first")
        seen = set(NOTE.findall(" ".join(str(m.get("content", "")) for m in messages)))
        lost = [n for n in notes if n not in seen]
        if lost:
            raise CaseFailed(f"{where} has forgotten note {lost[0]}: it is neither in the messages nor in the "
                             "summary (a summary must fold in the previous one, and state must live in storage)")


def _is_summary(request: dict[str, Any]) -> bool:
    messages = request.get("messages") or []
    return bool(messages) and isinstance(messages[0], dict) and str(messages[0].get("content", "")).startswith(
        SUMMARIZER_PROMPT)


def _call(rt: Any, make: Any, what: str) -> Any:
    try:
        return rpc(rt, make())
    except ObjectRaised as exc:
        raise CaseFailed(f"{what} raised {exc}") from None


def context_case(seed: int, kind: str) -> ContextCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day4", "context", seed, kind)
    topics = rng.sample(TOPICS, rng.randint(7, 9))
    turns = []
    for i, (topic, value) in enumerate(topics, start=1):
        text = f"Note {i:02d}: the {topic} is {value}." + (LONG if kind == "long" else "")
        fault = kind if kind in ("evict", "crash") and (i in (2, 5) or rng.random() < 0.3) else ""
        turns.append(Turn(f"{i:02d}", text, fault))
    return ContextCase(seed, kind, tuple(turns))


class ContextScenario(Scenario):
    default_target = "Conversation"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("conversation" if faults is None else f"conversation/{'+'.join(self.kinds)}", seed,
                         f"day4.conversation_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [context_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        n = sum(len(c.turns) for c in cases if isinstance(c, ContextCase))
        return f"{n} turns under {list(self.kinds)}: every prompt within budget, no note forgotten"


def conversation_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> ContextScenario:
    """A conversation of numbered notes, evicted and crashed between turns, summarised past its budget."""
    return ContextScenario(seed, faults)


def grade_conversation(cls: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return conversation_scenario(seed, faults).run(cls).assert_ok()


__all__ = ["BINDING", "FAULTS", "ContextCase", "ContextScenario", "context_case", "conversation_scenario",
           "grade_conversation"]
