"""``FormData``: form fields as a multi-valued mapping, parsed from and encoded to request bodies.

The Python SDK's ``FormData`` is a ``MutableMapping`` (``form["name"]``, ``append``,
``get_all``, ``delete``) over the Fetch FormData
(https://developer.mozilla.org/en-US/docs/Web/API/FormData). Bodies are read from
``application/x-www-form-urlencoded`` or ``multipart/form-data`` and written as multipart.
"""
from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Iterator
from urllib.parse import parse_qsl

from course.workers.blob import Blob, File

FormDataValue = "str | Blob | File"


class FormData(MutableMapping):
    """Ordered (name, value) pairs; a value is a str or a ``File``."""

    def __init__(self, form_data: Any = None) -> None:
        self._items: list[tuple[str, Any]] = []
        if not form_data:
            return
        if isinstance(form_data, FormData):
            self._items = list(form_data._items)
        elif isinstance(form_data, dict):
            for k, v in form_data.items():
                self.append(k, v)
        else:
            raise TypeError("Expected form_data to be a dict or an instance of FormData")

    @staticmethod
    def _value(value: Any, filename: str | None = None) -> Any:
        if isinstance(value, Blob):
            if filename is not None or not isinstance(value, File):
                return File(value, filename or "blob", content_type=value.content_type)
            return value
        return str(value)

    def __getitem__(self, key: str) -> Any:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, list):
            raise TypeError("Expected single item in arguments to FormData.__setitem__")
        value = self._value(value)
        out, placed = [], False
        for k, v in self._items:
            if k == key:
                if not placed:
                    out.append((k, value))
                    placed = True
            else:
                out.append((k, v))
        if not placed:
            out.append((key, value))
        self._items = out

    def append(self, key: str, value: Any, filename: str | None = None) -> None:
        self._items.append((key, self._value(value, filename)))

    def delete(self, key: str) -> None:
        self._items = [(k, v) for k, v in self._items if k != key]

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._items)

    def has(self, key: str) -> bool:
        return key in self

    def get_all(self, key: str) -> list[Any]:
        return [v for k, v in self._items if k == key]

    getAll = get_all  # noqa: N815 - JS name

    def __iter__(self) -> Iterator[str]:
        seen: list[str] = []
        for k, _ in self._items:
            if k not in seen:
                seen.append(k)
        return iter(seen)

    def __len__(self) -> int:
        return len(list(iter(self)))

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        return iter(list(self._items))

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        return iter([v for _, v in self._items])

    @property
    def js_object(self) -> "FormData":
        return self

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"

    # -- wire format ---------------------------------------------------------------------------
    def encode(self) -> tuple[bytes, str]:
        """The multipart/form-data body and its content-type (boundary derived from the content,
        so the same form always encodes the same way)."""
        parts = []
        for name, value in self._items:
            quoted = name.replace('"', "%22")
            if isinstance(value, File):
                ctype = value.content_type or "application/octet-stream"
                head = (f'Content-Disposition: form-data; name="{quoted}"; filename="{value.name}"\r\n'
                        f"Content-Type: {ctype}\r\n\r\n")
                parts.append((head.encode(), value._data))
            else:
                head = f'Content-Disposition: form-data; name="{quoted}"\r\n\r\n'
                parts.append((head.encode(), value.encode("utf-8")))
        digest = hashlib.sha256(b"".join(h + d for h, d in parts)).hexdigest()[:24]
        boundary = f"----formdata-course-{digest}"
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + h + d + b"\r\n" for h, d in parts)
        body += b"--" + boundary.encode() + b"--\r\n"
        return body, f"multipart/form-data; boundary={boundary}"

    @classmethod
    def parse(cls, body: bytes, content_type: str | None) -> "FormData":
        """Parse a url-encoded or multipart body; anything else is a TypeError as in workerd."""
        ctype = (content_type or "").split(";")[0].strip().lower()
        form = cls()
        if ctype == "application/x-www-form-urlencoded":
            for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
                form.append(k, v)
            return form
        if ctype == "multipart/form-data":
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)  # type: ignore[union-attr]
            if not message.is_multipart():
                raise TypeError("Failed to parse body as FormData: malformed multipart body")
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                filename = part.get_filename()
                payload = part.get_payload(decode=True) or b""
                if filename is not None:
                    form.append(name, File([payload], filename, content_type=part.get_content_type()))
                else:
                    form.append(name, payload.decode(part.get_content_charset() or "utf-8"))
            return form
        raise TypeError(f"Failed to parse body as FormData: unsupported content-type {content_type!r} "
                        "(use application/x-www-form-urlencoded or multipart/form-data)")
