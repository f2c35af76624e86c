"""Project 1's rubric: seven items, 20 points, each one seeded scenario with its budgets.

Each item is all or nothing (every case of its scenario must pass), so a Worker that lacks one
behaviour loses exactly that item. The seeds are fixed: ``course check`` runs what grading runs.
"""
from __future__ import annotations

from course.checks.project1.bad_input import BadInputScenario
from course.checks.project1.contract import ATTEMPT_TIMEOUT
from course.checks.project1.duplicates import DuplicateScenario
from course.checks.project1.faults import (
    RETRY_WORK,
    SLOW_LATENCY,
    RestartScenario,
    SlowWorkerScenario,
    WorkerCrashScenario,
)
from course.checks.project1.happy import HAPPY_BUDGETS, ConcurrentScenario, HappyScenario
from course.checks.projects import Budget, Rubric, RubricItem

RUBRIC = Rubric("project1", (
    RubricItem("happy-path", "Happy path, within budgets", 4,
               "every operation, 1-4 workers: the right result, no reassignment, the record readable with GET, "
               "the workers' processed counts adding up", HappyScenario, seed=1, budgets=HAPPY_BUDGETS),
    RubricItem("worker-crash", "Workers that crash", 3,
               "subtasks of a crashed worker are reassigned to the next worker; when every attempt of a subtask "
               "hits a crashed worker the task ends 'failed' listing it (200, never a 5xx)", WorkerCrashScenario,
               seed=2, budgets=(Budget("assignments per subtask", 1, "x max_attempts"),)),
    RubricItem("slow-worker", "A slow worker", 3,
               f"a worker that answers after a minute is given up within {ATTEMPT_TIMEOUT:g} s and its subtask "
               "reassigned", SlowWorkerScenario, seed=3, budgets=(SLOW_LATENCY,)),
    RubricItem("duplicates", "Duplicate submissions and deliveries", 3,
               "a task submitted twice is answered from storage with no new assignment; an assignment delivered "
               "twice (also after the worker restarted) gets the same report and is counted once",
               DuplicateScenario, seed=4, budgets=(Budget("new assignments for a resubmitted task", 0, "assignments"),)),
    RubricItem("coordinator-restart", "Coordinator eviction and crash mid-task", 3,
               "after an eviction the task is still readable and a resubmission does no work; after a crash "
               "mid-task the client's retry finishes the task without redoing finished subtasks",
               RestartScenario, seed=5,
               budgets=(RETRY_WORK,)),
    RubricItem("bad-input", "Bad input", 2,
               "bodies that are not JSON or break the contract get 400/422, unknown tasks and routes 404, each "
               'with {"error": ...}; no worker is called; the next good task is done', BadInputScenario, seed=6,
               budgets=(Budget("assignments caused by bad requests", 0, "assignments"),)),
    RubricItem("concurrent", "Concurrent tasks", 2,
               "3-5 tasks submitted at the same instant, to one coordinator and to two, each get their own right "
               "result and record", ConcurrentScenario, seed=7),
))

__all__ = ["RUBRIC"]
