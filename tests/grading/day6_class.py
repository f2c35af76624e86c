"""A fixed class of Day 6 submissions: the solution, the release, and one per kind of mistake.

Each faulty student is the solution with one source edit (:data:`EDITS`), so each fails for
one reason a real learner could have: a newer event version reported as corrupt, a retried
append refused as a conflict, a snapshot's tail applied from its own last event, dedupe by
message id (a producer's resend is credited again), a resume that repeats the last offset seen,
a completion that ignores the lease, a claim whose UPDATE is not conditional.
The notebooks are committed under ``fixtures/day6_class/`` (flat LMS layout) with the grades
they must get (``fixtures/day6_class/expected_grades.csv`` and ``expected_questions.csv``).
Regenerate (only if the class itself should change) with ``python tests/grading/day6_class.py``.
"""
from __future__ import annotations

from pathlib import Path

from edited_class import EditedClass

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_NB = ROOT / "solutions" / "day6" / "day6_exercises.ipynb"
EXERCISE_NB = ROOT / "exercises" / "day6" / "day6_exercises.ipynb"
CLASS_DIR = Path(__file__).resolve().parent / "fixtures" / "day6_class"
EXPECTED_GRADES = CLASS_DIR / "expected_grades.csv"
EXPECTED_QUESTIONS = CLASS_DIR / "expected_questions.csv"

#: {student: {answer cell: [(old text, new text), ...]}}: each edit must match the solution once.
EDITS: dict[str, dict[str, list[tuple[str, str]]]] = {
    # Q1: no version check: an event from newer code fails validation, reported as corrupt data
    "schema-future-is-invalid": {"q1_schemas": [
        ("    if current is not None and doc[\"version\"] != current:\n"
         "        raise UnknownEventVersion(f\"{doc['type']} version {doc['version']} is not one this code knows \"\n"
         "                                  f\"(it reads up to {current}): newer code wrote it\")\n", "")]},
    # Q2: no idempotency by event id: a retried append whose reply was lost becomes a conflict
    "store-retry-conflicts": {"q2_store": [
        ("        if where and len(where) == len(ids):\n"
         "            return where[-1] + 1  # a retry of an append that succeeded: the same answer, nothing added\n", "")]},
    # Q3: the tail re-applies the snapshot's last event (and so stops at a false gap)
    "replay-tail-off-by-one": {"q3_replay": [
        ("r[\"seq\"] > board[\"last_seq\"] and", "r[\"seq\"] >= board[\"last_seq\"] and")]},
    # Q4: dedupe by message id: the producer's resend (a new id, the same key) is credited again
    "consumer-dedupe-by-message-id": {"q4_consumer": [
        ("if order.key not in done:", "if message.id not in done:"), ("done.add(order.key)", "done.add(message.id)")]},
    # Q5: the backlog starts at the offset the client already has: one event twice on every resume
    "hub-resume-repeats-last": {"q5_resume": [("if offset > after]", "if offset >= after]")]},
    # Q6: complete checks the status only: a slow worker completes a task another worker now holds
    "lease-complete-ignores-lease": {"q6_leases": [
        ("WHERE id = ? AND status = 'claimed' AND owner = ? \"\n"
         "                         \"AND lease_until > ?\", (task_id, worker, now)",
         "WHERE id = ? AND status = 'claimed'\", (task_id,)")]},
    # Q6: the claim's UPDATE is unconditional: a rival's claim between the SELECT and it is overwritten
    "claim-unconditional-update": {"q6_leases": [
        ("WHERE id = ? AND (status = 'queued' OR (status = 'claimed' AND lease_until <= ?))\",\n"
         "                             (worker, now + LEASE_SECONDS, row[0], now)",
         "WHERE id = ?\",\n                             (worker, now + LEASE_SECONDS, row[0])")]},
}


CLASS = EditedClass("day6", EDITS, CLASS_DIR)
solution_answers, answered, edited = CLASS.solution_answers, CLASS.answered, CLASS.edited
class_notebooks, write_class = CLASS.class_notebooks, CLASS.write_class


if __name__ == "__main__":
    for path in write_class():
        print(path.relative_to(ROOT))
