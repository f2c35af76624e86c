"""Question 2, the robust parser: a structured answer is valid, or it is not passed on.

The learner's ``ask_json(ai, messages, schema)`` asks the model in JSON mode for an instance of
the pydantic model ``schema`` (:class:`~.types.Triage` or :class:`~.types.Route` here) and
returns it validated. Each *ask* of a case scripts the model's replies call by call, each one
valid or damaged in one way, and the checker verifies:

- when one of the first :data:`~.types.MAX_ATTEMPTS` replies is valid, ``ask_json`` returns
  exactly its value (an instance of ``schema``) and stops calling; a malformed reply may be
  repaired instead, if the repair gives back exactly what the model meant;
- when none is, it raises :class:`~.types.NoValidReply` after at most ``MAX_ATTEMPTS`` calls;
- every call is JSON mode (``response_format`` ``json_schema``) and starts with the original
  messages (a retry may add to them, never lose the task).

Fault kinds (:data:`FAULTS`), each from the emulator where it has one: ``malformed`` (JSON
text with single quotes and a trailing comma), ``truncated`` (cut halfway, as at
``max_tokens``: never repairable), ``wrong_schema`` (valid JSON that breaks the schema: a
missing field, an unknown category, a priority of 9), ``hallucinated_tool`` (a call to a tool
nobody offered instead of an answer: refused, never run).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from pydantic import BaseModel

from course.checks.day4.model import ScriptedAi, emulated_ai, fewer, run_learner, short
from course.checks.day4.types import MAX_ATTEMPTS, MODEL, NoValidReply, Route, Triage
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

#: The damaged-reply kinds; the visible test runs every one of them.
FAULTS = ("malformed", "truncated", "wrong_schema", "hallucinated_tool")
SCHEMAS: dict[str, type[BaseModel]] = {"Triage": Triage, "Route": Route}

TICKETS = (
    ("I was charged twice for March, please refund one payment.", {"category": "billing", "priority": 2,
                                                                    "summary": "Double charge in March"}),
    ("Our whole site returns 502 since 10:00!", {"category": "outage", "priority": 1,
                                                 "summary": "Site down with 502 errors since 10:00"}),
    ("How do I add a second admin to our team?", {"category": "account", "priority": 3,
                                                  "summary": "Wants a second administrator"}),
    ("Do you sponsor open source conferences?", {"category": "other", "priority": 4,
                                                 "summary": "Asks about conference sponsorship"}),
)
REQUESTS = (
    ("Fetch the latest sales figures from the warehouse API.", {"agent": "data", "reason": "external data fetching"}),
    ("Which region grew fastest last quarter, and why?", {"agent": "analysis", "reason": "needs reasoning over data"}),
    ("Tell the on-call team that the report is ready.", {"agent": "notification", "reason": "a real-time update"}),
)
WRONG = {"Triage": ({"category": "refunds", "priority": 2, "summary": "Refund request"},
                    {"category": "billing", "summary": "No priority given"},
                    {"category": "outage", "priority": 9, "summary": "Urgent"}),
         "Route": ({"agent": "billing", "reason": "not an agent of the mesh"},
                   {"agent": "data"},
                   {"agent": "analysis", "reason": "ok", "confidence": 0.9})}


@dataclass(frozen=True)
class Ask:
    schema: str
    text: str
    replies: tuple[tuple[str, Any], ...]  # (kind, the value the model means), one per call

    @property
    def valid_at(self) -> int | None:
        return next((i for i, (k, _) in enumerate(self.replies[:MAX_ATTEMPTS]) if k == "valid"), None)

    def describe(self) -> str:
        return f"{self.schema} for {short(self.text, 40)!r}, replies [{', '.join(k for k, _ in self.replies)}]"


def _responder(ask: Ask) -> Any:
    def reply(inputs: dict[str, Any], n: int) -> Any:
        kind, value = ask.replies[min(n, len(ask.replies) - 1)]
        if kind == "hallucinated_tool":
            return {"response": None, "tool_calls": [{"name": "send_email", "arguments": {"to": "ops@example.com"}}]}
        return value
    return reply


def _faults(ask: Ask) -> list[str | None]:
    return [k if k in ("malformed", "truncated") else None for k, _ in ask.replies]


@dataclass(frozen=True)
class ParserCase(Case):
    seed: int
    kind: str
    asks: tuple[Ask, ...]

    def describe(self) -> str:
        return f"{len(self.asks)} ask{'s' if len(self.asks) != 1 else ''}: " + "; ".join(a.describe() for a in self.asks)

    def smaller(self) -> Any:
        return fewer(self, "asks")

    def check(self, ask_json: Any, log: MessageLog) -> str:
        for ask in self.asks:
            self._one(ask_json, ask, log)
        return f"{len(self.asks)} asks answered or refused"

    def _one(self, ask_json: Any, ask: Ask, log: MessageLog) -> None:
        schema = SCHEMAS[ask.schema]
        messages = [{"role": "system", "content": f"Answer with JSON for a {ask.schema}."},
                    {"role": "user", "content": ask.text}]
        rt = emulated_ai(self.seed)
        try:
            ai = ScriptedAi(rt, log, _responder(ask), faults=_faults(ask))
            call = f"ask_json(ai, <{ask.text[:30]!r}...>, {ask.schema})"
            try:
                got = run_learner(rt, lambda: ask_json(ai, [dict(m) for m in messages], schema))
                raised = None
            except NoValidReply as exc:
                got, raised = None, exc
            requests = ai.requests
        finally:
            rt.close()
        for i, (model, inputs) in enumerate(requests):
            fmt = inputs.get("response_format") or {}
            if fmt.get("type") != "json_schema":
                raise CaseFailed(f"{call}: call {i + 1} did not ask for JSON mode "
                                 "(response_format {'type': 'json_schema', 'json_schema': ...})")
            if (inputs.get("messages") or [])[: len(messages)] != messages:
                raise CaseFailed(f"{call}: call {i + 1} did not start with the original messages: a retry may add "
                                 "to the conversation, never lose the task")
        valid_at = ask.valid_at
        repairable = [v for k, v in ask.replies[: (valid_at if valid_at is not None else MAX_ATTEMPTS - 1) + 1]
                      if k in ("malformed", "valid")]
        if len(requests) > MAX_ATTEMPTS:
            raise CaseFailed(f"{call} called the model {len(requests)} times: at most MAX_ATTEMPTS={MAX_ATTEMPTS}")
        if raised is not None:
            if valid_at is not None and valid_at < len(requests):
                raise CaseFailed(f"{call} raised NoValidReply although reply {valid_at + 1} was valid: "
                                 f"{ask.replies[valid_at][1]!r}")
            if valid_at is not None:
                raise CaseFailed(f"{call} raised NoValidReply after {len(requests)} calls: the reply of call "
                                 f"{valid_at + 1} would have been valid; retry up to MAX_ATTEMPTS={MAX_ATTEMPTS}")
            return
        if not isinstance(got, schema):
            raise CaseFailed(f"{call} returned {short(repr(got), 80)}: expected a validated {ask.schema} instance "
                             f"(or NoValidReply)")
        value = got.model_dump()
        if value not in repairable:
            wrong = next((k for k, v in ask.replies if v == value or _near(v, value)), "damaged")
            raise CaseFailed(f"{call} returned {value!r}, which is not what the model meant: a {wrong} reply was "
                             f"passed on (expected {ask.replies[valid_at][1]!r} or NoValidReply)" if valid_at is not None
                             else f"{call} returned {value!r}: no reply was valid, so it must raise NoValidReply")
        if valid_at is not None and len(requests) > valid_at + 1:
            raise CaseFailed(f"{call} kept calling after the valid reply of call {valid_at + 1}")


def _near(meant: Any, got: dict[str, Any]) -> bool:
    return isinstance(meant, dict) and any(got.get(k) == v for k, v in meant.items())


def _ask(rng: Any, kind: str, bad: int) -> Ask:
    schema = rng.choice(("Triage", "Triage", "Route"))
    text, value = rng.choice(TICKETS if schema == "Triage" else REQUESTS)
    if kind == "wrong_schema":
        damaged = [("wrong_schema", rng.choice(WRONG[schema])) for _ in range(bad)]
    else:
        damaged = [(kind, value) for _ in range(bad)]
    tail = [("valid", value)] if bad < MAX_ATTEMPTS else []
    return Ask(schema, text, tuple(damaged + tail))


def parser_case(seed: int, kind: str) -> ParserCase:
    """The case of fault ``kind`` (one of :data:`FAULTS`) drawn from ``seed``: 1, 2, then 3 bad replies."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day4", "parser", seed, kind)
    return ParserCase(seed, kind, tuple(_ask(rng, kind, bad) for bad in (1, rng.choice((1, 2)), MAX_ATTEMPTS)))


