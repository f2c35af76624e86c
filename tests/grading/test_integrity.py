"""A submission cannot raise its score by attacking the grader, and cannot stop the class.

Each attack below is a student of one class, graded once with real nbgrader and kernels (slow):
every attacker must score no more than the honest empty submission (0). A "chaos" student
floods output, allocates too much memory, forks, asks for input(), leaves a thread running,
changes directory and deletes its files, and must still be graded on its (correct) answers.
The guards themselves (course.checks.sealed, course.grading.sandbox) are also tested directly,
without a kernel, and the report's atomic replacement without nbgrader.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from course.checks import sealed as sealed_module
from course.checks.sealed import GradingCodeModified, sealed, verify

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_NB = ROOT / "solutions" / "day1" / "day1_exercises.ipynb"
EXERCISE_NB = ROOT / "exercises" / "day1" / "day1_exercises.ipynb"
CELL_TIMEOUT = 10
#: A file an attacker tries to create inside the repository; it must never exist.
PLANTED = ROOT / "course" / "checks" / "_planted_by_test.py"

DUMMY = {
    "q1_envelope": "class Envelope(BaseModel):\n    id: str\n",
    "q2_lifecycle": "class TaskLifecycle:\n    def __init__(self, task_id, max_attempts=3):\n        pass\n",
    "q3_split": "def split_task(task_id, items, max_per_subtask):\n    return []\n",
    "q4_aggregate": "def aggregate(task_id, n_subtasks, results):\n    return Aggregate(task_id, {}, (), ())\n",
    "q5_coordinator": "async def run_coordinator(task_id, items, workers, mailbox, **kw):\n    return None\n",
}
NOOP_DAY1 = ("import types\nday1 = types.SimpleNamespace(**{n: (lambda *a, **k: 'ok') for n in "
             "('grade_envelope', 'grade_lifecycle', 'grade_split', 'grade_aggregate', 'grade_coordinator')})\n")
SOLUTIONS_PATH = "import course, pathlib\nSOL = pathlib.Path(course.__file__).parents[1] / 'solutions' / 'day1' / 'day1_exercises.ipynb'\n"

#: {student: (answer cell to put the attack in, attack code)}; every other answer is a wrong dummy.
ATTACKS: dict[str, tuple[str, str]] = {
    # the visible tests call day1.*: rebinding it makes them pass; the hidden tests must not care
    "rebind-day1": ("q1_envelope", NOOP_DAY1),
    "patch-checker": ("q1_envelope", "import course.checks.day1 as d\nfor n in list(d.__all__):\n"
                                     "    if n.startswith('grade_'):\n        setattr(d, n, lambda *a, **k: 'ok')\n"),
    "patch-code": ("q1_envelope", "import course.checks.day1 as d\nfor n in ('grade_envelope', 'grade_lifecycle', "
                                  "'grade_split', 'grade_aggregate', 'grade_coordinator'):\n"
                                  "    getattr(d, n).__code__ = (lambda *a, **k: 'ok').__code__\n"),
    "fake-sys-modules": ("q1_envelope", "import sys, types\nfake = types.ModuleType('course.checks.sealed')\n"
                                        "fake.sealed = lambda name: types.SimpleNamespace(**{n: (lambda *a, **k: 'ok') for n in "
                                        "('grade_envelope', 'grade_lifecycle', 'grade_split', 'grade_aggregate', "
                                        "'grade_coordinator')})\nsys.modules['course.checks.sealed'] = fake\n"
                                        "sys.modules['course.checks.day1'] = fake\n"),
    "patch-assert-ok": ("q1_envelope", "from course.checks import CheckResult\n"
                                       "try:\n    CheckResult.assert_ok = lambda self: self\nexcept Exception:\n    pass\n"),
    "fake-assertion-error": ("q1_envelope", "import builtins\nclass AssertionError(Exception):\n    pass\n"
                                            "builtins.AssertionError = AssertionError\n"),
    "fake-import": ("q1_envelope", "import builtins, types\n_real = builtins.__import__\n"
                                   "fake = types.SimpleNamespace(sealed=lambda n: types.SimpleNamespace(**{x: (lambda *a, **k: 'ok') "
                                   "for x in ('grade_envelope', 'grade_lifecycle', 'grade_split', 'grade_aggregate', "
                                   "'grade_coordinator')}))\n"
                                   "def imp(name, *a, **k):\n    return fake if name == 'course.checks.sealed' else _real(name, *a, **k)\n"
                                   "builtins.__import__ = imp\n"),
    "swallow-errors": ("q1_envelope", "ip = get_ipython()\nip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                                      "ip.showtraceback = lambda *a, **k: None\n"),
    "gut-hidden-cells": ("q1_envelope", "get_ipython().input_transformers_post.append(\n"
                                        "    lambda lines: ['pass\\n'] if any('sealed' in l or 'day1.' in l for l in lines) else lines)\n"),
    "system-exit": ("q1_envelope", "raise SystemExit(0)\n"),
    "os-exit": ("q1_envelope", "import os\nos._exit(0)\n"),
    "read-solutions": ("q1_envelope", SOLUTIONS_PATH + "import json\nfor cell in json.loads(SOL.read_text())['cells']:\n"
                                      "    if cell['metadata'].get('nbgrader', {}).get('solution'):\n"
                                      "        exec(''.join(cell['source']), globals())\n"),
    "read-gradebook": ("q1_envelope", "import glob, sqlite3\nfor db in glob.glob('/tmp/course-grade-run-*/**/gradebook.db', "
                                      "recursive=True) + ['../../../gradebook.db']:\n"
                                      "    c = sqlite3.connect(db)\n    c.execute('UPDATE grade SET manual_score = 100')\n    c.commit()\n"),
    "write-repo": ("q1_envelope", f"open({str(PLANTED)!r}, 'w').write('x = 1')\n"),
    # the kernel's connection file holds the key that signs requests to it: out of the kernel's reach
    "read-kernel-key": ("q1_envelope", "import ipykernel.connect\nprint(open(ipykernel.connect.get_connection_file()).read())\n"),
}
CHAOS = {  # answer cell -> code run after the (correct) answer
    "q1_envelope": "print('x' * 50_000_000)\n",
    "q2_lifecycle": "hog = bytearray(6 * 1024**3)\n",
    "q3_split": "import os\nos.fork()\n",
    "q4_aggregate": "name = input('your name? ')\n",
    "q5_coordinator": ("import os, threading, time\nthreading.Thread(target=lambda: time.sleep(10**6)).start()\n"
                       "for p in os.listdir('.'):\n    os.remove(p) if os.path.isfile(p) else None\nos.chdir('/')\n"),
}


def _notebook(answers: dict[str, str], edit_grade_cells: bool = False) -> str:
    nb = json.loads(EXERCISE_NB.read_text())
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade_id") in answers:
            cell["source"] = answers[meta["grade_id"]]
        elif edit_grade_cells and meta.get("grade"):
            cell["source"] = "pass\n"
    return json.dumps(nb)


def _solution_answers() -> dict[str, str]:
    solution = json.loads(SOLUTION_NB.read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in solution["cells"]
            if c["metadata"].get("nbgrader", {}).get("solution")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Grade the attackers, the chaos student, an honest blank and the solution, in one class run."""
    folder = tmp_path_factory.mktemp("attacks")
    lms = folder / "lms"
    lms.mkdir()
    for student, (cell, code) in ATTACKS.items():
        (lms / f"{student}_day1.ipynb").write_text(_notebook({**DUMMY, cell: code + DUMMY[cell]}))
    (lms / "edit-visible-tests_day1.ipynb").write_text(_notebook(DUMMY, edit_grade_cells=True))
    answers = _solution_answers()
    (lms / "chaos_day1.ipynb").write_text(_notebook({k: v + "\n" + CHAOS.get(k, "") for k, v in answers.items()}))
    (lms / "blank_day1.ipynb").write_text(EXERCISE_NB.read_text())
    (lms / "solved_day1.ipynb").write_text(_notebook(answers))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(lms), "--assignment", "day1", "--out",
                           str(folder / "out"), "--jobs", "2", "--timeout", str(CELL_TIMEOUT)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {r["student_id"]: r for r in json.loads((folder / "out" / "results.json").read_text())}
    return {"results": results, "seconds": time.monotonic() - started, "out": folder / "out"}


