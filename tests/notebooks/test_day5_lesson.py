"""The Day 5 lesson has what a lesson must (COURSE.md): objectives first, a section per topic and
key concept, figures (a thundering herd with and without jitter, a breaker's state timeline, a
202-and-polling sequence diagram), "On Cloudflare" notes, pitfalls, and a recap linking the
exercises. It is executed with every other lesson by test_notebooks.py (offline, top to bottom)."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from course import viz

LESSON = Path(__file__).resolve().parents[2] / "notebooks" / "day5_http_agent_protocols.ipynb"


def _cells(kind: str) -> list[str]:
    return [c.source for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == kind]


def _markdown() -> str:
    return "\n".join(_cells("markdown"))


def test_objectives_come_first_and_every_topic_and_key_concept_is_named() -> None:
    assert "By the end of today you can" in _cells("markdown")[0]
    text = _markdown().lower()
    for phrase in ("restful agent api", "standard agent api", "service discovery", "request/response",
                   "event protocols", "circuit breaker", "problem details", "rfc 9457", "openapi", "agent card",
                   "/.well-known/agent-card.json", "input-required", "service binding", "202", "polling",
                   "callbacks", "deadline", "idempotency key", "full jitter", "retry-after", "retry budget",
                   "thundering herd", "half-open", "bulkhead", "day's exercise"):
        assert phrase in text, phrase


def test_prose_length_figures_cloudflare_notes_pitfalls_and_recap() -> None:
    text = re.sub(r"```.*?```", "", _markdown(), flags=re.S)
    words = len(re.findall(r"[A-Za-z0-9][\w'.-]*", text))
    assert 1800 <= words <= 3500, words
    code = "\n".join(_cells("code"))
    assert len(re.findall(r"viz\.\w+\(", code)) >= 3
    for figure in ("viz.retry_herd(", "viz.breaker_timeline(", "viz.sequence_diagram("):
        assert figure in code, figure
    assert _markdown().count("**On Cloudflare.**") >= 6 and _markdown().count("**Pitfalls.**") >= 6
    assert "## Recap" in _markdown() and "exercises/day5/day5_exercises.ipynb" in _markdown()


def test_the_day5_figures_draw_from_plain_data() -> None:
    figures = [viz.retry_herd({"no jitter": [1.0, 1.0, 3.0], "full jitter": [0.2, 0.9, 2.5]}, capacity=2),
               viz.breaker_timeline([(0.0, "closed"), (3.0, "open"), (13.0, "half-open"), (13.5, "closed")],
                                    end=20, down=[(2.0, 13.0)], calls=[(1.0, True), (5.0, False)])]
    for fig in figures:
        assert fig._repr_png_().startswith(b"\x89PNG")
