"""A project rubric item graded by hand: no scenario runs, status "manual", no points until the
instructor's grade is merged, and the report says what there is to read."""
from __future__ import annotations

from pathlib import Path

import pytest

from course.checks.projects import Rubric, RubricItem
from course.checks.projects.rubric import ProjectReport, hand_graded

ITEM = RubricItem("design", "Design rationale", 4, "DESIGN.md explains the choices", None, manual=True,
                  evidence="DESIGN.md")


def test_an_item_needs_a_scenario_or_manual_but_not_both():
    with pytest.raises(ValueError, match="'x'.*scenario, or manual=True"):
        RubricItem("x", "X", 1, "c", None)
    with pytest.raises(ValueError, match="not both"):
        RubricItem("x", "X", 1, "c", lambda *a: None, manual=True)


def test_manual_item_counts_the_words_of_its_evidence(tmp_path: Path):
    (tmp_path / "DESIGN.md").write_text("We chose one object per task because " * 10)
    result = Rubric("p", (ITEM,)).check_item(tmp_path, "design")
    assert (result.status, result.points, result.max_points) == ("manual", 0.0, 4)
    assert "DESIGN.md: 70 words" in result.reason


def test_missing_evidence_is_said_and_the_report_marks_it_hand(tmp_path: Path):
    result = hand_graded(ITEM, tmp_path)
    assert "DESIGN.md is missing from the submission" in result.reason
    text = ProjectReport("p", "sub", [result]).format()
    assert "HAND  Design rationale (0/4 pts)" in text
    assert "0/0 rubric items pass; 1 graded by hand (0/4 points)" in text


def test_course_check_exits_0_when_only_hand_graded_items_are_left():
    """A project whose automatic items pass is not a failure because an instructor still has to read
    its design rationale: ``course check`` prints HAND and exits 0."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "course.cli", "check", "solutions/project3", "--only", "design"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert "HAND  " in proc.stdout and proc.returncode == 0, proc.stdout + proc.stderr
