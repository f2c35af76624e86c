"""The class summary: per question, the mean, the pass rate and the most common failure reasons.

A failure reason is grouped by its first line with the numbers that vary from student to
student taken out of it (ids, counts, sizes) but the scenario's name kept, so thirty students
failing the same seeded scenario for the same reason show up as one line with a count.
Written as ``summary.csv`` (one row per question) and ``summary.html`` (with the class's notes).
"""
from __future__ import annotations

import csv
import html
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from course.grading.autograde import StudentResult

#: How many failure reasons are listed per question.
TOP_REASONS = 3
_VARYING = re.compile(r"(?<![A-Za-z])\d+(\.\d+)?")


@dataclass
class QuestionSummary:
    grade_id: str
    title: str
    max_score: float
    mean: float
    pass_rate: float  # share of students with full marks
    attempted_rate: float  # share that did not leave the stub
    reasons: list[tuple[str, int]] = field(default_factory=list)  # (reason, how many students)


def reason_key(reason: str) -> str:
    """The first line of a failure reason, its varying numbers replaced by N (the scenario name stays)."""
    first = next((line.strip() for line in reason.splitlines() if line.strip()), "")
    scenario = re.match(r"^\[([^\]]*?)(?: seed=\d+)?\]", first)
    rest = _VARYING.sub("N", first[scenario.end():] if scenario else first).strip()
    return f"[{scenario.group(1)}] {rest}" if scenario else rest


def summarise(results: list[StudentResult]) -> list[QuestionSummary]:
    if not results:
        return []
    order = [(q.grade_id, q.title, q.max_score) for q in results[0].questions]
    out = []
    for grade_id, title, max_score in order:
        got = [q for r in results for q in r.questions if q.grade_id == grade_id]
        n = len(got) or 1
        reasons = Counter(reason_key(q.reason) for q in got if q.status not in ("pass", "manual") and q.reason)
        out.append(QuestionSummary(grade_id, title, max_score, sum(q.score for q in got) / n,
                                   sum(1 for q in got if q.score >= q.max_score > 0) / n,
                                   sum(1 for q in got if q.status != "not attempted") / n,
                                   reasons.most_common(TOP_REASONS)))
    return out


def write_summary(results: list[StudentResult], folder: Path, notes: list[str]) -> Path:
    """summary.csv and summary.html in ``folder``; returns the HTML page."""
    rows = summarise(results)
    with (folder / "summary.csv").open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["grade_id", "title", "max_score", "mean", "pass_rate", "attempted_rate", "top_failure_reasons"])
        for q in rows:
            writer.writerow([q.grade_id, q.title, f"{q.max_score:g}", f"{q.mean:.2f}", f"{q.pass_rate:.2f}",
                             f"{q.attempted_rate:.2f}", " | ".join(f"{n}x {r}" for r, n in q.reasons)])
    esc = html.escape
    total = [r.score - r.late_penalty for r in results]
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>class summary</title><style>"
             "body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem}"
             "table{border-collapse:collapse}td,th{padding:.3rem .7rem;border-bottom:1px solid #eee;text-align:left;"
             "vertical-align:top}</style></head><body>",
             f"<h1>{esc(results[0].assignment if results else '')}: class summary</h1>",
             f"<p>{len(results)} students; mean score {sum(total) / max(len(total), 1):.2f} / "
             f"{results[0].max_score if results else 0:g}; "
             f"{sum(1 for r in results if r.status == 'not graded')} not graded, "
             f"{sum(1 for r in results if r.verdicts)} with notes (see questions.csv).</p>",
             "<table><tr><th>question</th><th>mean</th><th>full marks</th><th>attempted</th>"
             "<th>most common failure reasons</th></tr>"]
    for q in rows:
        reasons = "<br>".join(f"{n} &times; {esc(r)}" for r, n in q.reasons) or "&mdash;"
        parts.append(f"<tr><td>{esc(q.title or q.grade_id)}</td><td>{q.mean:.2f} / {q.max_score:g}</td>"
                     f"<td>{q.pass_rate:.0%}</td><td>{q.attempted_rate:.0%}</td><td>{reasons}</td></tr>")
    parts.append("</table>")
    if notes:
        parts.append("<h2>About the submissions folder</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    parts.append("</body></html>\n")
    page = folder / "summary.html"
    page.write_text("".join(parts), encoding="utf-8")
    return page
