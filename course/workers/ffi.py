"""Stand-in for ``pyodide.ffi``: ``to_js``, ``create_proxy``, ``JsProxy``, ``JsException``."""
from course.workers.jsproxy import (  # noqa: F401
    JsArray,
    JsBuffer,
    JsException,
    JsObject,
    JsProxy,
    create_once_callable,
    create_proxy,
    to_js,
    to_py,
)

JsArray = JsArray
__all__ = ["to_js", "to_py", "create_proxy", "create_once_callable", "JsProxy", "JsException",
           "JsObject", "JsArray", "JsBuffer"]
