"""Python stand-ins for the Pyodide JS proxies that Python Workers code sees.

On Cloudflare, values crossing from JavaScript arrive as ``JsProxy`` objects: objects allow
attribute access (``result.meta.changes``), arrays behave like lists, and ``.to_py()`` converts
them to plain Python. ``to_js`` goes the other way. Here every value is already Python, so the
proxies are thin subclasses of ``dict`` and ``list`` that keep both spellings working.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any


class JsException(Exception):
    """An error raised by "JavaScript" (the platform), as ``pyodide.ffi.JsException``."""

    def __init__(self, message: str = "", name: str = "Error") -> None:
        super().__init__(f"{name}: {message}" if name and message else message or name)
        self.name = name
        self.message = message


#: The public methods of ``dict``. A JS object's *data* may use these names (a KV ``list()``
#: result has ``keys``, a JSON body may have ``items``); in Pyodide ``obj.keys`` then reads the
#: property, so JsObject attribute access prefers the data for them (see ``_shadowing``).
DICT_METHOD_NAMES = frozenset(n for n in dir(dict) if not n.startswith("_"))


class JsObject(dict):
    """A JS object: a dict whose keys are also attributes (``r["x"]`` and ``r.x``).

    Data wins over the dict methods of the same name, as properties do on a Pyodide
    ``JsProxy``: for ``{"keys": [...]}``, ``obj.keys`` is that list. The value returned is
    also callable as the dict method (``obj.keys()``), so ``json.dumps``, ``copy``, pickling
    and other code that calls ``obj.items()`` on any mapping keep working.
    """

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        if name in DICT_METHOD_NAMES and dict.__contains__(self, name):
            return _shadowing(dict.__getitem__(self, name), object.__getattribute__(self, name))
        return object.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name.startswith("__"):
                raise AttributeError(name) from None
            # JS yields `undefined` for a missing property; Pyodide maps that to None... but a
            # typo should be loud in Python, as Pyodide's AttributeError is for missing attrs.
            raise AttributeError(f"JS object has no property {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_py(self, **_: Any) -> dict:
        return to_py(self)

    def as_object_map(self) -> "JsObject":
        return self

    def object_values(self) -> list:
        return list(dict.values(self))

    def object_keys(self) -> list:
        return list(dict.keys(self))

    def object_entries(self) -> list:
        return [[k, v] for k, v in dict.items(self)]


class _Shadowing:
    """Mixin: a data value that, called, runs the dict method its key shadows."""

    _method: Any

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._method(*args, **kwargs)


def _shadow_type(base: type) -> type:
    # A module global under its own name, so the values pickle and deep-copy.
    cls = type(f"_Shadowing{base.__name__.capitalize()}", (_Shadowing, base), {"__module__": __name__})
    globals()[cls.__name__] = cls
    return cls


class _ShadowingObject(_Shadowing, JsObject):
    __slots__ = ("_method",)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_method":
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __getattribute__(self, name: str) -> Any:
        if name in ("_method", "__call__"):
            return object.__getattribute__(self, name)
        return JsObject.__getattribute__(self, name)


def _shadowing(value: Any, method: Any) -> Any:
    """``value`` (a copy that is also callable as ``method``), or ``method`` itself when the
    value's type cannot carry it (None, bool): those fall back to plain dict behaviour."""
    if isinstance(value, bool) or value is None:
        return method
    if isinstance(value, dict):
        out: Any = _ShadowingObject(value)
    else:
        base = next((t for t in _SHADOWABLE_TYPES if isinstance(value, t)), None)
        if base is None:
            return value if callable(value) else method
        out = _SHADOW_TYPES[base](value)
    object.__setattr__(out, "_method", method)
    return out


class JsArray(list):
    """A JS array: a list with ``.to_py()`` and ``.length``."""

    __slots__ = ()

    @property
    def length(self) -> int:
        return len(self)

    def to_py(self, **_: Any) -> list:
        return to_py(self)


