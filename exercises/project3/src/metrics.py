"""Structured logs and Analytics Engine data points: how every agent reports what it did.

One data point per event (https://developers.cloudflare.com/analytics/analytics-engine/get-started/):
blobs ``[agent, event, region]``, doubles ``[milliseconds]``, index the task id; the log line also
carries the task's trace (W3C trace context: trace id, this agent's span, its parent). The monitoring
page reads them back through the SQL API (``monitor.py``). Writes are fire-and-forget: they never
slow an agent down or fail its request.

This file is given to you whole; call :func:`record` from your agents.
"""
import json

from protocol import span, trace_id_of

#: The events the monitoring page counts, by the agent that writes them.
EVENTS = {
    "intake": ("request", "accepted", "rejected"),
    "planner": ("planned",),
    "worker": ("processing", "duplicate", "retry", "dead_lettered"),
    "analyst": ("ai_call", "ai_failure", "fallback", "breaker_open"),
    "notifier": ("done",),
}


def log(**fields):
    """One structured log line: JSON on stdout, as Workers Logs and `wrangler tail` show it."""
    print(json.dumps(fields, sort_keys=True))


def record(env, agent, event, *, region="", ms=0.0, task_id="", trace=None):
    """Log and count one event of ``agent`` (one of :data:`EVENTS`); ``trace`` is the task's
    ``traceparent`` as this agent received it: the log line carries its trace id and this agent's span."""
    fields = {}
    trace_id = trace_id_of(trace)
    if trace_id:
        span_id, _ = span(trace_id, agent, task_id)
        fields = {"trace_id": trace_id, "span_id": span_id, "parent_id": trace.split("-")[2]}
    log(level="error" if event in ("ai_failure", "dead_lettered", "rejected") else "info", agent=agent,
        event=event, region=region, ms=round(ms, 3), task_id=task_id, **fields)
    env.METRICS.writeDataPoint({"blobs": [agent, event, region], "doubles": [float(ms)],
                                "indexes": [task_id[:96]]})
