"""Durable Object ids: 64 hex digits bound to a namespace and a jurisdiction.

An id is 48 hex digits of body (a hash of the name for ``idFromName``, seeded random for
``newUniqueId``) and a 16-digit tag that binds it to its namespace and jurisdiction, so that
``idFromString`` can refuse an id made elsewhere, as Cloudflare does
(https://developers.cloudflare.com/durable-objects/api/id/).
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

from course.workers.jsproxy import JsException

#: locationHint values (https://developers.cloudflare.com/durable-objects/reference/data-location/).
LOCATION_HINTS = frozenset({"wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"})

#: Jurisdictions a namespace or newUniqueId() may be restricted to
#: (https://developers.cloudflare.com/durable-objects/reference/data-location/; "us" since
#: https://developers.cloudflare.com/changelog/post/2026-06-26-durable-objects-us-jurisdiction/).
JURISDICTIONS = frozenset({"eu", "us", "fedramp", "fedramp-high"})

HEX64 = re.compile(r"[0-9a-f]{64}")


def id_tag(key: str, jurisdiction: str | None, body: str) -> str:
    """The last 16 hex digits of an id of namespace ``key`` (``script:class``) in ``jurisdiction``."""
    scope = key if jurisdiction is None else f"{key}@{jurisdiction}"
    return hashlib.sha256(f"{scope}|{body}".encode()).hexdigest()[:16]


def jurisdiction_of(key: str, hex_id: str) -> tuple[bool, str | None]:
    """(valid for namespace ``key``, the id's jurisdiction) for a 64-hex-digit id."""
    body, tag = hex_id[:48], hex_id[48:]
    for jurisdiction in (None, *sorted(JURISDICTIONS)):
        if id_tag(key, jurisdiction, body) == tag:
            return True, jurisdiction
    return False, None


def check_jurisdiction(value: Any) -> str:
    if value not in JURISDICTIONS:
        raise JsException(f"Invalid jurisdiction {value!r}; use one of {sorted(JURISDICTIONS)}", "TypeError")
    return value


class DurableObjectId:
    """A Durable Object id: 64 hex digits; ``toString()``, ``name``, ``jurisdiction``, ``equals()``.

    ``name`` is set for ids from ``idFromName``/``getByName`` (None for ``newUniqueId`` and
    ``idFromString``); ``jurisdiction`` for ids made in a jurisdiction-restricted namespace
    (https://developers.cloudflare.com/durable-objects/api/id/).
    """

    __slots__ = ("_hex", "name", "namespace_key", "jurisdiction")

    def __init__(self, hex_id: str, name: str | None, namespace: str, jurisdiction: str | None = None) -> None:
        self._hex = hex_id
        self.name = name
        #: ``script:class`` of the namespace that made it
        self.namespace_key = namespace
        self.jurisdiction = jurisdiction

    def toString(self) -> str:  # noqa: N802 - Cloudflare's name
        return self._hex

    to_string = toString

    def equals(self, other: Any) -> bool:
        return isinstance(other, DurableObjectId) and other._hex == self._hex

    def __eq__(self, other: object) -> bool:
        return self.equals(other)

    def __hash__(self) -> int:
        return hash(self._hex)

    def __str__(self) -> str:
        return self._hex

    def __repr__(self) -> str:
        return f"DurableObjectId({self._hex[:12]}…{', name=' + repr(self.name) if self.name else ''})"
