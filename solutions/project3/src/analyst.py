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

# BEGIN SOLUTION
#: Calls per task before falling back (the first and one retry).
AI_ATTEMPTS = 2
#: Seconds before the retry (doubling after each failure).
BACKOFF_SECONDS = 0.5
#: Failed calls in a row that open the breaker.
FAILURE_THRESHOLD = 3
#: Seconds the breaker stays open before one probe.
COOLDOWN_SECONDS = 60.0
#: Longest wait for one AI answer.
AI_TIMEOUT_SECONDS = 10.0
# END SOLUTION


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
        # BEGIN SOLUTION
        if not self.may_call():
            record(self.env, "analyst", "fallback", region=plan["region"], task_id=plan["task_id"],
                   trace=plan.get("traceparent"))
            return {"summary": fallback_summary(plan["text"]), "fallback": True}
        probe = self.opened_at is not None
        self.probing = probe
        try:
            for attempt in range(AI_ATTEMPTS):
                summary = await self.ask(plan)
                if summary is not None:
                    self.failures, self.opened_at = 0, None
                    return {"summary": summary, "fallback": False}
                self.failures += 1
                if probe or self.failures >= FAILURE_THRESHOLD:
                    self.opened_at = time.time()
                    record(self.env, "analyst", "breaker_open", region=plan["region"], task_id=plan["task_id"],
                           trace=plan.get("traceparent"))
                    break
                await asyncio.sleep(BACKOFF_SECONDS * 2 ** attempt)
        finally:
            if probe:
                self.probing = False
        record(self.env, "analyst", "fallback", region=plan["region"], task_id=plan["task_id"],
               trace=plan.get("traceparent"))
        return {"summary": fallback_summary(plan["text"]), "fallback": True}
        # END SOLUTION
        # STARTER: raise NotImplementedError("TODO: ask the AI (retries, a circuit breaker), fall back when it fails")

    # BEGIN SOLUTION
    def may_call(self):
        if self.opened_at is None:
            return True
        return not self.probing and time.time() - self.opened_at >= COOLDOWN_SECONDS

    async def ask(self, plan):
        """One AI call: the summary, or None when it failed (the failure is counted)."""
        record(self.env, "analyst", "ai_call", region=plan["region"], task_id=plan["task_id"],
               trace=plan.get("traceparent"))
        try:
            out = to_python(await asyncio.wait_for(self.env.AI.run(plan["model"], {
                "messages": [{"role": "system", "content": "Summarise the user's text in one short sentence."},
                             {"role": "user", "content": plan["text"]}],
                "max_tokens": MAX_TOKENS}), AI_TIMEOUT_SECONDS))
        except Exception:  # rate limited, a server error, a timeout: a failed call
            record(self.env, "analyst", "ai_failure", region=plan["region"], task_id=plan["task_id"],
                   trace=plan.get("traceparent"))
            return None
        text = out.get("response") if isinstance(out, dict) else None
        if not isinstance(text, str) or not text.strip():
            record(self.env, "analyst", "ai_failure", region=plan["region"], task_id=plan["task_id"],
                   trace=plan.get("traceparent"))
            return None
        return text.strip()[:300]
    # END SOLUTION

    async def state(self):
        """RPC: "closed", "open" or "half-open", for /readyz."""
        # BEGIN SOLUTION
        if self.opened_at is None:
            return "closed"
        return "half-open" if time.time() - self.opened_at >= COOLDOWN_SECONDS else "open"
        # END SOLUTION
        # STARTER: return "closed"
