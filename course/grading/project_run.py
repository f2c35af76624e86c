"""Running a project's rubric on one submitted Worker, in a process of its own, item by item.

Loading a submission runs its code: a loop at import time, a handler that never returns, an
``os._exit`` or a crash of the interpreter must cost that submission (and, as far as it can,
only the item it broke), never the grader. So :func:`run_rubric` copies the folder (regular
files only, no symbolic links, no local state or vendored packages), starts
``python -m course.grading.project_run`` on the copy, optionally inside the grading OS boundary
(``course.grading.boundary.KernelBoundary``, the one the notebook kernels use: own namespaces,
no network, an unprivileged uid, nothing of the course but its code visible, rlimits), and reads
one JSON line per event: the Worker loaded (or why not), an item started, an item's result.

A real-time limit applies to the load and to each item. Past it the process group is killed,
the item gets the status ``timeout`` and a new process goes on with the items left; a process
that dies mid-item gives that item ``crashed`` (with the end of its stderr) and the same.
Dependencies are vendored without the network (``COURSE_DEPS_PIP_ARGS=--no-index``): a
submission that needs a package the course does not provide does not load, with pip's reason.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from course.checks import project1
from course.checks import project3
from course.checks import project2
from course.checks.projects import (
    ItemResult,
    ProjectReport,
    Rubric,
    SubmissionDoesNotLoad,
    load_submission,
    project_root,
)

#: The projects a folder can be checked against (Projects 2 and 3 add their rubric here).
RUBRICS: dict[str, Rubric] = {"project1": project1.RUBRIC,
                              "project3": project3.RUBRIC}
RUBRICS["project2"] = project2.RUBRIC
#: Real seconds the load and each rubric item may take by default.
ITEM_TIMEOUT = 60
#: Folders of a submission never copied (local state, vendored packages, caches, VCS).
NOT_COPIED = ("python_modules", ".wrangler", "__pycache__", ".git", "node_modules", ".venv", "__MACOSX")
#: Most bytes of a submission copied (a Worker project is kilobytes; this stops a zip bomb's worth).
MAX_SUBMISSION_BYTES = 64 * 1024**2
#: Lines of the child's stderr quoted when it dies.
STDERR_TAIL = 12


class SubmissionTooLarge(ValueError):
    """The submitted folder holds more than :data:`MAX_SUBMISSION_BYTES`."""


def rubric_for(project: str) -> Rubric:
    try:
        return RUBRICS[project]
    except KeyError:
        raise KeyError(f"no project {project!r} (projects: {', '.join(sorted(RUBRICS))})") from None


def copy_submission(source: Path, target: Path) -> None:
    """``target`` as a copy of the regular files and folders of ``source``: links and local state left out."""
    budget = [MAX_SUBMISSION_BYTES]

    def copy(src: Path, dst: Path) -> None:
        dst.mkdir(parents=True, exist_ok=True)
        for entry in sorted(os.scandir(src), key=lambda e: e.name):
            if entry.is_symlink() or entry.name in NOT_COPIED:
                continue
            if entry.is_dir(follow_symlinks=False):
                copy(Path(entry.path), dst / entry.name)
            elif entry.is_file(follow_symlinks=False):
                budget[0] -= entry.stat(follow_symlinks=False).st_size
                if budget[0] < 0:
                    raise SubmissionTooLarge(f"the submission holds more than {MAX_SUBMISSION_BYTES // 1024**2} MB")
                shutil.copyfile(entry.path, dst / entry.name, follow_symlinks=False)

    if target.exists():
        shutil.rmtree(target)
    copy(source, target)


# -- the child: runs items in this process and reports them as JSON lines ---------------------------

_events = sys.stdout


def _emit(event: dict) -> None:
    _events.write(json.dumps(event) + "\n")
    _events.flush()


def child_main(project: str, folder: Path, keys: Sequence[str], shown_as: str, seed: int | None) -> int:
    global _events
    # The events keep the real stdout to themselves; whatever the Worker prints goes to stderr.
    _events = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    rubric = rubric_for(project)
    try:
        load_submission(folder).close()
    except SubmissionDoesNotLoad as exc:
        _emit({"event": "load", "error": str(exc)})
        return 0
    _emit({"event": "load", "error": ""})
    for key in keys:
        _emit({"event": "start", "key": key})
        try:
            result = rubric.check_item(folder, key, seed=seed, shown_as=shown_as)
        except SubmissionDoesNotLoad as exc:  # loaded once, then not: flaky module code
            item = rubric.item(key)
            result = ItemResult(key, item.title, 0.0, item.points, "fail", str(exc))
        _emit({"event": "item", **asdict(result)})
    return 0


# -- the parent: one process per run of items, a limit per item ------------------------------------

def _child_command(project: str, folder: Path, keys: Sequence[str], shown_as: str, seed: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "course.grading.project_run", project, str(folder), "--items", ",".join(keys),
           "--shown-as", shown_as]
    return cmd + (["--seed", str(seed)] if seed is not None else [])


def _child_env(home: Path) -> dict[str, str]:
    return {"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(home), "TMPDIR": "/tmp", "LANG": os.environ.get("LANG", "C.UTF-8"), "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "COURSE_DEPS_PIP_ARGS": "--no-index",
            "PYTHONHASHSEED": "0"}


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_rubric(folder: Path, project: str, *, work_dir: Path, only: Sequence[str] | None = None,
               seed: int | None = None, shown_as: str = ".", item_timeout: float = ITEM_TIMEOUT,
               boundary: bool = False) -> ProjectReport:
    """The rubric's report on the Worker in ``folder``, each load and item in a child process (see module doc)."""
    rubric = rubric_for(project)
    keys = list(only) if only is not None else rubric.keys()
    report = ProjectReport(project, shown_as)
    try:
        root = project_root(folder)
        copy = work_dir / "project"
        copy_submission(root, copy)
    except (SubmissionDoesNotLoad, SubmissionTooLarge, OSError) as exc:
        report.load_error = str(exc) if not isinstance(exc, OSError) else f"the submission cannot be read: {exc}"
        report.items = rubric.not_run(report.load_error, keys)
        return report
    results: dict[str, ItemResult] = {}
    pending = list(keys)
    while pending:
        outcome = _run_child(rubric, project, copy, pending, shown_as, seed, item_timeout, boundary, work_dir, results)
        if outcome:  # the Worker does not load: every item left gets that verdict
            report.load_error = outcome
            for item in rubric.not_run(outcome, pending):
                results[item.key] = item
            break
        pending = [k for k in pending if k not in results]
    report.items = [results[k] for k in keys]
    return report