def _full_marks(result: dict[str, Any], only: set[str] | None = None) -> bool:
    """Every automatically graded question (of ``only``, if given) scored its maximum."""
    auto = [q for q in result["questions"] if q["status"] != "manual" and (only is None or q["grade_id"] in only)]
    return bool(auto) and all(q["score"] == q["max_score"] for q in auto)


@pytest.mark.slow
@pytest.mark.parametrize("student", [*ATTACKS, "edit-visible-tests"])
def test_an_attack_on_the_grader_scores_no_more_than_a_blank_submission(graded: dict[str, Any], student: str) -> None:
    results = graded["results"]
    assert results["blank"]["score"] == 0.0 and _full_marks(results["solved"])
    attacker = results[student]
    assert attacker["score"] <= results["blank"]["score"], json.dumps(attacker, indent=1)[:3000]
    assert not PLANTED.exists(), "a submission wrote into the repository"


@pytest.mark.slow
def test_attacks_get_a_verdict_that_says_what_happened(graded: dict[str, Any]) -> None:
    results = graded["results"]

    def says(student: str, needle: str) -> bool:
        r = results[student]
        return needle in " ".join(r["verdicts"] + [q["reason"] for q in r["questions"]])

    for student in ("patch-checker", "patch-code", "fake-sys-modules", "patch-assert-ok", "fake-assertion-error",
                    "fake-import", "swallow-errors", "gut-hidden-cells"):
        assert says(student, "the grading code was modified"), student
    for student in ("read-solutions", "read-gradebook", "write-repo", "read-kernel-key"):
        assert says(student, "your answer cell stopped with SandboxViolation: grading sandbox:"), student
    assert says("os-exit", "kernel died")
    assert says("system-exit", "your answer cell stopped with SystemExit")
    assert says("edit-visible-tests", "was edited; it was graded with the original tests")
    assert says("patch-checker", "for instructor review")


