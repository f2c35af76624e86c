"""The envelope every agent message travels in: who, to whom, why, and when."""
from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Bumped when the envelope's fields change; receivers reject versions they do not know.
SCHEMA_VERSION = 1

#: Agent addresses look like "coordinator:main" or "worker:w-0".
ADDRESS_PATTERN = r"^[a-z][a-z0-9_-]*:[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

MessageType = Literal[
    "task.submit", "task.assign", "task.result", "task.failed", "task.report", "agent.heartbeat",
]


class Envelope(BaseModel):
    """One message between agents.

    ``correlation_id`` ties every message of one conversation (a task) together;
    ``causation_id`` names the message that caused this one, so a log can be replayed as a tree.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    type: MessageType
    sender: str = Field(pattern=ADDRESS_PATTERN)
    recipient: str = Field(pattern=ADDRESS_PATTERN)
    correlation_id: str = Field(min_length=1, max_length=64)
    causation_id: str | None = Field(default=None, max_length=64)
    sent_at: float = Field(ge=0, description="seconds since the Unix epoch")
    schema_version: int = SCHEMA_VERSION
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema_version {v}; this agent speaks {SCHEMA_VERSION}")
        return v

    @model_validator(mode="after")
    def _not_to_self(self) -> "Envelope":
        if self.sender == self.recipient:
            raise ValueError("sender and recipient must differ")
        if self.causation_id is not None and self.causation_id == self.id:
            raise ValueError("a message cannot cause itself (causation_id == id)")
        return self

    def reply(self, type: MessageType, payload: dict[str, Any], *, sent_at: float, id: str | None = None) -> "Envelope":
        """The answer to this message: same conversation, caused by this message."""
        return Envelope(id=id or new_id(), type=type, sender=self.recipient, recipient=self.sender,
                        correlation_id=self.correlation_id, causation_id=self.id, sent_at=sent_at,
                        payload=payload)


def new_id() -> str:
    return uuid.uuid4().hex


def new_envelope(type: MessageType, sender: str, recipient: str, payload: dict[str, Any], *,
                 sent_at: float, correlation_id: str | None = None, causation_id: str | None = None,
                 id: str | None = None) -> Envelope:
    mid = id or new_id()
    return Envelope(id=mid, type=type, sender=sender, recipient=recipient,
                    correlation_id=correlation_id or mid, causation_id=causation_id, sent_at=sent_at,
                    payload=payload)


def is_address(value: str) -> bool:
    return re.match(ADDRESS_PATTERN, value) is not None
