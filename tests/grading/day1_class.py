"""A fixed class of Day 1 submissions: the solution, the release, and one per kind of mistake.

Each faulty student is the solution with one source edit (:data:`EDITS`), so each fails for
one reason a real learner could have: a coordinator that never retries, one that counts a
duplicated reply twice, one that waits for replies in the order it sent them, one that matches a reply by its
causation alone, an envelope without its cross-field rules, a lifecycle that lets a task
complete before it starts, a design whose worker writes the coordinator's state... The
notebooks are committed under ``fixtures/day1_class/`` (flat LMS layout) with the
``grades.csv`` that grading them gave before the checks moved onto the scenario harness, so a
test can prove that the move changed no score. Regenerate (only if the class itself should
change) with ``python tests/grading/day1_class.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_NB = ROOT / "solutions" / "day1" / "day1_exercises.ipynb"
EXERCISE_NB = ROOT / "exercises" / "day1" / "day1_exercises.ipynb"
CLASS_DIR = Path(__file__).resolve().parent / "fixtures" / "day1_class"
EXPECTED_GRADES = Path(__file__).resolve().parent / "fixtures" / "day1_class_grades.csv"

#: {student: {answer cell: [(old text, new text), ...]}}: each edit must match the solution once.
EDITS: dict[str, dict[str, list[tuple[str, str]]]] = {
    # Q5: a failed assignment is never reassigned (crash, slow, error, wrong-correlation faults)
    "no-retry": {"q5_coordinator": [
        ("        failed_by[subtask.index].append(worker)\n        if subtask.index in results",
         "        failed_by[subtask.index].append(worker)\n        return\n        if subtask.index in results")]},
    # Q5: every task.result of the conversation counts, a duplicated reply included
    "double-count": {"q5_coordinator": [
        ("                entry = outstanding.pop(reply.causation_id or \"\", None)\n",
         "                entry = outstanding.pop(reply.causation_id or \"\", None)\n"
         "                if entry is None and reply.type == \"task.result\":\n"
         "                    extra.append(reply.payload[\"counts\"])\n"),
        ("    return aggregate(task_id, len(subtasks), results.values())",
         "    agg = aggregate(task_id, len(subtasks), results.values())\n"
         "    for counts in extra:\n"
         "        for word, n in counts.items():\n"
         "            agg.counts[word] = agg.counts.get(word, 0) + n\n"
         "    return agg"),
        ("    results: dict[int, WorkResult] = {}\n", "    results: dict[int, WorkResult] = {}\n    extra: list = []\n")]},
    # Q5: assumes replies come back in the order the assignments went out
    "in-order-replies": {"q5_coordinator": [
        ("                entry = outstanding.pop(reply.causation_id or \"\", None)\n",
         "                oldest = next(iter(outstanding), None)\n"
         "                entry = outstanding.pop(oldest, None) if reply.causation_id == oldest else None\n")]},
    # Q5: waits for each reply before sending the next assignment
    "one-at-a-time": {"q5_coordinator": [
        ("    for subtask in subtasks:\n        await assign(subtask, workers[subtask.index % len(workers)])\n",
         "    for subtask in subtasks:\n        await assign(subtask, workers[subtask.index % len(workers)])\n"
         "        await mailbox.receive(timeout=0.01)\n")]},
    # Q5: waits for a reply with no timeout, so a crashed worker stalls it forever
    "no-timeout": {"q5_coordinator": [
        ("        raw = await mailbox.receive(timeout=max(0.0, next_deadline - mailbox.now()))\n",
         "        raw = await mailbox.receive()\n")]},
    # Q5: retries on the same worker that just failed
    "same-worker-retry": {"q5_coordinator": [
        ("        start = workers.index(worker)\n        for step in range(1, len(workers) + 1):",
         "        start = workers.index(worker)\n        for step in range(0, len(workers) + 1):"),
        ("            if candidate not in failed_by[subtask.index]:", "            if True:")]},
    # Q5: treats a task.failed reply like a result
    "error-as-result": {"q5_coordinator": [
        ("if reply.type == \"task.result\":", "if reply.type in (\"task.result\", \"task.failed\"):"),
        ("reply.payload[\"counts\"]))", "reply.payload.get(\"counts\", {})))")]},
    # Q5: matches a reply by causation_id alone, so a reply from another conversation counts
    "trusts-causation": {"q5_coordinator": [
        ("            if reply is not None and reply.correlation_id == task_id:\n",
         "            if reply is not None:\n")]},
    # Q1: no rule involving two fields (sender == recipient, causation_id == id)
    "loose-envelope": {"q1_envelope": [
        ("    @model_validator(mode=\"after\")\n    def _check_routing", "    def _check_routing")]},
    # Q2: complete() is accepted straight from assigned
    "skips-running": {"q2_lifecycle": [
        ("        if self.state is not TaskState.RUNNING:\n            raise IllegalTransition(f\"task {self.task_id}: cannot complete",
         "        if self.state not in (TaskState.RUNNING, TaskState.ASSIGNED):\n"
         "            raise IllegalTransition(f\"task {self.task_id}: cannot complete")]},
    # Q3: greedy chunks (4, 4, 2 instead of 4, 3, 3)
    "greedy-split": {"q3_split": [
        ("    base, extra = divmod(len(items), k)\n", "    base, extra = max_per_subtask, 0\n")]},
    # Q4: counts a subtask once per delivered result (not idempotent)
    "aggregate-duplicates": {"q4_aggregate": [
        ("            by_index.setdefault(result.index, result)\n",
         "            if result.index in by_index:\n"
         "                by_index[result.index] = WorkResult(task_id, result.index, result.worker,\n"
         "                    {w: by_index[result.index].counts.get(w, 0) + n for w, n in result.counts.items()})\n"
         "            by_index.setdefault(result.index, result)\n")]},
    # Q6: the worker writes the coordinator's task table (shared mutable state)
    "shared-state": {"q6_design": [
        ("                    writes=(\"current\", \"processed\"), emits=(\"task.result\", \"task.failed\")),",
         "                    writes=(\"current\", \"processed\", \"tasks\"), emits=(\"task.result\", \"task.failed\")),")]},
    # Q6: no timeout handler: a crashed worker (which sends nothing) stalls the coordinator
    "no-failure-path": {"q6_design": [
        ("        HandlerSpec(agent=COORDINATOR, on=\"timeout\", reads=(\"outstanding\",), writes=(\"tasks\", \"outstanding\"),\n"
         "                    emits=(\"task.assign\", \"task.report\")),\n", "")]},
}


def solution_answers() -> dict[str, str]:
    """{answer cell grade_id: source} of the solution notebook."""
    nb = json.loads(SOLUTION_NB.read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("solution")}


def code_only(answers: dict[str, str]) -> dict[str, str]:
    """The code answers of ``answers`` (question 7's rationale is markdown, graded by hand)."""
    nb = json.loads(SOLUTION_NB.read_text())
    code = {c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
            if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution")}
    return {k: v for k, v in answers.items() if k in code}


def answered(answers: dict[str, str]) -> str:
    """The released notebook with ``answers`` typed into its answer cells, as a learner would."""
    nb = json.loads(EXERCISE_NB.read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return json.dumps(nb, indent=1, sort_keys=True) + "\n"


def edited(student: str) -> dict[str, str]:
    answers = solution_answers()
    for cell, edits in EDITS[student].items():
        for old, new in edits:
            if answers[cell].count(old) != 1:
                raise ValueError(f"{student}: {old!r} does not occur exactly once in {cell}")
            answers[cell] = answers[cell].replace(old, new)
    return answers


def class_notebooks() -> dict[str, str]:
    """{student: notebook text} for the whole class."""
    notebooks = {"correct": answered(solution_answers()), "blank": EXERCISE_NB.read_text()}
    notebooks.update({student: answered(edited(student)) for student in EDITS})
    return notebooks


def write_class(folder: Path = CLASS_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student, text in class_notebooks().items():
        path = folder / f"{student}_day1_exercises.ipynb"
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_class():
        print(path.relative_to(ROOT))
