"""A fixed class of Day 4 submissions: the solution, the release, and one per kind of mistake.

Each faulty student is the solution with one source edit (:data:`EDITS`), so each fails for
one reason a real learner could have: a prompt that keeps history before facts, a parser that
does not validate, a tool loop without a step limit, a fallback chain without timeouts, a
conversation kept in memory, a planner that runs steps while it is still checking the plan.
The notebooks are committed under ``fixtures/day4_class/`` (flat LMS layout) with the grades
they must get (``fixtures/day4_class_grades.csv``). Regenerate (only if the class itself should
change) with ``python tests/grading/day4_class.py``.
"""
from __future__ import annotations

from pathlib import Path

from edited_class import EditedClass

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_NB = ROOT / "solutions" / "day4" / "day4_exercises.ipynb"
EXERCISE_NB = ROOT / "exercises" / "day4" / "day4_exercises.ipynb"
CLASS_DIR = Path(__file__).resolve().parent / "fixtures" / "day4_class"
EXPECTED_GRADES = Path(__file__).resolve().parent / "fixtures" / "day4_class_grades.csv"

#: {student: {answer cell: [(old text, new text), ...]}}: each edit must match the solution once.
EDITS: dict[str, dict[str, list[tuple[str, str]]]] = {
    # Q1: history is kept before facts: a long conversation pushes out the fact that answers
    "prompt-history-first": {"q1_prompt": [
        ("    kept = []\n    for fact in sorted(facts, key=lambda f: f.priority):\n"
         "        if count_messages(prompt_messages(kept + [fact], [], question)) > budget:\n",
         "    kept = []\n    for fact in sorted(facts, key=lambda f: f.priority):\n"
         "        if count_messages(prompt_messages(kept + [fact], history, question)) > budget:\n")]},
    # Q2: the reply is built without validation: an off-schema answer is passed on
    "parser-no-validation": {"q2_parser": [
        ("                return schema.model_validate(json.loads(value) if isinstance(value, str) else value)\n",
         "                return schema.model_construct(**(json.loads(value) if isinstance(value, str) else value))\n")]},
    # Q3: no step limit: a model that keeps calling tools keeps the loop going
    "tools-no-step-limit": {"q3_tool_loop": [
        ("    for step in range(1, max_steps + 1):\n", "    for step in range(1, 10 ** 6):\n")]},
    # Q4: no timeout per model: a slow model makes the user wait 30 s
    "fallback-no-timeout": {"q4_fallback": [
        ("            result = await asyncio.wait_for(ai.run(model, {\"messages\": messages}), AI_TIMEOUT)\n",
         "            result = await ai.run(model, {\"messages\": messages})\n")]},
    # Q5: the conversation lives in an attribute: an eviction forgets it
    "conversation-in-memory": {"q5_conversation": [
        ("        summary = await self.ctx.storage.get(\"summary\")\n"
         "        messages = await self.ctx.storage.get(\"messages\") or []\n",
         "        summary = self.__dict__.get(\"summary\")\n"
         "        messages = self.__dict__.setdefault(\"messages\", [])\n"),
        ("        await self.ctx.storage.put({\"summary\": summary, \"messages\": messages})\n",
         "        self.summary, self.messages = summary, messages\n")]},
    # Q6: each step runs as soon as it is checked: a refused plan's first steps already happened
    "planner-runs-while-checking": {"q6_planner": [
        ("                checked.append((by_name[step.tool], by_name[step.tool].args.model_validate(step.args)))\n",
         "                checked.append((by_name[step.tool], by_name[step.tool].args.model_validate(step.args)))\n"
         "                checked[-1][0].fn(**checked[-1][1].model_dump())\n")]},
}


CLASS = EditedClass("day4", EDITS, CLASS_DIR)
solution_answers, answered, edited = CLASS.solution_answers, CLASS.answered, CLASS.edited
class_notebooks, write_class = CLASS.class_notebooks, CLASS.write_class


if __name__ == "__main__":
    for path in write_class():
        print(path.relative_to(ROOT))
