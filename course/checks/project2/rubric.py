"""Project 2's rubric: seven items, 20 points, each one seeded scenario with its budgets.

Each item is all or nothing (every case of its scenario must pass), so a Worker that lacks one
behaviour loses exactly that item. The seeds are fixed: ``course check`` runs what grading runs.
"""
from __future__ import annotations

from course.checks.project2.contract import AI_BUDGET, FETCH_ATTEMPTS, FETCH_TIMEOUT
from course.checks.project2.duplicates import DUPLICATE_BUDGETS, DuplicateScenario
from course.checks.project2.faults import (
    AI_LATENCY_BUDGET,
    CRASH_LATENCY,
    UPSTREAM_LATENCY_BUDGET,
    UPSTREAM_REQUESTS,
    AiScenario,
    CrashScenario,
    UpstreamScenario,
)
from course.checks.project2.pipeline import BURST_BUDGETS, HAPPY_LATENCY, BurstScenario, HappyScenario
from course.checks.project2.subscribers import FRAMES, ResumeScenario
from course.checks.projects import Budget, Rubric, RubricItem

RUBRIC = Rubric("project2", (
    RubricItem("happy-path", "Happy path", 3,
               "updates to one feed or two, one after the other: each announced 'ok' with the model's findings and "
               "the exact count and mean, once to its feed's subscriber, readable with GET and in the feed's log",
               HappyScenario, seed=1, budgets=(HAPPY_LATENCY,)),
    RubricItem("upstream-faults", "Upstream slow, failing or malformed", 3,
               f"a slow upstream is given up after {FETCH_TIMEOUT:g} s and retried, 503 and 429 are retried, up to "
               f"{FETCH_ATTEMPTS} attempts; malformed data is not retried; an update that gets no readings is "
               "announced 'failed' with the reason and no model call; the next update goes through",
               UpstreamScenario, seed=2, budgets=(UPSTREAM_LATENCY_BUDGET, UPSTREAM_REQUESTS,
                                                  Budget("Workers AI calls for a failed update", 0, "calls"))),
    RubricItem("ai-faults", "Workers AI failing, slow or malformed", 3,
               f"an AiError, a model slower than the call's deadline ({AI_BUDGET:g} s for all calls) or malformed "
               "JSON gives a 'degraded' update with the rules' reading and exact numbers; a malformed answer is asked "
               "for again once", AiScenario, seed=3, budgets=(AI_LATENCY_BUDGET,)),
    RubricItem("resume", "Subscribers disconnecting and reconnecting", 3,
               "a subscriber stays connected while the NotificationAgent hibernates and is evicted; one that "
               "reconnects with ?after=<last seq> gets exactly what it missed, then live updates; one that connects "
               "at the end gets only new ones: no gap, no duplicate", ResumeScenario, seed=4, budgets=(FRAMES,)),
    RubricItem("duplicates", "Queue duplicates and client resends", 3,
               "redelivered queue messages and re-posted updates are processed once: one upstream request (KV "
               "cache), one model call (stored analysis), one notification, one frame per subscriber",
               DuplicateScenario, seed=5, budgets=DUPLICATE_BUDGETS),
    RubricItem("agent-crash", "An agent crashing mid-pipeline", 3,
               "the DataAgent crashing during a fetch or the AnalysisAgent during a model call loses nothing: the "
               "queue delivers the update again and it is announced once", CrashScenario, seed=6,
               budgets=(CRASH_LATENCY,)),
    RubricItem("burst", "A burst of updates", 2,
               "12-20 updates at the same instant across 2-3 feeds with 2 subscribers each: every update announced "
               "once to each subscriber, within the message and latency budgets", BurstScenario, seed=7,
               budgets=BURST_BUDGETS),
))

__all__ = ["RUBRIC"]
