"""A Worker loaded into a runtime: its code, its exports, its ``env`` and how to call it.

Loading follows workerd: the ``main`` module is imported with the Python Workers modules
(``workers``, ``js``, ``pyodide.ffi``) available, ``Default`` (a ``WorkerEntrypoint``) is the
default export, and handlers are called "relaxed": ``fetch(self)``, ``fetch(self, request)`` and
``fetch(self, request, env, ctx)`` are all valid. ``queue`` and ``scheduled`` are called strictly
with ``(batch|controller, env, ctx)`` where env and ctx are None, as workerd does for Python.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from course.workers import shims
from course.workers.jsproxy import wrap

from course.runtime.kernel.clock import virtualize_module_globals
from course.runtime.kernel.config import ConfigError, WranglerConfig, read_dev_vars
from course.runtime.kernel.worker_print import capture_prints

_IMPORT_LOCK = threading.RLock()


class WorkerLoadError(RuntimeError):
    """The Worker's code failed to import or has no usable entrypoint."""


class Env:
    """A Worker's ``env``: bindings and vars by name, as attributes or items."""

    def __init__(self, worker_name: str, entries: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_worker_name", worker_name)
        object.__setattr__(self, "_entries", dict(entries or {}))
        #: bindings the config declares but the runtime does not provide: name -> why
        object.__setattr__(self, "_missing", {})

    def mark_missing(self, names: list[str], reason: str) -> None:
        """Declared in the config, not provided: ``env.<name>`` raises with ``reason``."""
        self._missing.update(dict.fromkeys(names, reason))

    def __getattr__(self, name: str) -> Any:
        entries = object.__getattribute__(self, "_entries")
        try:
            return entries[name]
        except KeyError:
            if name.startswith("__"):
                raise AttributeError(name) from None
            missing = object.__getattribute__(self, "_missing")
            if name in missing:
                raise AttributeError(f"env.{name} is not available: {missing[name]}") from None
            have = ", ".join(sorted(entries)) or "none"
            raise AttributeError(
                f"env has no binding or var named {name!r} in Worker "
                f"{object.__getattribute__(self, '_worker_name')!r} (it has: {have}); declare it in "
                "the wrangler config"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._entries[name] = value

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self._entries)

    def keys(self) -> list[str]:
        return list(self._entries)

    def get(self, name: str, default: Any = None) -> Any:
        return self._entries.get(name, default)

    def __repr__(self) -> str:
        return f"Env({', '.join(sorted(self._entries))})"


def _positional_arity(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments ``fn`` accepts (None: any number)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    n = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
    return n


async def call_relaxed(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn`` with as many of ``args`` as it accepts; await the result if needed."""
    arity = _positional_arity(fn)
    result = fn(*(args if arity is None else args[:arity]))
    if inspect.isawaitable(result):
        result = await result
    return result


async def call_strict(fn: Callable[..., Any], *args: Any) -> Any:
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


def _under(path: str | None, root: Path) -> bool:
    if not path:
        return False
    try:
        Path(path).resolve().relative_to(root)
        return True
    except ValueError:
        return False


def _local_module_names(folder: Path) -> set[str]:
    """Top-level module names that ``folder`` provides (``entry``, ``helpers``, ``pkg``...).

    Standard-library names and the shims are left out: a project must not swap those out
    under the rest of the process while it loads.
    """
    names = set()
    for child in folder.iterdir():
        if child.suffix == ".py" and child.stem.isidentifier():
            names.add(child.stem)
        elif child.is_dir() and child.name.isidentifier() and child.name != "__pycache__":
            names.add(child.name)
    return names - set(sys.stdlib_module_names) - {n.split(".")[0] for n in shims.SHIM_NAMES}


@dataclass(frozen=True)
class ImportedProject:
    """A project's imported code: the main module, its sibling modules, and its folder."""

    module: ModuleType
    modules: dict[str, ModuleType]
    src_dir: Path
    local_names: frozenset[str]


def import_main(config: WranglerConfig) -> ImportedProject:
    """Import a project's ``main`` module in isolation.

    The main module's folder is on ``sys.path`` while importing (as on Cloudflare, where the
    modules beside ``main`` are importable). Modules of the same names already imported (a
    notebook's own ``helpers.py``, another project's ``entry``) are set aside meanwhile, and
    the project's modules leave ``sys.modules`` afterwards, so projects and notebooks never
    see each other's modules. Only names the main folder provides are touched.
    """
    main = config.main_path()
    assert main is not None
    folder = main.parent
    src = str(folder)
    local = frozenset(_local_module_names(folder) | {main.stem})

    def is_local(module_name: str) -> bool:
        return module_name.split(".")[0] in local

    with _IMPORT_LOCK, shims.installed():
        set_aside = {n: m for n, m in sys.modules.items() if is_local(n)}
        for n in set_aside:
            del sys.modules[n]
        name = main.stem
        sys.path.insert(0, src)
        project: list[ModuleType] = []
        try:
            spec = importlib.util.spec_from_file_location(name, main)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            capture_prints(module.__dict__)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except SyntaxError as exc:
                raise WorkerLoadError(f"{exc.filename}:{exc.lineno}: syntax error in the Worker: {exc.msg}") from None
            except Exception as exc:
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                raise WorkerLoadError(f"{main}: importing the Worker raised {type(exc).__name__}: {exc}\n{tb}") from exc
        finally:
            if src in sys.path:
                sys.path.remove(src)
            for n in [n for n in sys.modules if is_local(n)]:
                m = sys.modules.pop(n)
                if _under(getattr(m, "__file__", None), folder):
                    project.append(m)
            sys.modules.update(set_aside)
    for m in project:
        virtualize_module_globals(m.__dict__)
        capture_prints(m.__dict__)
    return ImportedProject(module, {m.__name__: m for m in project}, folder, local)


class _ExistingModule(importlib.abc.Loader):
    """Loader that hands back a module object that already exists."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def create_module(self, spec: Any) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        return None


class _KeptModule(importlib.abc.Loader):
    """Wraps a loader: the loaded module is kept in a Worker's own module table."""

    def __init__(self, inner: Any, table: dict[str, ModuleType]) -> None:
        self.inner, self.table = inner, table

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        capture_prints(module.__dict__)
        self.inner.exec_module(module)
        virtualize_module_globals(module.__dict__)
        self.table[module.__name__] = module


class HandlerImports(importlib.abc.MetaPathFinder):
    """Imports inside handlers (``from js import Object`` in ``fetch``) resolve as on Cloudflare.

    While Worker code runs, the shims and the Worker's own modules (``helpers.py`` beside
    ``entry.py``) are importable, exactly as during loading; outside Worker code they are not.
    The names leave ``sys.modules`` again right after, so two Workers (or a notebook) that each
    have a ``helpers`` module never see each other's.
    """

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        from course.workers.context import current_worker

        worker = current_worker.get()
        if worker is None:
            return None
        module: ModuleType | None = None
        if fullname in shims.SHIM_NAMES:
            module = shims.shim_modules()[fullname]
        else:
            module = worker.project_modules.get(fullname)
            if module is None and worker.src_dir and fullname.split(".")[0] in worker.local_names:
                # A module of the project nobody imported at load time: load it from the
                # project's folder, once, and keep it with the Worker.
                spec = importlib.machinery.PathFinder.find_spec(
                    fullname, path if "." in fullname else [str(worker.src_dir)])
                if spec is None or spec.loader is None:
                    return None
                spec.loader = _KeptModule(spec.loader, worker.project_modules)
                self._forget_soon(fullname)
                return spec
        if module is None:
            return None
        self._forget_soon(fullname)
        return importlib.util.spec_from_loader(fullname, _ExistingModule(module))

    @staticmethod
    def _forget_soon(name: str) -> None:
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_soon(sys.modules.pop, name, None)


_handler_imports = HandlerImports()


def install_handler_imports() -> None:
    if _handler_imports not in sys.meta_path:
        sys.meta_path.insert(0, _handler_imports)


class Worker:
    """One Worker script in a runtime: config, exports (classes by name), env, entrypoint."""

    def __init__(self, runtime: Any, config: WranglerConfig, exports: dict[str, Any],
                 project: ImportedProject | None = None) -> None:
        self.runtime = runtime
        self.config = config
        self.name = config.name
        self.module = project.module if project is not None else None
        #: The project's own modules by name, for imports inside handlers (HandlerImports).
        self.project_modules: dict[str, ModuleType] = dict(project.modules) if project is not None else {}
        self.src_dir: Path | None = project.src_dir if project is not None else None
        self.local_names: frozenset[str] = project.local_names if project is not None else frozenset()
        self.exports = exports
        self.env = Env(self.name)
        self.entrypoint = exports.get("Default")
        self.on_fetch = exports.get("on_fetch")
        if self.entrypoint is None and self.on_fetch is None:
            where = config.main or "<code>"
            raise WorkerLoadError(
                f"{where}: no entrypoint: define `class Default(WorkerEntrypoint)` with an "
                "`async def fetch(self, request)` method"
            )

    def export(self, name: str) -> Any:
        """A named export of this Worker (a Durable Object class, an entrypoint...)."""
        try:
            return self.exports[name]
        except KeyError:
            raise ConfigError(self.config.path or "<code>",
                              f"class {name!r} is not exported by the Worker's main module "
                              f"({self.config.main or '<code>'})") from None

    def bind_vars(self) -> None:
        for key, value in self.config.vars.items():
            self.env._entries[key] = wrap(value)
        if self.config.path is not None:
            for key, value in read_dev_vars(self.config.root).items():
                self.env._entries[key] = value

    def handler(self, kind: str, entrypoint: str | None = None, ctx: Any = None) -> Callable[..., Any] | None:
        """The bound ``kind`` handler (fetch, queue, scheduled, ...) or None."""
        cls = self.export(entrypoint) if entrypoint else self.entrypoint
        if cls is not None:
            instance = cls(ctx, self.env)
            return getattr(instance, kind, None)
        fn = self.exports.get(f"on_{kind}")
        return fn

    def __repr__(self) -> str:
        return f"<Worker {self.name!r}>"
