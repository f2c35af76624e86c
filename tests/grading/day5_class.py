"""A fixed class of Day 5 submissions: the solution, the release, and one per kind of mistake.

Each faulty student is the solution with one source edit (:data:`EDITS`), so each fails for
one reason a real learner could have: a cancel that ignores terminal states, idempotency keys
remembered without their request, backoff without jitter, a half-open breaker that lets every
call through, a health check without a timeout, hops awaited past the deadline.
The notebooks are committed under ``fixtures/day5_class/`` (flat LMS layout) with the grades
they must get (``fixtures/day5_class_grades.csv``). Regenerate (only if the class itself should
change) with ``python tests/grading/day5_class.py``.
"""
from __future__ import annotations

from pathlib import Path

from edited_class import EditedClass

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_NB = ROOT / "solutions" / "day5" / "day5_exercises.ipynb"
EXERCISE_NB = ROOT / "exercises" / "day5" / "day5_exercises.ipynb"
CLASS_DIR = Path(__file__).resolve().parent / "fixtures" / "day5_class"
EXPECTED_GRADES = Path(__file__).resolve().parent / "fixtures" / "day5_class_grades.csv"

#: {student: {answer cell: [(old text, new text), ...]}}: each edit must match the solution once.
EDITS: dict[str, dict[str, list[tuple[str, str]]]] = {
    # Q1: a cancel never checks whether the task has ended: a completed task turns "canceled"
    "task-cancel-after-end": {"q1_task_api": [
        ("            if view(task)[\"state\"] in [s.value for s in TERMINAL_STATES]:\n"
         "                return problem_response(409, \"task-terminal\", \"The task has ended\", f\"it is {view(task)['state']}\")\n",
         "")]},
    # Q2: a key is remembered without its request: a reused key replays another task's answer
    "idempotency-ignores-body": {"q2_idempotency": [
        ("            if seen[\"request\"] != ask.model_dump():\n"
         "                return problem_response(422, \"idempotency-key-reused\", \"This key was used for another request\")\n",
         "")]},
    # Q3: exponential backoff without jitter: every client retries at the same instants
    "retries-no-jitter": {"q3_retries": [
        ("rng.uniform(0, min(MAX_BACKOFF, BASE_BACKOFF * 2 ** attempt))", "min(MAX_BACKOFF, BASE_BACKOFF * 2 ** attempt)")]},
    # Q4: half-open lets every call through, not one trial
    "breaker-many-trials": {"q4_breaker": [
        ("        if self.state == HALF_OPEN and not self.trial_out:\n", "        if self.state == HALF_OPEN:\n")]},
    # Q5: the health check has no timeout: an agent behind a partition hangs the client
    "discovery-no-health-timeout": {"q5_discovery": [
        ("                health = await asyncio.wait_for(self.fetch(\"GET\", f\"{agent['url']}/health\"), HEALTH_TIMEOUT)\n",
         "                health = await self.fetch(\"GET\", f\"{agent['url']}/health\")\n")]},
    # Q6: each hop is awaited without the deadline: the last one keeps working after it passed
    "deadline-waits-for-hops": {"q6_deadlines": [
        ("            results.append(await asyncio.wait_for(call(hop, task, deadline), remaining))\n",
         "            results.append(await call(hop, task, deadline))\n")]},
}


CLASS = EditedClass("day5", EDITS, CLASS_DIR)
solution_answers, answered, edited = CLASS.solution_answers, CLASS.answered, CLASS.edited
class_notebooks, write_class = CLASS.class_notebooks, CLASS.write_class


if __name__ == "__main__":
    for path in write_class():
        print(path.relative_to(ROOT))
