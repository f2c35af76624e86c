"""The hidden tests' way into the checkers: every call is checked against the checkers' files.

A notebook's hidden tests run in the learner's kernel, after the learner's code, so the names
they could use (``day1``, ``course.checks.day1.grade_coordinator``, ``CheckResult.assert_ok``,
``AssertionError``...) may all have been rebound or monkeypatched by then. Hidden tests
therefore never use the notebook's names: they do ::

    from course.checks.sealed import sealed
    checks = sealed("day1")
    checks.grade_envelope(Envelope, seed=11)

:func:`sealed` executes the checker modules afresh from their files (compiled once, when this
module is imported, and again only if a file changes) and compares them with the loaded ones
(every function's and method's code, every module-level name, the ``sys.modules`` entries, the
built-in exceptions and functions), before and after each call.

What it verifies is what a grade needs, found from the files' own ``import`` statements: for
``sealed("day1")``, every module of the ``course/checks/day1/`` package, the harness modules
they import (and the ones those import), the shared protocol modules they import (``course.
protocol.lifecycle``), the package ``__init__`` files on the way, and :data:`SUPPORT_MODULES`;
never another day's or project's checks. Any difference
raises :class:`GradingCodeModified` ("the grading code was modified: ..."), which fails that
question. In ``course grade``'s kernels an audit hook (``course.grading.sandbox``) also repairs
what it finds and reports it to the grader; ``sys.audit(VERIFY_EVENT)`` asks it to check now.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import os
import sys
import types
from pathlib import Path
from typing import Any, Callable, Iterable, get_origin

#: The audit event that asks the grading kernel's guard to check and repair the grading code now.
VERIFY_EVENT = "course.grading.verify"
#: Modules, besides the ``course.checks`` modules, that the checkers run on; they keep run-time
#: state in their globals, so only their code is compared.
SUPPORT_MODULES = ("course.runtime.kernel.clock",)
#: Packages outside ``course.checks`` whose modules, when a checker imports them, are sealed
#: like checkers (code and data): the shared protocol a checker compares answers with.
SHARED_PREFIXES = ("course.protocol.",)
#: Top-level entries of ``course/checks`` that are not checks a grade can ask for.
NOT_CHECKS = frozenset({"__init__", "sealed", "harness"})
#: Names IPython and ipykernel themselves put into ``builtins`` as Python functions.
KERNEL_BUILTINS = frozenset({"display", "get_ipython", "exit", "quit", "input", "raw_input", "breakpoint", "help"})
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: set on classes made in Python, never on the built-in ones
_PACKAGE_DIR = Path(__file__).resolve().parent
_COURSE_DIR = _PACKAGE_DIR.parent
_SKIPPED = frozenset({"__builtins__", "__cached__", "__loader__", "__spec__", "__file__", "__doc__", "__name__",
                      "__package__", "__path__", "__all__"})


class GradingCodeModified(RuntimeError):
    """The submission changed the grading code, so this question's hidden tests do not count."""


def _checker_names() -> list[str]:
    """Every module of ``course.checks`` (packages included, this one excluded), from the files."""
    names = []
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(_PACKAGE_DIR).with_suffix("").parts
        if "__pycache__" in parts or parts == ("sealed",) or parts == ("__init__",):
            continue
        names.append(".".join(("course", "checks", *(parts[:-1] if parts[-1] == "__init__" else parts))))
    return names


def checker_modules() -> list[str]:
    """The names of every checker module (what the grading kernel imports before any learner code)."""
    return ["course.checks", *_checker_names()]


def shared_modules() -> list[str]:
    """The modules outside ``course.checks`` that some check imports and so are sealed with it."""
    return sorted({n for check in _checks() for n in _module_names(check) if n.startswith(SHARED_PREFIXES)})


def _checks() -> list[str]:
    """The checks a grade can ask for: ``day1``, ``project1``... (each a package or a module)."""
    return sorted({n.split(".")[2] for n in _checker_names()} - NOT_CHECKS)


