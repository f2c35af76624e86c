"""The Day 1 lesson meets COURSE.md: every topic of the day has its section, enough prose, figures,
one protocol with the exercises, metadata JupyterLab does not rewrite; and its figures tell time."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from course import viz
from course.protocol import LIFECYCLE, new_envelope

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "notebooks" / "day1_multi_agent_fundamentals.ipynb"
#: The Day 1 row of COURSE.md (topics and key concepts), as the lesson's headings name them.
SECTIONS = ("multi-agent systems: an overview", "agent, service or function", "autonomy",
            "communication: messages, events and one protocol", "asyncio", "orchestration or choreography",
            "memory: short-term, long-term and shared", "the agent lifecycle", "stateless or stateful design",
            "recap")
#: What JupyterLab writes into a notebook when a python3 kernel starts (so opening it changes nothing).
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _lesson() -> nbformat.NotebookNode:
    return nbformat.read(LESSON, as_version=4)


def _prose(nb: nbformat.NotebookNode) -> str:
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return re.sub(r"```.*?```", "", text, flags=re.S)


def test_the_lesson_has_a_section_for_every_topic_and_key_concept_of_day_one() -> None:
    headings = [line.lstrip("#").strip().lower() for c in _lesson().cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    for section in SECTIONS:
        assert any(section in h for h in headings), (section, headings)
    first = _lesson().cells[0].source
    assert "By the end of today you can" in first  # objectives first


def test_the_lesson_has_the_prose_figures_and_notes_course_md_asks_for() -> None:
    nb = _lesson()
    words = len(re.findall(r"[A-Za-z0-9'`_.:-]+", _prose(nb)))
    assert 1800 <= words <= 3500, words
    figures = sum(len(re.findall(r"viz\.(sequence_diagrams?|state_diagram|object_timeline)\(", c.source))
                  for c in nb.cells if c.cell_type == "code")
    assert figures >= 3, figures
    assert _prose(nb).count("**On Cloudflare.**") >= 5
    assert "exercises/day1/day1_exercises.ipynb" in nb.cells[-2].source  # the recap links the exercises
    assert max(len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code") <= 80  # short cells


def test_the_lesson_speaks_the_exercises_protocol() -> None:
    text = "\n".join(c.source for c in _lesson().cells)
    for old in ("task.error", '"heartbeat"', "'heartbeat'"):
        assert old not in text.replace("\"task.error\"},              # not a message type", ""), old
    assert "correlation_id" in text and "causation_id" in text and "reply(" in text


def test_the_lesson_opens_unmodified_in_jupyterlab() -> None:
    nb = _lesson()
    assert nb.metadata["kernelspec"] == KERNELSPEC
    assert nb.metadata["language_info"]["name"] == "python"
    assert all(c.get("id") for c in nb.cells) and len({c.id for c in nb.cells}) == len(nb.cells)


def test_sequence_diagram_numbers_simultaneous_messages_and_times_the_others() -> None:
    same = [(0.0, "a:x", "b:y", "task.assign", "call"), (0.0, "b:y", "a:x", "task.result", "reply")]
    labels, note = viz.time_labels(same)
    assert labels == ["#1", "#2"] and "numbered" in note
    timed = [(0.0, "a:x", "b:y", "task.assign", "call"), (0.085, "b:y", "a:x", "task.result", "reply")]
    assert viz.time_labels(timed) == (["0.000s", "0.085s"], "time on the left, in seconds")


def test_sequence_diagram_keeps_one_conversation() -> None:
    first = new_envelope("task.submit", "client:nb", "coordinator:main", {}, sent_at=10.0, correlation_id="t1")
    other = new_envelope("task.submit", "client:nb", "coordinator:main", {}, sent_at=11.0, correlation_id="t2")
    answer = first.reply("task.report", {}, sent_at=10.5)
    log = [e.model_dump() for e in (first, other, answer)]
    kept = viz.messages_from_envelopes(log, conversation="t1")
    assert [m[3] for m in kept] == ["task.submit", "task.report"] and kept[1][0] == 0.5
    assert len(viz.messages_from_envelopes(log)) == 3  # no filter: as before
    viz.sequence_diagram(log, conversation="t1", title="t1")  # draws


def test_sequence_diagram_keeps_one_request_of_a_trace() -> None:
    from course.runtime import Runtime
    from course.workers import DurableObject, Response, WorkerEntrypoint

    class Echo(DurableObject):
        async def echo(self, text: str) -> str:
            return text

    class Entry(WorkerEntrypoint):
        async def fetch(self, request):  # type: ignore[no-untyped-def]
            if request.url.endswith("/echo"):
                return Response(await self.env.ECHO.getByName("e").echo("hi"))
            return Response("plain")

    rt = Runtime(virtual_time=True)
    try:
        rt.add_worker(Entry, durable_objects={"ECHO": Echo})
        client = rt.client()
        client.get("/")
        client.get("/echo")
        wanted = rt.trace.last("request").get("id")
        client.get("/")
        kept = viz.messages_from_trace(rt.trace, request=wanted)
        assert [m[3] for m in kept] == ["GET /echo", "echo", "return", "200"]
        assert [m[3] for m in viz.messages_from_trace(rt.trace, request="GET /echo")] == [m[3] for m in kept]
        assert len(viz.messages_from_trace(rt.trace)) == 8  # no filter: every request
    finally:
        rt.close()


def test_state_diagram_draws_a_labelled_table() -> None:
    fig = viz.state_diagram(LIFECYCLE, title="subtask")
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"created", "assigned", "running", "done", "failed", "assign", "complete"} <= texts
    assert viz.png_bytes(fig).startswith(b"\x89PNG")
