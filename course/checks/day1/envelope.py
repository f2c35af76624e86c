"""Question 1, the message envelope: the course's one envelope (``course.protocol``), written by the learner.

The rules are ``course.protocol.envelope.Envelope``'s, the envelope the lesson shows and the
lab Worker speaks: ``role:name`` addresses, ``correlation_id`` for the conversation (required),
``causation_id`` for the message answered, ``sent_at`` in seconds. The cases are eight valid
messages drawn from the seed, a check that an envelope is frozen, ``reply()`` on two of them,
and one invalid message per rule. A failing message shrinks to the fewest fields (optional
fields dropped, payload emptied) that still show the mistake; the rules are written down once,
in :func:`envelope_problems`, and a test keeps them equal to ``course.protocol``'s model.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day1.corpus import day1_stream
from course.checks.day1.types import AGENT_NAME_PATTERN, MAX_ID_LENGTH, MESSAGE_TYPES, REPLY_TYPES, SCHEMA_VERSION
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, describe_exception
from course.protocol.envelope import Envelope as ReferenceEnvelope

#: Fields every envelope has.
REQUIRED_FIELDS = ("id", "type", "sender", "recipient", "correlation_id", "sent_at")
#: Fields with a default, which a shrunk message may leave out.
OPTIONAL_FIELDS = ("causation_id", "schema_version", "payload")
#: How many valid messages a scenario draws.
VALID_MESSAGES = 8
#: Roles and names the seeded addresses are made of.
ROLES = ("coordinator", "worker", "client", "planner", "data_agent")
NAMES = ("main", "w1", "w-2", "main-w0", "eu.1", "Notebook")


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= MAX_ID_LENGTH


def envelope_problems(msg: dict[str, Any]) -> list[str]:
    """The question's rules that ``msg`` breaks ([] for a valid message)."""
    problems = [f"required field {k!r} is missing" for k in REQUIRED_FIELDS if k not in msg]
    extra = sorted(set(msg) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if extra:
        problems.append(f"unknown extra field {extra[0]!r}")
    if "id" in msg and not _is_id(msg["id"]):
        problems.append(f"id empty or longer than {MAX_ID_LENGTH} characters")
    if "type" in msg and msg["type"] not in MESSAGE_TYPES:
        problems.append("unknown message type")
    for key in ("sender", "recipient"):
        if key in msg and not (isinstance(msg[key], str) and re.fullmatch(AGENT_NAME_PATTERN, msg[key])):
            problems.append("address is not role:name")
    if "sender" in msg and msg.get("sender") == msg.get("recipient"):
        problems.append("sender equals recipient")
    if "correlation_id" in msg and not _is_id(msg["correlation_id"]):
        problems.append("correlation_id (the conversation) empty, None or too long")
    cause = msg.get("causation_id")
    if cause is not None and not (isinstance(cause, str) and len(cause) <= MAX_ID_LENGTH):
        problems.append("causation_id is not a string of at most 64 characters")
    if cause is not None and cause == msg.get("id"):
        problems.append("causation_id equals the message's own id")
    if "sent_at" in msg:
        t = msg["sent_at"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0:
            problems.append("sent_at is not a number of seconds >= 0")
    if "schema_version" in msg and msg["schema_version"] != SCHEMA_VERSION:
        problems.append("unsupported schema_version")
    if "payload" in msg and not isinstance(msg["payload"], dict):
        problems.append("payload is not an object")
    return problems


def _address(rng: random.Random, avoid: str = "") -> str:
    while True:
        address = f"{rng.choice(ROLES)}:{rng.choice(NAMES)}"
        if address != avoid:
            return address


def _valid_envelope(rng: random.Random, n: int) -> dict[str, Any]:
    kind = rng.choice(MESSAGE_TYPES)
    sender = _address(rng)
    msg: dict[str, Any] = {
        "id": f"m-{rng.randrange(10**6)}-{n}",
        "type": kind,
        "sender": sender,
        "recipient": _address(rng, avoid=sender),
        "correlation_id": f"task-{rng.randrange(100)}",
        "sent_at": round(rng.uniform(0, 86400), 3),
        "payload": {"task_id": f"t{rng.randrange(100)}", "index": rng.randrange(8)},
    }
    if kind in REPLY_TYPES or rng.random() < 0.5:
        msg["causation_id"] = f"m-{rng.randrange(10**6)}"
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
    m = base(); m["type"] = rng.choice(["task.error", "heartbeat", "task.assigned", "TASK.ASSIGN"])
    cases.append(("unknown message type", m))
    m = base(); m["recipient"] = m["sender"]
    cases.append(("sender equals recipient", m))
    m = base(); m[rng.choice(["sender", "recipient"])] = rng.choice(
        ["worker", "worker-1", "Worker:w1", "worker:", ":w1", "worker:-w1", "worker: w1", "1worker:w"])
    cases.append(("address is not role:name", m))
    m = base(); del m["correlation_id"]
    cases.append(("no correlation_id (every message belongs to a conversation)", m))
    m = base(); m["correlation_id"] = rng.choice([None, ""])
    cases.append(("correlation_id None or empty", m))
    m = base(); m["causation_id"] = m["id"]
    cases.append(("causation_id equals the message's own id", m))
    m = base(); m["sent_at"] = -round(rng.uniform(0.5, 100), 3)
    cases.append(("sent_at negative", m))
    m = base(); m["schema_version"] = rng.choice([0, 2, 3])
    cases.append(("unsupported schema_version", m))
    m = base(); m[rng.choice(["priority", "ttl", "reply_to"])] = 1
    cases.append(("unknown extra field", m))
    m = base(); m["id"] = rng.choice(["", "x" * (MAX_ID_LENGTH + 1 + rng.randrange(10))])
    cases.append((f"id empty or longer than {MAX_ID_LENGTH} characters", m))
    m = base(); m["payload"] = rng.choice([[1, 2], "text", 3])
    cases.append(("payload is not an object", m))
    return cases


def _fewer_fields(msg: dict[str, Any]) -> Any:
    """Messages like ``msg`` with some optional fields dropped (simplest: all of them)."""
    from hypothesis import strategies as st

    optional = [k for k in OPTIONAL_FIELDS if k in msg]

    def build(keep: list[bool]) -> dict[str, Any]:
        dropped = {k for k, kept in zip(optional, keep) if not kept}
        return {k: v for k, v in msg.items() if k not in dropped}

    return st.lists(st.booleans(), min_size=len(optional), max_size=len(optional)).map(build)


@dataclass(frozen=True)
class ModelCase(Case):
    """The answer is a pydantic model at all."""

    def describe(self) -> str:
        return "the Envelope class itself"

    def check(self, cls: Any, log: MessageLog) -> str:
        from pydantic import BaseModel

        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            raise CaseFailed(f"expected a pydantic BaseModel subclass, got {cls!r}")
        if issubclass(cls, ReferenceEnvelope):
            raise CaseFailed("this is course.protocol's Envelope (the lesson's reference): write your own model in the notebook")
        return "a pydantic model"


@dataclass(frozen=True)
class ValidCase(Case):
    """A valid message: accepted, with the defaults, the same from a dict and from JSON text."""

    message: dict[str, Any]

    def describe(self) -> str:
        return f"the valid message {json.dumps(self.message)}"

    def check(self, cls: Any, log: MessageLog) -> str:
        from pydantic import ValidationError

        msg = self.message
        try:
            env = cls.model_validate(msg)
            again = cls.model_validate_json(env.model_dump_json())
        except ValidationError as exc:
            raise CaseFailed(f"a valid message was rejected: {json.dumps(msg)}\n  {describe_exception(exc)}") from None
        if again != env:
            raise CaseFailed(f"a valid message does not survive model_dump_json -> model_validate_json: {json.dumps(msg)}")
        if getattr(env, "schema_version", None) != 1:
            raise CaseFailed(f"schema_version should default to 1, got {getattr(env, 'schema_version', None)!r}")
        if "causation_id" not in msg and getattr(env, "causation_id", "?") is not None:
            raise CaseFailed("causation_id should default to None")
        if "payload" not in msg and getattr(env, "payload", None) != {}:
            raise CaseFailed("payload should default to {}")
        try:
            from_json = cls.model_validate_json(json.dumps(msg))
        except ValidationError as exc:
            raise CaseFailed(f"a valid message sent as JSON text was rejected: {json.dumps(msg)}\n  {describe_exception(exc)}") from None
        if from_json != env:
            raise CaseFailed("the same message parsed from a dict and from JSON text gives different envelopes")
        return "accepted and round-tripped"

    def smaller(self) -> Any:
        return _fewer_fields(self.message).filter(lambda m: not envelope_problems(m)).map(ValidCase)


@dataclass(frozen=True)
class FrozenCase(Case):
    """An envelope cannot be changed once built."""

    message: dict[str, Any]

    def describe(self) -> str:
        return f"assigning env.sender on the envelope of {json.dumps(self.message)}"

    def check(self, cls: Any, log: MessageLog) -> str:
        from pydantic import ValidationError

        env = cls.model_validate(self.message)
        try:
            env.sender = "someone-else"
        except (ValidationError, TypeError, AttributeError):
            return "frozen"
        raise CaseFailed("envelopes must be immutable (frozen), but assigning env.sender worked")


@dataclass(frozen=True)
class ReplyCase(Case):
    """``env.reply(type, payload, sent_at=..., id=...)``: the answer stays in the conversation and names its cause."""

    message: dict[str, Any]
    reply_type: str

    def describe(self) -> str:
        return (f"env.reply({self.reply_type!r}, {{'ok': True}}, sent_at={self.message['sent_at'] + 1.5}, id='r-1') "
                f"on {json.dumps(self.message)}")

    def check(self, cls: Any, log: MessageLog) -> str:
        env = cls.model_validate(self.message)
        if not callable(getattr(env, "reply", None)):
            raise CaseFailed("Envelope has no reply() method")
        answer = env.reply(self.reply_type, {"ok": True}, sent_at=self.message["sent_at"] + 1.5, id="r-1")
        want = {"id": "r-1", "type": self.reply_type, "sender": self.message["recipient"],
                "recipient": self.message["sender"], "correlation_id": self.message["correlation_id"],
                "causation_id": self.message["id"], "sent_at": self.message["sent_at"] + 1.5, "payload": {"ok": True}}
        if not isinstance(answer, cls):
            raise CaseFailed(f"reply() should return an Envelope, got {type(answer).__name__}")
        wrong = {k: (getattr(answer, k, None), v) for k, v in want.items() if getattr(answer, k, None) != v}
        if wrong:
            field, (got, expected) = next(iter(wrong.items()))
            why = {"correlation_id": "a reply stays in the conversation: same correlation_id",
                   "causation_id": "a reply names the message it answers: causation_id = that message's id",
                   "sender": "a reply goes back: sender and recipient swap",
                   "recipient": "a reply goes back: sender and recipient swap"}.get(field, "")
            raise CaseFailed(f"reply(): {field} should be {expected!r}, got {got!r}" + (f" ({why})" if why else ""))
        return "reply() answers in the same conversation"


@dataclass(frozen=True)
class InvalidCase(Case):
    """A message that breaks one rule of the question must raise ``ValidationError``."""

    rule: str
    message: dict[str, Any]

    def describe(self) -> str:
        return f"the invalid message ({self.rule}) {json.dumps(self.message)}"

    def check(self, cls: Any, log: MessageLog) -> str:
        from pydantic import ValidationError

        try:
            cls.model_validate(self.message)
        except ValidationError:
            return "rejected"
        raise CaseFailed(f"an invalid message was accepted ({self.rule}): {json.dumps(self.message)}")

    def smaller(self) -> Any:
        broken = envelope_problems(self.message)  # the shrunk message must break the same rules, no others
        return _fewer_fields(self.message).filter(lambda m: envelope_problems(m) == broken).map(
            lambda m: InvalidCase(self.rule, m))


class EnvelopeScenario(Scenario):
    """Valid and invalid Day 1 messages drawn from ``seed``."""

    default_target = "Envelope"

    def __init__(self, seed: int = 0) -> None:
        super().__init__("envelope", seed, f"day1.envelope_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        rng = day1_stream("envelope", self.seed)
        valid = [_valid_envelope(rng, n) for n in range(VALID_MESSAGES)]
        invalid = _invalid_envelopes(rng)
        requests = [m for m in valid if m["type"] not in REPLY_TYPES] or valid
        return [ModelCase(), *(ValidCase(m) for m in valid), FrozenCase(valid[0]),
                ReplyCase(requests[0], "task.result"), ReplyCase(requests[-1], "task.failed"),
                *(InvalidCase(rule, m) for rule, m in invalid)]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        n_invalid = sum(isinstance(c, InvalidCase) for c in cases)
        return (f"{VALID_MESSAGES} valid messages accepted and round-tripped, reply() keeps the conversation, "
                f"{n_invalid} invalid ones rejected")


def envelope_scenario(seed: int = 0) -> EnvelopeScenario:
    """Valid and invalid Day 1 messages drawn from ``seed``."""
    return EnvelopeScenario(seed)


def grade_envelope(envelope_cls: Any, seed: int = 0) -> CheckResult:
    return envelope_scenario(seed).run(envelope_cls).assert_ok()


__all__ = ["EnvelopeScenario", "envelope_problems", "envelope_scenario", "grade_envelope"]