def _imports(name: str) -> frozenset[str]:
    """The modules the file of module ``name`` imports (relative imports resolved), from its source.

    Parsed once per source text: the answers made at import are kept in an immutable tuple.
    """
    path = _expected_file(name)
    try:
        source = Path(path).read_text(encoding="utf-8")
    except OSError:
        return frozenset()  # verify() reports the file as missing
    for cached_path, cached_source, found in globals().get("_PARSED", ()):
        if cached_path == path and cached_source == source:
            return found
    return _parse_imports(name, path, source)


def _parse_imports(name: str, path: str, source: str) -> frozenset[str]:
    try:
        tree = ast.parse(source, path)
    except SyntaxError:
        return frozenset()  # verify() reports the module as changed
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # ``from pkg import submodule``
    return frozenset(found)


def _sealed_by_import(name: str) -> bool:
    return name.startswith("course.checks.") or (name.startswith(SHARED_PREFIXES) and Path(_expected_file(name)).exists())


def _closure(roots: list[str]) -> list[str]:
    """``roots``, every sealed module they import (transitively) and the packages on the way."""
    checkers = set(_checker_names())
    seen: list[str] = []
    todo = list(roots)
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        if not name.startswith("course.checks."):
            continue  # a shared module is sealed by itself, not what it imports
        parent = name.rpartition(".")[0]
        if parent != "course.checks" and parent not in seen:
            todo.append(parent)  # importing a module runs its package's __init__ first
        todo += sorted(m for m in _imports(name) if m not in seen and (m in checkers or (
            _sealed_by_import(m) and not m.startswith("course.checks."))))
    return [n for n in seen if n != "course.checks.sealed"]


def _module_names(requested: str) -> list[str]:
    """What ``sealed(requested)`` verifies: the check's modules, what they import, the support modules."""
    checks = _checks()
    if requested not in checks:
        raise ValueError(f"no checks named {requested!r}; expected one of {checks}")
    prefix = f"course.checks.{requested}"
    roots = [n for n in _checker_names() if n == prefix or n.startswith(prefix + ".")]
    ordered = ["course.checks", *(n for n in _closure(roots) if n != "course.checks")]
    return [*ordered, *(m for m in SUPPORT_MODULES if m not in ordered)]


def _expected_file(name: str) -> str:
    """Where module ``name`` of the course package lives, found from this file, not from sys.modules."""
    parts = name.split(".")[1:]
    base = _COURSE_DIR.joinpath(*parts)
    return str(base / "__init__.py") if base.is_dir() else str(base.with_suffix(".py"))


def precompile(checks: Iterable[str] | None = None, *, freeze: bool = False) -> None:
    """Compile, once, the modules :func:`verify` compares for ``checks`` (None: every check).

    Compiling the checkers is half of a verification's cost, and the hidden tests verify dozens
    of times per notebook. The cache (``_COMPILED``) is an immutable tuple of (path, source,
    code), rebound to a longer tuple when a check is first asked for, and used for a file only
    while it still holds exactly the same source. A grading kernel's guard compiles the
    assignment's checks before any learner code runs and then freezes the cache (``freeze``):
    from then on nothing rebinds it (a rebinding would read as tampering), and a check nobody
    compiled ahead is compiled at each verification instead.
    """
    global _COMPILED, _COMPILED_FOR, _FROZEN
    if _FROZEN:
        return
    wanted = set(_checks() if checks is None else checks) - _COMPILED_FOR
    if wanted:
        have = {path for path, _, _ in _COMPILED}
        added = []
        for name in sorted({n for check in wanted for n in _module_names(check)} | {"course.checks"}):
            path = _expected_file(name)
            if path in have:
                continue
            try:
                source = Path(path).read_text(encoding="utf-8")
            except OSError:
                continue  # verify() reports a missing file when it is asked to
            added.append((path, source, compile(source, path, "exec")))
        _COMPILED = (*_COMPILED, *added)
        _COMPILED_FOR = _COMPILED_FOR | frozenset(wanted)
    if freeze:
        _FROZEN = True


