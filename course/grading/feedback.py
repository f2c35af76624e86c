"""Per-student feedback as a self-contained HTML page, with no hidden test code in it.

The page leads with the score and a one-line result per question, then, per question, what
failed (the scenario, its seed, the smallest failing case, the messages exchanged and a line
that reproduces it) next to the learner's own code for that question. When the failure lists
messages, the page also draws them as a sequence diagram (an inline PNG), read back from the
failure text itself (``course.checks.harness.messages.parse_log``). It is built from the grading result, not by converting the graded notebook,
because the graded notebook holds the hidden tests and tracebacks that quote them.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from course.checks.harness.messages import actors, parse_log
from course.grading.autograde import QuestionResult, StudentResult

#: What each question status is called on the page: (badge, sentence).
STATUS_LABEL = {
    "pass": ("PASS", "passed its visible and hidden tests"),
    "fail": ("FAIL", "failed a test"),
    "not attempted": ("TODO", "not attempted: the answer still raises NotImplementedError"),
    "timeout": ("TIME", "stopped: it ran past the time limit"),
    "not run": ("MISS", "not graded"),
    "manual": ("HAND", "graded by hand by your instructor: its points are added when they have read it"),
}
#: What the submission's overall status means to a learner.
OVERALL = {"graded": "graded", "graded with problems": "graded; see the grader's notes below",
           "not graded": "could not be graded; see the grader's notes below"}
#: How to use the reproduce line a failing scenario prints.
#: What the sequence diagram under a failure shows.
DIAGRAM_CAPTION = ("The messages of the smallest failing case, time flowing down: assignments in blue, results "
                   "in green (dashed), errors in red, and a red cross where a message was lost.")
REPRODUCE_HINT = ("To see this case fail in your own notebook, paste the <code>reproduce:</code> line into a new "
                  "cell below your answer and run it: it builds the same scenario from the same seed.")

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45 }
h1 { font-size: 1.5rem } h2 { font-size: 1.15rem; margin: .2rem 0 }
.total { font-size: 1.2rem; margin-bottom: 1rem }
table { border-collapse: collapse; margin: 1rem 0 } td, th { padding: .25rem .8rem; border-bottom: 1px solid #eee; text-align: left }
.badge { font-weight: bold; font-family: monospace; padding: 0 .4rem; border-radius: 4px; color: white }
.b-pass { background: #2a9d55 } .b-fail, .b-timeout, .b-not-run { background: #c0392b } .b-not-attempted, .b-manual { background: #888 }
.q { border: 1px solid #ddd; border-radius: 6px; margin: 1rem 0; padding: .5rem 1rem }
.pass { border-left: 6px solid #2a9d55 } .fail, .timeout, .not-run { border-left: 6px solid #c0392b }
.not-attempted { border-left: 6px solid #999 }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; white-space: pre-wrap }
.hint { color: #555; font-size: .92rem }
.diagram img { max-width: 100%; border: 1px solid #eee }
.instructor { background: #eef4fb; border: 1px solid #9bbbe0; padding: .4rem .8rem; border-radius: 6px }
.notes { background: #fff4e5; border: 1px solid #f0c080; padding: .5rem 1rem; border-radius: 6px }
"""


#: What a hand-graded question says once its instructor has graded it.
GRADED_BY_HAND = "graded by hand by your instructor"


def _instructor_note(q: QuestionResult) -> str:
    """The instructor's grade of a question: the override and its reason, or the hand grade and its comment."""
    esc = html.escape
    if q.graded_by == "override":
        auto = f"{q.auto_score:g}" if q.auto_score is not None else "?"
        return (f"<p class='instructor'><b>Score changed by your instructor</b> from {auto} to {q.score:g} points. "
                f"Reason: {esc(q.comment)}</p>")
    comment = f" Comment: {esc(q.comment)}" if q.comment else ""
    return f"<p class='instructor'><b>Hand grade</b>: {q.score:g} / {q.max_score:g} points.{comment}</p>"