class ParserScenario(Scenario):
    default_target = "ask_json"

    def __init__(self, seed: int = 0, faults: Sequence[str] | None = None) -> None:
        self.kinds = tuple(faults) if faults is not None else FAULTS
        for kind in self.kinds:
            if kind not in FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
        extra = f", faults={list(self.kinds)!r}" if faults is not None else ""
        super().__init__("parser" if faults is None else f"parser/{'+'.join(self.kinds)}", seed,
                         f"day4.parser_scenario(seed={seed}{extra})")

    def cases(self) -> Sequence[Case]:
        return [parser_case(self.seed, kind) for kind in self.kinds]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"{3 * len(cases)} asks under {list(self.kinds)}: valid answers returned, damaged ones never passed on"


def parser_scenario(seed: int = 0, faults: Sequence[str] | None = None) -> ParserScenario:
    """Structured asks whose replies come back malformed, truncated, off-schema or as an invented tool call."""
    return ParserScenario(seed, faults)


def grade_parser(ask_json: Any, seed: int = 0, faults: Sequence[str] | None = None) -> CheckResult:
    return parser_scenario(seed, faults).run(ask_json).assert_ok()


__all__ = ["FAULTS", "ParserCase", "ParserScenario", "grade_parser", "parser_case", "parser_scenario"]