def _run_child(rubric: Rubric, project: str, copy: Path, pending: list[str], shown_as: str, seed: int | None,
               item_timeout: float, boundary: bool, work_dir: Path, results: dict[str, ItemResult]) -> str:
    """Run ``pending`` in one child; fill ``results``; return a load error ("" if it loaded)."""
    cmd = _child_command(project, copy, pending, shown_as, seed)
    env = _child_env(copy)
    preexec = None
    if boundary:
        from course.grading.boundary import KernelBoundary, KernelLimits, course_package_dir, kernel_uid, python_paths
        from course.grading.config import KERNEL_MEMORY_LIMIT

        scratch = work_dir / "scratch"
        scratch.mkdir(exist_ok=True)
        fence = KernelBoundary(home=str(copy), kernel_dir=str(scratch), readonly=[*python_paths(), course_package_dir()],
                               env=env, uid=kernel_uid(),
                               limits=KernelLimits(memory_bytes=KERNEL_MEMORY_LIMIT,
                                                   cpu_seconds=int(item_timeout * (len(pending) + 1)) + 1))
        fence.prepare()
        cmd, preexec = fence.command(cmd), fence.preexec()
    stderr_path = work_dir / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(cmd, cwd=copy, env=env, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=preexec)
        try:
            return _read_events(rubric, proc, item_timeout, results, stderr_path)
        finally:
            if proc.poll() is None:
                _kill(proc)
            proc.stdout.close()


def _stderr_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-STDERR_TAIL:])


def _read_events(rubric: Rubric, proc: subprocess.Popen, item_timeout: float, results: dict[str, ItemResult],
                 stderr_path: Path) -> str:
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    buffer, current, loaded = b"", None, False
    deadline = time.monotonic() + item_timeout
    while True:
        left = deadline - time.monotonic()
        ready = selector.select(timeout=max(0.0, left)) if left > 0 else []
        if not ready:
            _kill(proc)
            if not loaded:
                return f"the Worker did not load within {item_timeout:g} s (a loop that never ends at import time?)"
            item = rubric.item(current) if current else None
            if item is not None:
                results[item.key] = ItemResult(item.key, item.title, 0.0, item.points, "timeout",
                                               f"[{item.key}] stopped: still running after {item_timeout:g} s of real "
                                               "time (a loop that never awaits, or a request that never ends?)")
            return ""
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:  # the child ended
            proc.wait()
            if not loaded:
                tail = _stderr_tail(stderr_path)
                return f"the Worker could not be loaded: the process exited with code {proc.returncode}" + \
                    (f":\n{tail}" if tail else "")
            if current is not None and current not in results:
                item = rubric.item(current)
                tail = _stderr_tail(stderr_path)
                results[current] = ItemResult(item.key, item.title, 0.0, item.points, "crashed",
                                              f"[{item.key}] the process running it died (exit code "
                                              f"{proc.returncode})" + (f":\n{tail}" if tail else ""))
            return ""
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                event = json.loads(line)
            except ValueError:
                continue  # the Worker printed to stdout: not an event
            kind = event.pop("event", None) if isinstance(event, dict) else None
            if kind == "load":
                if event.get("error"):
                    return str(event["error"])
                loaded = True
            elif kind == "start":
                current = event.get("key")
            elif kind == "item" and event.get("key") in rubric.keys():
                results[event["key"]] = ItemResult(**event)
                current = None
            else:
                continue
            deadline = time.monotonic() + item_timeout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.grading.project_run",
                                     description="run a project's rubric items on a Worker folder (JSON lines out)")
    parser.add_argument("project")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--items", default="")
    parser.add_argument("--shown-as", default=".")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    keys = [k for k in args.items.split(",") if k] or rubric_for(args.project).keys()
    return child_main(args.project, args.folder, keys, args.shown_as, args.seed)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["ITEM_TIMEOUT", "RUBRICS", "SubmissionTooLarge", "copy_submission", "main", "rubric_for", "run_rubric"]
