"""Install Cloudflare's module names for Worker code: ``workers`` (with ``workers.workflows``,
``workers.asgi``, ``workers.wsgi``), ``asgi``, ``js``, ``pyodide`` and ``pyodide.ffi``.

Only while a Worker project is being imported (and, through the runtime's import hook, while
its handlers run): a notebook that imports ``course.workers`` never sees these top-level
names, and a real package called ``workers`` or ``js`` in the user's environment is restored
afterwards.
"""
from __future__ import annotations

import contextlib
import sys
import types
from typing import Iterator

SHIM_NAMES = ("workers", "workers.workflows", "workers.asgi", "workers.wsgi", "asgi", "js", "pyodide",
              "pyodide.ffi")

#: The Pyodide release Cloudflare's Python Workers run (workerd
#: src/pyodide/internal/compat/pyodide-0.28.2.ts; Python 3.13). ``pyodide.__version__``.
PYODIDE_VERSION = "0.28.2"


def shim_modules() -> dict[str, types.ModuleType]:
    import course.workers as workers
    from course.workers import asgi, ffi, js, workflows, wsgi

    pyodide = types.ModuleType("pyodide", "Stand-in for Pyodide (course runtime)")
    # A package, so `from pyodide.ffi import ...` resolves the submodule wherever it runs.
    pyodide.__path__ = []  # type: ignore[attr-defined]
    pyodide.__version__ = PYODIDE_VERSION  # type: ignore[attr-defined]
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    return {"workers": workers, "workers.workflows": workflows, "workers.asgi": asgi,
            "workers.wsgi": wsgi, "asgi": asgi, "js": js, "pyodide": pyodide, "pyodide.ffi": ffi}


_SHIMS: dict[str, types.ModuleType] | None = None


def cached_shim_modules() -> dict[str, types.ModuleType]:
    """:func:`shim_modules`, built once (the same ``pyodide`` module object every time)."""
    global _SHIMS
    if _SHIMS is None:
        _SHIMS = shim_modules()
    return _SHIMS


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Within the block, ``import workers`` / ``js`` / ``pyodide.ffi`` resolve to the shims."""
    saved = {name: sys.modules.get(name) for name in SHIM_NAMES}
    sys.modules.update(cached_shim_modules())
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
