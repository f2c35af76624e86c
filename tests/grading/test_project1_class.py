"""Grading a class of ten Project 1 Worker projects: folders and zips in an LMS download, broken
ones included, graded completely and identically twice, with verdicts, CSV, feedback and plots."""
from __future__ import annotations

import csv
import importlib.util
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from course.grading.project_grade import UnsafeZip, find_projects, grade_project_class, unpack

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "project1_variants", ROOT / "tests" / "grading" / "fixtures" / "project1_class" / "variants.py")
variants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(variants)

#: Real seconds per load and per rubric item (the hanging submission costs one of these).
ITEM_TIMEOUT = 8
#: LMS name -> (variant, as a zip?, expected score). None = the reference; "starter" = the release.
CLASS = {
    "alice_101_9001_project1": (None, True, 20),
    "bob_102_9002_project1": ("starter", False, 0),
    "carol_103_9003_project1": ("memory_state", True, 17),
    "dan_104_9004_project1": ("no_timeout", False, 17),
    "erin_105_9005_project1": ("errors_escape", True, 17),
    "frank_106_9006_project1": ("not_idempotent", False, 17),
    "grace_107_9007_project1": ("bad_config", True, 0),
    "heidi_108_9008_project1": ("syntax_error", False, 0),
    "ivan_109_9009_project1": ("missing_module", True, 0),
    "judy_110_9010_project1": ("hangs_at_import", False, 0),
}


def _zip(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, Path("project1") / path.relative_to(folder))  # zips usually wrap the folder


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("class")
    work = tmp_path_factory.mktemp("build")
    for name, (variant, zipped, _) in CLASS.items():
        if variant == "starter":
            folder = work / name
            shutil.copytree(ROOT / "exercises" / "project1", folder, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            folder = variants.build(work / name, variant)
        if zipped:
            _zip(folder, root / f"{name}.zip")
        else:
            shutil.copytree(folder, root / name)
    (root / "instructions.txt").write_text("not a submission")
    return root


@pytest.fixture(scope="module")
def graded(submissions, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    first = grade_project_class(submissions, "project1", out / "run1", jobs=4, item_timeout=ITEM_TIMEOUT,
                                progress=io.StringIO(), warnings=io.StringIO())
    second = grade_project_class(submissions, "project1", out / "run2", jobs=4, item_timeout=ITEM_TIMEOUT,
                                 progress=io.StringIO(), warnings=io.StringIO())
    return first, second


def test_every_submission_gets_its_expected_score(graded):
    report, _ = graded
    scores = {r.student_id: r.score for r in report.results}
    expected = {name.split("_")[1]: score for name, (_, _, score) in CLASS.items()}
    assert scores == expected
    assert all(r.max_score == 20 for r in report.results)
    assert report.notes == ["instructions.txt: neither a project folder nor a .zip; skipped"]


def test_submissions_that_do_not_load_get_their_own_verdict(graded):
    report, _ = graded
    by_name = {r.name: r for r in report.results}
    for name, (variant, _, _) in CLASS.items():
        if variant in variants.UNLOADABLE:
            result = by_name[name.split("_")[0]]
            assert result.status == "not graded"
            verdict = " ".join(result.verdicts)
            assert variants.UNLOADABLE[variant][2] in verdict, verdict
            assert {q.status for q in result.questions} == {"not run"}
    assert "did not load within 8 s" in " ".join(by_name["judy"].verdicts)
    assert by_name["alice"].status == "graded" and not by_name["alice"].verdicts


def test_the_class_is_graded_identically_twice(graded):
    first, second = graded
    assert first.grades_csv.read_bytes() == second.grades_csv.read_bytes()
    assert first.results_json.read_bytes() == second.results_json.read_bytes()
    assert first.questions_csv.read_bytes() == second.questions_csv.read_bytes()


def test_the_report_has_the_notebook_graders_files(graded):
    report, _ = graded
    rows = list(csv.DictReader(report.grades_csv.open()))
    assert len(rows) == 10 and rows[0]["assignment"] == "project1"
    assert {r["student_id"] for r in rows} == {name.split("_")[1] for name in CLASS}
    assert [r["first_name"] for r in rows if r["student_id"] == "103"] == ["carol"]
    questions = list(csv.DictReader(report.questions_csv.open()))
    carol = next(q for q in questions if q["student_id"] == "103")
    assert carol["coordinator-restart"] == "0" and carol["happy-path"] == "4"
    assert {p.name for p in report.plots} >= {"total.png", "happy-path.png", "slow-worker.png"}
    assert len(report.feedback) == 10
    page = (report.out_dir / "feedback" / "103.html").read_text()
    assert "[coordinator-restart seed=5] FAILED" in page and "data:image/png;base64," in page  # the diagram
    assert "reproduce: course check . --only coordinator-restart --seed 5" in page
    summary = report.summary.read_text()
    assert "Coordinator eviction and crash mid-task" in summary
    results = json.loads(report.results_json.read_text())
    assert {r["student_id"] for r in results if r["status"] == "not graded"} == {"107", "108", "109", "110"}


def test_a_nested_layout_and_a_resubmission_are_read(tmp_path):
    for student in ("s1", "s2"):
        variants.build(tmp_path / "nested" / student / "project1", None)
    subs, notes = find_projects(tmp_path / "nested", "project1")
    assert [s.student_id for s in subs] == ["s1", "s2"] and not notes
    flat = tmp_path / "flat"
    flat.mkdir()
    for attempt in ("100", "200"):
        (flat / f"zoe_301_{attempt}_project1.zip").write_bytes(b"")
    subs, _ = find_projects(flat, "project1")
    assert len(subs) == 1 and subs[0].path.name == "zoe_301_200_project1.zip"
    assert "graded zoe_301_200_project1.zip (the latest)" in subs[0].notes[0]


@pytest.mark.parametrize("member", ["../evil.py", "/etc/evil.py"])
def test_a_zip_that_writes_outside_its_folder_is_refused(member, tmp_path):
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(member, "print('hi')")
    with pytest.raises(UnsafeZip, match="outside its folder"):
        unpack(archive, tmp_path / "out")
    assert not (tmp_path / "evil.py").exists()


def test_a_file_that_is_not_a_zip_gets_a_verdict(tmp_path):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "mallory_401_1_project1.zip").write_bytes(b"not a zip")
    report = grade_project_class(tmp_path / "class", "project1", tmp_path / "out", jobs=1, item_timeout=ITEM_TIMEOUT,
                                 progress=io.StringIO(), warnings=io.StringIO())
    [result] = report.results
    assert result.score == 0 and result.status == "not graded"
    assert "is not a zip file" in result.verdicts[0]


def test_course_check_on_a_project_folder_reports_each_item_and_exits_by_the_result(tmp_path):
    import subprocess
    import sys

    def check(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "course.cli", "check", *args], capture_output=True, text=True,
                              cwd=ROOT, timeout=300)

    ok = check("solutions/project1", "--only", "happy-path,duplicates")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("PASS") == 2 and "(7/7 points)" in ok.stdout
    starter = check("exercises/project1", "--only", "bad-input,happy-path")
    assert starter.returncode == 1
    assert "FAIL  Bad input (0/2 pts" in starter.stdout and "reproduce: course check exercises/project1 --only" \
        in starter.stdout
    folder = variants.build(tmp_path / "p", "no_validation")
    one = check(str(folder), "--only", "bad-input", "--seed", "6")
    assert one.returncode == 1 and "[bad-input seed=6] FAILED" in one.stdout
    unknown = check("exercises/project1", "--only", "speed")
    assert unknown.returncode == 2 and "no rubric item speed" in unknown.stderr
