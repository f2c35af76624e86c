"""The Day 6 lesson has what a lesson must (COURSE.md): objectives first, a section per topic and
key concept, figures, "On Cloudflare" notes, pitfalls, a recap linking the exercises, and
emulator-only cells that skip cleanly when live. It is executed with every other lesson by
test_notebooks.py (offline, top to bottom)."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

LESSON = Path(__file__).resolve().parents[2] / "notebooks" / "day6_event_driven_coordination.ipynb"


def _markdown() -> str:
    nb = nbformat.read(LESSON, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_objectives_come_first_and_every_topic_and_key_concept_is_named() -> None:
    nb = nbformat.read(LESSON, as_version=4)
    assert "By the end of today you can" in nb.cells[0].source
    text = _markdown().lower()
    for phrase in ("websocket-based agent mesh", "hibernation", "presence", "broadcast", "backpressure",
                   "resume from an offset", "event sourcing", "append-only", "expected-version",
                   "optimistic concurrency", "discriminated union", "cqrs", "read model", "projection", "lag",
                   "d1-based coordination", "conditional `update`", "leases", "batch", "message queues",
                   "at-least-once", "idempotent", "retries with delays", "dead-letter", "ordering", "event replay",
                   "snapshot", "upcast", "time travel", "workflow"):
        assert phrase in text, phrase


def test_prose_length_figures_cloudflare_notes_pitfalls_and_recap() -> None:
    text = re.sub(r"```.*?```", "", _markdown(), flags=re.S)
    words = len(re.findall(r"[A-Za-z0-9][\w'.-]*", text))
    assert 1800 <= words <= 3500, words
    code = "\n".join(c.source for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == "code")
    assert len(re.findall(r"viz\.\w+\(", code)) >= 3
    assert _markdown().count("**On Cloudflare.**") >= 6 and _markdown().count("**Pitfalls.**") >= 6
    assert "## Recap" in _markdown() and "exercises/day6/day6_exercises.ipynb" in _markdown()


def test_cells_that_need_the_emulator_say_so_and_skip_when_live() -> None:
    nb = nbformat.read(LESSON, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and ("faults." in cell.source or "clock.advance" in cell.source
                                         or ".evict(" in cell.source):
            assert "if EMULATED:" in cell.source and "skipped:" in cell.source, cell.source[:120]
    assert _markdown().count("*Emulator only:*") >= 3
