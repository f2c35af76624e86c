"""A fixed class of Day 3 submissions: the solution, the release, and one per kind of mistake.

Each faulty student is the solution with one source edit (:data:`EDITS`), so each fails for
one reason a real learner could have: schemas without their cross-field rules; a loader that
accepts documents from newer code; a crash-safe agent whose tool key changes per attempt, one
that keeps its task in memory; the given lost update left unfixed; a compare-and-set retry
that appends its item again after a lost reply; a migration that ignores ``user_version``. The
notebooks are committed under ``fixtures/day3_class/`` (flat LMS layout) with the grades they
must get (``fixtures/day3_class_grades.csv``). Regenerate (only if the class itself should
change) with ``python tests/grading/day3_class.py``.
"""
from __future__ import annotations

from pathlib import Path

from edited_class import EditedClass

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_NB = ROOT / "solutions" / "day3" / "day3_exercises.ipynb"
EXERCISE_NB = ROOT / "exercises" / "day3" / "day3_exercises.ipynb"
CLASS_DIR = Path(__file__).resolve().parent / "fixtures" / "day3_class"
EXPECTED_GRADES = Path(__file__).resolve().parent / "fixtures" / "day3_class_grades.csv"

#: {student: {answer cell: [(old text, new text), ...]}}: each edit must match the solution once.
EDITS: dict[str, dict[str, list[tuple[str, str]]]] = {
    # Q1: no rule across fields: an assigned task without a worker is stored
    "schema-no-rules": {"q1_schemas": [
        ("    def _consistent(self) -> \"TaskEntry\":\n", "    def _consistent(self) -> \"TaskEntry\":\n        return self\n")]},
    # Q2: a document from newer code is loaded as if it were current
    "upcast-accepts-future": {"q2_upcasters": [
        ("    if version > CURRENT_VERSION:\n", "    if version > CURRENT_VERSION:\n        return doc\n")]},
    # Q3: the tool's key changes per attempt: a step retried after a crash runs twice
    "crash-key-per-attempt": {"q3_runner": [
        ("tools.run(f\"{task_id}:{step}\", ", "tools.run(f\"{task_id}:{step}:{time.time()}\", ")]},
    # Q3: the task lives in memory: a crash or an eviction loses it
    "crash-task-in-memory": {"q3_runner": [
        ("        if await self.ctx.storage.get(key) is None:\n",
         "        self.__dict__.setdefault(\"tasks\", {})[key] = {\"task_id\": task[\"task_id\"], \"steps\": list(task[\"steps\"]), \"results\": []}\n"
         "        if await self.ctx.storage.get(key) is None and False:\n"),
        ("        task = await self.ctx.storage.get(key)\n        tools",
         "        task = self.__dict__.get(\"tasks\", {}).get(key) or {\"steps\": [], \"results\": []}\n        tools")]},
    # Q4: the given bug kept: read, await the pricer, write what was read
    "quota-unfixed": {"q4_quota": [
        ("        cost = await self.env.PRICER.getByName(\"pricer\").price(tokens)\n"
         "        state = await self.ctx.storage.get(\"quota\") or {\"remaining\": INITIAL_QUOTA, \"grants\": {}}\n",
         "        return await GivenQuotaAgent.reserve(self, request_id, tokens)\n"
         "        state = await self.ctx.storage.get(\"quota\") or {\"remaining\": INITIAL_QUOTA, \"grants\": {}}\n")]},
    # Q5: a retry after a lost reply appends its item again
    "cas-no-recheck": {"q5_cas": [
        ("            if item in plan[\"items\"]:\n                return plan", "            if False:\n                return plan")]},
    # Q6: the migration ignores user_version: the second construction fails (duplicate column)
    "migration-unguarded": {"q6_memory": [
        ("        elif version == 1:\n", "        elif version >= 1:\n")]},
}


CLASS = EditedClass("day3", EDITS, CLASS_DIR)
solution_answers, answered, edited = CLASS.solution_answers, CLASS.answered, CLASS.edited
class_notebooks, write_class = CLASS.class_notebooks, CLASS.write_class


if __name__ == "__main__":
    for path in write_class():
        print(path.relative_to(ROOT))
