"""Question 1, the message envelope: valid messages accepted and round-tripped, invalid ones rejected.

The cases are eight valid messages drawn from the seed, a check that an envelope is frozen,
and one invalid message per rule the question states. A failing message shrinks to the
fewest fields (optional fields dropped, payload emptied) that still show the mistake; the
rules themselves are written down once, in :func:`envelope_problems`, so a shrunk message is
known to be valid (or invalid) by the question's own table.
"""
from __future__ import annotations

import datetime as _dt
import json
import random
import re
from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day1.corpus import day1_stream, iso
from course.checks.day1.types import AGENT_NAME_PATTERN, MAX_ID_LENGTH, MESSAGE_TYPES, REPLY_TYPES, SCHEMA_VERSION
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, describe_exception

#: Fields every envelope has.
REQUIRED_FIELDS = ("id", "type", "sender", "recipient", "sent_at")
#: Fields with a default, which a shrunk message may leave out.
OPTIONAL_FIELDS = ("correlation_id", "causation_id", "schema_version", "payload")
#: How many valid messages a scenario draws.
VALID_MESSAGES = 8


def envelope_problems(msg: dict[str, Any]) -> list[str]:
    """The question's rules that ``msg`` breaks ([] for a valid message)."""
    problems = [f"required field {k!r} is missing" for k in REQUIRED_FIELDS if k not in msg]
    extra = sorted(set(msg) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if extra:
        problems.append(f"unknown extra field {extra[0]!r}")
    mid = msg.get("id")
    if "id" in msg and not (isinstance(mid, str) and 1 <= len(mid) <= MAX_ID_LENGTH):
        problems.append(f"id empty or longer than {MAX_ID_LENGTH} characters")
    if "type" in msg and msg["type"] not in MESSAGE_TYPES:
        problems.append("unknown message type")
    for key in ("sender", "recipient"):
        if key in msg and not (isinstance(msg[key], str) and re.fullmatch(AGENT_NAME_PATTERN, msg[key])):
            problems.append(f"agent name does not match {AGENT_NAME_PATTERN}")
    if "sender" in msg and msg.get("sender") == msg.get("recipient"):
        problems.append("sender equals recipient")
    if msg.get("type") in REPLY_TYPES and msg.get("correlation_id") is None:
        problems.append("reply without correlation_id")
    if msg.get("causation_id") is not None and msg.get("causation_id") == msg.get("id"):
        problems.append("causation_id equals the message's own id")
    if "sent_at" in msg:
        try:
            aware = _dt.datetime.fromisoformat(str(msg["sent_at"])).tzinfo is not None
        except ValueError:
            aware = False
        if not aware:
            problems.append("sent_at without a timezone")
    if "schema_version" in msg and msg["schema_version"] != SCHEMA_VERSION:
        problems.append("unsupported schema_version")
    if "payload" in msg and not isinstance(msg["payload"], dict):
        problems.append("payload is not an object")
    return problems


def _valid_envelope(rng: random.Random, n: int) -> dict[str, Any]:
    kind = rng.choice(MESSAGE_TYPES)
    sender = rng.choice(["coordinator", "worker", "planner", "summariser", "w"]) + rng.choice(["", "-1", "-2", "7", "-eu"])
    recipient = rng.choice([r for r in ("coordinator", "worker-1", "worker-2", "planner") if r != sender])
    msg: dict[str, Any] = {
        "id": f"m-{rng.randrange(10**6)}-{n}",
        "type": kind,
        "sender": sender,
        "recipient": recipient,
        "sent_at": iso(rng.uniform(0, 86400)),
        "payload": {"task_id": f"t{rng.randrange(100)}", "index": rng.randrange(8)},
    }
    if kind in REPLY_TYPES or rng.random() < 0.5:
        msg["correlation_id"] = f"m-{rng.randrange(10**6)}"
    if rng.random() < 0.5:
        msg["causation_id"] = f"c-{rng.randrange(10**6)}"
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
    m = base(); m["type"] = rng.choice(["task.assigned", "result", "TASK.ASSIGN", "ping"])
    cases.append(("unknown message type", m))
    m = base(); m["recipient"] = m["sender"]
    cases.append(("sender equals recipient", m))
    m = base(); m[rng.choice(["sender", "recipient"])] = rng.choice(["Worker-1", "1worker", "worker 1", "", "w" * 33, "worker_1"])
    cases.append((f"agent name does not match {AGENT_NAME_PATTERN}", m))
    m = base(); m["type"] = rng.choice(REPLY_TYPES); m.pop("correlation_id", None)
    cases.append(("reply without correlation_id", m))
    m = base(); m["type"] = rng.choice(REPLY_TYPES); m["correlation_id"] = None
    cases.append(("reply with correlation_id None", m))
    m = base(); m["causation_id"] = m["id"]
    cases.append(("causation_id equals the message's own id", m))
    m = base(); m["sent_at"] = iso(rng.uniform(0, 86400), aware=False)
    cases.append(("sent_at without a timezone", m))
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
        if msg["type"] not in REPLY_TYPES and "correlation_id" not in msg and getattr(env, "correlation_id", "?") is not None:
            raise CaseFailed("correlation_id should default to None")
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
        return [ModelCase(), *(ValidCase(m) for m in valid), FrozenCase(valid[0]),
                *(InvalidCase(rule, m) for rule, m in invalid)]

    def summary(self, cases: Sequence[Case], last: str) -> str:
        n_invalid = sum(isinstance(c, InvalidCase) for c in cases)
        return f"{VALID_MESSAGES} valid messages accepted and round-tripped, {n_invalid} invalid ones rejected"


def envelope_scenario(seed: int = 0) -> EnvelopeScenario:
    """Valid and invalid Day 1 messages drawn from ``seed``."""
    return EnvelopeScenario(seed)


def grade_envelope(envelope_cls: Any, seed: int = 0) -> CheckResult:
    return envelope_scenario(seed).run(envelope_cls).assert_ok()


__all__ = ["EnvelopeScenario", "envelope_problems", "envelope_scenario", "grade_envelope"]
