"""The Day 4 lesson has what a lesson must (COURSE.md): objectives first, a section per topic and
key concept, figures, "On Cloudflare" notes, pitfalls, Cloudflare's prices with their source, a
recap linking the exercises, and cells that script the model or inject faults skipping cleanly
when a real model is configured. It is executed with every other lesson by test_notebooks.py
(offline, top to bottom)."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from course import viz

LESSON = Path(__file__).resolve().parents[2] / "notebooks" / "day4_workers_ai_agent_reasoning.ipynb"


def _cells(kind: str) -> list[str]:
    return [c.source for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == kind]


def _markdown() -> str:
    return "\n".join(_cells("markdown"))


def test_objectives_come_first_and_every_topic_and_key_concept_is_named() -> None:
    assert "By the end of today you can" in _cells("markdown")[0]
    text = _markdown().lower()
    for phrase in ("workers ai binding", "prompt templates for agent workflows", "parse and validate ai responses",
                   "when an agent should use ai", "reasoning patterns", "planning", "reflection", "tool use",
                   "context management", "fallback strategies for ai failures", "json mode", "streaming",
                   "token budget", "neurons", "sliding window", "degraded", "day's exercise"):
        assert phrase in text, phrase


def test_prose_length_figures_cloudflare_notes_pitfalls_prices_and_recap() -> None:
    text = re.sub(r"```.*?```", "", _markdown(), flags=re.S)
    words = len(re.findall(r"[A-Za-z0-9][\w'.-]*", text))
    assert 1800 <= words <= 3500, words
    code = "\n".join(_cells("code"))
    assert len(re.findall(r"viz\.\w+\(", code)) >= 4
    assert _markdown().count("**On Cloudflare.**") >= 6 and _markdown().count("**Pitfalls.**") >= 6
    assert "https://developers.cloudflare.com/workers-ai/platform/pricing/" in _markdown()
    assert "$0.011 per 1,000 neurons" in _markdown() and "[ai]" in _markdown()
    assert "## Recap" in _markdown() and "exercises/day4/day4_exercises.ipynb" in _markdown()


def test_the_real_model_switch_is_documented() -> None:
    text = _markdown()
    for name in ("COURSE_AI_BACKEND=workers-ai", "CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN",
                 "COURSE_AI_BACKEND=openai", "COURSE_AI_BASE_URL"):
        assert name in text, name


def test_cells_that_script_the_model_or_inject_faults_skip_when_a_real_model_answers() -> None:
    for source in _cells("code"):
        if ".ai.script(" in source or ".ai.fault(" in source:
            assert "if OFFLINE:" in source and "skipped:" in source, source[:120]
    assert _markdown().count("*Emulator only:*") >= 4


def test_the_day4_figures_draw_from_plain_data() -> None:
    figures = [viz.token_budget_bars({"all": {"system": 40, "facts": 60}, "fitted": {"system": 40, "facts": 20}}, 80),
               viz.model_cost_bars({"small": 0.01, "large": 0.2}),
               viz.degradation_curve([0.0, 1.0], {"model": [1.0, 0.0], "rules": [0.0, 1.0]}, [0.1, 0.0])]
    for fig in figures:
        assert fig._repr_png_().startswith(b"\x89PNG")
