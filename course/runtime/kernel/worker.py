"""A Worker loaded into a runtime: its code, its exports, its ``env`` and how to call it.

Loading follows workerd: the ``main`` module is imported with the Python Workers modules
(``workers``, ``js``, ``pyodide.ffi``, ``asgi``) available and the project's vendored packages
(``python_modules/``, :mod:`course.runtime.kernel.vendoring`) first on the path, for the Worker
only. ``env`` can be read at import time (``from workers import env``), randomness cannot (workerd:
"Cannot use random.random() outside of request context"). ``Default`` (a ``WorkerEntrypoint``)
is the default export.

Handlers are called as workerd's Python entrypoint wrapper calls them
(workerd src/pyodide/python-entrypoint-helper.ts and internal/introspection.py):

- ``fetch`` relaxed: ``fetch(self)``, ``fetch(self, request)`` ... ``fetch(self, request, env, ctx)``;
- ``queue`` and ``scheduled`` on an entrypoint class strictly, as ``(batch|controller, env, ctx)``
  with env and ctx None (the class already has ``self.env`` and ``self.ctx``);
- module-level ``on_fetch``/``on_queue``/``on_scheduled`` relaxed, with the real env and ctx;
- a Durable Object's ``alarm`` and WebSocket handlers relaxed (objects/ calls :func:`call_relaxed`).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import asyncio
import contextlib
import contextvars
import inspect
import random as _random
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

from course.workers import http_clients, shims
from course.workers.context import current_worker
from course.workers.ffi import enable_run_sync, run_sync
from course.workers.jsproxy import wrap

from course.runtime.kernel import vendoring
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
        #: True while the Worker's modules import: bindings are bound right after, so a name
        #: not bound yet reads as a PendingBinding that resolves when used.
        object.__setattr__(self, "_loading", False)

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
            if object.__getattribute__(self, "_loading"):
                return PendingBinding(self, name)
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


class PendingBinding:
    """``env.NAME`` read while the Worker imports, before bindings are bound (workerd binds them
    before running the module): each use resolves the binding, or raises what ``env.NAME`` would."""

    def __init__(self, env: Env, name: str) -> None:
        object.__setattr__(self, "_env", env)
        object.__setattr__(self, "_name", name)

    def _target(self) -> Any:
        return Env.__getattr__(object.__getattribute__(self, "_env"), object.__getattribute__(self, "_name"))

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._target(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._target()[key]

    def __str__(self) -> str:
        return str(self._target())

    def __eq__(self, other: object) -> bool:
        return self._target() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<env.{object.__getattribute__(self, '_name')} (bound after import)>"


class _TopLevelRandom(ModuleType):
    """``random`` as a Worker's modules see it: while they import, calling its functions raises
    workerd's error (randomness is refused outside a request, where a snapshot would freeze it:
    workerd src/pyodide/internal/topLevelEntropy); inside handlers it is the real module."""

    def __init__(self, real: ModuleType) -> None:
        super().__init__(real.__name__, real.__doc__)
        object.__setattr__(self, "_real", real)

    def __getattribute__(self, name: str) -> Any:
        real = object.__getattribute__(self, "_real")
        value = getattr(real, name)
        if not _TOP_LEVEL.get() or not callable(value) or name in _RANDOM_ALLOWED or name.startswith("__"):
            return value

        def refused(*args: Any, **kwargs: Any) -> Any:
            if _TOP_LEVEL.get():
                raise RuntimeError(f"Cannot use random.{name}() outside of request context (workerd refuses "
                                   "randomness while a Worker's modules import; call it inside a handler)")
            return value(*args, **kwargs)

        return refused

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_real"), name, value)


#: What workerd leaves callable in ``random`` at import time (the classes, seeded by the caller).
_RANDOM_ALLOWED = frozenset({"Random", "SystemRandom"})
#: True while a Worker's modules import (top-level scope).
_TOP_LEVEL: contextvars.ContextVar[bool] = contextvars.ContextVar("course_worker_top_level", default=False)


@contextlib.contextmanager
def _top_level_scope() -> Iterator[None]:
    real = _random
    token = _TOP_LEVEL.set(True)
    sys.modules["random"] = _TopLevelRandom(real)
    try:
        yield
    finally:
        sys.modules["random"] = real
        _TOP_LEVEL.reset(token)


class _LoadingWorker:
    """The Worker whose modules are importing: what ``from workers import env`` reads meanwhile."""

    def __init__(self, name: str, env: Env) -> None:
        self.name = name
        self.env = env
        self.project_modules: dict[str, ModuleType] = {}
        self.src_dir: Path | None = None
        self.vendor_dir: Path | None = None
        self.local_names: frozenset[str] = frozenset()
        self.sync_bridge = False


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


#: Positional arity of the handlers called so far, by function (bound methods by their function):
#: ``inspect.signature`` costs about 30 us a call, and the same few handlers run on every request.
_ARITY: dict[Any, tuple[int | None]] = {}
#: The same for bound methods, by their function (whose own arity counts ``self``).
_BOUND_ARITY: dict[Any, tuple[int | None]] = {}
_ARITY_CACHE_MAX = 4096


def relaxed_args(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The leading ``args`` that ``fn`` accepts, as ``call_relaxed`` passes them (memoised)."""
    func = getattr(fn, "__func__", None)
    try:
        arity = (_BOUND_ARITY[func] if func is not None else _ARITY[fn])[0]
    except (KeyError, TypeError):  # TypeError: an unhashable callable; compute each time
        arity = _positional_arity(fn)
        if type(fn).__name__ in ("function", "method"):
            cache, key = (_BOUND_ARITY, func) if func is not None else (_ARITY, fn)
            if len(cache) >= _ARITY_CACHE_MAX:
                cache.clear()
            cache[key] = (arity,)
    return args if arity is None else args[:arity]


