"""The grading kernel's OS boundary: its own namespaces, an unprivileged user, resource limits.

The audit-hook guard (``course.grading.sandbox``) lives inside the interpreter it fences, so
anything that raises no audit event (a directory handle, an SQLite ``file:`` URI, a process
started through ``_posixsubprocess``) walks past it. On Linux each grading kernel is therefore
started inside `bubblewrap <https://github.com/containers/bubblewrap>`_:

- **what it sees**: a fresh root with the system (``/usr``), the Python installation, the venv
  and the ``course`` package mounted read-only, a private ``/tmp`` (a small tmpfs), its own
  folder (a copy of the notebook's folder) and its kernel folder (connection file and sockets)
  read-write, and nothing else: not the solutions, the gradebook, other students, other runs,
  the rest of the repository or the grader's home;
- **who it is**: when the grader runs as root, a uid of its own that owns nothing on the
  machine (``setpriv`` drops to it inside the sandbox, with no capabilities and
  ``no_new_privs``); otherwise the instructor's own uid inside an unprivileged user namespace;
- **what it shares**: nothing: own mount, PID, network (loopback only), IPC and UTS
  namespaces; the whole process tree dies with the kernel (PID 1 of the namespace is
  bubblewrap's reaper) and with the grading process (``--die-with-parent``);
- **how much it may use**: address space, processes, file size and CPU time (rlimits), and the
  size of its ``/tmp``.

Where this cannot work (no Linux, no ``bwrap``, user namespaces switched off in a container),
:func:`probe` says why; ``course grade`` then warns and grades with the guard alone, and
``--require-sandbox`` refuses to grade.
"""
from __future__ import annotations

import functools
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

#: Environment variable that switches the boundary off ("off"): the guard-only mode of a
#: machine without namespaces, for comparing the two (tests) and for debugging a kernel.
BOUNDARY_ENV = "COURSE_GRADING_BOUNDARY"
#: First uid handed to grading kernels when the grader runs as root: far above any real account
#: (and above the usual /etc/subuid ranges), so the kernel owns no file on the machine.
SANDBOX_UID_BASE = 1_900_000_000
#: How many uids the grader picks from (one per kernel, at random: two runs at once do not share).
SANDBOX_UID_RANGE = 100_000_000
#: Processes and threads one kernel may run (RLIMIT_NPROC, only with a uid of its own: the
#: limit counts every process of the uid). An IPython kernel runs about ten threads.
KERNEL_MAX_PROCESSES = 256
#: Largest file a kernel may write (RLIMIT_FSIZE).
KERNEL_MAX_FILE_BYTES = 256 * 1024**2
#: Size of the kernel's private /tmp (tmpfs pages are memory the address-space limit does not count).
KERNEL_TMP_BYTES = 256 * 1024**2
#: System folders mounted read-only (each if it exists; a symlink stays a symlink, as on merged-/usr systems).
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: Files of /etc a Python process may read (the dynamic loader's cache, time zone, name lookup).
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
             "/etc/hosts", "/etc/mime.types", "/etc/ssl/certs/ca-certificates.crt")
#: Environment variables passed into the kernel from the grading process (everything else is
#: dropped: an instructor's API keys and tokens stay out of the students' kernels).
PASSED_ENV = ("LANG", "LC_ALL", "PYTHONHASHSEED", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "JPY_SESSION_NAME")


class BoundaryUnavailable(RuntimeError):
    """This machine cannot start a kernel inside the boundary; the message says why."""


@dataclass
class KernelLimits:
    """Resource limits of one grading kernel (0 = no limit)."""

    memory_bytes: int = 0
    cpu_seconds: int = 0
    max_processes: int = KERNEL_MAX_PROCESSES
    file_bytes: int = KERNEL_MAX_FILE_BYTES
    tmp_bytes: int = KERNEL_TMP_BYTES


