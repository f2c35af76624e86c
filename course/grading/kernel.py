"""Starting a grading kernel: nbgrader's Execute with a kernel manager that launches it fenced in.

nbgrader runs each notebook through nbclient, which asks a jupyter_client ``KernelManager`` to
start the kernel. :class:`GradingKernelManager` changes only the launch:

- the kernel works in a **copy** of the notebook's folder (``home``), never in the folder
  nbgrader writes the graded notebook to, so nothing a submission plants there (a symlink to
  the solutions...) is ever followed by the grader;
- its IPython profile folder is fresh and private (a startup file planted by an earlier kernel
  cannot run before the guard);
- the tamper-evidence log reaches the kernel as an inherited file descriptor, not a path;
- on Linux, the launch line is wrapped by :class:`course.grading.boundary.KernelBoundary`
  (namespaces, unprivileged uid, limits); the connection file and the IPC sockets are in the
  kernel's own folder, which the boundary mounts read-write.

:class:`GradingExecute` is nbgrader's Execute preprocessor with this manager (nbgrader's own
``__init__`` pins ``AsyncKernelManager``, so configuration alone cannot change it).
"""
from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from jupyter_client import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Dict, Integer, Unicode

from course.grading.boundary import PASSED_ENV, KernelBoundary, KernelLimits
from course.grading.sandbox import SANDBOX_ENV

#: Environment variable naming the run and student on every grading kernel, so the grader can
#: find and stop kernels its workers left behind (a killed worker cannot shut its kernel down).
KERNEL_TAG_ENV = "COURSE_GRADE_KERNEL"


def copy_folder(source: str, target: str) -> None:
    """Make ``target`` a fresh copy of the regular files and folders of ``source``; links are skipped."""
    if os.path.lexists(target):
        shutil.rmtree(target) if os.path.isdir(target) and not os.path.islink(target) else os.unlink(target)
    os.makedirs(target)
    for entry in os.scandir(source):
        dest = os.path.join(target, entry.name)
        if entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            copy_folder(entry.path, dest)
        elif entry.is_file(follow_symlinks=False):
            shutil.copyfile(entry.path, dest, follow_symlinks=False)


class GradingKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel runs in a copy of its folder, fenced in when it can be."""

    home = Unicode("", help="the kernel's working folder, refreshed from the notebook's folder at each launch").tag(config=True)
    evidence_fd = Integer(-1, help="file descriptor of the tamper-evidence log, inherited by the kernel").tag(config=True)
    boundary = Dict({}, help="KernelBoundary fields ({} = no OS boundary: the guard alone)").tag(config=True)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        notebook_dir = kw.get("cwd") or os.getcwd()
        env = dict(kw.get("env") or os.environ)
        kernel_dir = os.path.dirname(os.path.realpath(self.connection_file))
        if self.home:
            copy_folder(str(notebook_dir), self.home)
            kw["cwd"] = self.home
        if self.evidence_fd >= 0:
            kw["pass_fds"] = (self.evidence_fd,)
        if self.boundary:
            fence = KernelBoundary(**{**self.boundary, "limits": KernelLimits(**self.boundary.get("limits", {}))})
            fence.home, fence.kernel_dir = self.home or str(notebook_dir), kernel_dir
            fence.env = self._inner_env(env, fence)
            fence.prepare()
            kernel_cmd = fence.command(kernel_cmd)
            kw["preexec_fn"] = fence.preexec()
        else:
            profile = os.path.join(kernel_dir, "ipython")
            shutil.rmtree(profile, ignore_errors=True)
            env["IPYTHONDIR"] = profile  # fresh: nothing an earlier kernel planted runs before the guard
        kw["env"] = env
        await super()._async_launch_kernel(kernel_cmd, **kw)

    def _inner_env(self, outer: dict[str, str], fence: KernelBoundary) -> dict[str, str]:
        """The kernel's whole environment inside the boundary: its own folders and the grader's tags."""
        env = {k: outer[k] for k in (*PASSED_ENV, SANDBOX_ENV, KERNEL_TAG_ENV) if k in outer}
        env.update({
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": fence.home, "TMPDIR": "/tmp", "IPYTHONDIR": "/tmp/.ipython", "MPLCONFIGDIR": "/tmp/.matplotlib",
            "JUPYTER_CONFIG_DIR": "/tmp/.jupyter", "JUPYTER_DATA_DIR": "/tmp/.jupyter-data",
            "JUPYTER_RUNTIME_DIR": fence.kernel_dir, "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg", "LANG": outer.get("LANG", "C.UTF-8"),
            # its parent is the namespace's PID 1 (bwrap's reaper): 1 tells ipykernel not to poll
            # for it, and that it has a manager (no "To connect another client..." banner)
            "JPY_PARENT_PID": "1",
        })
        return env


class GradingExecute(Execute):
    """nbgrader's Execute preprocessor, starting its kernels with :class:`GradingKernelManager`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)
