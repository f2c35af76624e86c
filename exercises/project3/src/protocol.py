"""Project 3's contract as pydantic models and helpers: what clients send, what agents send each other.

A client POSTs a :class:`TaskRequest` to ``/tasks`` (or a partner agent, signed, to
``/internal/tasks``). The intake hands it to a planner of the caller's region, which queues it;
a worker takes it off the queue, an analyst summarises it (Workers AI, or :func:`fallback_summary`
when the AI is failing) and the notifier appends one :class:`TaskResult` per task to the feed.

This file is given to you whole: the contract is fixed, the agents are yours to write.
"""
import hashlib
import hmac
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: What a task id looks like (it is also the task's idempotency key).
TASK_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
#: Longest task text (characters).
MAX_TEXT = 2000
#: The regions, as Durable Object location hints
#: (https://developers.cloudflare.com/durable-objects/reference/data-location/#provide-a-location-hint).
REGIONS = ("wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me")
#: A few Cloudflare data centres (``request.cf.colo``, IATA codes) and their region; the harness's
#: clients come from these. An unknown colo means "use DEFAULT_REGION".
COLO_REGIONS = {
    "SJC": "wnam", "LAX": "wnam", "SEA": "wnam", "IAD": "enam", "EWR": "enam", "ORD": "enam",
    "GRU": "sam", "LHR": "weur", "CDG": "weur", "FRA": "weur", "WAW": "eeur", "VIE": "eeur",
    "SIN": "apac", "NRT": "apac", "HKG": "apac", "SYD": "oc", "AKL": "oc", "JNB": "afr", "DXB": "me",
}
#: The model an analyst asks (https://developers.cloudflare.com/workers-ai/models/).
MODEL = "@cf/meta/llama-3.2-1b-instruct"
#: Most output tokens an analyst asks for: a summary is one sentence.
MAX_TOKENS = 64

# -- traces ---------------------------------------------------------------------------------------
#: The W3C trace context header (https://www.w3.org/TR/trace-context/):
#: ``00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>``.
TRACEPARENT = "traceparent"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")

# -- signed calls between agents -------------------------------------------------------------------
SIGNATURE_HEADER = "x-agent-signature"
TIMESTAMP_HEADER = "x-agent-timestamp"
NONCE_HEADER = "x-agent-nonce"
#: How far a signed call's timestamp may be from the receiver's clock, either way (seconds); the
#: receiver remembers nonces at least this long, so a replay inside the window is refused too.
MAX_CLOCK_SKEW_SECONDS = 300
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskRequest(_Model):
    """``POST /tasks`` and ``POST /internal/tasks``: one text to summarise."""

    task_id: str = Field(pattern=TASK_ID_PATTERN)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    priority: Literal["normal", "high"] = "normal"


class Accepted(_Model):
    """The 202 answer to a task: which planner took it (after a failover, not the primary)."""

    task_id: str
    region: str  # the caller's region, as the intake read it
    planner: str  # the Durable Object name of the planner that took it, e.g. "planner-apac-2"


class TaskResult(_Model):
    """A finished task: ``GET /tasks/{task_id}`` and one entry of ``GET /feed``."""

    task_id: str
    status: Literal["done"]
    summary: str
    fallback: bool  # True when the summary is fallback_summary's (the AI was failing or its answer unusable)
    region: str
    planner: str
    trace_id: str  # the task's W3C trace id: the client's, or one the intake started


class Feed(_Model):
    """``GET /feed``: every finished task, each exactly once."""

    completions: list[TaskResult]


class Health(_Model):
    """``GET /healthz`` (liveness) and ``GET /readyz`` (readiness).

    ``/readyz`` checks ``planner`` (the caller's primary planner answers: "ok", else why and where
    the intake fails over to) and ``ai`` ("ok", or "open" while an analyst's circuit breaker is open).
    ``status``: "ok" when every check is; "degraded" (still 200) when tasks are accepted but through
    a failover or the fallback; "unavailable" (503) when no planner of the caller can be reached.
    """

    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class RegionStats(_Model):
    requests: int  # POST /tasks and /internal/tasks requests from this region
    p50_ms: float  # intake latency of those requests (nearest-rank percentiles)
    p99_ms: float


class MonitorReport(_Model):
    """``GET /monitor.json``: what the monitoring page shows, read back from Analytics Engine."""

    tasks: dict[Literal["accepted", "done", "fallback", "dead_lettered", "duplicates_dropped"], int]
    ai: dict[Literal["calls", "failures"], int]
    rejected_calls: int  # signed calls refused (401)
    regions: dict[str, RegionStats]
    alerts: list[str] = Field(default_factory=list)


def trace_id_of(header):
    """The trace id of a valid ``traceparent`` header, else None (all-zero ids are invalid)."""
    found = _TRACEPARENT.match((header or "").strip().lower())
    if found is None or set(found[1]) == {"0"} or set(found[2]) == {"0"}:
        return None
    return found[1]


def span(trace_id, agent, task_id):
    """The span id of ``agent``'s work on ``task_id`` in ``trace_id`` (16 hex digits), and the
    ``traceparent`` that makes it the parent of the next hop."""
    span_id = hashlib.sha256(f"{trace_id}:{agent}:{task_id}".encode()).hexdigest()[:16]
    span_id = span_id if set(span_id) != {"0"} else "0" * 15 + "1"
    return span_id, f"00-{trace_id}-{span_id}-01"


def region_of_colo(colo, default):
    """The region of a Cloudflare colo (``request.cf.colo``), or ``default``."""
    return COLO_REGIONS.get(str(colo or "").upper(), default)


def stable_hash(text):
    """A 64-bit hash of ``text``, the same in every isolate (unlike Python's salted ``hash()``)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def shard_of(task_id, shards):
    """Which of ``shards`` shards a task belongs to."""
    return stable_hash(task_id) % shards


def fallback_summary(text):
    """The rule-based summary used when the AI cannot answer: the first sentence, at most 120 characters."""
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return first if len(first) <= 120 else first[:117] + "..."


def body_digest(body):
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return hashlib.sha256(data).hexdigest()


def canonical_request(method, path, body, timestamp, nonce):
    """The one string both sides sign: changing any part changes the signature."""
    return "\n".join((method.upper(), path, body_digest(body), str(int(timestamp)), nonce))


def sign(secret, method, path, body, timestamp, nonce):
    """Hex HMAC-SHA256 of :func:`canonical_request` under ``secret``."""
    message = canonical_request(method, path, body, timestamp, nonce).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def check_signature(secret, method, path, body, *, signature, timestamp, nonce, now,
                    max_skew=MAX_CLOCK_SKEW_SECONDS):
    """Why this call must be refused (None: signed with ``secret`` and fresh).

    Refusing a replay is the receiver's job: it must also remember ``nonce`` for ``max_skew``.
    """
    if not signature or not timestamp or not nonce:
        return "unsigned: the signature, timestamp and nonce headers are required"
    if not NONCE_PATTERN.match(nonce):
        return "malformed nonce: 16 to 64 characters of letters, digits, _ and -"
    try:
        sent = int(timestamp)
    except ValueError:
        return "malformed timestamp: whole seconds since the epoch expected"
    if abs(now - sent) > max_skew:
        return f"stale: the timestamp is {abs(now - sent):.0f} s from this agent's clock (at most {max_skew:g} s)"
    if not hmac.compare_digest(sign(secret, method, path, body, sent, nonce), signature.lower()):
        return "bad signature: the method, path, body, timestamp or nonce was changed, or the key is wrong"
    return None
