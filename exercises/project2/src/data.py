"""The DataAgent: the only agent that talks to the outside world.

It fetches one update's readings from the upstream, and it is careful about it:

- every attempt has a deadline (``FETCH_TIMEOUT_SECONDS``): a slow upstream costs seconds, not the
  pipeline;
- a timeout, a network error, a 429 or a 5xx is retried, with a growing pause, up to
  ``FETCH_ATTEMPTS`` attempts; a 4xx or a malformed body is not (asking again gets the same);
- readings that validate are cached in KV under ``readings:{feed}:{update_id}``: a redelivered
  update, or one retried after a crash further down the pipeline, costs no second fetch;
- it never raises for the upstream's sake: the caller gets ``{"ok": False, "error": ...}``.
"""
import asyncio
import json

from workers import DurableObject, fetch

from protocol import (
    CACHE_TTL_SECONDS,
    FETCH_ATTEMPTS,
    FETCH_BACKOFF_SECONDS,
    FETCH_TIMEOUT_SECONDS,
    UpstreamReadings,
    upstream_url,
)


def cache_key(feed, update_id):
    return f"readings:{feed}:{update_id}"


class DataAgent(DurableObject):
    async def readings(self, feed, update_id):
        """RPC: ``{"ok": True, "readings": [...], "cached": bool}`` or ``{"ok": False, "error": ...}``."""
        return {"ok": False, "error": "TODO: fetch the readings (timeout, retries, KV cache)"}