@pytest.mark.slow
def test_a_chaotic_submission_is_still_graded_on_its_answers_within_the_timeout(graded: dict[str, Any]) -> None:
    chaos = graded["results"]["chaos"]
    # each misbehaviour comes after a correct answer: every answer is still graded, and passes
    assert _full_marks(chaos, {f"{cell}_tests" for cell in CHAOS}), json.dumps(chaos, indent=1)[:3000]
    verdicts = " ".join(chaos["verdicts"])
    assert "'q2_lifecycle' raised MemoryError" in verdicts  # the kernel's address-space limit
    assert "'q3_split' raised SandboxViolation: grading sandbox: os.fork is not allowed" in verdicts
    assert "'q4_aggregate' raised StdinNotImplementedError" in verdicts
    feedback = (graded["out"] / "feedback" / "chaos.html").read_text()
    assert len(feedback) < 200_000, "the 50 MB of output must not reach the feedback page"
    print(f"class of {len(graded['results'])} graded in {graded['seconds']:.1f} s")


# -- the guards, without a kernel -------------------------------------------------------------

def test_sealed_checks_refuse_a_monkeypatched_checker_and_name_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import course.checks.day1 as day1
    from course.checks import CheckResult

    sealed("day1")  # untouched: fine
    monkeypatch.setattr(day1, "grade_split", lambda *a, **k: None)
    with pytest.raises(GradingCodeModified, match=r"grading code was modified.*course.checks.day1.grade_split was replaced"):
        sealed("day1")
    monkeypatch.undo()
    monkeypatch.setattr(CheckResult, "assert_ok", lambda self: self)
    with pytest.raises(GradingCodeModified, match="CheckResult.assert_ok was replaced"):
        verify("day1")
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "course.checks.day1", type(sys)("course.checks.day1"))
    with pytest.raises(GradingCodeModified, match=r"sys.modules\['course.checks.day1'\] is not the module"):
        verify("day1")
    monkeypatch.undo()
    import builtins
    monkeypatch.setattr(builtins, "AssertionError", type("AssertionError", (Exception,), {}))
    with pytest.raises(GradingCodeModified, match="builtins.AssertionError was replaced"):
        verify("day1")
    monkeypatch.undo()
    verify("day1")


