"""The Day 7 lesson has what a lesson must (COURSE.md): objectives first, a section per topic and
key concept, at least three figures, "On Cloudflare" notes, pitfalls, a recap linking the
exercises, and emulator-only cells that skip cleanly when live. It is executed with every other
lesson by test_notebooks.py (offline, top to bottom)."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

LESSON = Path(__file__).resolve().parents[2] / "notebooks" / "day7_production_agent_systems.ipynb"


def _cells(kind: str) -> list[str]:
    return [c.source for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == kind]


def test_objectives_come_first_and_every_topic_and_key_concept_is_named() -> None:
    assert "By the end of today you can" in _cells("markdown")[0]
    text = "\n".join(_cells("markdown")).lower()
    for phrase in ("monitoring and observability", "cross-region coordination", "security between agents",
                   "performance optimization", "health checks", "metrics", "alert rule", "multi-region deployment",
                   "traceparent", "analytics engine", "location hints", "jurisdiction", "kv consistency",
                   "failover", "zero trust", "signed requests", "replay", "clock skew", "service bindings",
                   "least-privilege", "secrets", "input validation", "latency", "throughput", "sharding",
                   "batching", "caching", "1,000 requests per second", "what it costs"):
        assert phrase in text, phrase


def test_prose_length_figures_cloudflare_notes_pitfalls_and_recap() -> None:
    markdown = "\n".join(_cells("markdown"))
    words = len(re.findall(r"[A-Za-z0-9][\w'.-]*", re.sub(r"```.*?```", "", markdown, flags=re.S)))
    assert 1800 <= words <= 3500, words
    assert sum(src.count("plt.show()") for src in _cells("code")) >= 3
    assert markdown.count("**On Cloudflare.**") >= 4 and markdown.count("**Pitfalls.**") >= 4
    assert "## Recap" in markdown and "exercises/day7/day7_exercises.ipynb" in markdown
    assert "developers.cloudflare.com/durable-objects/platform/limits" in markdown


def test_cells_that_need_the_emulator_say_so_and_skip_when_live() -> None:
    for source in _cells("code"):
        if "lab.runtime" in source or "lab.advance" in source:
            skips = "if EMULATED:" in source and "skipped:" in source
            assert skips or "if EMULATED else" in source, source[:120]  # or it falls back to the live clock
    assert "\n".join(_cells("markdown")).count("*Emulator only:*") >= 4
