"""The Python Workers API (``from workers import ...``) for the course's emulated runtime.

Notebooks import it explicitly as ``course.workers``; Worker projects loaded by
``course.runtime`` import it under Cloudflare's names (``workers``, ``js``, ``pyodide.ffi``)
through :mod:`course.workers.shims`.
"""
from .entrypoints import DurableObject, ExecutionContext, WorkerEntrypoint, WorkflowEntrypoint
from .fetch import fetch
from .http import Headers, Request, Response
from .jsproxy import JsArray, JsBuffer, JsException, JsObject, JsProxy, create_proxy, to_js, to_py

__all__ = [
    "DurableObject", "ExecutionContext", "WorkerEntrypoint", "WorkflowEntrypoint",
    "fetch", "Headers", "Request", "Response",
    "JsArray", "JsBuffer", "JsException", "JsObject", "JsProxy", "create_proxy", "to_js", "to_py",
]
