"""The Python Workers API (``from workers import ...``) for the course's emulated runtime.

Notebooks import it explicitly as ``course.workers``; Worker projects loaded by
``course.runtime`` import it under Cloudflare's names (``workers``, ``js``, ``pyodide.ffi``)
through :mod:`course.workers.shims`. Its ``__all__`` has every name of Cloudflare's ``workers``
module (Python Workers SDK), plus the proxy types of ``pyodide.ffi`` for convenience.
"""
from typing import Any

from course.workers.blob import Blob, BlobEnding, BlobValue, File
from course.workers.entrypoints import Context, DurableObject, ExecutionContext, WorkerEntrypoint, WorkflowEntrypoint, handler
from course.workers.fetch import fetch
from course.workers.formdata import FormData, FormDataValue
from course.workers.http import (
    Body,
    FetchKwargs,
    FetchResponse,
    Headers,
    JSBody,
    Request,
    RequestInitCfProperties,
    Response,
)
from course.workers.javascript_modules import import_from_javascript, patch_env
from course.workers.jsproxy import JsArray, JsBuffer, JsException, JsObject, JsProxy, create_proxy, to_js, to_py
from course.workers.rpc import python_from_rpc, python_to_rpc

__all__ = [
    # Cloudflare's `workers` module
    "Blob", "BlobEnding", "BlobValue", "Body", "Context", "DurableObject", "FetchKwargs",
    "FetchResponse", "File", "FormData", "FormDataValue", "Headers", "JSBody", "Request",
    "RequestInitCfProperties", "Response", "WorkerEntrypoint", "WorkflowEntrypoint", "env", "fetch",
    "handler", "import_from_javascript", "patch_env", "python_from_rpc", "python_to_rpc", "waitUntil",
    "wait_until",
    # the course's additions
    "ExecutionContext", "JsArray", "JsBuffer", "JsException", "JsObject", "JsProxy", "create_proxy",
    "to_js", "to_py",
]


def __getattr__(name: str) -> Any:
    # `env` and `wait_until` belong to the running Worker, resolved when used (as on Cloudflare,
    # where they come from the JavaScript module cloudflare:workers).
    from course.workers import javascript_modules

    if name == "env":
        return javascript_modules.env
    if name in ("wait_until", "waitUntil"):
        return javascript_modules.wait_until
    raise AttributeError(f"module 'workers' has no attribute {name!r}")
