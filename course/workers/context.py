"""Which runtime and Worker the current code runs in (set by the runtime, read by the API)."""
from __future__ import annotations

import contextvars
from typing import Any

#: The Runtime executing the current task (None outside any runtime).
current_runtime: contextvars.ContextVar[Any] = contextvars.ContextVar("course_runtime", default=None)
#: The Worker (a course.runtime Worker) whose code runs in the current task.
current_worker: contextvars.ContextVar[Any] = contextvars.ContextVar("course_worker", default=None)


def require_runtime(what: str) -> Any:
    rt = current_runtime.get()
    if rt is None:
        raise RuntimeError(
            f"{what} needs a running Worker: call it from a handler executed by "
            "course.runtime (e.g. through rt.client()), not directly from a notebook cell"
        )
    return rt


#: The region (colo) the current task runs in, for eventually consistent stores such as KV.
#: None is the single default region; the network model sets it per request.
current_region: contextvars.ContextVar[Any] = contextvars.ContextVar("course_region", default=None)

#: Who is acting in the current task, for traces and sequence diagrams: "client", a Worker's
#: name, or a Durable Object as "BINDING:name".
current_actor: contextvars.ContextVar[str] = contextvars.ContextVar("course_actor", default="client")
