"""The data and constants Day 7's exercises share with their checks (given to learners).

- tracing (Q1): the chain of five agents and the W3C ``traceparent`` helpers of
  :mod:`course.protocol.production`;
- signing (Q2): :func:`sign`, :func:`check_signature` and the header names;
- alerting (Q3): the rule's threshold, window, minimum traffic and hold time;
- placement (Q4): the regions and the region latency model (:func:`round_trip_ms`);
- sharding (Q5): the per-object limit and the planning headroom, :func:`stable_hash`;
- shedding (Q6): what a gate's decisions depend on.
"""
from __future__ import annotations

import hashlib

from course.protocol.production import (CHAIN, MAX_CLOCK_SKEW_SECONDS, NONCE_HEADER, SIGNATURE_HEADER,
                                        TIMESTAMP_HEADER, TRACEPARENT, TraceContext, check_signature,
                                        continue_trace, parse_traceparent, sign)
from course.runtime.net.regions import ONE_WAY_LATENCY_MS, REGIONS, one_way_ms

#: Q3: the alert fires when more than this share of requests failed over the window...
ERROR_RATIO_THRESHOLD = 0.05
#: ... the window being the samples of the last WINDOW_SECONDS (``t - WINDOW_SECONDS < ts <= t``) ...
WINDOW_SECONDS = 300.0
#: ... holding at least this many requests (a quiet night's two errors are not an incident) ...
MIN_REQUESTS = 100
#: ... and the condition has held at every sample for at least FOR_SECONDS.
FOR_SECONDS = 120.0

#: Q4: what an object spends on a request, besides the network (milliseconds).
SERVICE_MS = 5.0

#: Q5: requests per second one Durable Object can serve (Cloudflare's documented soft limit).
PER_OBJECT_LIMIT = 1000
#: Q5: plan each shard for at most this share of the limit (hashing never splits load evenly).
TARGET_UTILISATION = 0.7

#: Q6: a request holding a slot longer than this is gone (its Worker died): reclaim its slot.
REQUEST_TIMEOUT = 30.0
#: Q6: batch requests may use at most this share of the slots (the rest is kept for critical ones).
BATCH_SHARE = 0.5


def round_trip_ms(caller: str, location: str) -> float:
    """Milliseconds of one request from ``caller``'s region to an object in ``location``: there and back, plus service."""
    return 2 * one_way_ms(caller, location) + SERVICE_MS


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process (unlike the salted ``hash()``)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


__all__ = ["BATCH_SHARE", "CHAIN", "ERROR_RATIO_THRESHOLD", "FOR_SECONDS", "MAX_CLOCK_SKEW_SECONDS",
           "MIN_REQUESTS", "NONCE_HEADER", "ONE_WAY_LATENCY_MS", "PER_OBJECT_LIMIT", "REGIONS", "REQUEST_TIMEOUT",
           "SERVICE_MS", "SIGNATURE_HEADER", "TARGET_UTILISATION", "TIMESTAMP_HEADER", "TRACEPARENT", "TraceContext",
           "WINDOW_SECONDS", "check_signature", "continue_trace", "one_way_ms", "parse_traceparent", "round_trip_ms",
           "sign", "stable_hash"]
