"""A fixed class of Day 7 submissions: the solution, the release, and one per kind of mistake.

Each faulty student is the solution with one source edit (:data:`EDITS`), so each fails for
one reason a real learner could have: a hop that forwards the header it received, a verifier
that remembers refused nonces, one that forgets nothing but accepts replays, an alert on the
last sample alone, a placement for the busiest region, shards planned without headroom, a
shedder whose liveness fails under load. The notebooks are committed under
``fixtures/day7_class/submissions/`` (flat LMS layout) with the grades they must get
(``fixtures/day7_class/grades.csv``). Regenerate (only if the class itself should change) with
``python tests/grading/day7_class.py``.
"""
from __future__ import annotations

from pathlib import Path

from edited_class import EditedClass

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_NB = ROOT / "solutions" / "day7" / "day7_exercises.ipynb"
EXERCISE_NB = ROOT / "exercises" / "day7" / "day7_exercises.ipynb"
CLASS_DIR = Path(__file__).resolve().parent / "fixtures" / "day7_class" / "submissions"
EXPECTED_GRADES = CLASS_DIR.parent / "grades.csv"

#: {student: {answer cell: [(old text, new text), ...]}}: each edit must match the solution once.
EDITS: dict[str, dict[str, list[tuple[str, str]]]] = {
    # Q1: the received traceparent is passed on unchanged: every agent claims the client as its parent
    "trace-forwards-inbound": {"q1_trace": [
        ("    outbound[TRACEPARENT] = ctx.traceparent()\n", "    outbound[TRACEPARENT] = header or ctx.traceparent()\n")]},
    # Q2: the nonce is remembered before the signature is checked: a forged copy burns the genuine request
    "signing-burns-nonce": {"q2_signing": [
        ("        nonce = headers.get(NONCE_HEADER)\n",
         "        nonce = headers.get(NONCE_HEADER)\n        if nonce in self.seen:\n"
         "            return \"replay\"\n        self.seen[nonce] = now\n")]},
    # Q2: no memory of nonces: a replay within the window is accepted
    "signing-no-replay-memory": {"q2_signing": [
        ("        self.seen[nonce] = now\n        return None\n", "        return None\n")]},
    # Q3: the last sample's ratio alone, no window: a blip pages someone
    "alert-last-sample": {"q3_alert": [
        ("        total = sum(r for _, r, _ in self.window)\n        failed = sum(e for _, _, e in self.window)\n",
         "        total = max(requests, MIN_REQUESTS)\n        failed = errors\n")]},
    # Q4: the object goes where most traffic is, whatever the tail
    "placement-busiest-region": {"q4_placement": [
        ("    best = min(REGIONS, key=p99)\n", "    best = max(traffic, key=traffic.get)\n")]},
    # Q5: shards planned at 100 % of the limit: hashing sends one over it
    "sharding-no-headroom": {"q5_sharding": [
        ("(PER_OBJECT_LIMIT * TARGET_UTILISATION)", "PER_OBJECT_LIMIT")]},
    # Q6: liveness reports the overload: the platform would restart a busy Worker
    "shedding-liveness-fails": {"q6_shedding": [
        ("    def alive(self, now):\n        ### BEGIN SOLUTION\n        return True\n",
         "    def alive(self, now):\n        ### BEGIN SOLUTION\n        return self.ready(now)\n")]},
}


CLASS = EditedClass("day7", EDITS, CLASS_DIR)
solution_answers, answered, edited = CLASS.solution_answers, CLASS.answered, CLASS.edited
class_notebooks, write_class = CLASS.class_notebooks, CLASS.write_class


if __name__ == "__main__":
    for path in write_class():
        print(path.relative_to(ROOT))
