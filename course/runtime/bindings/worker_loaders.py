"""Dynamic Worker Loaders: a Worker loads another (Python) Worker from source at run time.

A wrangler entry ``"worker_loaders": [{"binding": "LOADER"}]`` puts a :class:`WorkerLoader` at
``env.LOADER`` (https://developers.cloudflare.com/workers/runtime-apis/bindings/worker-loader/,
API: https://developers.cloudflare.com/dynamic-workers/api-reference/):

- ``env.LOADER.get(id, get_code)`` returns a :class:`WorkerStub` for the Worker with that ID. The
  first use of an ID calls ``get_code()`` (sync, or async returning a *WorkerCode*) and loads the
  Worker; later ``get`` calls with the same ID reuse the loaded Worker without calling back (the
  documented isolate cache; Cloudflare may also start afresh, which code must not rely on).
- ``env.LOADER.load(code)`` loads a fresh Worker on every call (no cache by ID).
- ``stub.getEntrypoint(name=None)`` is a Fetcher on the loaded Worker's ``Default`` (or named)
  ``WorkerEntrypoint``: ``await fetcher.fetch(request)`` and RPC ``await fetcher.method(...)``, the
  same boundary as a service binding (:mod:`course.runtime.bindings.services`).

A WorkerCode is ``{"compatibilityDate", "compatibilityFlags", "mainModule", "modules", "env"}``.
``modules`` maps a module name to its source: a string for a ``.py`` name, or ``{"py": source}``.
``env`` becomes the loaded Worker's ``env``: JSON-like values as ``vars``, anything else (a
binding of the parent, passed on as a capability) as it is.

The loaded Worker runs in this runtime like any project (``rt.workers`` lists it as
``"<parent>/<binding>:<id>"``); its modules are written to a temporary folder removed when the
runtime closes. Not emulated (a clear error names each): JavaScript, text, data, JSON and Wasm
modules (the course runs Python Workers only), ``globalOutbound`` (blocking or intercepting the
loaded Worker's subrequests), ``tails``, and ``getDurableObjectClass``.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from course.runtime.bindings.services import ServiceBinding
from course.runtime.kernel.config import ConfigError
from course.runtime.kernel.plugins import Plugin, ServiceSlot
from course.runtime.kernel.runtime import Kernel
from course.workers.jsproxy import JsException, to_py

#: The WorkerCode fields the API reference documents; any other key is a mistake in the code.
WORKER_CODE_KEYS = frozenset({"compatibilityDate", "compatibilityFlags", "allowExperimental", "mainModule",
                              "modules", "env", "globalOutbound", "tails"})
#: Module kinds of the WorkerCode ``modules`` object form (workers-types ``WorkerLoaderModule``).
MODULE_KINDS = frozenset({"js", "cjs", "text", "data", "json", "py", "wasm"})
#: Fields accepted but not emulated: each is refused with this reason.
NOT_EMULATED = {
    "globalOutbound": "globalOutbound (blocking or intercepting the loaded Worker's fetch and connect) is not "
                      "emulated: leave it out to run here; the loaded Worker then reaches the network as its "
                      "parent does",
    "tails": "tails (Tail Workers of the loaded Worker) are not emulated: leave it out to run here",
}


class _LoadedFolders:
    """Where loaded Workers' modules are written; removed when the runtime closes."""

    def __init__(self, runtime: Kernel) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="course-dynamic-workers-"))
        self.fresh = 0  # load() calls so far, to name each fresh Worker

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


FOLDERS: ServiceSlot[_LoadedFolders] = ServiceSlot("worker_loader_folders", _LoadedFolders)


def _plain(value: Any) -> Any:
    """A WorkerCode built with ``to_js(..., dict_converter=Object.fromEntries)`` as plain Python."""
    return to_py(value)