def _accepts_event_env_ctx(method: Callable[..., Any]) -> bool:
    """Whether ``method(event, None, None)`` binds (memoised like :func:`relaxed_args`)."""
    func = getattr(method, "__func__", None)
    key = (func, "event") if func is not None else None
    if key is not None and key in _ARITY:
        return bool(_ARITY[key][0])
    try:
        inspect.signature(method).bind(None, None, None)
        ok = True
    except TypeError:
        ok = False
    except ValueError:  # no signature to read (a builtin): let the call itself decide
        ok = True
    if key is not None:
        _ARITY[key] = (int(ok),)
    return ok


async def _bridge_for_sync_code() -> None:
    """Let the running Worker's synchronous code wait on the loop (``pyodide.ffi.run_sync``,
    ``requests``, WSGI apps) if that Worker uses any: see :func:`needs_sync_bridge`."""
    worker = current_worker.get()
    if worker is not None and getattr(worker, "sync_bridge", False):
        await enable_run_sync()


async def call_relaxed(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn`` with as many of ``args`` as it accepts; await the result if needed."""
    await _bridge_for_sync_code()
    result = fn(*relaxed_args(fn, args))
    if inspect.isawaitable(result):
        result = await result
    return result


async def call_strict(fn: Callable[..., Any], *args: Any) -> Any:
    await _bridge_for_sync_code()
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


#: Handlers of an entrypoint class that workerd calls strictly with ``(event, env, ctx)``, env
#: and ctx None (introspection.wrapper_func with relaxed=False; only fetch is relaxed).
STRICT_EVENT_HANDLERS = frozenset({"queue", "scheduled"})


class EntrypointEventHandler:
    """``Default.queue`` / ``Default.scheduled`` bound, called as workerd calls them."""

    def __init__(self, class_name: str, kind: str, method: Callable[..., Any]) -> None:
        self.class_name, self.kind, self.method = class_name, kind, method

    async def __call__(self, event: Any, env: Any = None, ctx: Any = None) -> Any:
        if not _accepts_event_env_ctx(self.method):
            arg = "batch" if self.kind == "queue" else "controller"
            raise TypeError(
                f"{self.class_name}.{self.kind}{inspect.signature(self.method)} cannot be called as workerd "
                f"calls it: {self.kind}({arg}, env, ctx), with env and ctx None on an entrypoint class (read "
                f"self.env and self.ctx). Declare it `async def {self.kind}(self, {arg}, env, ctx)`; on "
                "Cloudflare the shorter form fails the same way") from None
        await _bridge_for_sync_code()
        result = self.method(event, None, None)
        if inspect.isawaitable(result):
            result = await result
        return result


class ModuleEventHandler:
    """A module-level ``on_queue``/``on_scheduled`` (or any handler of a Worker that needs the
    run_sync bridge): called relaxed, with the real env and ctx. It takes any arguments, so the
    runtime passes them all and :func:`call_relaxed` keeps as many as the function accepts."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    async def __call__(self, *args: Any) -> Any:
        return await call_relaxed(self.fn, *args)


#: Top-level modules whose synchronous APIs wait on I/O; a Worker that uses one gets the
#: run_sync bridge on each handler (a few microseconds a request, so only where needed).
SYNC_IO_MODULES = frozenset({"requests", "urllib3", "httpx", "flask", "django", "werkzeug", "pyodide"})


def needs_sync_bridge(modules: list[ModuleType], vendored: bool) -> bool:
    """Whether a Worker's code may block on I/O synchronously (run_sync, requests, WSGI)."""
    if vendored:
        return True
    for module in modules:
        for value in list(vars(module).values()):
            if value is run_sync:
                return True
            name = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
            if isinstance(name, str) and (name.split(".")[0] in SYNC_IO_MODULES or name.endswith(".wsgi")
                                          or name == "course.workers.ffi"):
                return True
    return False


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
    """A project's imported code: the main module, its sibling and vendored modules, its folders,
    and the env its modules could already read while importing."""

    module: ModuleType
    modules: dict[str, ModuleType]
    src_dir: Path
    local_names: frozenset[str]
    env: Env | None = None
    vendor_dir: Path | None = None
    sync_bridge: bool = False


def import_main(config: WranglerConfig) -> ImportedProject:
    """Import a project's ``main`` module in isolation.

    The main module's folder is on ``sys.path`` while importing (as on Cloudflare, where the
    modules beside ``main`` are importable), then the project's ``python_modules`` (synced first
    if missing or stale). Modules of the same names already imported (a notebook's own
    ``helpers.py``, another project's ``entry``) are set aside meanwhile, and the project's
    modules leave ``sys.modules`` afterwards, so projects, notebooks and the emulator itself
    never see each other's modules. Only names the project provides are touched; a vendored
    package the emulator itself has loaded must be the same version (else a VendoringError).
    """
    main = config.main_path()
    assert main is not None
    folder = main.parent
    src = str(folder)
    vendor = vendoring.prepare(config.root)
    vendored_names = vendoring.worker_names(vendor) if vendor is not None else frozenset()
    local = frozenset(_local_module_names(folder) | {main.stem} | vendored_names)
    roots = [folder] + ([vendor] if vendor is not None else [])

    def is_local(module_name: str) -> bool:
        return module_name.split(".")[0] in local

    env = Env(config.name)
    for key, value in config.vars.items():
        env._entries[key] = wrap(value)
    if config.path is not None:
        env._entries.update(read_dev_vars(config.root))
    loading = _LoadingWorker(config.name, env)
    object.__setattr__(env, "_loading", True)
    with _IMPORT_LOCK, shims.installed():
        set_aside = {n: m for n, m in sys.modules.items() if is_local(n)}
        for n in set_aside:
            del sys.modules[n]
        name = main.stem
        paths = [src] + ([str(vendor)] if vendor is not None else [])
        sys.path[0:0] = paths
        project: list[ModuleType] = []
        token = current_worker.set(loading)
        try:
            spec = importlib.util.spec_from_file_location(name, main)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            capture_prints(module.__dict__)
            sys.modules[name] = module
            try:
                with _top_level_scope():
                    spec.loader.exec_module(module)
            except SyntaxError as exc:
                raise WorkerLoadError(f"{exc.filename}:{exc.lineno}: syntax error in the Worker: {exc.msg}") from None
            except Exception as exc:
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                raise WorkerLoadError(f"{main}: importing the Worker raised {type(exc).__name__}: {exc}\n{tb}") from exc
        finally:
            current_worker.reset(token)
            object.__setattr__(env, "_loading", False)
            for path in paths:
                if path in sys.path:
                    sys.path.remove(path)
            for n in [n for n in sys.modules if is_local(n)]:
                m = sys.modules.pop(n)
                if any(_under(getattr(m, "__file__", None), root) for root in roots) or (
                        getattr(m, "__file__", None) is None and n.split(".")[0] in vendored_names):
                    project.append(m)
            sys.modules.update(set_aside)
    for m in project:
        virtualize_module_globals(m.__dict__)
        capture_prints(m.__dict__)
    bridge = needs_sync_bridge([m for m in project if _under(getattr(m, "__file__", None), folder)],
                               vendored=bool(vendored_names))
    return ImportedProject(module, {m.__name__: m for m in project}, folder, local, env, vendor, bridge)


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
        worker = current_worker.get()
        if worker is None:
            return None
        module: ModuleType | None = None
        if fullname in shims.SHIM_NAMES:
            module = shims.cached_shim_modules()[fullname]
        else:
            module = worker.project_modules.get(fullname)
            if module is None and worker.src_dir and fullname.split(".")[0] in worker.local_names:
                # A module of the project (or of its python_modules) nobody imported at load
                # time: load it from the project's folders, once, and keep it with the Worker.
                roots = [str(worker.src_dir)] + ([str(worker.vendor_dir)] if worker.vendor_dir else [])
                spec = importlib.machinery.PathFinder.find_spec(fullname, path if "." in fullname else roots)
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
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_soon(sys.modules.pop, name, None)


_handler_imports = HandlerImports()


def install_handler_imports() -> None:
    """Imports inside handlers resolve as on Cloudflare, and Worker code's HTTP libraries send
    through the runtime (course.workers.http_clients)."""
    if _handler_imports not in sys.meta_path:
        sys.meta_path.insert(0, _handler_imports)
    http_clients.install()


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
        self.vendor_dir: Path | None = project.vendor_dir if project is not None else None
        self.local_names: frozenset[str] = project.local_names if project is not None else frozenset()
        #: handlers get the run_sync bridge (needs_sync_bridge)
        self.sync_bridge = project.sync_bridge if project is not None else False
        self.exports = exports
        self.env = project.env if project is not None and project.env is not None else Env(self.name)
        #: the static assets in front of fetch (set by the assets binding plugin), or None
        self.assets: Any = None
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
        if kind == "fetch" and entrypoint is None and self.assets is not None:
            # static assets answer first (bindings/assets); then this Worker's own handler
            return self.assets.in_front_of(self._own_handler(kind, None, ctx))
        return self._own_handler(kind, entrypoint, ctx)

    def _own_handler(self, kind: str, entrypoint: str | None, ctx: Any) -> Callable[..., Any] | None:
        cls = self.export(entrypoint) if entrypoint else self.entrypoint
        if cls is not None:
            instance = cls(ctx, self.env)
            method = getattr(instance, kind, None)
            if method is not None and kind in STRICT_EVENT_HANDLERS:
                return EntrypointEventHandler(cls.__name__, kind, method)
            if method is not None and self.sync_bridge:
                return ModuleEventHandler(method)  # relaxed, after giving the task its run_sync bridge
            return method
        fn = self.exports.get(f"on_{kind}")
        if fn is not None and (kind != "fetch" or self.sync_bridge):
            return ModuleEventHandler(fn)
        return fn

    def __repr__(self) -> str:
        return f"<Worker {self.name!r}>"
