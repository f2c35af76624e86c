"""Fixtures for the checks' tests: Day 1 answers (the solution, or a class fixture's mistake) without a kernel."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "grading"))

import day1_class  # noqa: E402  (the fixed class of Day 1 submissions)


def notebook_namespace(answers: dict[str, str], name: str) -> dict[str, Any]:
    """The released notebook's import cell, then ``answers``, run in one module namespace (like the kernel)."""
    release = json.loads(day1_class.EXERCISE_NB.read_text())
    setup = next("".join(c["source"]) for c in release["cells"]
                 if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup")
    module = types.ModuleType(name)  # a real module, so pydantic resolves annotations in it
    sys.modules[name] = module
    namespace = module.__dict__
    exec(compile(setup, "<setup>", "exec"), namespace)
    for grade_id, source in day1_class.code_only(answers).items():
        exec(compile(source, f"<{grade_id}>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="session")
def answers_of() -> Callable[[str], dict[str, Any]]:
    """``answers_of("no-retry")``: that class member's notebook namespace ("correct": the solution)."""
    cache: dict[str, dict[str, Any]] = {}

    def get(student: str) -> dict[str, Any]:
        if student not in cache:
            answers = day1_class.solution_answers() if student == "correct" else day1_class.edited(student)
            cache[student] = notebook_namespace(answers, "day1_student_" + student.replace("-", "_"))
        return cache[student]

    return get
