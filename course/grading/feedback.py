"""Per-student feedback as a self-contained HTML page, with no hidden test code in it.

The page shows each question's points, status and the failing scenario's message (which names
the scenario, the seed and how to reproduce it), plus the learner's own code. It is built from
the grading result, not by converting the graded notebook, because the graded notebook holds
the hidden tests and tracebacks that quote them.
"""
from __future__ import annotations

import html
from pathlib import Path

from .autograde import StudentResult

STATUS_LABEL = {"pass": "passed", "fail": "failed", "not attempted": "not attempted", "timeout": "timed out",
                "not run": "not run"}

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222 }
h1 { font-size: 1.5rem } .total { font-size: 1.2rem; margin-bottom: 1rem }
.q { border: 1px solid #ddd; border-radius: 6px; margin: 1rem 0; padding: .5rem 1rem }
.pass { border-left: 6px solid #2a9d55 } .fail, .timeout, .not-run { border-left: 6px solid #c0392b }
.not-attempted { border-left: 6px solid #999 }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; white-space: pre-wrap }
.verdicts { background: #fff4e5; border: 1px solid #f0c080; padding: .5rem 1rem; border-radius: 6px }
"""


def render(result: StudentResult) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(result.assignment)} feedback: "
             f"{esc(result.student_id)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{esc(result.assignment)}: feedback for {esc(result.student_id)}</h1>",
             f"<div class='total'>Score: <b>{result.score:g} / {result.max_score:g}</b> ({esc(result.status)})</div>"]
    if result.verdicts:
        parts.append("<div class='verdicts'><b>About your submission</b><ul>"
                     + "".join(f"<li>{esc(v)}</li>" for v in result.verdicts) + "</ul></div>")
    for q in result.questions:
        css = q.status.replace(" ", "-")
        parts.append(f"<div class='q {css}'><h2>{esc(q.title or q.grade_id)}</h2>"
                     f"<p><b>{q.score:g} / {q.max_score:g}</b>: {esc(STATUS_LABEL.get(q.status, q.status))}</p>")
        if q.reason:
            parts.append(f"<pre>{esc(q.reason)}</pre>")
        parts.append("</div>")
    if result.solution_sources:
        parts.append("<h2>Your code, as graded</h2>")
        for grade_id, source in result.solution_sources.items():
            parts.append(f"<h3>{esc(grade_id)}</h3><pre>{esc(source)}</pre>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_feedback(result: StudentResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.student_id}.html"
    path.write_text(render(result), encoding="utf-8")
    return path