class JsBuffer(bytes):
    """An ArrayBuffer / Uint8Array: bytes with ``.to_py()``, ``.to_bytes()`` and ``.byteLength``."""

    @property
    def byteLength(self) -> int:  # noqa: N802 - JS name
        return len(self)

    def to_py(self, **_: Any) -> bytes:
        return bytes(self)

    def to_bytes(self) -> bytes:
        return bytes(self)

    @property
    def buffer(self) -> "JsBuffer":
        """``Uint8Array.buffer``: the ArrayBuffer under the view (here the same bytes)."""
        return self

    @property
    def length(self) -> int:
        return len(self)

    def slice(self, start: int = 0, end: int | None = None) -> "JsBuffer":  # noqa: A003 - JS name
        """``Uint8Array.slice(start, end)`` / ``ArrayBuffer.slice``: a copy of that range
        (negative indices count from the end, as in JavaScript)."""
        return JsBuffer(bytes(self)[slice(start, end)])

    subarray = slice

    def to_string(self, encoding: str = "utf-8") -> str:
        return bytes(self).decode(encoding)


_SHADOWABLE_TYPES: tuple[type, ...] = (JsArray, list, JsBuffer, bytes, str, int, float)
_SHADOW_TYPES = {t: _shadow_type(JsArray if t is list else JsBuffer if t is bytes else t)
                 for t in _SHADOWABLE_TYPES}


def to_py(value: Any) -> Any:
    """Deep-convert proxies to plain Python containers."""
    if isinstance(value, dict):
        return {k: to_py(v) for k, v in dict.items(value)}
    if isinstance(value, (list, tuple)):
        return [to_py(v) for v in value]
    if isinstance(value, JsBuffer):
        return bytes(value)
    return value


def wrap(value: Any) -> Any:
    """Deep-convert plain Python containers to proxies (what Worker code receives)."""
    if isinstance(value, dict):
        return JsObject({k: wrap(v) for k, v in dict.items(value)})
    if isinstance(value, (list, tuple)):
        return JsArray(wrap(v) for v in value)
    if isinstance(value, (bytes, bytearray, memoryview)) and not isinstance(value, JsBuffer):
        return JsBuffer(bytes(value))
    return value


def to_js(value: Any, *, dict_converter: Any = None, create_pyproxies: bool = True, **_: Any) -> Any:
    """``pyodide.ffi.to_js``: tolerant here, it accepts anything and returns a JS-like value.

    ``dict_converter=Object.fromEntries`` (the idiom in Cloudflare's examples) is accepted and
    has the same effect as the default: a dict becomes a JS object.
    """
    if hasattr(value, "model_dump") and callable(value.model_dump):  # a pydantic model
        value = value.model_dump(mode="json")
    return wrap(value)


def create_proxy(obj: Any, **_: Any) -> Any:
    """``pyodide.ffi.create_proxy``: the object itself, with a no-op ``destroy()`` if missing."""
    if callable(obj) and not hasattr(obj, "destroy"):
        try:
            obj.destroy = lambda: None  # type: ignore[attr-defined]
        except (AttributeError, TypeError):
            pass
    return obj


def create_once_callable(obj: Any, **_: Any) -> Any:
    return obj


class _JsProxyMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, (JsObject, JsArray, JsBuffer))


class JsProxy(metaclass=_JsProxyMeta):
    """``pyodide.ffi.JsProxy``: isinstance() is true for every proxy value."""


class JsDate(_dt.datetime):
    """A JavaScript ``Date`` as Python Workers code sees it (a JsProxy with ``getTime()``),
    which is also a timezone-aware ``datetime`` so Python code can compare and format it."""

    def getTime(self) -> int:  # noqa: N802 - JS name
        return int(round(self.timestamp() * 1000))

    valueOf = getTime

    def toISOString(self) -> str:  # noqa: N802
        utc = self.astimezone(_dt.timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"

    def to_py(self, **_: Any) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.timestamp(), self.tzinfo or _dt.timezone.utc)

    @classmethod
    def from_ms(cls, ms: float) -> "JsDate":
        return cls.fromtimestamp(ms / 1000, _dt.timezone.utc)
