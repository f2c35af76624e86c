"""The grading kernel's guard: an audit hook that fences a submission in and undoes tampering.

``course grade`` starts every kernel with :func:`install` (an ``exec_lines`` of the kernel), so
it runs before any learner code. It reads its policy from ``COURSE_GRADING_SANDBOX`` (set by
the grading process) and adds a :func:`sys.addaudithook` hook, which Python code cannot remove.

Why an audit hook: the hidden tests run in the same interpreter as the learner's code, so
anything the tests rely on (the checkers, ``builtins``, IPython's error reporting) can be
rebound from a solution cell. The hook sees every cell before it runs (the ``exec`` event) and
every sensitive operation, so it can

- refuse what a submission never needs: reading the hidden tests or the solutions, writing
  outside its own folder and the temp dir, the gradebook, starting processes, signalling,
  ``ctypes``, ``gc`` reference hunting, tracing, raising its own resource limits, and patching
  a class of the grading code;
- put back, before each cell and whenever the hidden tests ask (``sys.audit(VERIFY_EVENT)``),
  what a cell can rebind without an audit event (``sys.modules`` entries, module attributes
  and function code of ``course.checks``, ``builtins``, the shell's and kernel's methods), and
  record each repair as evidence in a log only the hook can write: the grader then scores the
  submission 0 with the verdict "the grading code was modified".

This is a tripwire, not a security boundary (Python's audit hooks are documented as such): see
grader/README.md for what it does and does not stop.
"""
from __future__ import annotations

import builtins
import json
import os
import sys
import types
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from course.checks.sealed import (
    SUPPORT_MODULES,
    VERIFY_EVENT,
    GradingCodeModified,
    compiled_checkers,
    modules_for,
    precompile,
    shared_modules,
)

#: Environment variable carrying the JSON :class:`SandboxPolicy` to the kernel.
SANDBOX_ENV = "COURSE_GRADING_SANDBOX"
#: Modules whose dicts, functions and classes a submission may not change.
PROTECTED_MODULE_PREFIXES = ("course.checks", "course.grading.sandbox", *shared_modules())
#: Modules whose classes may not be patched (the test runner and the kernel's reply path).
PROTECTED_CLASS_MODULES = ("course.", "IPython.", "ipykernel.", "jupyter_client.", "traitlets.", "nbformat.",
                           "comm.", "zmq.", "builtins")
#: Operations a submission never needs while being graded.
FORBIDDEN_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen",
    "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "sys.settrace", "sys.setprofile", "sys._current_frames", "resource.setrlimit", "resource.prlimit",
})
#: Events that write or remove the paths in their arguments (indices of the path arguments).
WRITE_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.link": (0, 1), "os.symlink": (1,),
                "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,), "os.mkdir": (0,), "os.utime": (0,),
                "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,), "shutil.move": (0, 1)}
#: Events that list a folder (a submission may not look into another student's or the grader's).
LIST_EVENTS = ("os.listdir", "os.scandir", "glob.glob")
#: Methods of the shell and kernel that decide what a cell's outcome looks like to the grader.
GUARDED_INSTANCE_ATTRIBUTES = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async",
                               "run_code", "run_ast_nodes", "transform_cell", "should_run_async", "_run_cell",
                               "do_execute", "execute_request", "send_response", "send", "serialize", "sign",
                               "publish", "CustomTB")
#: Builtins the kernel itself replaces while a cell runs (ipykernel forwards input() to the front end).
KERNEL_SWAPPED_BUILTINS = frozenset({"input", "raw_input"})
#: Packages whose shell callbacks and transformers are the kernel's own (matplotlib's inline backend...).
TRUSTED_HOOK_MODULES = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "ipywidgets", "comm", "jupyter")
_O_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: set on classes made in Python, never on the built-in ones


class SandboxViolation(PermissionError):
    """A submission tried something the grading sandbox does not allow."""


@dataclass
class SandboxPolicy:
    """What one student's grading kernel may touch."""

    home: str  # the kernel's folder (its notebook's): read and write
    denied: list[str] = field(default_factory=list)  # hidden tests, solutions, the gradebook, other students
    writable: list[str] = field(default_factory=list)  # besides ``home``: the temp dir
    readonly: list[str] = field(default_factory=list)  # never written, even inside ``writable`` (the repo, the venv)
    evidence: str = ""  # the tamper log the grader reads afterwards ("" = none)
    evidence_fd: int = -1  # or the same log as a descriptor the kernel inherited (no path to tamper with)
    memory_bytes: int = 0  # address-space limit for the kernel (0 = none)
    checks: list[str] = field(default_factory=list)  # the checks the hidden tests call (day1...); [] = all

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> "SandboxPolicy":
        return cls(**json.loads(text))


