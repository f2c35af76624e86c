"""A fixed class of Day 2 submissions: the solution, the release, and one per kind of mistake.

Each faulty student is the solution with one source edit (:data:`EDITS`), so each fails for
one reason a real learner could have: a registry that hides dead agents but never deletes
them, one that keeps agents in memory; a task agent without an alarm, one whose reads write;
a pool that queues without bound, one that loses a crashed worker's tasks; a ring that is
``hash % N``; a router that joins ids with ``:``; a design with two writers on KV. The
notebooks are committed under ``fixtures/day2_class/`` (flat LMS layout) with the grades they
must get (``fixtures/day2_class_grades.csv``). Regenerate (only if the class itself should
change) with ``python tests/grading/day2_class.py``.
"""
from __future__ import annotations

from pathlib import Path

from edited_class import EditedClass

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_NB = ROOT / "solutions" / "day2" / "day2_exercises.ipynb"
EXERCISE_NB = ROOT / "exercises" / "day2" / "day2_exercises.ipynb"
CLASS_DIR = Path(__file__).resolve().parent / "fixtures" / "day2_class"
EXPECTED_GRADES = Path(__file__).resolve().parent / "fixtures" / "day2_class_grades.csv"

#: {student: {answer cell: [(old text, new text), ...]}}: each edit must match the solution once.
EDITS: dict[str, dict[str, list[tuple[str, str]]]] = {
    # Q1: expired agents are filtered out of lookups but never deleted (no sweeping alarm)
    "registry-no-sweep": {"q1_registry": [
        ("        now = time.time()\n        entries = await self.ctx.storage.list(prefix=\"agent:\")\n        expired",
         "        return\n        now = time.time()\n        entries = await self.ctx.storage.list(prefix=\"agent:\")\n        expired")]},
    # Q1: the registry keeps its agents in a Python dict: an eviction forgets every agent
    "registry-in-memory": {"q1_registry": [
        ("        await self.ctx.storage.put(f\"agent:{card['agent_id']}\", {\"card\": card, \"last_seen\": now})\n",
         "        self.__dict__.setdefault(\"agents\", {})[card[\"agent_id\"]] = {\"card\": card, \"last_seen\": now}\n"),
        ("        entry = await self.ctx.storage.get(f\"agent:{agent_id}\")\n",
         "        entry = self.__dict__.setdefault(\"agents\", {}).get(agent_id)\n"),
        ("        entries = await self.ctx.storage.list(prefix=\"agent:\")\n        return sorted",
         "        entries = self.__dict__.setdefault(\"agents\", {})\n        return sorted")]},
    # Q2: no alarm: the time-to-live is never enforced, the storage stays forever
    "task-no-alarm": {"q2_task_agent": [
        ("        await self.ctx.storage.setAlarm((time.time() + RESULT_TTL) * 1000)\n", "")]},
    # Q2: result() counts its reads in storage, bringing an expired agent back to life
    "task-read-writes": {"q2_task_agent": [
        ("        return await self.ctx.storage.get(\"result\")\n",
         "        await self.ctx.storage.put(\"reads\", (await self.ctx.storage.get(\"reads\") or 0) + 1)\n"
         "        return await self.ctx.storage.get(\"result\")\n")]},
    # Q3: never answers 429: the queue grows without bound
    "pool-unbounded": {"q3_pool": [
        ("        if len(self.queue) < self.max_queue:\n", "        if True:\n")]},
    # Q3: a crashed worker's tasks in flight are dropped
    "pool-loses-on-crash": {"q3_pool": [
        ("        self.queue[:0] = lost\n", "")]},
    # Q4: hash modulo the number of agents: adding one moves most keys
    "ring-modulo": {"q4_ring": [
        ("        i = bisect.bisect_left(self.points, (stable_hash(key), \"\"))\n"
         "        return self.points[i % len(self.points)][1]\n",
         "        agents = sorted({agent for _, agent in self.points})\n"
         "        return agents[stable_hash(key) % len(agents)]\n")]},
    # Q5: tenant and agent joined with ':': ("acme", "x:y") and ("acme:x", "y") share an object
    "tenant-colon-join": {"q5_tenants": [
        ("    return json.dumps([tenant, agent], ensure_ascii=True)\n", "    return f\"{tenant}:{agent}\"\n")]},
    # Q6: the readers also write the answers, kept in KV: two writers, last write wins
    "design-shared-kv": {"q6_design": [
        ("        Resource(name=\"ANSWERS\", kind=\"d1\"),", "        Resource(name=\"ANSWERS\", kind=\"kv\"),"),
        ("                  bindings=(\"DOCS\",), purpose=", "                  bindings=(\"DOCS\", \"ANSWERS\"), purpose="),
        ("        Access(agent=\"reader\", resource=\"DOCS\", mode=\"read\"),\n",
         "        Access(agent=\"reader\", resource=\"DOCS\", mode=\"read\"),\n"
         "        Access(agent=\"reader\", resource=\"ANSWERS\", mode=\"write\"),\n")]},
}


CLASS = EditedClass("day2", EDITS, CLASS_DIR)
solution_answers, answered, edited = CLASS.solution_answers, CLASS.answered, CLASS.edited
class_notebooks, write_class = CLASS.class_notebooks, CLASS.write_class


if __name__ == "__main__":
    for path in write_class():
        print(path.relative_to(ROOT))
