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
        # BEGIN SOLUTION
        key = cache_key(feed, update_id)
        cached = await self.env.CACHE.get(key)
        if cached is not None:
            return {"ok": True, "readings": json.loads(cached), "cached": True}
        url = upstream_url(self.env.UPSTREAM_URL, feed, update_id)
        error = "no attempt made"
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            if attempt > 1:
                await asyncio.sleep(FETCH_BACKOFF_SECONDS * 2 ** (attempt - 2))
            try:
                response = await asyncio.wait_for(fetch(url), FETCH_TIMEOUT_SECONDS)
                text = await asyncio.wait_for(response.text(), FETCH_TIMEOUT_SECONDS)
            except asyncio.TimeoutError:
                error = f"the upstream did not answer within {FETCH_TIMEOUT_SECONDS:g} s"
                continue
            except Exception as exc:  # a network error: worth another try
                error = f"the upstream could not be reached: {exc}"
                continue
            if response.status == 429 or response.status >= 500:
                error = f"the upstream answered {response.status}"
                continue
            if response.status != 200:
                return {"ok": False, "error": f"the upstream answered {response.status}"}
            try:
                data = UpstreamReadings.model_validate_json(text)
            except ValueError as exc:
                return {"ok": False, "error": f"the upstream's answer is malformed: {str(exc).splitlines()[0]}"}
            if (data.feed, data.update_id) != (feed, update_id):
                return {"ok": False, "error": f"the upstream answered for {data.feed}/{data.update_id}"}
            readings = [r.model_dump(mode="json") for r in data.readings]
            await self.env.CACHE.put(key, json.dumps(readings), expirationTtl=CACHE_TTL_SECONDS)
            return {"ok": True, "readings": readings, "cached": False}
        return {"ok": False, "error": f"{error} ({FETCH_ATTEMPTS} attempts)"}
        # END SOLUTION
        # STARTER: return {"ok": False, "error": "TODO: fetch the readings (timeout, retries, KV cache)"}
