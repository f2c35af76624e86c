"""Project 3's rubric: thirteen items, 25 points; eight of them read the same seeded hour.

Each automatic item is all or nothing, so a system that breaks one invariant or budget loses
exactly that item. The hour's items share one seed (one run, read eight ways); the design
rationale is graded by hand.
"""
from __future__ import annotations

from course.checks.project3.contract_items import ContractScenario, TracingScenario
from course.checks.project3.invariants import COST, OUTAGE_CALLS, P99_FAILOVER, P99_NORMAL, HourScenario
from course.checks.project3.load import BURST, OBJECT_BUDGET, LoadTestScenario, ThroughputScenario
from course.checks.projects import Budget, Rubric, RubricItem

#: The seed of the simulated hour every hour item reads.
HOUR_SEED = 3

RUBRIC = Rubric("project3", (
    RubricItem("contract", "The HTTP contract", 2,
               "tasks from three regions acknowledged (202, Accepted), then readable with GET /tasks/{id} and in "
               "GET /feed once; a resubmission finishes once; bad bodies get 400/422 with an error and reach no "
               "planner", ContractScenario, seed=1),
    RubricItem("no-lost-task", "No task lost in the faulty hour", 3,
               "every valid task acknowledged; every acknowledged task finished by the end, through crashes, "
               "evictions, partitions, AI failures and redeliveries", HourScenario, seed=HOUR_SEED),
    RubricItem("no-double-task", "No task done twice", 2,
               "no task id in GET /feed twice, and nothing finished that was not submitted, under queue "
               "redeliveries and retries", HourScenario, seed=HOUR_SEED),
    RubricItem("signed-calls", "Signed calls between agents", 2,
               "signed partner calls accepted; unsigned, forged, stale, wrong-key and replayed calls (also right "
               "after the nonce ledger crashed) refused with 401 and never done", HourScenario, seed=HOUR_SEED),
    RubricItem("health", "Health that tells the truth", 2,
               "/healthz 200 throughout; /readyz 'degraded' naming the planner while the caller's planners are cut "
               "off, checks.ai 'open' during the AI outage, 'ok' when nothing fails", HourScenario, seed=HOUR_SEED),
    RubricItem("breaker", "Circuit breaker and fallback", 2,
               "tasks that arrive during a Workers AI outage still finish (the fallback), and the AI is left alone",
               HourScenario, seed=HOUR_SEED, budgets=(OUTAGE_CALLS,)),
    RubricItem("regions", "Regions: placement and failover", 2,
               "each client region's tasks planned near it; a cut-off region's tasks fail over to its second region",
               HourScenario, seed=HOUR_SEED, budgets=(P99_NORMAL, P99_FAILOVER)),
    RubricItem("throughput", "Throughput within the per-object limit", 2,
               f"{BURST} tasks in one second all acknowledged and finished, no Durable Object over its limit",
               ThroughputScenario, seed=4, budgets=(OBJECT_BUDGET,)),
    RubricItem("cost", "Cost", 1,
               "the hour's requests, Durable Object calls, storage rows, queue messages, data points and AI tokens "
               "at Cloudflare's prices", HourScenario, seed=HOUR_SEED, budgets=(COST,)),
    RubricItem("monitor", "Monitoring page with the right numbers", 2,
               "/monitor is an HTML page; /monitor.json's counts (accepted, done, fallback, dead-lettered, AI calls "
               "and failures, rejected calls, requests per region) and p99 per region match the harness's",
               HourScenario, seed=HOUR_SEED),
    RubricItem("tracing", "One trace per task across the agents", 1,
               "a task keeps its caller's traceparent (or gets a new trace); every log line about it carries the "
               "trace id, intake, planner, analyst and notifier each log a span whose parent is in the trace",
               TracingScenario, seed=6),
    RubricItem("loadtest", "Your load test", 2,
               "loadtest.py's run() drives the Worker and writes results (sent, accepted, errors, p50, p99, "
               "throughput) that match the harness's own measurement", LoadTestScenario, seed=5,
               budgets=(Budget("difference from the harness's p50/p99", 1, "ms"),)),
    RubricItem("design", "Design rationale (DESIGN.md)", 2,
               "why these agents, this region plan, these shards, this breaker and this security model; what was "
               "measured; what it costs; what would change at 10x", None, manual=True, evidence="DESIGN.md"),
))

__all__ = ["HOUR_SEED", "RUBRIC"]
