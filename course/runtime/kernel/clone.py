"""Structured clone: the one copy rule for values that cross an isolation boundary.

Storage puts, Durable Object and service-binding RPC, Queues' ``v8`` messages and WebSocket
attachments all copy values with the structured clone algorithm
(https://developer.mozilla.org/en-US/docs/Web/API/Web_Workers_API/Structured_clone_algorithm;
https://developers.cloudflare.com/workers/runtime-apis/rpc/#structured-clonable-types-and-more).
What a Python Worker hands over reaches V8 through Pyodide's conversion, so the rules here are
the combination of both:

- ``None``, bool, int, float and str pass as they are;
- bytes-likes become an ArrayBuffer (``JsBuffer``); dicts become objects (``JsObject``) whose
  keys may be str, numbers, bool or None (Pyodide converts a dict to a Map, whose keys may be
  any primitive); lists and tuples become arrays (``JsArray``); sets stay sets;
- ``datetime``/``date`` are copied as a Date (immutable, so the same object);
- exceptions are copied as an Error of the same type when it can be rebuilt from its args;
- Requests and Responses are cloned (RPC may carry them, their bodies are copied);
- ``passthrough`` types (stubs, ids, namespaces) cross by reference, as RPC stubs do;
- anything else (a function, a class instance, a pydantic model) raises ``DataCloneError``,
  as a PyProxy that V8 cannot serialize does on Cloudflare.

Shared references and cycles are preserved (a memo keyed by object id).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from course.workers.http import Request, Response
from course.workers.jsproxy import JsArray, JsBuffer, JsException, JsObject


def data_clone_error(value: Any, where: str = "value") -> JsException:
    """workerd's error for a value the algorithm refuses."""
    return JsException(f'Could not serialize {where}: object of type "{type(value).__name__}" does not support '
                       "serialization (send plain data: dict, list, str, numbers, bytes, datetime)",
                       "DataCloneError")


def structured_clone(value: Any, *, passthrough: tuple[type, ...] = ()) -> Any:
    """A structured-clone copy of ``value`` with containers as the JS proxies Worker code sees."""
    return _clone(value, passthrough, {}, "value")


def _clone(value: Any, passthrough: tuple[type, ...], memo: dict[int, Any], where: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if passthrough and isinstance(value, passthrough):
        return value
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value
    key = id(value)
    if key in memo:
        return memo[key]
    if isinstance(value, (bytes, bytearray, memoryview)):
        buf = JsBuffer(bytes(value))
        memo[key] = buf
        return buf
    if isinstance(value, dict):
        obj = JsObject()
        memo[key] = obj
        for k, v in value.items():
            if k is not None and not isinstance(k, (str, int, float, bool)):
                raise data_clone_error(k, f"{where}: key {k!r}")
            dict.__setitem__(obj, k, _clone(v, passthrough, memo, f"{where}[{k!r}]"))
        return obj
    if isinstance(value, (list, tuple)):
        arr = JsArray()
        memo[key] = arr
        for i, v in enumerate(value):
            arr.append(_clone(v, passthrough, memo, f"{where}[{i}]"))
        return arr
    if isinstance(value, (set, frozenset)):
        out: set[Any] = set()
        memo[key] = out
        for v in value:
            out.add(_clone(v, passthrough, memo, where))
        return out
    if isinstance(value, BaseException):
        copy = _rebuild(value)
        memo[key] = copy
        return copy
    if isinstance(value, (Request, Response)):
        return value.clone()
    raise data_clone_error(value, where)


def _rebuild(exc: BaseException) -> BaseException:
    """The same kind of error with the same arguments; a plain Error when its class needs more."""
    try:
        return type(exc)(*exc.args)
    except Exception:  # noqa: BLE001 - an exception class with a custom __init__
        return Exception(str(exc))
