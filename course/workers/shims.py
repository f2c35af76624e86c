"""Install ``workers`` (with ``workers.workflows``), ``js``, ``pyodide`` and ``pyodide.ffi`` under
Cloudflare's names.

Only while a Worker project is being imported: a notebook that imports ``course.workers`` never
sees these top-level names, and a real package called ``workers`` or ``js`` in the user's
environment is restored afterwards.
"""
from __future__ import annotations

import contextlib
import sys
import types
from typing import Iterator

SHIM_NAMES = ("workers", "workers.workflows", "js", "pyodide", "pyodide.ffi")


def shim_modules() -> dict[str, types.ModuleType]:
    import course.workers as workers
    from course.workers import ffi, js, workflows

    pyodide = types.ModuleType("pyodide", "Stand-in for Pyodide (course runtime)")
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    return {"workers": workers, "workers.workflows": workflows, "js": js, "pyodide": pyodide,
            "pyodide.ffi": ffi}


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Within the block, ``import workers`` / ``js`` / ``pyodide.ffi`` resolve to the shims."""
    saved = {name: sys.modules.get(name) for name in SHIM_NAMES}
    sys.modules.update(shim_modules())
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
