"""``import_from_javascript``, ``env``, ``wait_until`` and ``patch_env``: the ``cloudflare:workers``
module as the Python SDK exposes it.

On Cloudflare ``import_from_javascript("cloudflare:workers").env`` (and ``from workers import
env``) is the env of the Worker that is running, usable outside a handler's arguments
(https://developers.cloudflare.com/workers/runtime-apis/bindings/#importing-env-as-a-global).
Here ``env`` is a live view: each attribute read resolves the current Worker's env.
"""
from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import Any, Awaitable, Iterator, Mapping, Sequence

from course.workers.context import current_runtime, current_worker

#: JavaScript modules Python code may import; anything else is an ImportError naming these.
KNOWN_MODULES = ("cloudflare:workers", "cloudflare:sockets")


def _worker(what: str) -> Any:
    worker = current_worker.get()
    if worker is None:
        raise RuntimeError(f"{what} needs a running Worker: read it inside a handler executed by "
                           "course.runtime (on Cloudflare it is the running Worker's env)")
    return worker


class _CurrentEnv:
    """``env`` of whichever Worker is running when an attribute is read."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_worker(f"env.{name}").env, name)

    def __getitem__(self, name: str) -> Any:
        return _worker(f"env[{name!r}]").env[name]

    def __contains__(self, name: object) -> bool:
        worker = current_worker.get()
        return worker is not None and name in worker.env

    def __repr__(self) -> str:
        worker = current_worker.get()
        return f"<env of {worker.name!r}>" if worker is not None else "<env (no Worker running)>"


env = _CurrentEnv()


def wait_until(awaitable: Awaitable[Any]) -> None:
    """Keep the current invocation alive until ``awaitable`` settles (``ctx.waitUntil``)."""
    rt = current_runtime.get()
    if rt is None:
        raise RuntimeError("wait_until() needs a running Worker: call it from a handler")
    rt.wait_until(awaitable, worker=current_worker.get())


waitUntil = wait_until  # noqa: N816 - JS name


def import_from_javascript(module_name: str) -> Any:
    """A JavaScript module by name: ``cloudflare:workers`` (env, waitUntil, the base classes)."""
    if module_name == "cloudflare:workers":
        from course.workers.entrypoints import DurableObject, WorkerEntrypoint, WorkflowEntrypoint

        return SimpleNamespace(env=env, waitUntil=wait_until, WorkerEntrypoint=WorkerEntrypoint,
                               DurableObject=DurableObject, WorkflowEntrypoint=WorkflowEntrypoint)
    if module_name == "cloudflare:sockets":
        raise ImportError("Failed to import 'cloudflare:sockets': TCP sockets (connect()) are not "
                          "emulated by the course runtime")
    raise ImportError(f"Failed to import {module_name!r}: the course runtime provides only "
                      f"{', '.join(KNOWN_MODULES)}")


@contextlib.contextmanager
def patch_env(d: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None, **kwds: Any) -> Iterator[None]:
    """Within the block, the running Worker's env has these entries (restored afterwards)."""
    from course.workers.jsproxy import wrap

    values = dict(d or {}) | kwds
    entries = _worker("patch_env()").env._entries
    missing = object()
    saved = {k: entries.get(k, missing) for k in values}
    entries.update({k: wrap(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, old in saved.items():
            if old is missing:
                entries.pop(k, None)
            else:
                entries[k] = old
