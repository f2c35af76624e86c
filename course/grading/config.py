"""nbgrader settings shared by ``grader/nbgrader_config.py`` and the ``course`` grading commands."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traitlets.config import Config

#: The repository: solutions/, exercises/ and grader/ live here.
REPO_ROOT = Path(__file__).resolve().parents[2]
#: nbgrader's source directory (the single source: solutions with hidden tests), relative to the root.
SOURCE_DIRECTORY = "solutions"
#: nbgrader's release directory (what learners get), relative to the root.
RELEASE_DIRECTORY = "exercises"
COURSE_ID = "workers-agents"
#: Seconds one cell may run before the kernel is interrupted and the cell fails (CellTimeoutError).
CELL_TIMEOUT = 60
#: Seconds to wait for a kernel to start.
KERNEL_STARTUP_TIMEOUT = 60
#: Kernel arguments: no history file to write, and no start-up chatter on the grader's stderr.
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
#: Kernel arguments for grading only: install the grading guard (course.grading.sandbox) before any cell.
SANDBOX_KERNEL_ARGUMENTS = ["--IPKernelApp.exec_lines=import course.grading.sandbox as _sandbox; _sandbox.install(); del _sandbox"]
#: Address space a grading kernel may use (RLIMIT_AS): a submission that allocates more gets a
#: MemoryError in its own cell instead of starving the other students' kernels.
KERNEL_MEMORY_LIMIT = 4 * 1024**3
#: Seconds one student's whole grading may take beyond its cells' timeouts (kernel start-up,
#: nbgrader's bookkeeping) before the grading process is killed and the student gets a verdict.
STUDENT_OVERHEAD = 90
#: Longest Unix socket path (sun_path is 108 bytes on Linux, 104 on macOS, with its NUL), minus
#: the "-ipc-<n>" jupyter_client appends to the connection file's name.
MAX_KERNEL_SOCKET_PREFIX = 92
#: What nbgrader's ClearSolutions puts where a solution region was.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def apply_settings(c: Any, *, root: str | Path, source_directory: str = SOURCE_DIRECTORY,
                   release_directory: str = RELEASE_DIRECTORY, cell_timeout: int = CELL_TIMEOUT,
                   db_url: str | None = None, sandbox: bool = False, kernel_dir: str | Path | None = None,
                   kernel_home: str | Path | None = None, evidence_fd: int = -1,
                   boundary: dict[str, Any] | None = None) -> Any:
    """Fill an nbgrader config ``c`` (a traitlets Config) with the course's settings.

    ``kernel_dir`` (``course grade``, which starts kernels side by side): the folder for the kernel's
    connection file and, on POSIX, its Unix sockets. Over TCP (jupyter_client's default) each
    kernel's five ports are picked free by its manager and bound later by the kernel, so kernels
    starting at once can race for a port and one dies ("Address already in use"), a student graded
    0 by chance; sockets named after a private connection file cannot collide.

    ``kernel_home``, ``evidence_fd``, ``boundary`` (``course grade``): nbgrader's Execute is
    replaced by :class:`course.grading.kernel.GradingExecute`, whose kernel works in a copy of
    its folder (``kernel_home``), inherits the evidence log as a descriptor, and runs inside the
    OS boundary described by ``boundary`` (``course.grading.boundary.KernelBoundary`` fields).
    """
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = source_directory
    c.CourseDirectory.release_directory = release_directory
    if db_url:
        c.CourseDirectory.db_url = db_url
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
    c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
    c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
    c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"
    c.Execute.timeout = cell_timeout
    c.Execute.startup_timeout = KERNEL_STARTUP_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    c.Execute.extra_arguments = list(KERNEL_ARGUMENTS) + (list(SANDBOX_KERNEL_ARGUMENTS) if sandbox else [])
    if kernel_dir:
        connection_file = os.path.join(str(kernel_dir), "kernel.json")
        c.KernelManager.connection_file = connection_file
        if os.name == "posix" and len(os.fsencode(connection_file)) <= MAX_KERNEL_SOCKET_PREFIX:
            c.KernelManager.transport = "ipc"
    if kernel_home or boundary:
        from nbgrader.converters.autograde import Autograde

        from course.grading.kernel import GradingExecute

        c.Autograde.autograde_preprocessors = [GradingExecute if pp.__name__ == "Execute" else pp
                                               for pp in Autograde.class_traits()["autograde_preprocessors"].default()]
        c.GradingKernelManager.home = str(kernel_home or "")
        c.GradingKernelManager.evidence_fd = evidence_fd
        c.GradingKernelManager.boundary = dict(boundary or {})
    c.ExecutePreprocessor.timeout = cell_timeout
    c.ExecutePreprocessor.startup_timeout = KERNEL_STARTUP_TIMEOUT
    c.Exchange.root = str(Path(root) / ".exchange")
    return c


def course_config(root: str | Path, **kwargs: Any) -> Config:
    """A fresh nbgrader ``Config`` for a course directory at ``root``."""
    return apply_settings(Config(), root=root, **kwargs)
