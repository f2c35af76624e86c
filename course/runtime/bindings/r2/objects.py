"""R2 objects as Worker code sees them: ``R2Object`` (metadata) and ``R2ObjectBody`` (with its body).

Reference: https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2object-definition.
"""
from __future__ import annotations

import datetime as _dt
import email.utils
import json
from typing import Any, Iterable

from course.runtime.bindings.r2.arguments import HTTP_FIELDS
from course.runtime.bindings.r2.store import R2Record
from course.workers.http import Headers, _Body
from course.workers.jsproxy import JsBuffer, JsException, to_py, wrap
from course.workers.streams import ReadableStream


class R2Object:
    """An object's metadata: key, version, size, etag, httpEtag, uploaded, httpMetadata, ..."""

    def __init__(self, record: R2Record, *, include: Iterable[str] = ("httpMetadata", "customMetadata"),
                 range: dict[str, int] | None = None, whole_range: bool = True) -> None:
        include = set(include)
        self.key = record.key
        self.version = record.version
        self.size = record.size
        self.etag = record.etag
        self.httpEtag = f'"{record.etag}"'
        self.uploaded = record.uploaded
        self.storageClass = record.storage_class
        http = dict(record.http_metadata)
        if "cacheExpiry" in http:
            http["cacheExpiry"] = _dt.datetime.fromtimestamp(http["cacheExpiry"] / 1000, _dt.timezone.utc)
        self.httpMetadata = wrap(http) if "httpMetadata" in include else None
        self.customMetadata = wrap(dict(record.custom_metadata)) if "customMetadata" in include else None
        # workerd reports the whole object as the range when none was asked for (conformance:
        # r2_metadata, head()).
        if range is None and whole_range:
            range = {"offset": 0, "length": record.size}
        self.range = wrap(range) if range is not None else None
        self.checksums = wrap({alg: JsBuffer(bytes.fromhex(h)) for alg, h in record.checksums.items()})
        self._record = record

    def writeHttpMetadata(self, headers: Headers) -> None:  # noqa: N802 - Cloudflare's name
        """Set the object's HTTP metadata as headers (Content-Type, Cache-Control, Expires...)."""
        for name, header in HTTP_FIELDS.items():
            value = self._record.http_metadata.get(name)
            if value is None:
                continue
            if name == "cacheExpiry":
                value = email.utils.format_datetime(
                    _dt.datetime.fromtimestamp(value / 1000, _dt.timezone.utc), usegmt=True)
            headers.set(header, value)

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def to_py(self, **_: Any) -> dict[str, Any]:
        return {k: to_py(v) for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r} size={self.size} etag={self.etag}>"


class R2ObjectBody(R2Object, _Body):
    """An object with its body: ``text()``, ``json()``, ``arrayBuffer()``, ``bytes()``, ``body``.

    The body reads once, like any Fetch body (``_Body``: ``bodyUsed``, ``text``, ``bytes``...).
    """

    def __init__(self, record: R2Record, data: bytes, range: dict[str, int]) -> None:
        super().__init__(record, range=range)
        self._init_body(data)

    @property
    def body(self) -> ReadableStream:
        """The (ranged) body as a ``ReadableStream`` (also its bytes); a Response accepts it as its body."""
        if self._body is None:
            self._body = b""
        return super().body  # type: ignore[return-value]

    async def blob(self) -> JsBuffer:
        return JsBuffer(self._consume())

    async def json(self, **kwargs: Any) -> Any:
        try:
            return wrap(json.loads(self._consume().decode("utf-8"), **kwargs))
        except (ValueError, UnicodeDecodeError):
            raise JsException("Unexpected token in JSON: the object is not valid JSON", "SyntaxError") from None