def modules_for(checks: Iterable[str] | None = None) -> list[str]:
    """Every module the given checks' verifications touch (None: every checker and shared module)."""
    if checks is None:
        return [*checker_modules(), *shared_modules()]
    return sorted({"course.checks", *(n for check in checks for n in _module_names(check))})


def compiled_checkers() -> tuple[types.CodeType, ...]:
    """The code objects :func:`verify` executes while every checker file is unchanged."""
    return tuple(code for _, _, code in _COMPILED)


def _code_for(path: str, source: str) -> types.CodeType:
    for cached_path, cached_source, code in _COMPILED:
        if cached_path == path and cached_source == source:
            return code
    return compile(source, path, "exec")  # the file changed since this module was imported


def _fresh_namespace(name: str, path: str) -> dict[str, Any]:
    """The module ``name`` executed afresh from its file, without touching ``sys.modules``."""
    source = Path(path).read_text(encoding="utf-8")
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    namespace: dict[str, Any] = {"__name__": name, "__package__": package, "__file__": path,
                                 "__builtins__": builtins}
    exec(_code_for(path, source), namespace)  # noqa: S102  (the repository's own checker file)
    return namespace


def _same_function(live: Any, fresh: types.FunctionType, live_globals: dict[str, Any] | None) -> bool:
    live = getattr(live, "__func__", live)
    fresh = getattr(fresh, "__func__", fresh)
    if not isinstance(live, types.FunctionType) or live.__code__ != fresh.__code__:
        return False
    if live.__defaults__ != fresh.__defaults__ or live.__kwdefaults__ != fresh.__kwdefaults__:
        return False
    return live_globals is None or live.__globals__ is live_globals


