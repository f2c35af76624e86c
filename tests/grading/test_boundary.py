"""The OS boundary around grading kernels: seven ways past the audit-hook guard, each now a test.

A tiny assignment of our own (one function, one hidden test; its source in a temp folder, not
the repository's solutions/) is graded as two classes at the same time, ``a`` and ``b``, with
real nbgrader and kernels. Each attacker of class ``a`` uses only the standard library, through
routes the in-process guard cannot see, and "wins" either points or a file left outside its
folder. With the boundary every attack must fail. Set ``COURSE_GRADING_BOUNDARY=off`` (the
guard alone, as on a machine without namespaces) to see them succeed: that is what these tests
were checked against.

The temp dir of both runs is the repository's parent folder, as with a clone in ``/tmp``
(finding 7): the guard lets a kernel write anywhere in the temp dir, so there, into the repo.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course.grading.boundary import BOUNDARY_ENV, boundary_status

ROOT = Path(__file__).resolve().parents[2]
TOKEN = uuid.uuid4().hex[:10]
#: Temp dir of the grading runs: the repository's parent (a clone in /tmp lives there).
RUN_TMP = ROOT.parent
VENV_SITE = Path(next(p for p in sys.path if p.endswith("site-packages")))
#: Files an attacker tries to leave on the machine; none may exist after grading.
PLANTED = {
    "repo": ROOT / "course" / f"_planted_repo_{TOKEN}.py",
    "package": ROOT / "course" / "checks" / f"_planted_child_{TOKEN}.py",
    "site": VENV_SITE / f"_planted_{TOKEN}.pth",
    "startup": Path.home() / ".ipython" / "profile_default" / "startup" / f"00-planted-{TOKEN}.py",
}
#: How long a child process started by an attacker waits before writing (its kernel is gone by then).
CHILD_DELAY = 4

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the OS boundary is Linux-only")


def _cell(source: str, **meta: Any) -> Any:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False, **meta}
    return cell


def tiny_assignment(solutions: Path) -> Path:
    """solutions/tiny/tiny.ipynb: ``double`` (10 points, a visible and a hidden test)."""
    nb = new_notebook(cells=[
        _cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
              grade_id="answer", solution=True),
        _cell("assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(21) == 42\n### END HIDDEN TESTS\n",
              grade_id="test_double", grade=True, points=10, locked=True),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = solutions / "tiny" / "tiny.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


def submission(answer: str) -> str:
    """The tiny notebook with ``answer`` as the learner's answer cell."""
    nb = new_notebook(cells=[
        _cell(answer, grade_id="answer", solution=True),
        _cell("assert double(2) == 4\n", grade_id="test_double", grade=True, points=10, locked=True),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    return nbformat.writes(nb)


WRONG = "def double(x):\n    return 0\n"
RIGHT = "def double(x):\n    return x + x\n"
#: A child process the guard never hears of (multiprocessing's spawn helper calls _posixsubprocess).
CHILD = ("import multiprocessing.util as _u\n"
         "def spawn(script):\n"
         "    _u.spawnv_passfds(b'/usr/bin/env', [b'env', b'-i', b'setsid', b'/bin/sh', b'-c', script.encode()], ())\n")


def attacks(solution: Path, port: int) -> dict[str, str]:
    """{student: answer cell} of class ``a``: each tries one way past the guard."""
    sol, run_tmp = str(solution), str(RUN_TMP)
    return {
        # 1. the solutions through a directory handle: the guard sees only a relative name
        "dirfd-solutions": WRONG + (
            "import os\nroot = os.open('/', os.O_RDONLY)\n"
            f"try:\n    fd = os.open({sol.lstrip('/')!r}, os.O_RDONLY, dir_fd=root)\n"
            "    text = os.read(fd, 10**7).decode()\nexcept OSError:\n    text = ''\n"
            "if 'BEGIN HIDDEN TESTS' in text:\n    def double(x):\n        return 2 * x\n"),
        # 2. the student's own gradebook through an SQLite file: URI (the guard resolves it as a file name)
        "sqlite-uri": WRONG + (
            "import sqlite3\nfor uri in ('file:../gradebook.db', 'file:../../gradebook.db'):\n"
            "    try:\n        db = sqlite3.connect(uri, uri=True)\n"
            "        db.execute('UPDATE grade SET manual_score = 10')\n        db.commit()\n"
            "    except sqlite3.Error:\n        pass\n"),
        # 3. a process outside the guard that outlives its kernel and writes into the course package
        "child-process": WRONG + CHILD + (
            f"spawn('sleep {CHILD_DELAY}; echo planted > {PLANTED['package']}; echo x >> {sol}')\n"),
        # 4. the kernel's folder: its notebook replaced by a link to the solutions, for the grader to write through
        "symlink-home": WRONG + (
            f"import os\nfor name in os.listdir('.'):\n    if name.endswith('.ipynb'):\n"
            f"        os.remove(name)\n        os.symlink({sol!r}, name)\n"),
        # 5. code planted where the next kernels would run it before the guard
        "plant-startup": WRONG + CHILD + "import os\n" + "".join(
            f"spawn('mkdir -p {path.parent} && echo \"# planted\" > {path}')\n"
            for key, path in PLANTED.items() if key in ("site", "startup")),
        # 6. another class graded at the same time: its hidden tests and its gradebooks
        "cross-run": WRONG + (
            "import glob, os, sqlite3, time\nown, stolen, deadline = os.getcwd(), False, time.time() + 8\n"
            "while time.time() < deadline and not stolen:\n"
            f"    for run in glob.glob({run_tmp!r} + '/course-grade-run-*'):\n"
            "        if own.startswith(run + '/'):\n            continue\n"
            "        for nb in glob.glob(run + '/master/source/*/*.ipynb'):\n"
            "            stolen = stolen or 'BEGIN HIDDEN TESTS' in open(nb).read()\n"
            "        for db in glob.glob(run + '/students/*/*/gradebook.db'):\n"
            "            try:\n                c = sqlite3.connect(db)\n"
            "                c.execute('UPDATE grade SET manual_score = 10')\n                c.commit()\n"
            "            except sqlite3.Error:\n                pass\n"
            "    time.sleep(0.2)\n"
            "if stolen:\n    def double(x):\n        return 2 * x\n"),
        # 7. the repository, when it lies under the temp dir the guard lets kernels write to
        "write-repo": WRONG + (
            f"import os\ntry:\n    open({str(PLANTED['repo'])!r}, 'w').write('# planted')\nexcept OSError:\n    pass\n"
            f"try:\n    root = os.open('/', os.O_RDONLY)\n"
            f"    os.close(os.open({str(PLANTED['repo']).lstrip('/')!r}, os.O_WRONLY | os.O_CREAT, dir_fd=root))\n"
            "except OSError:\n    pass\n"),
        # and the network: a connection to a server on the grader's machine
        "socket-out": WRONG + (
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'leak')\n"
            "except OSError:\n    pass\n"),
    }


class _Listener:
    """A TCP server on the grader's loopback that records whoever connects."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def _grade(lms: Path, solutions: Path, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(RUN_TMP)}
    return subprocess.Popen([sys.executable, "-m", "course.cli", "grade", str(lms), "--assignment", "tiny",
                             "--solutions", str(solutions), "--out", str(out), "--jobs", "2", "--timeout", "20"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("boundary")
    listener = _Listener()
    sol_a, sol_b = tiny_assignment(folder / "sol-a"), tiny_assignment(folder / "sol-b")
    original = sol_a.read_bytes()
    lms_a, lms_b = folder / "lms-a", folder / "lms-b"
    lms_a.mkdir()
    lms_b.mkdir()
    for student, answer in attacks(sol_a, listener.port).items():
        (lms_a / f"{student}_tiny.ipynb").write_text(submission(answer))
    (lms_a / "honest_tiny.ipynb").write_text(submission(RIGHT))
    (lms_a / "blank_tiny.ipynb").write_text(submission(WRONG))
    # an intake symlink: the "submission" is the solution itself
    os.symlink(sol_a, lms_a / "linked_tiny.ipynb")
    (lms_b / "victim_tiny.ipynb").write_text(submission(WRONG + "import time\ntime.sleep(12)\n"))
    (lms_b / "honest_tiny.ipynb").write_text(submission(RIGHT))
    try:
        b = _grade(lms_b, folder / "sol-b", folder / "out-b")
        time.sleep(3)  # class b is under way (its victim sleeps 12 s) while class a runs
        a = _grade(lms_a, folder / "sol-a", folder / "out-a")
        out_a, out_b = a.communicate(timeout=600), b.communicate(timeout=600)
        time.sleep(CHILD_DELAY + 2)  # a child that outlived its kernel would have written by now
        assert a.returncode == 0 and b.returncode == 0, out_a[1][-3000:] + out_b[1][-3000:]
        results = {f"a/{r['student_id']}": r for r in json.loads((folder / "out-a" / "results.json").read_text())}
        results |= {f"b/{r['student_id']}": r for r in json.loads((folder / "out-b" / "results.json").read_text())}
        planted = {key: path.exists() for key, path in PLANTED.items()}
        yield {"results": results, "planted": planted, "connections": listener.connections,
               "solution_intact": sol_a.read_bytes() == original, "stderr": out_a[1]}
    finally:
        listener.close()
        for path in PLANTED.values():
            path.unlink(missing_ok=True)


def _score(graded: Any, student: str) -> float:
    return graded["results"][student]["score"]


@pytest.mark.slow
def test_the_boundary_is_on_for_these_tests(graded: Any) -> None:
    fenced, why_not = boundary_status()
    assert fenced or os.environ.get(BOUNDARY_ENV) == "off", f"no OS boundary on this machine: {why_not}"
    assert _score(graded, "a/honest") == 10 and _score(graded, "a/blank") == 0
    assert _score(graded, "b/honest") == 10


@pytest.mark.slow
def test_a_directory_handle_does_not_reach_the_solutions(graded: Any) -> None:
    assert _score(graded, "a/dirfd-solutions") == 0


@pytest.mark.slow
def test_an_sqlite_uri_does_not_reach_the_gradebook(graded: Any) -> None:
    assert _score(graded, "a/sqlite-uri") == 0


@pytest.mark.slow
def test_a_process_started_without_an_audit_event_dies_with_its_kernel_and_writes_nothing(graded: Any) -> None:
    assert not graded["planted"]["package"], "a child process wrote into the course package after its kernel ended"
    assert graded["solution_intact"], "a child process wrote into the solutions"
    assert _score(graded, "a/child-process") == 0 and _score(graded, "a/honest") == 10


@pytest.mark.slow
def test_a_link_planted_in_the_kernels_folder_is_never_written_through(graded: Any) -> None:
    assert graded["solution_intact"], "the graded notebook was written through a link onto the solutions"
    assert _score(graded, "a/symlink-home") == 0


@pytest.mark.slow
def test_code_planted_for_the_next_kernels_lands_nowhere(graded: Any) -> None:
    assert not graded["planted"]["site"] and not graded["planted"]["startup"], graded["planted"]


@pytest.mark.slow
def test_two_classes_graded_at_once_cannot_see_each_other(graded: Any) -> None:
    assert _score(graded, "a/cross-run") == 0, "read the other class's hidden tests"
    assert _score(graded, "b/victim") == 0, "its gradebook was written by the other class's kernel"


@pytest.mark.slow
def test_a_repository_under_the_temp_dir_stays_read_only(graded: Any) -> None:
    assert not graded["planted"]["repo"]


@pytest.mark.slow
def test_a_submission_cannot_open_a_connection_to_the_graders_machine(graded: Any) -> None:
    assert graded["connections"] == 0


@pytest.mark.slow
def test_a_submitted_symlink_is_not_followed(graded: Any) -> None:
    linked = graded["results"]["a/linked"]
    assert linked["score"] == 0 and "symbolic link" in " ".join(linked["verdicts"]), linked
