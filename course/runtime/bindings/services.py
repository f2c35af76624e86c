"""Service bindings: one Worker calls another in the same runtime, by fetch or by RPC.

A wrangler entry ``services = [{binding = "AUTH", service = "auth-worker", entrypoint = "Admin"}]``
puts a :class:`ServiceBinding` (a *Fetcher*) at ``env.AUTH``:

- ``await env.AUTH.fetch("https://auth/check", method="POST", body=...)`` delivers a Request to
  the target Worker's ``fetch`` handler and returns its Response
  (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/http/).
- ``await env.AUTH.add(1, 2)`` calls the public method ``add`` of the target's
  ``WorkerEntrypoint`` (``Default``, or the class named by ``entrypoint``)
  (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/rpc/).
  Arguments and results cross the boundary as structured clones
  (https://developers.cloudflare.com/workers/runtime-apis/rpc/#structured-clonable-types-and-more),
  so neither side can mutate the other's objects; an exception in the callee is raised at the
  caller.

The target is resolved when the binding is *called*, not when it is bound, so a mesh of Workers
can be loaded in any order with ``rt.add_project(...)``. Every call records a ``service_call``
trace event.

Not emulated: RPC stubs and callbacks (functions/``RpcTarget`` passed by reference), streams
over RPC, ``connect()`` sockets, and promise pipelining (``await env.X.a().b()``).
"""
from __future__ import annotations

from typing import Any

from course.runtime.kernel.plugins import Plugin
from course.runtime.kernel.clone import structured_clone
from course.workers.context import current_worker
from course.workers.entrypoints import ExecutionContext, WorkerEntrypoint
from course.workers.http import Request, Response
from course.workers.jsproxy import JsException
from course.workers.rpc import RESERVED_RPC_NAMES
from course.runtime.kernel.runtime import Kernel



# -- the binding -----------------------------------------------------------------------------
class ServiceBinding:
    """``env.OTHER``: a Fetcher on another Worker of the runtime, with RPC methods."""

    def __init__(self, runtime: Kernel, caller: str, binding: str, service: str,
                 entrypoint: str | None = None) -> None:
        self._runtime = runtime
        self._caller = caller
        self._binding = binding
        self._service = service
        self._entrypoint = entrypoint

    def _target(self) -> Any:
        try:
            return self._runtime.workers[self._service]
        except KeyError:
            loaded = ", ".join(self._runtime.workers) or "none"
            raise JsException(
                f"service binding {self._binding!r} of Worker {self._caller!r} points at Worker "
                f"{self._service!r}, which is not loaded in this runtime (loaded: {loaded}); load it "
                "with rt.add_project(...)", "Error") from None

    async def fetch(self, resource: Any, init: Any = None, **kwargs: Any) -> Response:
        """Send a Request to the target Worker's ``fetch`` handler; returns its Response."""
        request = resource if isinstance(resource, Request) and not (init or kwargs) \
            else Request(resource, init, **kwargs)
        target = self._target()
        self._runtime.trace.record("service_call", caller=self._caller, binding=self._binding,
                                   service=self._service, entrypoint=self._entrypoint, call="fetch",
                                   method=request.method, url=request.url)
        return await self._runtime.dispatch(request, worker=target, entrypoint=self._entrypoint,
                                            source=f"service:{self._caller}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _RpcMethod(self, name)

    async def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        rt = self._runtime
        target = self._target()
        cls = target.export(self._entrypoint) if self._entrypoint else target.entrypoint
        if cls is None or not (isinstance(cls, type) and issubclass(cls, WorkerEntrypoint)):
            raise JsException(f"Worker {target.name!r} has no WorkerEntrypoint class to receive RPC "
                              f"(binding {self._binding!r}); RPC needs `class "
                              f"{self._entrypoint or 'Default'}(WorkerEntrypoint)`", "TypeError")
        if name in RESERVED_RPC_NAMES:
            raise JsException(f"{name!r} is reserved and cannot be called over RPC", "TypeError")
        # Pyodide passes Python keyword arguments to JS as one trailing options object.
        call_args = list(args) + ([kwargs] if kwargs else [])
        cloned_args = [structured_clone(a) for a in call_args]
        rt.trace.record("service_call", caller=self._caller, binding=self._binding,
                        service=self._service, entrypoint=self._entrypoint, call="rpc", method=name)
        ctx = ExecutionContext(rt, target)
        token = current_worker.set(target)
        try:
            instance = cls(ctx, target.env)
            method = getattr(instance, name, None)
            if method is None or not callable(method):
                raise JsException(f'The RPC receiver does not implement the method "{name}".',
                                  "TypeError")
            result = method(*cloned_args)
            if hasattr(result, "__await__"):
                result = await result
        except JsException:
            raise
        except Exception as exc:  # noqa: BLE001 - the callee's error is re-raised at the caller
            rt.trace.record("service_error", caller=self._caller, service=self._service, method=name,
                            error=type(exc).__name__, message=str(exc))
            raise JsException(f"{type(exc).__name__}: {exc}", "Error") from exc
        finally:
            current_worker.reset(token)
        return structured_clone(result)

    def __repr__(self) -> str:
        ep = f", entrypoint={self._entrypoint!r}" if self._entrypoint else ""
        return f"<ServiceBinding {self._binding} -> {self._service}{ep}>"


class _RpcMethod:
    """``env.OTHER.name``: calling it runs ``name`` in the target Worker."""

    def __init__(self, binding: ServiceBinding, name: str) -> None:
        self._binding = binding
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._binding._call(self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<RPC method {self._name} of {self._binding!r}>"


# -- binding hooks ---------------------------------------------------------------------------
def bind(runtime: Kernel, worker: Any) -> dict[str, object]:
    """``env`` entries for each ``services`` binding of the Worker."""
    return {s.binding: ServiceBinding(runtime, worker.name, s.binding, s.service, s.entrypoint)
            for s in worker.config.services}


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('services', ("services",), bind)
