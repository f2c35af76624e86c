"""Region names, and the region a request says it comes from.

Cloudflare runs a Worker near its caller and places a Durable Object near its first caller or
where a ``locationHint`` says. The kernel only needs the names and how a request carries them;
the latency between regions is the network model's (``course.runtime.net.regions``).
"""
from __future__ import annotations

from typing import Any

from course.workers.http import Request

#: The regions, as Durable Objects ``locationHint`` values
#: (https://developers.cloudflare.com/durable-objects/reference/data-location/#provide-a-location-hint).
REGIONS: tuple[str, ...] = ("wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me")

REGION_NAMES: dict[str, str] = {
    "wnam": "Western North America", "enam": "Eastern North America", "sam": "South America",
    "weur": "Western Europe", "eeur": "Eastern Europe", "apac": "Asia-Pacific", "oc": "Oceania",
    "afr": "Africa", "me": "Middle East",
}

#: A few Cloudflare colos (IATA airport codes, as in ``request.cf.colo``) and their region, so a
#: request carrying ``cf={"colo": "SIN"}`` runs in "apac". Unknown colos leave the region unset.
COLO_REGIONS: dict[str, str] = {
    **dict.fromkeys(("SJC", "SFO", "LAX", "SEA", "PDX", "DEN", "PHX", "YVR", "SLC"), "wnam"),
    **dict.fromkeys(("IAD", "EWR", "JFK", "ATL", "ORD", "BOS", "MIA", "DFW", "YYZ", "YUL"), "enam"),
    **dict.fromkeys(("GRU", "GIG", "EZE", "SCL", "BOG", "LIM"), "sam"),
    **dict.fromkeys(("LHR", "CDG", "FRA", "AMS", "MAD", "DUB", "MXP", "ZRH", "BRU", "LIS"), "weur"),
    **dict.fromkeys(("WAW", "PRG", "VIE", "BUD", "OTP", "SOF", "HEL", "KBP"), "eeur"),
    **dict.fromkeys(("SIN", "NRT", "HND", "HKG", "ICN", "BOM", "DEL", "TPE", "KUL", "BKK"), "apac"),
    **dict.fromkeys(("SYD", "MEL", "BNE", "PER", "AKL"), "oc"),
    **dict.fromkeys(("JNB", "CPT", "NBO", "LOS", "CAI"), "afr"),
    **dict.fromkeys(("DXB", "DOH", "TLV", "RUH", "BAH", "AMM"), "me"),
}

#: The request header that names the caller's region (an emulator convention, not Cloudflare's).
REGION_HEADER = "x-course-region"


def check_region(region: Any, *, what: str = "region") -> str | None:
    """``region`` if it is one of :data:`REGIONS` (or None); otherwise a clear ValueError."""
    if region is None or region in REGIONS:
        return region
    raise ValueError(f"unknown {what} {region!r}; use one of {', '.join(REGIONS)} "
                     "(https://developers.cloudflare.com/durable-objects/reference/data-location/)")


def request_region(request: Any, explicit: str | None = None) -> str | None:
    """The region a request comes from: ``explicit``, else its ``x-course-region`` header, else
    its ``cf.colo``; None when none says."""
    if explicit is not None:
        return check_region(explicit)
    if type(request) is Request and not request.cf and not request.headers._items:
        return None  # nothing to say where it comes from (the in-process clients' usual request)
    headers = getattr(request, "headers", None)
    named = headers.get(REGION_HEADER) if headers is not None else None
    if named:
        return check_region(named.strip().lower(), what=f"{REGION_HEADER} header")
    cf = getattr(request, "cf", None)
    if not cf:
        return None
    colo = cf.get("colo") if hasattr(cf, "get") else None
    if isinstance(colo, str):
        return COLO_REGIONS.get(colo.upper())
    return None
