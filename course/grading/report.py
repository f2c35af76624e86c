"""The class's grade files: grades.csv in nbgrader's export format, details, and score plots."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from course.grading.autograde import StudentResult
from course.grading.summary import write_summary

__all__ = ["NBGRADER_CSV_COLUMNS", "load_plotting", "plot_distributions", "split_name", "write_details",
           "write_grades_csv", "write_summary"]

#: The columns of nbgrader's CsvExportPlugin (``nbgrader export``), in its order.
NBGRADER_CSV_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                        "raw_score", "late_submission_penalty", "score", "max_score")


def split_name(name: str) -> tuple[str, str]:
    """(first, last) of a full name as an LMS wrote it: the last word is the last name."""
    words = name.split()
    if len(words) < 2:
        return name.strip(), ""
    return " ".join(words[:-1]), words[-1]


def write_grades_csv(results: list[StudentResult], path: Path) -> Path:
    """One row per student, formatted as nbgrader's exporter does (``str(float)``, '' for None).

    A field with a comma or a quote (a name, an odd id) is quoted as CSV; nbgrader writes none.
    """
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(NBGRADER_CSV_COLUMNS)
        for r in sorted(results, key=lambda r: r.student_id):
            first, last = split_name(r.name)
            penalty = float(r.late_penalty)
            row = {"assignment": r.assignment, "duedate": r.duedate, "timestamp": r.timestamp,
                   "student_id": r.student_id, "last_name": last, "first_name": first, "email": "",
                   "raw_score": str(float(r.score)), "late_submission_penalty": str(penalty),
                   "score": str(float(max(0.0, r.score - penalty))), "max_score": str(float(r.max_score))}
            writer.writerow([row[c] for c in NBGRADER_CSV_COLUMNS])
    return path


def write_details(results: list[StudentResult], folder: Path) -> tuple[Path, Path]:
    """questions.csv (a score per student and question, with the verdicts) and results.json."""
    grade_ids = [q.grade_id for q in results[0].questions] if results else []
    questions_csv = folder / "questions.csv"
    with questions_csv.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "status", *grade_ids, "score", "max_score", "verdicts"])
        for r in sorted(results, key=lambda r: r.student_id):
            scores = {q.grade_id: q.score for q in r.questions}
            writer.writerow([r.student_id, r.status, *[f"{scores.get(g, 0.0):g}" for g in grade_ids],
                             f"{r.score:g}", f"{r.max_score:g}", " | ".join(r.verdicts)])
    results_json = folder / "results.json"
    results_json.write_text(json.dumps([asdict(r) for r in sorted(results, key=lambda r: r.student_id)], indent=1) + "\n")
    return questions_csv, results_json


def load_plotting() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (importing it takes a few tenths of a second)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_distributions(results: list[StudentResult], folder: Path) -> list[Path]:
    """A histogram of the class's scores per question (and one of the totals), as PNGs."""
    plt = load_plotting()

    folder.mkdir(parents=True, exist_ok=True)
    if not results:
        return []
    written = []
    series: list[tuple[str, str, float, list[float]]] = []
    for i, q in enumerate(results[0].questions):
        scores = [r.questions[i].score for r in results if i < len(r.questions)]
        series.append((q.grade_id, q.title or q.grade_id, q.max_score, scores))
    series.append(("total", f"{results[0].assignment}: total score", results[0].max_score, [r.score for r in results]))
    for name, title, max_score, scores in series:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        top = max(max_score, max(scores, default=0))
        bins = [x - 0.5 for x in range(int(top) + 2)] if top <= 30 else 20
        ax.hist(scores, bins=bins, color="#4c78a8", edgecolor="white")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f"points (of {max_score:g})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=100, metadata={"Software": None})
        plt.close(fig)
        written.append(path)
    return written
