"""The two ends of a network leg, and the error a lost connection raises.

Shared by the fault injector (which decides whether a leg is partitioned) and the calls that
cross the network (``course.runtime.net.links``).
"""
from __future__ import annotations

from typing import Any

from course.workers.jsproxy import JsException

#: What a caller sees when the network between it and a Durable Object fails, as workerd reports
#: it (https://developers.cloudflare.com/durable-objects/best-practices/error-handling/).
NETWORK_LOST_MESSAGE = "Network connection lost."


def network_error(message: str = NETWORK_LOST_MESSAGE) -> Exception:
    """The error of a lost connection: a JS ``Error`` with ``retryable = True``."""
    err = JsException(message, "Error")
    err.retryable = True  # type: ignore[attr-defined]
    err.remote = False  # type: ignore[attr-defined]
    return err


class Endpoint:
    """One side of a network leg: its region and the names a fault rule may use for it."""

    __slots__ = ("region", "names")

    def __init__(self, region: str | None, *names: Any) -> None:
        self.region = region
        self.names = tuple(str(n) for n in names if n) + ((region,) if region else ())

    @property
    def name(self) -> str:
        return self.names[0] if self.names else "?"

    def __repr__(self) -> str:
        return f"Endpoint({self.name!r}, region={self.region!r})"
