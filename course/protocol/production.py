"""The production system's wire formats (Day 7, Project 3): trace context, signed requests, health.

- **Trace context**: the W3C ``traceparent`` header (https://www.w3.org/TR/trace-context/),
  ``00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>``. Every agent that handles a
  request keeps the trace id, makes a span id of its own, and sends ``traceparent`` with *its*
  span id as the parent of the next hop. :func:`parse_traceparent` refuses a malformed header
  (an agent then starts a new trace rather than trust it).
- **Signed requests** between agents: an HMAC-SHA256, keyed by a shared secret, over one
  canonical string of the method, the path, the SHA-256 of the body, a timestamp and a nonce
  (:func:`canonical_request`). :func:`check_signature` answers why a request is refused:
  a bad signature (tampered), a timestamp outside :data:`MAX_CLOCK_SKEW_SECONDS` (expired or
  from a skewed clock); the receiver remembers nonces for that window to refuse replays.
- **Health**: :class:`HealthReport`, what ``/healthz`` (liveness) and ``/readyz`` (readiness)
  answer.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The trace context header (W3C Trace Context, level 1).
TRACEPARENT = "traceparent"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

#: The headers a signed request carries.
SIGNATURE_HEADER = "x-agent-signature"
TIMESTAMP_HEADER = "x-agent-timestamp"
NONCE_HEADER = "x-agent-nonce"
KEY_ID_HEADER = "x-agent-key-id"
#: How far a request's timestamp may be from the receiver's clock, either way (seconds). Five
#: minutes is the common choice for signed webhooks; the receiver keeps nonces this long.
MAX_CLOCK_SKEW_SECONDS = 300
#: A nonce: 16 to 64 characters of [A-Za-z0-9_-] (a UUID without dashes fits).
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class TraceContext(BaseModel):
    """One hop of a distributed trace: the trace it belongs to and this hop's span."""

    model_config = ConfigDict(frozen=True)

    trace_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    span_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    parent_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    sampled: bool = True

    def traceparent(self) -> str:
        """The header to send to the next hop: this span is its parent."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


def parse_traceparent(header: str | None) -> tuple[str, str, bool] | None:
    """``(trace_id, parent span id, sampled)`` of a valid ``traceparent``, else None.

    All-zero ids are invalid (W3C Trace Context, 3.2.2.3 and 3.2.2.4).
    """
    if not header:
        return None
    found = _TRACEPARENT.match(header.strip().lower())
    if found is None or set(found[1]) == {"0"} or set(found[2]) == {"0"}:
        return None
    return found[1], found[2], bool(int(found[3], 16) & 1)


def span_id_for(trace_id: str, agent: str, attempt: int = 1) -> str:
    """A span id for ``agent``'s ``attempt`` in ``trace_id`` (16 hex digits, never all zero)."""
    digest = hashlib.sha256(f"{trace_id}:{agent}:{attempt}".encode()).hexdigest()[:16]
    return digest if set(digest) != {"0"} else "0" * 15 + "1"


def continue_trace(header: str | None, agent: str, new_trace_id: str, attempt: int = 1) -> TraceContext:
    """This hop's context: a child of ``header`` if it is valid, else the root of ``new_trace_id``."""
    parsed = parse_traceparent(header)
    if parsed is None:
        return TraceContext(trace_id=new_trace_id, span_id=span_id_for(new_trace_id, agent, attempt))
    trace_id, parent, sampled = parsed
    return TraceContext(trace_id=trace_id, span_id=span_id_for(trace_id, f"{parent}:{agent}", attempt),
                        parent_id=parent, sampled=sampled)


def body_digest(body: bytes | str) -> str:
    """Hex SHA-256 of the body (of ``b""`` for a request without one)."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return hashlib.sha256(data).hexdigest()


def canonical_request(method: str, path: str, body: bytes | str, timestamp: int, nonce: str) -> str:
    """The one string both sides sign: a change to any part changes the signature."""
    return "\n".join((method.upper(), path, body_digest(body), str(int(timestamp)), nonce))


def sign(secret: str, method: str, path: str, body: bytes | str, timestamp: int, nonce: str) -> str:
    """Hex HMAC-SHA256 of :func:`canonical_request` under ``secret``."""
    message = canonical_request(method, path, body, timestamp, nonce).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def check_signature(secret: str, method: str, path: str, body: bytes | str, *, signature: str | None,
                    timestamp: str | None, nonce: str | None, now: float,
                    max_skew: float = MAX_CLOCK_SKEW_SECONDS) -> str | None:
    """Why this request must be refused (None: the signature holds and the time is fresh).

    Replays are the receiver's to refuse: it must also remember ``nonce`` for ``max_skew``.
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
        side = "behind" if now > sent else "ahead of"
        return f"stale: the timestamp is {abs(now - sent):.0f} s {side} this agent's clock (at most {max_skew:g} s)"
    expected = sign(secret, method, path, body, sent, nonce)
    if not hmac.compare_digest(expected, signature.lower()):
        return "bad signature: the method, path, body, timestamp or nonce was changed, or the key is wrong"
    return None


#: The agents of the production chain, in the order a request visits them.
CHAIN = ("gateway", "planner", "data", "analysis", "notify")


class ChainRequest(BaseModel):
    """``POST /chain``: a task for the agent chain; ``flaky`` makes an agent fail its first attempts."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=200)
    flaky: dict[Literal["planner", "data", "analysis", "notify"], int] = Field(default_factory=dict)


class SignedTask(BaseModel):
    """``POST /signed/tasks``: what one agent asks another to do, once its signature holds."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    action: Literal["summarize", "fetch", "notify"]
    args: dict[str, str] = Field(default_factory=dict, max_length=16)


class HealthReport(BaseModel):
    """What the health endpoints answer: ``/healthz`` (am I running?) and ``/readyz`` (can I serve?)."""

    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
    version: str = ""


__all__ = ["CHAIN", "ChainRequest", "SignedTask", "KEY_ID_HEADER", "MAX_CLOCK_SKEW_SECONDS", "NONCE_HEADER", "NONCE_PATTERN", "SIGNATURE_HEADER",
           "TIMESTAMP_HEADER", "TRACEPARENT", "HealthReport", "TraceContext", "body_digest", "canonical_request",
           "check_signature", "continue_trace", "parse_traceparent", "sign", "span_id_for"]
