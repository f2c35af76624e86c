"""Discovery: agent cards, the registry's entries, and heartbeats (Day 2, the lab's registry).

An agent announces itself with an :class:`AgentCard` (who it is, what it can do, where to reach
it: the idea of the A2A protocol's agent card, kept small). The registry keeps one
:class:`RegistryEntry` per agent, alive until ``expires_at``: a registration or a heartbeat
pushes it ``ttl_seconds`` ahead, and an alarm deletes entries that expired.
"""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Seconds an entry stays alive after a registration or heartbeat, unless the card says otherwise.
DEFAULT_TTL_SECONDS = 30.0
#: Shortest and longest time-to-live a card may ask for.
MIN_TTL_SECONDS, MAX_TTL_SECONDS = 5.0, 3600.0
#: What an agent id, and a capability, look like.
AGENT_ID_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"
CAPABILITY_PATTERN = r"^[a-z][a-z0-9.-]{0,31}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentCard(_Model):
    """What an agent tells the registry about itself."""

    agent_id: str = Field(pattern=AGENT_ID_PATTERN)
    capabilities: list[str] = Field(min_length=1, max_length=16)
    endpoint: str = Field(default="", max_length=256)
    description: str = Field(default="", max_length=280)
    version: str = Field(default="1", max_length=32)
    ttl_seconds: float = Field(default=DEFAULT_TTL_SECONDS, ge=MIN_TTL_SECONDS, le=MAX_TTL_SECONDS)

    @field_validator("capabilities")
    @classmethod
    def _capabilities_are_names(cls, capabilities: list[str]) -> list[str]:
        for i, capability in enumerate(capabilities):
            if not re.fullmatch(CAPABILITY_PATTERN, capability):
                raise ValueError(f"capability {i} ({capability!r}) must match {CAPABILITY_PATTERN}")
        if len(set(capabilities)) != len(capabilities):
            raise ValueError("a capability is listed twice")
        return capabilities


class RegistryEntry(_Model):
    """One registered agent, as the registry answers it."""

    card: AgentCard
    registered_at: float
    last_seen: float
    expires_at: float


class RegistryListing(_Model):
    """The alive agents (optionally those with one capability), soonest to expire last."""

    registry: str
    capability: str | None = None
    agents: list[RegistryEntry]


class HeartbeatReply(_Model):
    agent_id: str
    alive: bool
    expires_at: float | None = None


__all__ = ["AGENT_ID_PATTERN", "CAPABILITY_PATTERN", "DEFAULT_TTL_SECONDS", "MAX_TTL_SECONDS", "MIN_TTL_SECONDS",
           "AgentCard", "HeartbeatReply", "RegistryEntry", "RegistryListing"]
