"""The AnalystAgent: summarises a task with Workers AI, behind retries and a circuit breaker.

- **Retries**: a failed AI call (rate limited, a server error, a timeout, an empty answer) is tried
  again after a short backoff, :data:`AI_ATTEMPTS` times in all.
- **Circuit breaker**: after :data:`FAILURE_THRESHOLD` failed calls in a row the breaker opens and
  the analyst stops calling the AI for :data:`COOLDOWN_SECONDS`; then one call probes it
  (half-open): a success closes the breaker, a failure opens it again.
- **Fallback**: while the breaker is open, or when every attempt failed, the task still finishes,
  with :func:`~protocol.fallback_summary` and ``fallback: True``.

The breaker lives in memory: a restarted analyst starts closed and finds out again (a few calls).
"""
import asyncio
import time

from workers import DurableObject

from metrics import record
from protocol import MAX_TOKENS, fallback_summary



def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class AnalystAgent(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.failures = 0  # failed AI calls in a row
        self.opened_at = None  # when the breaker opened (None: closed)
        self.probing = False  # a half-open probe is in flight

    async def analyze(self, plan):
        """RPC: ``{"summary": str, "fallback": bool}`` for a planned task."""
        plan = to_python(plan)
        raise NotImplementedError("TODO: ask the AI (retries, a circuit breaker), fall back when it fails")


    async def state(self):
        """RPC: "closed", "open" or "half-open", for /readyz."""
        return "closed"