def _real(path: Any) -> str | None:
    if isinstance(path, int) or path is None:
        return None  # a file descriptor: opening it was already checked
    try:
        return os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return None


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _is_write(mode: Any, flags: Any) -> bool:
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & _O_WRITE)


class _Snapshot:
    """What the grading code looked like when the kernel started, to compare and restore."""

    def __init__(self) -> None:
        self.modules = {name: mod for name, mod in sys.modules.items() if name.startswith(PROTECTED_MODULE_PREFIXES)}
        self.module_dicts = {name: dict(vars(mod)) for name, mod in self.modules.items()}
        # The checkers' functions. Their __code__, __defaults__ and __kwdefaults__ are not compared
        # by repair(): reading any of them raises the "object.__getattr__" audit event, and a
        # repair that read them for every checker function on each "exec" event (typing evaluates
        # every string annotation with one) called the hook millions of times per Day 1 notebook
        # and tripled the kernel's time. Assigning any of them raises "object.__setattr__", which
        # the hook refuses for these functions (and records) before the assignment happens.
        # Only their ids are kept, for that refusal.
        self.function_ids: set[int] = set()
        self.class_dicts: list[tuple[type, dict[str, Any]]] = []
        # The checkers' support modules keep run-time state in their globals: only their code is frozen.
        code_only = {name: sys.modules[name] for name in SUPPORT_MODULES if name in sys.modules}
        for name, mod in {**self.modules, **code_only}.items():
            for value in vars(mod).values():
                self.function_ids.update(id(fn) for fn in self._functions_of(value, name))
                if isinstance(value, type) and value.__module__ == name:
                    self.class_dicts.append((value, dict(vars(value))))
        # Built-in functions and types only: IPython adds and removes its own helpers (exit,
        # display...) around every cell, and ipykernel swaps input() while a cell runs.
        self.builtins = {k: v for k, v in vars(builtins).items() if k not in KERNEL_SWAPPED_BUILTINS and (
            type(v) is types.BuiltinFunctionType or (isinstance(v, type) and not v.__flags__ & _HEAPTYPE))}
        # Classes of the grading code and of the kernel's reply path, as loaded now (a fresh copy
        # of a checker module, made by course.checks.sealed to compare with, is not one of them).
        self.classes = {id(v): v for name, mod in list(sys.modules.items())
                        if name.startswith(PROTECTED_CLASS_MODULES) or name == "builtins"
                        for v in list(vars(mod).values()) if isinstance(v, type)}
        self.instances: list[tuple[Any, dict[str, Any]]] = []
        self.collections: list[tuple[Any, str, Any, Any]] = []
        self.shell: Any = None

    @staticmethod
    def _functions_of(value: Any, module: str) -> list[types.FunctionType]:
        if isinstance(value, types.FunctionType) and value.__module__ == module:
            return [value]
        if isinstance(value, type) and value.__module__ == module:
            found = []
            for attr in vars(value).values():
                attr = getattr(attr, "__func__", attr)  # classmethod / staticmethod
                if isinstance(attr, types.FunctionType):
                    found.append(attr)
            return found
        return []

    def guard_shell(self) -> None:
        """Remember the IPython shell's and kernel's reply path (no-op outside a kernel)."""
        if "IPython" not in sys.modules:
            return
        shell = sys.modules["IPython"].get_ipython()
        if shell is None:
            return
        self.shell = shell
        kernel = getattr(shell, "kernel", None)
        objects = [shell, kernel, getattr(kernel, "session", None), getattr(shell, "display_pub", None),
                   getattr(shell, "displayhook", None)]
        for obj in objects:
            if obj is not None and hasattr(obj, "__dict__"):
                self.instances.append((obj, {a: vars(obj).get(a) for a in GUARDED_INSTANCE_ATTRIBUTES}))
                for cls in type(obj).__mro__[:-1]:  # and the methods themselves, on every class they come from
                    self.class_dicts.append((cls, {a: vars(cls)[a] for a in GUARDED_INSTANCE_ATTRIBUTES if a in vars(cls)}))
        for name in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers", "custom_exceptions"):
            value = getattr(shell, name, None)
            if value is not None:
                self.collections.append((shell, name, value, _copy(value)))
        callbacks = getattr(getattr(shell, "events", None), "callbacks", {})
        for event, funcs in callbacks.items():
            self.collections.append((callbacks, event, funcs, _copy(funcs)))
        for name in ("shell_handlers", "control_handlers"):
            value = getattr(kernel, name, None)
            if isinstance(value, dict):
                self.collections.append((kernel, name, value, _copy(value)))

    def repair(self) -> list[str]:
        """Put back everything changed since the snapshot; say what was changed."""
        found: list[str] = []
        for name, mod in self.modules.items():
            if sys.modules.get(name) is not mod:
                found.append(f"sys.modules[{name!r}] was replaced")
                sys.modules[name] = mod
            live = vars(mod)
            for key, value in self.module_dicts[name].items():
                if live.get(key, _MISSING) is not value:
                    found.append(f"{name}.{key} was replaced")
                    live[key] = value
        for cls, saved in self.class_dicts:
            live = vars(cls)
            for key, value in saved.items():
                if key != "__dict__" and key != "__weakref__" and live.get(key, _MISSING) is not value:
                    found.append(f"{cls.__module__}.{cls.__qualname__}.{key} was replaced")
                    setattr(cls, key, value)
        live_builtins = vars(builtins)
        for key, value in self.builtins.items():
            if live_builtins.get(key, _MISSING) is not value:
                found.append(f"builtins.{key} was replaced")
                live_builtins[key] = value
        if self.shell is not None:
            for ns in {id(self.shell.user_ns): self.shell.user_ns, id(self.shell.user_global_ns): self.shell.user_global_ns}.values():
                if ns.get("__builtins__", builtins) is not builtins:
                    found.append("the notebook's __builtins__ was replaced")
                    ns["__builtins__"] = builtins
        for obj, attrs in self.instances:
            own = vars(obj)
            for attr, original in attrs.items():
                if own.get(attr) is not original:
                    found.append(f"{type(obj).__name__}.{attr} was replaced")
                    if original is None:
                        own.pop(attr, None)
                    else:
                        own[attr] = original
        for owner, name, original, saved in self.collections:
            current = owner.get(name) if isinstance(owner, dict) else getattr(owner, name, None)
            if current is not original:
                found.append(f"the shell's {name} were replaced")
                if isinstance(owner, dict):
                    owner[name] = original
                else:
                    setattr(owner, name, original)
            if _changed(original, saved):
                found.append(f"the shell's {name} were changed")
                _restore(original, saved)
        return found