@dataclass
class KernelBoundary:
    """Everything one kernel may see and use; :meth:`command` turns it into a ``bwrap`` line."""

    home: str  # read-write: the kernel's own folder (its working directory)
    kernel_dir: str  # read-write: connection file and IPC sockets
    readonly: list[str] = field(default_factory=list)  # Python, the venv, the course package
    env: dict[str, str] = field(default_factory=dict)  # the kernel's whole environment
    limits: KernelLimits = field(default_factory=KernelLimits)
    uid: int | None = None  # drop to this uid inside (the grader runs as root); None = stay

    def command(self, inner: list[str]) -> list[str]:
        """``bwrap ... -- [setpriv ...] inner``: the kernel's launch line inside the boundary."""
        bwrap = shutil.which("bwrap") or "bwrap"
        args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent"]
        if self.uid is None:
            args.append("--unshare-user")  # not root: an unprivileged user namespace, as the instructor's uid
        for path in SYSTEM_PATHS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for path in ETC_FILES:
            if os.path.isfile(path):
                args += ["--ro-bind", path, path]
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--perms", "1777"]
        if self.limits.tmp_bytes:
            args += ["--size", str(self.limits.tmp_bytes)]
        args += ["--tmpfs", "/tmp"]  # first, so the binds below may live under /tmp (a clone in /tmp)
        readonly = _outermost(self.readonly)
        made: set[str] = set()
        for path in [*readonly, self.home, self.kernel_dir]:
            # bwrap makes missing parents 0700 when run as root: make them traversable, and only that
            for parent in reversed(Path(path).parents[:-1]):
                if str(parent) not in made and str(parent) not in ("/tmp", "/usr"):
                    made.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
        for path in readonly:
            args += ["--ro-bind", path, path]
        for path in (self.home, self.kernel_dir):
            args += ["--bind", path, path]
        args += ["--chdir", self.home, "--clearenv"]
        for key, value in sorted(self.env.items()):
            args += ["--setenv", key, value]
        args.append("--")
        if self.uid is not None:
            args += ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--inh-caps=-all",
                     "--bounding-set=-all", "--no-new-privs", "--"]
        return args + inner

    def prepare(self, *paths: str) -> None:
        """Hand the kernel's folders (and ``paths`` in them) to its uid, so it can write there."""
        if self.uid is None:
            return
        for top in (self.home, self.kernel_dir, *paths):
            for root, dirs, files in os.walk(top):
                for name in [*dirs, *files]:
                    os.lchown(os.path.join(root, name), self.uid, self.uid)
            os.lchown(top, self.uid, self.uid)

    def preexec(self) -> Callable[[], None]:
        """Set the limits in the launched process (bwrap, and so everything inside) before it runs."""
        limits, own_uid = self.limits, self.uid is not None

        def apply() -> None:
            # bwrap itself must survive the SIGINT that interrupts a cell (the kernel's whole
            # process group gets it); the kernel installs its own handler, its children inherit this.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            pairs = [(resource.RLIMIT_CORE, 0)]
            if limits.memory_bytes:
                pairs.append((resource.RLIMIT_AS, limits.memory_bytes))
            if limits.cpu_seconds:
                pairs.append((resource.RLIMIT_CPU, limits.cpu_seconds))
            if limits.file_bytes:
                pairs.append((resource.RLIMIT_FSIZE, limits.file_bytes))
            if limits.max_processes and own_uid:
                pairs.append((resource.RLIMIT_NPROC, limits.max_processes))
            for which, value in pairs:
                resource.setrlimit(which, (value, value))

        return apply


def _outermost(paths: list[str]) -> list[str]:
    """The paths that are not inside another one of them (binding both would hide nothing, but costs)."""
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.exists(p)})
    kept: list[str] = []
    for path in real:
        if not any(path == k or path.startswith(k.rstrip(os.sep) + os.sep) for k in kept):
            kept.append(path)
    return kept


def course_package_dir() -> str:
    """The folder of the ``course`` package (the only part of the repository a kernel sees)."""
    import course

    return str(Path(course.__file__).resolve().parent)


def python_paths() -> list[str]:
    """The interpreter's installation, the venv and wherever its packages live, for read-only mounts."""
    found = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            found.add(value)
    # Not sys.path: with ``python -m`` it starts with the working directory (the repository).
    return sorted(found)


def kernel_uid() -> int | None:
    """A fresh uid for a kernel when the grader is root (None otherwise: the user namespace maps ours)."""
    if os.geteuid() != 0:
        return None
    return SANDBOX_UID_BASE + secrets.randbelow(SANDBOX_UID_RANGE)


def requested_off() -> bool:
    return os.environ.get(BOUNDARY_ENV, "").strip().lower() in ("off", "0", "no", "false")


@functools.lru_cache(maxsize=1)
def probe() -> str:
    """"" if kernels can run inside the boundary here, else why not (one short sandboxed ``true``)."""
    if not sys.platform.startswith("linux"):
        return f"the OS boundary needs Linux namespaces (this is {sys.platform})"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing, so a kernel cannot drop root"
    uid = kernel_uid()
    test = KernelBoundary(home="/tmp", kernel_dir="/tmp", uid=uid, env={"PATH": "/usr/bin:/bin"})
    line = test.command(["true"])
    # the probe's own folders are the tmpfs itself: drop the two binds of /tmp onto /tmp
    cut = [i for i, a in enumerate(line) if a == "--bind"]
    for i in reversed(cut):
        del line[i:i + 3]
    try:
        proc = subprocess.run(line, capture_output=True, text=True, timeout=30, preexec_fn=test.preexec())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not run: {exc}"
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bwrap cannot create the namespaces here ({detail}); user namespaces may be disabled"
    return ""


def boundary_status() -> tuple[bool, str]:
    """(use the boundary?, why not): the boundary unless switched off or unavailable."""
    if requested_off():
        return False, f"the OS boundary was switched off ({BOUNDARY_ENV}=off)"
    reason = probe()
    return (not reason), reason
