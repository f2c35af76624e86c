"""The errors a Durable Object's callers see: resets, aborts, and errors thrown across RPC."""
from __future__ import annotations

import copy

from course.workers.jsproxy import JsException

#: The error callers see when the instance serving their request shut down (crash, reset):
#: https://developers.cloudflare.com/durable-objects/observability/troubleshooting/
INSTANCE_RESET_MESSAGE = ("Connection closed: this Durable Object instance is no longer active. "
                          "Reconnect or retry the request.")
#: The same page's error for an object reset by a code update (``rt.crash(..., code_update=True)``).
CODE_UPDATE_RESET_MESSAGE = "Durable Object reset because its code was updated."


class DurableObjectAborted(BaseException):
    """Raised in an object's code after ``ctx.abort()``: not catchable as an ``Exception``."""


def reset_error(message: str = INSTANCE_RESET_MESSAGE) -> JsException:
    """The retryable error of a reset object."""
    err = JsException(message, "Error")
    err.retryable = True  # type: ignore[attr-defined]
    err.remote = False  # type: ignore[attr-defined]
    return err


def copy_error(exc: BaseException) -> BaseException:
    """A copy of ``exc`` with the same type, message and attributes (the original if it can't)."""
    if isinstance(exc, JsException):
        out: BaseException = JsException(exc.message, exc.name)
        out.__dict__.update(exc.__dict__)
        return out
    try:
        return copy.copy(exc)
    except Exception:  # noqa: BLE001
        return exc


def rethrown(exc: BaseException) -> BaseException:
    """The caller's copy of an error thrown in the object, as a Python Worker receives it.

    A Python exception crosses the RPC boundary as a JavaScript Error: the caller gets a
    ``JsException`` named "Error" whose message keeps the original type and text (service
    bindings do the same; conformance: do_rpc_values). Platform errors (``JsException``) keep
    their own name. Both carry ``remote = True``.
    """
    if isinstance(exc, JsException):
        out = copy_error(exc)
    else:
        out = JsException(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, "Error")
        for key in ("retryable", "overloaded"):
            if hasattr(exc, key):
                setattr(out, key, getattr(exc, key))
    try:
        if not hasattr(out, "remote"):  # thrown by the object's code, not the platform
            out.remote = True  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        pass
    return out
