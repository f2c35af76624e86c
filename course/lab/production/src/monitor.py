"""The monitoring page's numbers: per-agent traffic, errors and latency percentiles, SLOs and alerts.

The page reads the raw data points back through the Analytics Engine SQL API (a SELECT both
Cloudflare's ClickHouse dialect and the emulator's SQLite run) and summarises them here.
"""
import math

#: Service level objectives: the share of hops that succeed, and the p99 latency of a hop.
AVAILABILITY_SLO = 0.99
P99_SLO_MS = 250.0
#: The query the page sends (newest points first; the SQL API caps a response, so LIMIT it).
POINTS_SQL = ("SELECT blob1 AS route, blob2 AS agent, blob3 AS outcome, double1 AS ms FROM agent_metrics "
              "ORDER BY timestamp DESC LIMIT 10000")


def percentile(values, q):
    """The nearest-rank ``q`` percentile (0 < q <= 100) of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(rows):
    """{"agents": [...], "total": {...}, "slo": {...}, "alerts": [...]} of the data points ``rows``."""
    by_agent = {}
    for row in rows:
        by_agent.setdefault(row["agent"], []).append(row)
    agents = [_stats(name, points) for name, points in sorted(by_agent.items())]
    total = _stats("all", rows)
    availability = 1.0 - (total["errors"] / total["requests"] if total["requests"] else 0.0)
    alerts = []
    if total["requests"] and availability < AVAILABILITY_SLO:
        alerts.append(f"availability {availability:.2%} below the {AVAILABILITY_SLO:.0%} SLO")
    if total["p99_ms"] > P99_SLO_MS:
        alerts.append(f"p99 {total['p99_ms']:.1f} ms above the {P99_SLO_MS:g} ms SLO")
    return {"agents": agents, "total": total, "alerts": alerts,
            "slo": {"availability": round(availability, 6), "availability_target": AVAILABILITY_SLO,
                    "p99_target_ms": P99_SLO_MS}}


def _stats(name, points):
    ms = [float(p["ms"]) for p in points]
    errors = sum(1 for p in points if p["outcome"] != "ok")
    return {"agent": name, "requests": len(points), "errors": errors,
            "p50_ms": round(percentile(ms, 50), 3), "p99_ms": round(percentile(ms, 99), 3)}


def render_page():
    """The monitoring page: a table the browser fills from /monitor.json, SLOs and alerts."""
    return PAGE


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agent system monitor</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}
.alert{color:#b00020;font-weight:bold}.ok{color:#0a7d32}</style></head>
<body><h1>Agent system monitor</h1>
<p>From Workers Analytics Engine (dataset <code>agent_metrics</code>), read through its SQL API.</p>
<table id="agents"><thead><tr><th>agent</th><th>requests</th><th>errors</th><th>p50 ms</th><th>p99 ms</th></tr></thead>
<tbody><tr><td colspan="5">loading...</td></tr></tbody></table>
<p id="slo">SLO: loading...</p><ul id="alerts"></ul>
<script>
fetch("/monitor.json").then(r => r.json()).then(s => {
  const body = document.querySelector("#agents tbody");
  body.innerHTML = "";
  for (const a of [...s.agents, s.total]) {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.agent;
    for (const v of [a.agent, a.requests, a.errors, a.p50_ms, a.p99_ms]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  document.querySelector("#slo").textContent = "availability " + (100 * s.slo.availability).toFixed(2) +
    "% (target " + (100 * s.slo.availability_target) + "%), p99 target " + s.slo.p99_target_ms + " ms";
  const ul = document.querySelector("#alerts");
  for (const text of s.alerts) { const li = document.createElement("li"); li.className = "alert"; li.textContent = text; ul.appendChild(li); }
  if (!s.alerts.length) { const li = document.createElement("li"); li.className = "ok"; li.textContent = "no alerts"; ul.appendChild(li); }
  document.body.dataset.ready = "yes";
});
</script></body></html>
"""