def _plain(value: Any) -> bool:
    """Data that a fresh copy of the module recreates equal (a lock or a thread-local is not)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return True
    if isinstance(value, (tuple, list, set, frozenset)):
        return all(_plain(v) for v in value)
    if isinstance(value, (dict, types.MappingProxyType)):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def _differences(name: str, live: types.ModuleType, fresh: dict[str, Any], data: bool = True) -> list[str]:
    found = []
    live_ns = vars(live)
    for key, want in fresh.items():
        if key in _SKIPPED:
            continue
        got = live_ns.get(key, _MISSING)
        where = f"{name}.{key}"
        if got is _MISSING:
            found.append(f"{where} was deleted")
        elif isinstance(want, types.FunctionType) and want.__globals__ is fresh:  # defined in this file
            if not _same_function(got, want, live_ns):
                found.append(f"{where} was replaced")
        elif isinstance(want, type) and want.__module__ == name and want.__qualname__ == key:
            if not isinstance(got, type) or got.__qualname__ != want.__qualname__:
                found.append(f"{where} was replaced")
                continue
            for attr, member in vars(want).items():
                fn = getattr(member, "__func__", member)
                if isinstance(fn, types.FunctionType):
                    own_globals = live_ns if fn.__globals__ is fresh else None
                    if not _same_function(vars(got).get(attr), fn, own_globals):
                        found.append(f"{where}.{attr} was replaced")
        elif not data:
            continue
        elif isinstance(want, _TYPE_ALIASES) or get_origin(want) is not None:
            # ``Arrow = tuple[...]``, ``Fault = A | B``, ``Store = Literal[...]``: a fresh copy may be
            # a new object (typing's cache of Literal/Union forms is bounded), same names and args.
            if type(got) is not type(want) or repr(got) != repr(want):
                found.append(f"{where} was replaced")
        elif isinstance(want, (types.ModuleType, types.FunctionType, type)) or callable(want):
            if got is not want:
                found.append(f"{where} was replaced")
        elif _plain(want):
            try:
                same = got is want or bool(got == want)
            except Exception:  # a comparison that raises is itself a sign of tampering
                same = False
            if not same:
                found.append(f"{where} was changed")
    return found


def _builtin_differences() -> list[str]:
    found = []
    # The built-in exceptions are static types: reachable from BaseException whatever the
    # submission did to ``builtins``, so we can tell whether each name still means its type.
    stack: list[type] = [BaseException]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__ == "builtins" and not cls.__flags__ & _HEAPTYPE:
            if getattr(builtins, cls.__name__, cls) is not cls:
                found.append(f"builtins.{cls.__name__} was replaced")
    # Python-level functions in builtins are the kernel's own helpers (display, runfile...) unless
    # their code comes from outside the installed packages: from a notebook cell.
    installed = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    for key, value in vars(builtins).items():
        fn = getattr(value, "__func__", value)
        if key in KERNEL_BUILTINS or not isinstance(fn, types.FunctionType):
            continue
        if not os.path.realpath(fn.__code__.co_filename).startswith(installed):
            found.append(f"builtins.{key} was replaced")
    return found


def verify(requested: str) -> None:
    """Raise :class:`GradingCodeModified` unless the checkers are exactly their files on disk."""
    found: list[str] = []
    for name in _module_names(requested):
        module = sys.modules.get(name)
        if module is None:
            module = importlib.import_module(name)
        expected = _expected_file(name)
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or os.path.realpath(path) != expected:
            found.append(f"sys.modules[{name!r}] is not the module from {expected}")
            continue
        # Support modules keep run-time state in their globals (a "patched" flag...): code only.
        found += _differences(name, module, _fresh_namespace(name, expected), data=name not in SUPPORT_MODULES)
    found += _builtin_differences()
    if found:
        raise GradingCodeModified("the grading code was modified, so this question's hidden tests do not count: "
                                  + "; ".join(found[:4]) + (f" (and {len(found) - 4} more)" if len(found) > 4 else ""))


class SealedChecks:
    """The public functions of one checker module, each verified before and after it runs."""

    def __init__(self, requested: str) -> None:
        self._requested = requested

    def __getattr__(self, attr: str) -> Callable[..., Any]:
        if attr.startswith("_"):
            raise AttributeError(attr)
        name = f"course.checks.{self._requested}"
        if attr not in getattr(sys.modules[name], "__all__", ()):
            raise AttributeError(f"{name} has no public {attr!r}")

        def checked(*args: Any, **kwargs: Any) -> Any:
            _verify_now(self._requested)  # may repair the module, so the target is looked up after it
            result = getattr(sys.modules[name], attr)(*args, **kwargs)
            _verify_now(self._requested)  # the learner's code ran in between: did it patch anything?
            return result

        checked.__name__ = checked.__qualname__ = attr
        return checked


def _verify_now(requested: str) -> None:
    sys.audit(VERIFY_EVENT, requested)  # the grading kernel's guard repairs and raises; no-op elsewhere
    verify(requested)


def sealed(requested: str) -> SealedChecks:
    """The checks ``course.checks.<requested>`` (a day's or a project's), verified, for hidden tests to call."""
    precompile([requested])
    _verify_now(requested)
    return SealedChecks(requested)


def _parse_checkers() -> tuple[tuple[str, str, frozenset[str]], ...]:
    """(path, source, imports) of every checker module, parsed once, at import (see _compile_checkers)."""
    parsed = []
    for name in checker_modules():
        path = _expected_file(name)
        try:
            source = Path(path).read_text(encoding="utf-8")
        except OSError:
            continue
        parsed.append((path, source, _parse_imports(name, path, source)))
    return tuple(parsed)


_MISSING = object()
_TYPE_ALIASES = (types.GenericAlias, types.UnionType, type(Callable[[], Any]), type(Callable))
_PARSED = _parse_checkers()
_COMPILED: tuple[tuple[str, str, types.CodeType], ...] = ()
_COMPILED_FOR: frozenset[str] = frozenset()
_FROZEN = False

__all__ = ["GradingCodeModified", "SHARED_PREFIXES", "SUPPORT_MODULES", "SealedChecks", "VERIFY_EVENT", "checker_modules",
           "sealed", "shared_modules", "verify"]
