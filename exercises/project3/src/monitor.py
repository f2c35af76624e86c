"""The monitoring page's numbers: the agents' events read back from Analytics Engine, summarised.

``/monitor.json`` sends :data:`POINTS_SQL` to the Analytics Engine SQL API
(https://developers.cloudflare.com/analytics/analytics-engine/sql-api/) and :func:`summarize`
turns the rows into a MonitorReport; ``/monitor`` is an HTML page that renders that JSON.
"""
import math

#: The p99 intake latency the page alerts on (milliseconds), and the fallback share.
P99_ALERT_MS = 120.0
FALLBACK_ALERT_SHARE = 0.2
#: Every data point of the dataset (the SQL API caps a response: LIMIT it).
POINTS_SQL = ("SELECT blob1 AS agent, blob2 AS event, blob3 AS region, double1 AS ms FROM agent_events "
              "LIMIT 1000000")


def percentile(values, q):
    """The nearest-rank ``q`` percentile (0 < q <= 100) of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(rows):
    """A MonitorReport (as a dict) of the data points ``rows``."""
    return {"tasks": {}, "ai": {}, "rejected_calls": 0, "regions": {}, "alerts": []}  # TODO


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Project 3 monitor</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}
.alert{color:#b00020;font-weight:bold}.ok{color:#0a7d32}</style></head>
<body><h1>Agent system monitor</h1>
<p>Read from Workers Analytics Engine (dataset <code>agent_events</code>) through its SQL API; raw numbers at
<a href="/monitor.json">/monitor.json</a>.</p>
<table id="tasks"><tbody></tbody></table>
<table id="regions"><thead><tr><th>region</th><th>requests</th><th>p50 ms</th><th>p99 ms</th></tr></thead>
<tbody></tbody></table>
<ul id="alerts"></ul>
<script>
fetch("/monitor.json").then(r => r.json()).then(m => {
  const rows = [...Object.entries(m.tasks).map(([k, v]) => ["tasks " + k, v]),
                ...Object.entries(m.ai).map(([k, v]) => ["AI " + k, v]), ["rejected calls", m.rejected_calls]];
  const tasks = document.querySelector("#tasks tbody");
  for (const [k, v] of rows) { const tr = tasks.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = v; }
  const regions = document.querySelector("#regions tbody");
  for (const [r, s] of Object.entries(m.regions)) {
    const tr = regions.insertRow(); tr.dataset.region = r;
    for (const v of [r, s.requests, s.p50_ms, s.p99_ms]) tr.insertCell().textContent = v;
  }
  const ul = document.querySelector("#alerts");
  for (const text of m.alerts) { const li = document.createElement("li"); li.className = "alert"; li.textContent = text; ul.appendChild(li); }
  if (!m.alerts.length) { const li = document.createElement("li"); li.className = "ok"; li.textContent = "no alerts"; ul.appendChild(li); }
  document.body.dataset.ready = "yes";
});
</script></body></html>
"""
