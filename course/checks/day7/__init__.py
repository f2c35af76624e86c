"""Seeded scenario checks for Day 7: production agent systems, one module per question.

- :mod:`.trace` (Q1, one W3C trace through the five-agent chain under retries),
  :mod:`.signing` (Q2, signed requests with replay protection), :mod:`.alert` (Q3, an error
  ratio alert rule on metric streams), :mod:`.placement` (Q4, a location hint that meets a p99
  budget), :mod:`.sharding` (Q5, a sharded hot counter), :mod:`.shedding` (Q6, health probes
  and load shedding);
- :mod:`.types`: the constants and helpers the exercises and the checks share.

Every question is sans-I/O (a function or a plain class the checker drives on a virtual clock),
so each scenario runs in milliseconds. ``<name>_scenario(seed=N).run(answer)`` returns a
:class:`~course.checks.harness.CheckResult`; ``grade_<name>(answer, seed=N)`` raises
``AssertionError`` with its story when it fails. The notebook imports this package as ``day7``,
so a reproduce line such as ``day7.trace_scenario(seed=0).run(hop)`` runs as pasted there.
"""
from course.checks.day7.alert import FAULTS as ALERT_FAULTS
from course.checks.day7.alert import AlertScenario, alert_scenario, grade_alert
from course.checks.day7.placement import FAULTS as PLACEMENT_FAULTS
from course.checks.day7.placement import PlacementScenario, grade_placement, p99_ms, placement_scenario
from course.checks.day7.sharding import FAULTS as SHARDING_FAULTS
from course.checks.day7.sharding import ShardingScenario, grade_sharding, planned_shards, sharding_scenario
from course.checks.day7.shedding import FAULTS as SHEDDING_FAULTS
from course.checks.day7.shedding import SheddingScenario, grade_shedding, shedding_scenario
from course.checks.day7.signing import FAULTS as SIGNING_FAULTS
from course.checks.day7.signing import SigningScenario, grade_signing, signing_scenario
from course.checks.day7.trace import FAULTS as TRACE_FAULTS
from course.checks.day7.trace import TraceScenario, grade_trace, trace_scenario
from course.checks.day7.types import (BATCH_SHARE, CHAIN, ERROR_RATIO_THRESHOLD, FOR_SECONDS, MAX_CLOCK_SKEW_SECONDS,
                                     MIN_REQUESTS, NONCE_HEADER, ONE_WAY_LATENCY_MS, PER_OBJECT_LIMIT, REGIONS,
                                     REQUEST_TIMEOUT, SERVICE_MS, SIGNATURE_HEADER, TARGET_UTILISATION,
                                     TIMESTAMP_HEADER, TRACEPARENT, WINDOW_SECONDS, TraceContext, check_signature,
                                     continue_trace, one_way_ms, parse_traceparent, round_trip_ms, sign, stable_hash)
from course.checks.harness import CheckResult

__all__ = [
    "TraceScenario", "SigningScenario", "AlertScenario", "PlacementScenario", "ShardingScenario", "SheddingScenario",
    "trace_scenario", "signing_scenario", "alert_scenario", "placement_scenario", "sharding_scenario",
    "shedding_scenario", "grade_trace", "grade_signing", "grade_alert", "grade_placement", "grade_sharding",
    "grade_shedding", "TRACE_FAULTS", "SIGNING_FAULTS", "ALERT_FAULTS", "PLACEMENT_FAULTS", "SHARDING_FAULTS",
    "SHEDDING_FAULTS", "p99_ms", "planned_shards",
    "BATCH_SHARE", "CHAIN", "ERROR_RATIO_THRESHOLD", "FOR_SECONDS", "MAX_CLOCK_SKEW_SECONDS", "MIN_REQUESTS",
    "NONCE_HEADER", "ONE_WAY_LATENCY_MS", "PER_OBJECT_LIMIT", "REGIONS", "REQUEST_TIMEOUT", "SERVICE_MS",
    "SIGNATURE_HEADER", "TARGET_UTILISATION", "TIMESTAMP_HEADER", "TRACEPARENT", "WINDOW_SECONDS", "TraceContext",
    "check_signature", "continue_trace", "one_way_ms", "parse_traceparent", "round_trip_ms", "sign", "stable_hash",
    "CheckResult",
]
