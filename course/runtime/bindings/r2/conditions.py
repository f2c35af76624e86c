"""Conditional requests and byte ranges of R2 calls: ``onlyIf`` (RFC 7232) and ``range``.

Conditions may be an ``R2Conditional`` dict or a ``Headers`` object (If-Match, If-None-Match,
If-Modified-Since, If-Unmodified-Since); ranges ``{offset, length}``, ``{suffix}`` or a ``Range``
header. Reference: https://developers.cloudflare.com/r2/api/workers/workers-api-reference/.
"""
from __future__ import annotations

import re
from typing import Any

from course.runtime.bindings.r2.arguments import r2_error, to_datetime
from course.runtime.bindings.r2.store import R2Record
from course.workers.http import Headers
from course.workers.jsproxy import JsException

def _etags(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    out = []
    for item in items:
        tag = str(item).strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        out.append(tag.strip('"'))
    return out


def conditional_from(only_if: Any) -> dict[str, Any]:
    """An ``onlyIf`` option (an R2Conditional dict or a Headers object) as an R2Conditional dict."""
    if only_if is None:
        return {}
    if isinstance(only_if, Headers):
        cond: dict[str, Any] = {}
        if only_if.has("if-match"):
            cond["etagMatches"] = only_if.get("if-match")
        if only_if.has("if-none-match"):
            cond["etagDoesNotMatch"] = only_if.get("if-none-match")
        if only_if.has("if-modified-since"):
            cond["uploadedAfter"] = only_if.get("if-modified-since")
        if only_if.has("if-unmodified-since"):
            cond["uploadedBefore"] = only_if.get("if-unmodified-since")
        if cond:
            cond["secondsGranularity"] = True  # HTTP dates have whole seconds
        return cond
    if isinstance(only_if, dict):
        return dict(only_if)
    raise JsException(f"onlyIf must be an R2Conditional object or Headers, not {type(only_if).__name__}", "TypeError")


def condition_passes(record: R2Record | None, cond: dict[str, Any]) -> bool:
    """Evaluate an R2Conditional against an object (None: no object) as RFC 7232 orders it."""
    if not cond:
        return True
    if record is None:
        # Nothing to match: If-Match and If-Modified-Since cannot hold.
        return cond.get("etagMatches") is None and cond.get("uploadedAfter") is None
    if_match = None
    if cond.get("etagMatches") is not None:
        tags = _etags(cond["etagMatches"])
        if_match = "*" in tags or record.etag in tags
        if not if_match:
            return False
    if_none_match = None
    if cond.get("etagDoesNotMatch") is not None:
        tags = _etags(cond["etagDoesNotMatch"])
        if_none_match = not ("*" in tags or record.etag in tags)
        if not if_none_match:
            return False
    uploaded = record.uploaded
    if cond.get("secondsGranularity"):
        uploaded = uploaded.replace(microsecond=0)
    # RFC 7232 section 6: the date conditions apply only when the matching etag one is absent.
    if if_match is None and cond.get("uploadedBefore") is not None:
        if uploaded > to_datetime(cond["uploadedBefore"], "onlyIf.uploadedBefore"):
            return False
    if if_none_match is None and cond.get("uploadedAfter") is not None:
        if uploaded <= to_datetime(cond["uploadedAfter"], "onlyIf.uploadedAfter"):
            return False
    return True


def resolve_range(spec: Any, size: int) -> dict[str, int]:
    """``{offset, length}`` of a range option (``{offset, length}``, ``{suffix}``, Range header)."""
    if spec is None:
        return {"offset": 0, "length": size}
    if isinstance(spec, Headers):
        header = spec.get("range")
        if header is None:
            return {"offset": 0, "length": size}
        m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
        if m is None or (m[1] == "" and m[2] == ""):
            raise r2_error("get", "The requested range is not satisfiable", 10039)
        if m[1] == "":
            spec = {"suffix": int(m[2])}
        else:
            spec = {"offset": int(m[1])}
            if m[2] != "":
                spec["length"] = int(m[2]) - int(m[1]) + 1
    if not isinstance(spec, dict):
        raise JsException(f"range must be an R2Range object or Headers, not {type(spec).__name__}", "TypeError")
    for name in ("offset", "length", "suffix"):
        value = spec.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise JsException(f"range.{name} must be a non-negative integer, got {value!r}", "RangeError")
    if spec.get("suffix") is not None:
        if spec.get("offset") is not None or spec.get("length") is not None:
            raise JsException("range: suffix cannot be combined with offset or length", "TypeError")
        length = min(spec["suffix"], size)
        return {"offset": size - length, "length": length}
    offset = spec.get("offset") or 0
    if offset > size or (offset == size and size > 0):
        raise r2_error("get", "The requested range is not satisfiable", 10039)
    length = spec.get("length")
    length = size - offset if length is None else min(length, size - offset)
    return {"offset": offset, "length": length}