_MISSING = object()


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else tuple(value)


def _trusted(item: Any) -> bool:
    module = getattr(item, "__module__", None) or getattr(type(item), "__module__", "") or ""
    return module.split(".")[0] in TRUSTED_HOOK_MODULES


def _changed(live: Any, saved: Any) -> bool:
    """True if items were removed or replaced, or added by code that is not the kernel's own."""
    if isinstance(live, dict):
        return any(live.get(k, _MISSING) is not v for k, v in saved.items()) or any(
            not _trusted(v) for k, v in live.items() if k not in saved)
    if isinstance(live, tuple):
        return live != saved
    kept = [x for x in live if any(x is y for y in saved)]
    return len(kept) != len(saved) or any(not _trusted(x) for x in live if not any(x is y for y in saved))


def _restore(live: Any, saved: Any) -> None:
    if isinstance(live, dict):
        live.clear()
        live.update(saved)
    elif isinstance(live, list):
        live[:] = list(saved)


def _is_generated_code(code: Any) -> bool:
    """True for code compiled from a string at run time (``co_filename == "<string>"``).

    The standard library does this all the time: ``dataclasses`` builds each method of a
    dataclass so, ``typing`` evaluates every string annotation so (pydantic and
    ``from __future__ import annotations`` make that thousands per notebook), ``namedtuple``
    too. Repairing before each of these took most of a grading kernel's time. Skipping them
    loses nothing: whatever runs in between, the repair still happens before every cell's code
    and whenever the hidden tests verify (``VERIFY_EVENT``), which is what a grade rests on, and
    a submission that runs its own code through ``exec("...")`` gains no more than it has in
    its own cell.
    """
    return getattr(code, "co_filename", None) == "<string>"


