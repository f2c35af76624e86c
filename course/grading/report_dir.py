"""A class's report folder as a whole: what run wrote it, reading its results back, replacing it atomically.

``course grade`` writes everything into a staging folder next to ``--out`` and swaps it in with
two renames (:func:`swap_in`), so the folder holds either the previous complete report or the
new one. Later commands work on an existing report the same way: ``--only`` (regrade some
students into it), ``course grade override`` and ``course grade manual`` copy the report into a
staging folder, change what they change there, and swap it in.

To do that they need to know what wrote the folder: ``run.json`` (:class:`RunRecord`) says
whether it holds notebooks or projects, which assignment, the class's notes, the late policy
and each student's submission time (so a penalty can be recomputed after a score changes), and
the partial-credit policy. ``results.json`` holds every :class:`StudentResult` and is read back
by :func:`load_results`.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path

from course.grading.autograde import QuestionResult, StudentResult
from course.grading.lateness import LatePolicy

#: What each report folder records about the run that wrote it.
RUN_RECORD = "run.json"
#: Every student's result, as written by ``course.grading.report.write_details``.
RESULTS_JSON = "results.json"


class PreviousRunError(ValueError):
    """The report folder cannot take this command (no previous run, another assignment...)."""


@dataclass
class RunRecord:
    kind: str  # notebook | project
    assignment: str
    notes: list[str] = field(default_factory=list)  # about the submissions folder, for the summary page
    due: str = ""  # ISO due date ("" = none)
    late_penalty: str = "none"  # as --late-penalty reads it: none | zero | per-hour:P
    submitted: dict[str, str] = field(default_factory=dict)  # student id -> ISO submission time
    partial_credit: str = ""  # notebooks: the --partial-credit policy the questions were scored with

    def late_policy(self) -> LatePolicy:
        return LatePolicy.parse(self.due or None, self.late_penalty)

    def write(self, folder: Path) -> Path:
        path = folder / RUN_RECORD
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return path


def policy_spec(late: LatePolicy) -> tuple[str, str]:
    """(due, penalty) as ``--due`` and ``--late-penalty`` would say them, to store in :class:`RunRecord`."""
    due = late.due.isoformat() if late.due else ""
    penalty = f"per-hour:{late.points_per_hour:g}" if late.method == "per-hour" else late.method
    return due, penalty


def _result_from(data: dict) -> StudentResult:
    known = {f.name for f in fields(StudentResult)}
    qknown = {f.name for f in fields(QuestionResult)}
    data = {k: v for k, v in data.items() if k in known}
    data["questions"] = [QuestionResult(**{k: v for k, v in q.items() if k in qknown}) for q in data.get("questions", [])]
    return StudentResult(**data)


def load_results(folder: Path) -> list[StudentResult]:
    """The students of the report in ``folder``, as they were written."""
    path = folder / RESULTS_JSON
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PreviousRunError(f"{folder} holds no graded class ({RESULTS_JSON} is missing): grade the whole class "
                               "into it first") from None
    except json.JSONDecodeError as exc:
        raise PreviousRunError(f"{path} is not valid JSON ({exc}); grade the whole class again") from None
    return [_result_from(row) for row in rows]


def load_record(folder: Path, results: list[StudentResult] | None = None) -> RunRecord:
    """``run.json`` of the report in ``folder``; for a report written before it existed, what results.json says."""
    path = folder / RUN_RECORD
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return RunRecord(**{k: v for k, v in data.items() if k in {f.name for f in fields(RunRecord)}})
        except (json.JSONDecodeError, TypeError) as exc:
            raise PreviousRunError(f"{path} cannot be read ({exc}); grade the whole class again") from None
    results = load_results(folder) if results is None else results
    if not results:
        raise PreviousRunError(f"{folder}: its {RESULTS_JSON} lists no students")
    return RunRecord("notebook", results[0].assignment)


def previous_run(folder: Path, kind: str, assignment: str) -> tuple[RunRecord, list[StudentResult]]:
    """The report already in ``folder``, checked to be a run of ``kind`` ``assignment``."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise PreviousRunError(f"{folder} does not exist: --only regrades students into an existing report, so grade "
                               "the whole class into it first")
    results = load_results(folder)
    record = load_record(folder, results)
    what = "--project" if kind == "project" else "--assignment"
    if record.kind != kind or record.assignment != assignment:
        raise PreviousRunError(f"{folder} holds a run of {record.kind} {record.assignment!r}, not {kind} {assignment!r}: "
                               f"give the {what} it was graded with, or another --out")
    return record, results


def submitted_time(record: RunRecord, student_id: str) -> datetime | None:
    iso = record.submitted.get(student_id, "")
    return datetime.fromisoformat(iso) if iso else None


def staging_for(target: Path) -> Path:
    """A new empty folder next to ``target`` (same file system, so it can be renamed over it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))


def staged_copy(target: Path) -> Path:
    """A staging folder holding a copy of the report in ``target``, to be changed and swapped in."""
    staging = staging_for(target)
    shutil.copytree(target, staging, dirs_exist_ok=True)
    return staging


def _old_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.replaced")


def swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with two renames (a folder cannot be replaced in one).

    Between them the previous report sits at ``.<name>.replaced``; :func:`recover_swap` puts it
    back if a crash happens right there, so no complete report is ever lost.
    """
    old = _old_name(target)
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.rename(target, old)
    os.rename(staging, target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def recover_swap(target: Path) -> None:
    old = _old_name(target)
    if old.exists() and not target.exists():
        os.rename(old, target)


__all__ = ["PreviousRunError", "RunRecord", "load_record", "load_results", "policy_spec", "previous_run",
           "recover_swap", "staged_copy", "staging_for", "submitted_time", "swap_in"]