def test_sealed_checks_catch_a_patch_made_while_the_learners_code_runs() -> None:
    from course.checks import CheckResult

    original = CheckResult.assert_ok

    def sneaky_split(task_id: str, items: Any, max_per_subtask: int) -> list[Any]:
        CheckResult.assert_ok = lambda self: self  # patched mid-check, before the checker asserts
        return []

    try:
        with pytest.raises(GradingCodeModified, match="CheckResult.assert_ok was replaced"):
            sealed("day1").grade_split(sneaky_split, seed=1)
    finally:
        CheckResult.assert_ok = original


def _sandboxed(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter behind the grading sandbox, home = tmp_path/home."""
    home, private = tmp_path / "home", tmp_path / "private"
    home.mkdir(exist_ok=True)
    private.mkdir(exist_ok=True)
    (private / "secret.txt").write_text("hidden tests")
    prologue = ("from course.grading.sandbox import SandboxPolicy, install\n"
                f"install(SandboxPolicy(home={str(home)!r}, denied=[{str(private)!r}], writable=[], "
                f"evidence={str(tmp_path / 'evidence.log')!r}))\n")
    return subprocess.run([sys.executable, "-c", prologue + code], capture_output=True, text=True, cwd=home, timeout=60)


@pytest.mark.parametrize("code, needle", [
    ("open('../private/secret.txt').read()", "open of '../private/secret.txt' is not allowed"),
    ("open('../elsewhere.txt', 'w')", "may only write in its own folder"),
    ("import os; os.fork()", "os.fork is not allowed"),
    ("import subprocess; subprocess.run(['true'])", "subprocess.Popen is not allowed"),
    ("import sqlite3; sqlite3.connect('../private/gradebook.db')", "sqlite3.connect of"),
    ("import gc; gc.get_objects()", "gc.get_objects is not allowed"),
    ("import course.checks.day1 as d; d.grade_split.__code__ = (lambda: 0).__code__", "cannot be changed while grading"),
])
def test_the_grading_sandbox_refuses_what_a_submission_never_needs(tmp_path: Path, code: str, needle: str) -> None:
    proc = _sandboxed(tmp_path, code)
    assert proc.returncode != 0 and "SandboxViolation" in proc.stderr and needle in proc.stderr, proc.stderr[-2000:]


def test_the_grading_sandbox_repairs_a_patched_checker_and_records_the_evidence(tmp_path: Path) -> None:
    proc = _sandboxed(tmp_path, "import course.checks.day1 as d\nd.grade_split = None\n"
                                "exec(compile('pass', 'cell.py', 'exec'))\nprint(d.grade_split is not None)\n"
                                "open('mine.txt', 'w').write('own files are fine')\n"
                                "from course.checks.sealed import sealed\nsealed('day1')\n")
    assert proc.stdout.strip() == "True", proc.stderr
    assert "GradingCodeModified: the grading code was modified" in proc.stderr
    assert (tmp_path / "evidence.log").read_text() == "course.checks.day1.grade_split was replaced\n"
    assert (tmp_path / "home" / "mine.txt").exists()


def test_the_grading_sandbox_repairs_before_any_code_but_code_generated_from_a_string(tmp_path: Path) -> None:
    # dataclasses and typing compile thousands of strings per notebook (methods, annotations):
    # repairing before each was most of a kernel's time; code from a file (a cell, a module)
    # still gets the repair, and so does every verification of the hidden tests.
    proc = _sandboxed(tmp_path, "import dataclasses, typing, course.checks.day1 as d\nd.grade_split = None\n"
                                "dataclasses.make_dataclass('P', ['x'])\nprint(d.grade_split is None)\n"
                                "typing.get_type_hints(type('Q', (), {'__annotations__': {'y': 'int'}}))\n"
                                "exec('pass')\nprint(d.grade_split is None)\n"
                                "exec(compile('pass', 'cell.py', 'exec'))\nprint(d.grade_split is None)\n")
    assert proc.stdout.split() == ["True", "True", "False"], proc.stderr
    assert (tmp_path / "evidence.log").read_text() == "course.checks.day1.grade_split was replaced\n"


def test_the_guard_prepares_only_the_checks_the_hidden_tests_call(tmp_path: Path) -> None:
    # A policy naming day1: day1's checks are imported and compiled before learner code, no other
    # day's; the cache is then frozen (sealed("day2") still verifies, compiling on the fly), and
    # rebinding the cache reads as tampering.
    home = tmp_path / "home"
    home.mkdir()
    code = ("import sys\nfrom course.grading.sandbox import SandboxPolicy, install\n"
            f"install(SandboxPolicy(home={str(home)!r}, checks=['day1'], evidence={str(tmp_path / 'ev.log')!r}))\n"
            "import course.checks.sealed as s\n"
            "print('course.checks.day1.coordinator' in sys.modules, 'course.checks.day2' in sys.modules)\n"
            "print(s._COMPILED_FOR == {'day1'}, s._FROZEN)\n"
            "s.sealed('day2'); print(s._COMPILED_FOR == {'day1'})\n"
            "s._COMPILED = ()\n"
            "s.sealed('day1')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=home, timeout=120)
    assert proc.stdout.split() == ["True", "False", "True", "True", "True"], proc.stderr[-2000:]
    assert "course.checks.sealed._COMPILED was replaced" in proc.stderr


def test_the_grader_names_the_checks_from_the_hidden_tests() -> None:
    import nbformat

    from course.grading.autograde import checks_called

    day3 = [nbformat.read(p, as_version=4) for p in sorted((ROOT / "solutions" / "day3").glob("*.ipynb"))]
    assert checks_called(day3) == ["day3"]
    assert checks_called([nbformat.v4.new_notebook()]) == []  # nothing named: the guard prepares every check


def test_sealed_reuses_its_compiled_checkers_only_while_the_file_is_unchanged() -> None:
    path = sealed_module._expected_file("course.checks.day1")
    source = Path(path).read_text(encoding="utf-8")
    sealed_module.precompile(["day1"])  # what sealed("day1") does first
    cached = sealed_module._code_for(path, source)
    assert cached in sealed_module.compiled_checkers() and sealed_module._code_for(path, source) is cached
    edited = sealed_module._code_for(path, source + "\nEDITED = True\n")
    assert edited not in sealed_module.compiled_checkers() and "EDITED" in edited.co_names


# -- the report on disk: atomic replacement and an honest partial report ----------------------

def _fake_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behaviour: str) -> Path:
    """A class of two graded without nbgrader: ``behaviour`` is "ok", "crash" or "interrupt"."""
    from course.grading import class_report, grade
    from course.grading.autograde import QuestionResult, StudentResult

    subs = tmp_path / "subs"
    subs.mkdir(exist_ok=True)
    for student in ("ann", "ben"):
        (subs / f"{student}_day1.ipynb").write_text("{}")
    monkeypatch.setattr(grade, "generate", lambda root, assignment, src, **_: root.mkdir(parents=True, exist_ok=True))
    monkeypatch.setattr(grade, "student_deadline", lambda *a: 60.0)

    def fake_run(work: list[Any], jobs: int, feedback_dir: str, progress: Any, on_result: Any,
                 results: list[Any], deadline: float, when_idle: Any = None) -> None:
        for n, job in enumerate(work):
            if behaviour == "interrupt" and n == 1:
                raise KeyboardInterrupt
            results.append(StudentResult(job.student_id, "day1", 1.0 + n, 20.0, "graded",
                                         questions=[QuestionResult("q1", "Q1", 1.0 + n, 20.0, "pass")]))
            grade.write_feedback(results[-1], Path(feedback_dir))

    monkeypatch.setattr(grade, "_run", fake_run)
    if behaviour == "crash":
        def crash(results: Any, path: Path) -> Path:
            path.write_text("assignment,half a line")
            raise OSError("disk full")
        monkeypatch.setattr(class_report, "write_grades_csv", crash)  # every report is written by class_report
    return subs


def test_regrading_into_the_same_out_replaces_it_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from course.grading.grade import grade_class

    out = tmp_path / "grades"
    with monkeypatch.context() as m:
        grade_class(_fake_class(tmp_path, m, "ok"), "day1", out, progress=open(os.devnull, "w"))
    first = (out / "grades.csv").read_text()
    (out / "instructor-notes.txt").write_text("kept until a complete report replaces it")
    with monkeypatch.context() as m, pytest.raises(OSError, match="disk full"):
        grade_class(_fake_class(tmp_path, m, "crash"), "day1", out, progress=open(os.devnull, "w"))
    assert (out / "grades.csv").read_text() == first and (out / "instructor-notes.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades", "subs"], "a staging folder was left behind"
    with monkeypatch.context() as m:
        grade_class(_fake_class(tmp_path, m, "ok"), "day1", out, progress=open(os.devnull, "w"))
    assert not (out / "instructor-notes.txt").exists() and sorted(p.name for p in (out / "feedback").iterdir()) == [
        "ann.html", "ben.html"]


def test_an_interrupted_run_leaves_out_alone_and_writes_a_report_marked_partial(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from course.grading.grade import GradingInterrupted, grade_class

    out = tmp_path / "grades"
    out.mkdir()
    (out / "grades.csv").write_text("the previous complete run\n")
    with monkeypatch.context() as m, pytest.raises(GradingInterrupted) as stopped:
        grade_class(_fake_class(tmp_path, m, "interrupt"), "day1", out, progress=open(os.devnull, "w"))
    assert (out / "grades.csv").read_text() == "the previous complete run\n"
    partial = tmp_path / "grades.partial"
    assert stopped.value.report.partial and stopped.value.report.missing == ["ben"]
    note = (partial / "PARTIAL.txt").read_text()
    assert "PARTIAL REPORT" in note and "1 of 2 students" in note and "Not graded: ben" in note
    assert [line.split(",")[3] for line in (partial / "grades.csv").read_text().splitlines()[1:]] == ["ann"]


def _tagged_processes(student: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"/{student}".encode() + b"\0" in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds kernels through /proc")
def test_ctrl_c_stops_every_kernel_and_reports_partial(tmp_path: Path) -> None:
    sleeper = f"sleeper-{uuid.uuid4().hex[:8]}"
    lms = tmp_path / "lms"
    lms.mkdir()
    answers = _solution_answers()
    (lms / f"{sleeper}_day1.ipynb").write_text(_notebook({**answers, "q1_envelope": "import time\ntime.sleep(600)\n"}))
    # As from a terminal: Ctrl-C not ignored (a shell's background job, which may run this
    # suite, starts with SIGINT ignored, and Python then leaves it ignored).
    proc = subprocess.Popen([sys.executable, "-m", "course.cli", "grade", str(lms), "--assignment", "day1",
                             "--out", str(tmp_path / "out"), "--timeout", "300"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_as_usual)
    deadline = time.monotonic() + 120
    while not _tagged_processes(sleeper) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _tagged_processes(sleeper), "the kernel never started"
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Partial report (0 graded, 1 not)" in err
    assert "PARTIAL REPORT" in (tmp_path / "out.partial" / "PARTIAL.txt").read_text()
    assert not (tmp_path / "out").exists()
    time.sleep(0.5)
    assert _tagged_processes(sleeper) == [], "a kernel survived Ctrl-C"


def _ctrl_c_as_usual() -> None:
    """SIGINT as a terminal's process has it: the default action, not blocked."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_ctrl_c_during_the_report_set_up_waits_for_it_to_finish() -> None:
    """A Ctrl-C while the grader imports matplotlib (its idle-time set-up) is raised after the
    import, not inside it: an import cut by KeyboardInterrupt leaves the package half set up
    and the partial report could not draw its figures."""
    from course.grading.grade import held_back_ctrl_c

    steps: list[str] = []

    def set_up() -> str:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives in the middle
        for _ in range(1000):  # bytecode runs on, where a KeyboardInterrupt would land
            steps.append("working")
        time.sleep(0.05)  # and the signal has reached the process
        steps.append("done")
        return "ok"

    # Ctrl-C raises KeyboardInterrupt here as in a terminal (this process may have started with
    # SIGINT ignored, as a shell's background job does).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            held_back_ctrl_c(set_up)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    finally:
        signal.signal(signal.SIGINT, previous)
    assert steps[-1] == "done" and len(steps) == 1001