def _badge(status: str) -> str:
    return f"<span class='badge b-{status.replace(' ', '-')}'>{STATUS_LABEL.get(status, (status.upper(), ''))[0]}</span>"


def sequence_diagram_html(reason: str) -> str:
    """An ``<img>`` (PNG data URI) of the messages a failure message lists ("" if it lists none)."""
    arrows = parse_log(reason)
    if not arrows:
        return ""
    from course.grading.report import load_plotting
    from course.viz import png_bytes, sequence_diagram

    plt = load_plotting()  # the Agg backend: grading processes have no display
    fig = sequence_diagram(arrows, title="messages in the smallest failing case", actors=actors(arrows))
    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    plt.close(fig)
    return (f"<figure class='diagram'><img alt='sequence diagram of the messages exchanged' "
            f"src='data:image/png;base64,{data}'><figcaption class='hint'>{DIAGRAM_CAPTION}</figcaption></figure>")


def render(result: StudentResult) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(result.assignment)} feedback: "
             f"{esc(result.student_id)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{esc(result.assignment)}: feedback for {esc(result.student_id)}</h1>",
             f"<div class='total'>Score: <b>{result.score:g} / {result.max_score:g}</b> points "
             f"({esc(OVERALL.get(result.status, result.status))})</div>",
             "<table><tr><th>question</th><th>result</th><th>points</th></tr>"]
    for q in result.questions:
        parts.append(f"<tr><td><a href='#{esc(q.grade_id)}'>{esc(q.title or q.grade_id)}</a></td>"
                     f"<td>{_badge(q.status)}</td><td>{q.score:g} / {q.max_score:g}</td></tr>")
    parts.append("</table>")
    if result.verdicts:
        parts.append("<div class='notes'><b>Notes from the grader</b><ul>"
                     + "".join(f"<li>{esc(v)}</li>" for v in result.verdicts) + "</ul></div>")
    shown: set[str] = set()
    for q in result.questions:
        css = q.status.replace(" ", "-")
        sentence = STATUS_LABEL.get(q.status, ("", q.status))[1]
        if q.status == "manual" and q.graded_by:
            sentence = GRADED_BY_HAND
        parts.append(f"<div class='q {css}' id='{esc(q.grade_id)}'><h2>{_badge(q.status)} {esc(q.title or q.grade_id)}</h2>"
                     f"<p><b>{q.score:g} / {q.max_score:g} points</b>: {esc(sentence)}</p>")
        if q.graded_by:
            parts.append(_instructor_note(q))
        if q.reason and q.status not in ("pass", "manual"):
            parts.append(f"<pre>{esc(q.reason)}</pre>")
            parts.append(sequence_diagram_html(q.reason))
            if "reproduce:" in q.reason:
                parts.append(f"<p class='hint'>{REPRODUCE_HINT}</p>")
        for sid in q.solution_ids:
            if sid in result.solution_sources:
                shown.add(sid)
                parts.append(f"<details><summary>Your code ({esc(sid)}), as graded</summary>"
                             f"<pre>{esc(result.solution_sources[sid])}</pre></details>")
        parts.append("</div>")
    rest = {k: v for k, v in result.solution_sources.items() if k not in shown}
    if rest:
        parts.append("<h2>Your other code, as graded</h2>")
        for grade_id, source in rest.items():
            parts.append(f"<h3>{esc(grade_id)}</h3><pre>{esc(source)}</pre>")
    parts.append("<p class='hint'>Each question's tests include hidden seeded scenarios; a failure names the "
                 "scenario and its seed, never the hidden code. Run <code>course check</code> on your notebook to "
                 "see the visible tests' results before you submit.</p></body></html>\n")
    return "".join(parts)


def write_feedback(result: StudentResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.student_id}.html"
    path.write_text(render(result), encoding="utf-8")
    return path
