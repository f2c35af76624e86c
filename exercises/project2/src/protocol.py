"""Project 2's contract as pydantic models and constants: what clients, the upstream and the agents exchange.

An update travels: client ``POST /feeds/{feed}/updates`` (an :class:`UpdateRequest`) -> the queue
``mesh-updates`` (an :class:`UpdateMessage`) -> the DataAgent of the feed, which fetches
:class:`UpstreamReadings` from the upstream -> the AnalysisAgent of the feed, which asks Workers AI
for :class:`Findings` (or falls back to :func:`rule_findings`) -> the NotificationAgent of the
feed, which stores one :class:`Notification` per update and pushes it to every subscriber.

This file is given to you whole: the contract is fixed, the agents are yours to write.
"""
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: What a feed's name looks like (it names the three agents of the feed too).
FEED_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: What an update id looks like (it is also the update's idempotency key).
UPDATE_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

#: The upstream's route for one update's readings: GET {UPSTREAM_URL}/feeds/{feed}/updates/{update_id}
UPSTREAM_PATH = "/feeds/{feed}/updates/{update_id}"
#: How long the DataAgent waits for one upstream answer, and how many attempts it makes. A
#: timeout, a network error, a 429 or a 5xx is retried; a 4xx or a malformed body is not.
FETCH_TIMEOUT_SECONDS = 2.0
FETCH_ATTEMPTS = 3
#: Pause before retry k (1, 2, ...): FETCH_BACKOFF_SECONDS * 2 ** (k - 1).
FETCH_BACKOFF_SECONDS = 0.25
#: How long fetched readings stay in the KV cache. KV's smallest expirationTtl is 60 s
#: (https://developers.cloudflare.com/kv/api/write-key-value-pairs/#expiring-keys).
CACHE_TTL_SECONDS = 3600

#: The model the AnalysisAgent asks, in JSON mode (https://developers.cloudflare.com/workers-ai/features/json-mode/).
AI_MODEL = "@cf/meta/llama-3.1-8b-instruct"
#: How long one model call may take, how many calls one update may make (a refused answer is
#: asked for again once), and how long all of them together may take.
AI_TIMEOUT_SECONDS = 3.0
AI_ATTEMPTS = 2
AI_BUDGET_SECONDS = 5.0
#: ``source`` of an analysis made by the rules, not a model.
RULES_SOURCE = "rules"

#: Most readings one update may carry.
MAX_READINGS = 200

Trend = Literal["rising", "falling", "flat", "mixed", "none"]
Status = Literal["ok", "degraded", "failed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UpdateRequest(_Model):
    """``POST /feeds/{feed}/updates``: fetch, analyse and announce update ``update_id`` of the feed."""

    update_id: str = Field(pattern=UPDATE_ID_PATTERN)


class UpdateMessage(_Model):
    """The body of a ``mesh-updates`` queue message."""

    feed: str = Field(pattern=FEED_PATTERN)
    update_id: str = Field(pattern=UPDATE_ID_PATTERN)


class Reading(_Model):
    key: str = Field(min_length=1, max_length=64)
    value: float | None  # None: the sensor sent nothing


class UpstreamReadings(_Model):
    """What the upstream answers for one update (anything else is malformed)."""

    feed: str
    update_id: str
    readings: list[Reading] = Field(min_length=1, max_length=MAX_READINGS)


class Findings(_Model):
    """What the model must answer (JSON mode), and what the rules give when it does not."""

    summary: str = Field(min_length=1, max_length=600)
    trend: Trend
    anomalies: list[str] = Field(default_factory=list, max_length=MAX_READINGS)  # keys of this update's readings


class Notification(_Model):
    """One update as subscribers see it; ``seq`` is its place in the feed's log (1, 2, 3... no gaps)."""

    seq: int = Field(ge=1)
    feed: str
    update_id: str
    status: Status  # ok: a model's findings; degraded: the rules'; failed: no readings
    count: int = 0  # readings in the update
    mean: float | None = None  # of the readings that have a value
    trend: Trend = "none"
    summary: str = ""
    anomalies: list[str] = Field(default_factory=list)
    source: str | None = None  # the model that answered, RULES_SOURCE, or None when failed
    error: str | None = None  # why the update failed (status "failed" only)


def upstream_url(base: str, feed: str, update_id: str) -> str:
    return base.rstrip("/") + UPSTREAM_PATH.format(feed=feed, update_id=update_id)


def facts(readings: list[Reading]) -> dict:
    """The exact numbers of an update: computed here, never asked of a model."""
    values = [r.value for r in readings if r.value is not None]
    return {"count": len(readings), "missing": len(readings) - len(values),
            "mean": (sum(values) / len(values)) if values else None}


def rule_trend(readings: list[Reading]) -> str:
    values = [r.value for r in readings if r.value is not None]
    steps = [b - a for a, b in zip(values, values[1:])]
    if not steps:
        return "none"
    if all(s > 0 for s in steps):
        return "rising"
    if all(s < 0 for s in steps):
        return "falling"
    if all(s == 0 for s in steps):
        return "flat"
    return "mixed"


def rule_findings(readings: list[Reading]) -> Findings:
    """The fallback reading, always available: the trend of the values, missing readings as anomalies."""
    numbers = facts(readings)
    mean = "none" if numbers["mean"] is None else f"{numbers['mean']:.6g}"
    trend = rule_trend(readings)
    return Findings(summary=f"{numbers['count']} readings ({numbers['missing']} missing), mean {mean}, trend {trend} "
                            "(rule-based: no model answer)",
                    trend=trend, anomalies=[r.key for r in readings if r.value is None])
