"""Writing a class's report folder: instructor grades applied, then feedback, CSVs, plots and summary.

Every command that writes a report ends here, on a staging folder that is swapped in whole
afterwards (``course.grading.report_dir.swap_in``): a whole-class run, a regrade of some
students (``--only``), an override, an import of hand grades. The kept instructor grades
(``overrides.csv``, ``manual_grades.csv``, in the staging folder) are applied to the results
first, so every file agrees with them; the feedback pages of the students named in
``render_for`` and of every student an instructor grade touches are (re)written, and the
others are left as they are, byte for byte.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from course.grading import instructor_grades
from course.grading.autograde import StudentResult
from course.grading.feedback import render
from course.grading.report import plot_distributions, write_details, write_grades_csv, write_summary
from course.grading.report_dir import RunRecord

#: The report's files that come from the instructor, carried from one run into the next.
KEPT_FILES = (instructor_grades.OVERRIDES_CSV, instructor_grades.MANUAL_CSV)


@dataclass
class ReportFiles:
    grades_csv: Path
    questions_csv: Path
    results_json: Path
    summary: Path
    feedback: list[Path]
    plots: list[Path]
    notes: list[str] = field(default_factory=list)  # instructor grades kept but no longer applicable


def feedback_page(folder: Path, result: StudentResult) -> Path:
    return folder / "feedback" / f"{result.key or result.student_id}.html"


def carry_kept_files(previous: Path, staging: Path) -> None:
    """Copy the instructor's files of the report in ``previous`` into ``staging`` (a rerun keeps them)."""
    for name in KEPT_FILES:
        if (previous / name).is_file():
            (staging / name).write_bytes((previous / name).read_bytes())


def write(results: list[StudentResult], folder: Path, record: RunRecord, render_for: Iterable[str] = ()) -> ReportFiles:
    """Apply the instructor grades kept in ``folder`` to ``results`` and write every report file there."""
    hand, overrides, unreadable = instructor_grades.kept(folder)
    changed, notes = instructor_grades.apply(results, record, hand, overrides)
    notes = unreadable + notes
    rerender = set(render_for) | changed
    (folder / "feedback").mkdir(parents=True, exist_ok=True)
    for r in results:
        page = feedback_page(folder, r)
        if r.student_id in rerender or not page.exists():
            page.write_text(render(r), encoding="utf-8")
    results = sorted(results, key=lambda r: r.student_id)
    grades_csv = write_grades_csv(results, folder / "grades.csv")
    questions_csv, results_json = write_details(results, folder)
    plots = plot_distributions(results, folder / "plots")
    summary = write_summary(results, folder, [*record.notes, *notes])
    record.write(folder)
    return ReportFiles(grades_csv, questions_csv, results_json, summary, [feedback_page(folder, r) for r in results],
                       plots, notes)


__all__ = ["KEPT_FILES", "ReportFiles", "carry_kept_files", "feedback_page", "write"]