def _make_hook(policy: SandboxPolicy, snapshot: _Snapshot) -> Callable[[str, tuple[Any, ...]], None]:
    """The audit hook; everything it needs lives in this closure, out of a submission's reach."""
    home = os.path.realpath(policy.home)
    denied = tuple(os.path.realpath(p) for p in policy.denied)
    writable = (home, *(os.path.realpath(p) for p in policy.writable))
    readonly = tuple(os.path.realpath(p) for p in policy.readonly)
    evidence_path = policy.evidence
    evidence_fd = policy.evidence_fd
    state = {"busy": False, "evidence": []}  # busy: the hook's own file writes pass through
    checker_code = compiled_checkers()
    real_open = open

    def record(what: list[str]) -> None:
        fresh = [w for w in dict.fromkeys(what) if w not in state["evidence"]]
        if not fresh:
            return
        state["evidence"] += fresh
        if evidence_fd >= 0:
            os.write(evidence_fd, "".join(line.replace("\n", " ") + "\n" for line in fresh).encode("utf-8"))
        elif evidence_path:
            state["busy"] = True
            try:
                with real_open(evidence_path, "a", encoding="utf-8") as fh:
                    fh.write("".join(line.replace("\n", " ") + "\n" for line in fresh))
            finally:
                state["busy"] = False

    def check_path(raw: Any, write: bool, event: str) -> None:
        path = _real(raw)
        if path is None or _under(path, (home,)):
            return
        if _under(path, denied):
            raise SandboxViolation(f"grading sandbox: {event} of {os.fsdecode(raw)!r} is not allowed while grading "
                                   "(hidden tests, solutions and the gradebook are off limits)")
        if write and (_under(path, readonly) or not _under(path, writable)):
            raise SandboxViolation(f"grading sandbox: {event} of {os.fsdecode(raw)!r} is not allowed while grading "
                                   "(a submission may only write in its own folder and the temp dir)")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if state["busy"]:
            return
        if event == "open":
            check_path(args[0], _is_write(args[1] if len(args) > 1 else None, args[2] if len(args) > 2 else None), "open")
        elif event == "exec" and (_is_generated_code(args[0]) or any(args[0] is c for c in checker_code)):
            # Code generated from a string (dataclasses, typing), or sealed re-executing a checker
            # file (always right after the repair that VERIFY_EVENT asks for): nothing to repair.
            return
        elif event == "exec" or event == VERIFY_EVENT:
            changed = snapshot.repair()
            record(changed)
            if event == VERIFY_EVENT and state["evidence"]:
                raise GradingCodeModified("the grading code was modified, so this question's hidden tests do not count: "
                                          + "; ".join(state["evidence"][:3])
                                          + (" ..." if len(state["evidence"]) > 3 else ""))
        elif event in FORBIDDEN_EVENTS or event.startswith("ctypes."):
            raise SandboxViolation(f"grading sandbox: {event} is not allowed while grading")
        elif event in ("object.__setattr__", "object.__delattr__"):
            # Python audits only special attributes this way (a function's __code__, a class's
            # __bases__...); ordinary class attributes are caught by the repair on "exec".
            target = args[0]
            protected = id(target) in snapshot.function_ids or (isinstance(target, type) and id(target) in snapshot.classes)
            if protected:
                what = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}.{args[1]} was patched"
                record([what])
                raise SandboxViolation(f"grading sandbox: {what.replace(' was patched', '')} cannot be changed while grading")
        elif event == "sqlite3.connect":
            check_path(args[0], True, "sqlite3.connect")
        elif event == "os.truncate" and evidence_fd >= 0 and args and args[0] == evidence_fd:
            raise SandboxViolation("grading sandbox: the grader's evidence log cannot be truncated")
        elif event in WRITE_EVENTS:
            for i in WRITE_EVENTS[event]:
                if i < len(args):
                    check_path(args[i], True, event)
        elif event in LIST_EVENTS:
            if args and not isinstance(args[0], int):
                check_path(args[0] if args[0] is not None else ".", False, event)

    return hook


def install(policy: SandboxPolicy | None = None) -> bool:
    """Add the guard to this interpreter (once); True if a policy was found and installed."""
    if policy is None:
        raw = os.environ.get(SANDBOX_ENV)
        if not raw:
            return False
        policy = SandboxPolicy.from_env(raw)
    if policy.memory_bytes:
        import resource

        # Hard and soft, so the submission cannot raise it back (and resource.setrlimit is blocked anyway).
        resource.setrlimit(resource.RLIMIT_AS, (policy.memory_bytes, policy.memory_bytes))
    # The grading code the hidden tests call is imported (and compiled for sealed's verification)
    # now, before any learner code, so the snapshot holds the genuine objects: the assignment's
    # own checks and what they import, or every check when the policy does not say.
    checks = policy.checks or None
    for name in modules_for(checks):
        __import__(name)
    precompile(checks, freeze=True)
    from course.checks.harness.shrink import prepare_search

    prepare_search()  # Hypothesis's set-up calls gc.get_referrers, which the hook refuses
    for name in SUPPORT_MODULES:
        __import__(name)
    snapshot = _Snapshot()
    snapshot.guard_shell()
    sys.addaudithook(_make_hook(policy, snapshot))
    return True

