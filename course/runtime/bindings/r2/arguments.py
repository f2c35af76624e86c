"""The arguments Worker code passes to R2, checked and normalised: keys, bodies, metadata, options.

Each check raises the error Cloudflare raises (its message and R2 error code), so a Worker sees the
same failure here as in production. Limits: https://developers.cloudflare.com/r2/platform/limits/.
"""
from __future__ import annotations

import datetime as _dt
import email.utils
from typing import Any

from course.workers.http import Headers
from course.workers.jsproxy import JsException

#: Object key length: 1,024 bytes (limits page).
MAX_KEY_BYTES = 1024
#: Object metadata size: 8,192 bytes (limits page).
MAX_METADATA_BYTES = 8192
#: Maximum upload size (single part): 5 GiB less 5 MiB (limits page).
MAX_PUT_BYTES = 5 * 1024**3 - 5 * 1024**2

#: httpMetadata field -> the header that carries it.
HTTP_FIELDS = {
    "contentType": "content-type",
    "contentLanguage": "content-language",
    "contentDisposition": "content-disposition",
    "contentEncoding": "content-encoding",
    "cacheControl": "cache-control",
    "cacheExpiry": "expires",
}


def r2_error(op: str, message: str, code: int) -> JsException:
    """An R2 API error as workerd words it: ``<op>: <message> (<code>)``."""
    return JsException(f"{op}: {message} ({code})", "Error")


def validate_key(key: Any, op: str) -> str:
    if not isinstance(key, str):
        raise JsException(f"{op}: the key must be a string, not {type(key).__name__}", "TypeError")
    if key == "" or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise r2_error(op, "The specified object name is not valid.", 10020)
    return key


def to_datetime(value: Any, what: str) -> _dt.datetime:
    """A Date option (datetime, JS milliseconds, ISO or HTTP date string) as an aware datetime."""
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(value / 1000, _dt.timezone.utc)  # a JS Date's milliseconds
    if isinstance(value, str):
        try:
            return to_datetime(_dt.datetime.fromisoformat(value.replace("Z", "+00:00")), what)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)  # an HTTP date
            return to_datetime(parsed, what)
    raise JsException(f"{what} must be a Date (datetime), not {type(value).__name__}", "TypeError")


def body_bytes(value: Any) -> bytes:
    """The bytes of a value to store (string, ArrayBuffer, view, Blob or null)."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if hasattr(value, "to_bytes") and callable(value.to_bytes) and not isinstance(value, (int, bool)):
        return bytes(value.to_bytes())
    raise JsException("put: the value must be a string, ArrayBuffer, ArrayBufferView, ReadableStream, Blob or "
                      f"null (got {type(value).__name__})", "TypeError")


def parse_http_metadata(value: Any) -> dict[str, Any]:
    """An ``httpMetadata`` option (a dict or Headers) as stored: known fields, cacheExpiry in ms."""
    if value is None:
        return {}
    if isinstance(value, Headers):
        value = {name: value.get(header) for name, header in HTTP_FIELDS.items() if value.has(header)}
    if not isinstance(value, dict):
        raise JsException(f"httpMetadata must be an object or Headers, not {type(value).__name__}", "TypeError")
    out: dict[str, Any] = {}
    for name in HTTP_FIELDS:
        v = value.get(name)
        if v is None:
            continue
        if name == "cacheExpiry":
            out[name] = int(to_datetime(v, "httpMetadata.cacheExpiry").timestamp() * 1000)
        else:
            out[name] = str(v)
    return out


def parse_custom_metadata(value: Any, op: str) -> dict[str, str]:
    """A ``customMetadata`` option as string pairs, within MAX_METADATA_BYTES."""
    custom_in = value or {}
    if not isinstance(custom_in, dict):
        raise JsException("customMetadata must be an object of string values", "TypeError")
    custom = {str(k): str(v) for k, v in custom_in.items()}
    if sum(len(k.encode()) + len(v.encode()) for k, v in custom.items()) > MAX_METADATA_BYTES:
        raise r2_error(op, "Your metadata headers exceed the maximum allowed metadata size.", 10012)
    return custom


def parse_storage_class(value: Any) -> str:
    chosen = value or "Standard"
    if chosen not in ("Standard", "InfrequentAccess"):
        raise JsException(f'storageClass must be "Standard" or "InfrequentAccess", got {chosen!r}',
                          "TypeError")
    return chosen


def parse_options(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Options given as a dict (as in JavaScript) and/or keyword arguments (as Pyodide passes them)."""
    out: dict[str, Any] = {}
    for arg in args:
        if arg is None:
            continue
        if not isinstance(arg, dict):
            raise JsException(f"expected an options object, got {type(arg).__name__}", "TypeError")
        out.update(arg)
    out.update({k: v for k, v in kwargs.items() if v is not None})
    return out
