"""Grading a class: `course grade` (parallel) against plain serial `nbgrader autograde`, same batch.

    python bench/bench_grading.py              # 8 synthetic submissions, course grade's default --jobs
    python bench/bench_grading.py -n 16 --jobs 2

The batch is the released Day 1 notebook answered with the solution's code, every other
student leaving one question unanswered, so both graders run every hidden scenario. nbgrader's
run is what an instructor would type by hand, in a course directory configured like
grader/nbgrader_config.py: `nbgrader generate_assignment`, then one `nbgrader autograde`
over the whole class (timed apart, and together). `course grade` is timed end to end (it
generates the assignment itself, grades, writes grades.csv, feedback pages and plots).
Both must agree on every score. Results are printed and written to bench/results/grading.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ASSIGNMENT = "day1"
NOTEBOOK = "day1_exercises.ipynb"


def synthetic_class(n: int) -> dict[str, str]:
    """{student: notebook text}: solved notebooks, every other one with question 3 left as the stub."""
    solution = json.loads((ROOT / "solutions" / ASSIGNMENT / NOTEBOOK).read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in solution["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    release = (ROOT / "exercises" / ASSIGNMENT / NOTEBOOK).read_text()
    students = {}
    for i in range(n):
        nb = json.loads(release)
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in answers and not (i % 2 and grade_id == "q3_split"):
                cell["source"] = answers[grade_id]
        students[f"student{i:03d}"] = json.dumps(nb, indent=1)
    return students


def bindir_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def run_course_grade(students: dict[str, str], work: Path, jobs: int | None, timeout: int) -> tuple[float, dict[str, float]]:
    subs = work / "lms"
    subs.mkdir()
    for student, text in students.items():
        (subs / f"{student}_{NOTEBOOK}").write_text(text)
    out = work / "course-out"
    start = time.perf_counter()
    jobs_args = ["--jobs", str(jobs)] if jobs else []
    proc = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(subs), "--assignment", ASSIGNMENT,
                           "--out", str(out), *jobs_args, "--timeout", str(timeout)],
                          cwd=ROOT, env=bindir_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"course grade failed:\n{proc.stderr}")
    scores = {}
    for line in (out / "grades.csv").read_text().splitlines()[1:]:
        cols = line.split(",")
        scores[cols[3]] = float(cols[9])
    return elapsed, scores


def run_nbgrader(students: dict[str, str], work: Path, timeout: int) -> tuple[float, float, dict[str, float]]:
    course = work / "nbgrader-course"
    (course / "source").mkdir(parents=True)
    subprocess.run(["cp", "-r", str(ROOT / "solutions" / ASSIGNMENT), str(course / "source" / ASSIGNMENT)], check=True)
    (course / "nbgrader_config.py").write_text(
        "from course.grading.config import apply_settings\n"
        f"apply_settings(get_config(), root={str(course)!r}, source_directory='source', "
        f"release_directory='release', cell_timeout={timeout})\n")
    for student, text in students.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_text(text)
    env = bindir_env()
    start = time.perf_counter()
    subprocess.run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=ERROR"], cwd=course,
                   env=env, check=True, capture_output=True)
    generated = time.perf_counter()
    proc = subprocess.run(["nbgrader", "autograde", ASSIGNMENT, "--force", "--log-level=ERROR"], cwd=course, env=env,
                          capture_output=True, text=True)
    done = time.perf_counter()
    if proc.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed:\n{proc.stderr[-3000:]}")
    subprocess.run(["nbgrader", "export", "--log-level=ERROR"], cwd=course, env=env, check=True, capture_output=True)
    scores = {}
    for line in (course / "grades.csv").read_text().splitlines()[1:]:
        cols = line.split(",")
        scores[cols[3]] = float(cols[9])
    return done - generated, done - start, scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--submissions", type=int, default=8, help="synthetic submissions (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=None, help="course grade --jobs (default: course grade's own)")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per cell for both graders")
    args = parser.parse_args()
    students = synthetic_class(args.submissions)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        course_s, course_scores = run_course_grade(students, work, args.jobs, args.timeout)
        autograde_s, nbgrader_total_s, nbgrader_scores = run_nbgrader(students, work, args.timeout)
    agree = course_scores == nbgrader_scores
    n = args.submissions
    rows = [
        (f"course grade --jobs {args.jobs or 'default'} (end to end)", course_s),
        ("nbgrader autograde (serial)", autograde_s),
        ("nbgrader generate_assignment + autograde", nbgrader_total_s),
    ]
    from course.grading.boundary import boundary_status

    fenced, why_not = boundary_status()
    print(f"{n} submissions, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
          f"course grade's OS boundary: {'on' if fenced else 'OFF (' + why_not + ')'}")
    print(f"{'grader':48} {'wall s':>8} {'s/student':>10} {'vs course grade':>16}")
    for name, secs in rows:
        print(f"{name:48} {secs:8.1f} {secs / n:10.2f} {secs / course_s:15.2f}x")
    print(f"scores agree: {agree}  (course grade: {sorted(set(course_scores.values()))}, "
          f"nbgrader: {sorted(set(nbgrader_scores.values()))})")
    out = ROOT / "bench" / "results" / "grading.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"submissions": n, "jobs": args.jobs, "cpus": os.cpu_count(),
                               "course_grade_s": course_s, "nbgrader_autograde_s": autograde_s,
                               "nbgrader_generate_and_autograde_s": nbgrader_total_s,
                               "speedup_vs_autograde": autograde_s / course_s, "scores_agree": agree,
                               "boundary": fenced}, indent=1) + "\n")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