def _is_json_like(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class WorkerLoader:
    """``env.LOADER``: loads Workers from code given at run time."""

    def __init__(self, runtime: Kernel, caller: str, binding: str) -> None:
        self._runtime = runtime
        self._caller = caller
        self._binding = binding
        self._by_id: dict[str, WorkerStub] = {}

    def get(self, id: Any, get_code: Any) -> "WorkerStub":  # noqa: A002 - the API's name
        if not isinstance(id, str) or not id:
            raise JsException(f"{self._binding}.get(id, getCode): id must be a non-empty string, not {id!r}",
                              "TypeError")
        if not callable(get_code):
            raise JsException(f"{self._binding}.get({id!r}, getCode): getCode must be a function returning the "
                              f"WorkerCode (wrap a Python function with pyodide.ffi.create_proxy), not "
                              f"{type(get_code).__name__}", "TypeError")
        stub = self._by_id.get(id)
        if stub is None:
            stub = self._by_id[id] = WorkerStub(self, f"{self._caller}/{self._binding}:{id}", get_code)
        return stub

    def load(self, code: Any) -> "WorkerStub":
        folders = FOLDERS.of(self._runtime)
        folders.fresh += 1
        return WorkerStub(self, f"{self._caller}/{self._binding}:load-{folders.fresh}", lambda: code)

    def __repr__(self) -> str:
        return f"<WorkerLoader {self._binding} of {self._caller}>"


class WorkerStub:
    """What ``get``/``load`` return: the loaded Worker, loaded on first use."""

    def __init__(self, loader: WorkerLoader, name: str, get_code: Any) -> None:
        self._loader = loader
        self._name = name
        self._get_code = get_code
        self._loaded: str | None = None
        self._lock: asyncio.Lock | None = None

    def getEntrypoint(self, name: str | None = None, options: Any = None) -> "DynamicEntrypoint":  # noqa: N802
        if name is not None and not isinstance(name, str):
            raise JsException(f"getEntrypoint(name): name must be a string, not {type(name).__name__}", "TypeError")
        if options is not None:
            raise JsException("getEntrypoint(name, options): options (ctx.props) are not emulated", "TypeError")
        return DynamicEntrypoint(self, name)

    def getDurableObjectClass(self, name: str) -> Any:  # noqa: N802
        raise JsException("getDurableObjectClass() of a dynamically loaded Worker is not emulated", "TypeError")

    async def _worker_name(self) -> str:
        if self._loaded is None:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:  # concurrent first calls: one callback, one load
                if self._loaded is None:
                    code = self._get_code()
                    if hasattr(code, "__await__"):
                        code = await code
                    self._loaded = self._install(_plain(code))
        return self._loaded

    def _install(self, code: Any) -> str:
        where = f"the WorkerCode of {self._name!r}"
        if not isinstance(code, dict):
            raise JsException(f"{where} must be an object, not {type(code).__name__}", "TypeError")
        unknown = sorted(set(code) - WORKER_CODE_KEYS)
        if unknown:
            raise JsException(f"{where} has unknown field(s) {', '.join(unknown)}; the fields are "
                              f"{', '.join(sorted(WORKER_CODE_KEYS))}", "TypeError")
        for key, reason in NOT_EMULATED.items():
            if key in code:
                raise JsException(f"{where}: {reason}", "TypeError")
        date = code.get("compatibilityDate")
        if not isinstance(date, str) or not date:
            raise JsException(f"{where} needs compatibilityDate (a string such as \"2026-04-01\")", "TypeError")
        flags = code.get("compatibilityFlags") or []
        if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
            raise JsException(f"{where}: compatibilityFlags must be a list of strings", "TypeError")
        modules = code.get("modules")
        if not isinstance(modules, dict) or not modules:
            raise JsException(f"{where} needs modules: an object mapping module names to source", "TypeError")
        main = code.get("mainModule")
        if not isinstance(main, str) or main not in modules:
            raise JsException(f"{where}: mainModule {main!r} must name one of its modules "
                              f"({', '.join(sorted(modules))})", "TypeError")
        folders = FOLDERS.of(self._loader._runtime)
        folder = Path(tempfile.mkdtemp(prefix="worker-", dir=folders.root))
        for module, source in modules.items():
            (folder / self._module_path(where, module)).parent.mkdir(parents=True, exist_ok=True)
            (folder / self._module_path(where, module)).write_text(self._python_source(where, module, source),
                                                                   encoding="utf-8")
        env = code.get("env") or {}
        if not isinstance(env, dict):
            raise JsException(f"{where}: env must be an object, not {type(env).__name__}", "TypeError")
        config = {"name": self._name, "main": main, "compatibility_date": date, "compatibility_flags": flags,
                  "vars": {k: v for k, v in env.items() if _is_json_like(v)}}
        (folder / "wrangler.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        runtime = self._loader._runtime
        worker = runtime.add_project(folder)
        for key, value in env.items():
            if not _is_json_like(value):  # a binding of the parent, handed on as a capability
                worker.env._entries[key] = value
        runtime.trace.record("worker_loaded_dynamically", loader=self._loader._binding,
                             caller=self._loader._caller, worker=self._name, modules=sorted(modules))
        return self._name

    @staticmethod
    def _module_path(where: str, module: str) -> PurePosixPath:
        path = PurePosixPath(module)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise JsException(f"{where}: module name {module!r} must be a relative path inside the Worker",
                              "TypeError")
        return path

    @staticmethod
    def _python_source(where: str, module: str, source: Any) -> str:
        if isinstance(source, dict):
            kinds = sorted(set(source) & MODULE_KINDS)
            if kinds != ["py"] or len(source) != 1:
                raise JsException(
                    f"{where}: module {module!r} is {'/'.join(kinds) or 'of no known kind'}; only Python modules "
                    "({\"py\": source}, or a source string for a .py name) are emulated: the course runs "
                    "Python Workers only", "TypeError")
            source = source["py"]
        elif not module.endswith(".py"):
            raise JsException(f"{where}: module {module!r} is given as a string, which Cloudflare reads as "
                              "JavaScript unless the name ends in .py; only Python modules are emulated: the "
                              "course runs Python Workers only", "TypeError")
        if not isinstance(source, str):
            raise JsException(f"{where}: the source of module {module!r} must be a string", "TypeError")
        return source

    def __repr__(self) -> str:
        return f"<WorkerStub {self._name}{' (loaded)' if self._loaded else ''}>"


class DynamicEntrypoint(ServiceBinding):
    """``stub.getEntrypoint(name)``: a Fetcher (fetch and RPC) on the loaded Worker."""

    def __init__(self, stub: WorkerStub, entrypoint: str | None) -> None:
        loader = stub._loader
        super().__init__(loader._runtime, loader._caller, loader._binding, stub._name, entrypoint)
        self._stub = stub

    async def fetch(self, resource: Any, init: Any = None, **kwargs: Any) -> Any:
        await self._stub._worker_name()
        return await super().fetch(resource, init, **kwargs)

    async def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        await self._stub._worker_name()
        return await super()._call(name, args, kwargs)

    def __repr__(self) -> str:
        ep = f" entrypoint {self._entrypoint}" if self._entrypoint else ""
        return f"<Fetcher on {self._service}{ep}>"


def _bind(runtime: Kernel, worker: Any) -> dict[str, object]:
    """``env`` entries for each ``worker_loaders`` entry of the Worker."""
    entries = (worker.config.model_extra or {}).get("worker_loaders") or []
    where = worker.config.path or "<code>"
    if not isinstance(entries, list):
        raise ConfigError(where, 'worker_loaders must be a list of {"binding": NAME}', key="worker_loaders")
    found: dict[str, object] = {}
    for entry in entries:
        binding = entry.get("binding") if isinstance(entry, dict) else None
        if not isinstance(binding, str) or not binding:
            raise ConfigError(where, f'each worker_loaders entry needs a "binding" name, got {entry!r}',
                              key="worker_loaders")
        found[binding] = WorkerLoader(runtime, worker.name, binding)
    return found


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin("worker_loaders", ("worker_loaders",), _bind)

__all__ = ["PLUGIN", "DynamicEntrypoint", "WorkerLoader", "WorkerStub"]
