"""Structured logs and Analytics Engine data points: how every agent reports what it did.

One data point per event (https://developers.cloudflare.com/analytics/analytics-engine/get-started/):
blobs ``[agent, event, region]``, doubles ``[milliseconds]``, index the task id. The monitoring
page reads them back through the SQL API (``monitor.py``). Writes are fire-and-forget: they never
slow an agent down or fail its request.

This file is given to you whole; call :func:`record` from your agents.
"""
import json

#: The events the monitoring page counts, by the agent that writes them.
EVENTS = {
    "intake": ("request", "accepted", "rejected"),
    "planner": ("planned",),
    "worker": ("duplicate", "dead_lettered"),
    "analyst": ("ai_call", "ai_failure", "fallback", "breaker_open"),
    "notifier": ("done",),
}


def log(**fields):
    """One structured log line: JSON on stdout, as Workers Logs and `wrangler tail` show it."""
    print(json.dumps(fields, sort_keys=True))


def record(env, agent, event, *, region="", ms=0.0, task_id=""):
    """Log and count one event of ``agent`` (one of :data:`EVENTS`)."""
    log(level="error" if event in ("ai_failure", "dead_lettered", "rejected") else "info", agent=agent,
        event=event, region=region, ms=round(ms, 3), task_id=task_id)
    env.METRICS.writeDataPoint({"blobs": [agent, event, region], "doubles": [float(ms)],
                                "indexes": [task_id[:96]]})
