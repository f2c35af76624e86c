"""Regions and the latency between them: where callers run, where objects live, how far apart.

Cloudflare places a Durable Object near its first caller, or in the region a ``locationHint``
names (https://developers.cloudflare.com/durable-objects/reference/data-location/), and a
call from another region crosses the network. The emulator models that with nine regions (the
location hints), a symmetric matrix of one-way latencies, and the caller's region carried in
``course.workers.context.current_region``.

By default nothing has a region (``None``: the one default region) and every call is instant,
so a runtime behaves exactly as without this module. Name a caller's region to turn it on::

    client = rt.client(region="apac")                 # requests from Asia-Pacific
    stub = env.ROOMS.getByName("x", locationHint="weur")
    await stub.ping()                                 # 2 x one_way_ms("apac", "weur") on the clock

A request can also name its region with the ``x-course-region`` header or a ``cf.colo`` (an
IATA code such as ``"SIN"``).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

#: The regions, as Durable Objects ``locationHint`` values
#: (https://developers.cloudflare.com/durable-objects/reference/data-location/#provide-a-location-hint).
REGIONS: tuple[str, ...] = ("wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me")

REGION_NAMES: dict[str, str] = {
    "wnam": "Western North America", "enam": "Eastern North America", "sam": "South America",
    "weur": "Western Europe", "eeur": "Eastern Europe", "apac": "Asia-Pacific", "oc": "Oceania",
    "afr": "Africa", "me": "Middle East",
}

#: One-way latency in milliseconds between regions: an APPROXIMATION for teaching, not a
#: measurement. Basis: each region is represented by one hub (wnam San Jose, enam Ashburn, sam
#: Sao Paulo, weur London/Frankfurt, eeur Warsaw, apac Singapore, oc Sydney, afr Johannesburg,
#: me Dubai); the value is about half of the round-trip times commonly published for those city
#: pairs by public inter-region latency tables (light in fibre at ~200 km/ms over real cable
#: routes, which run 1.3-2x the great-circle distance), rounded to 5 ms. Within a region the
#: latency is not modelled (0 ms). The matrix is symmetric; :func:`one_way_ms` reads it.
ONE_WAY_LATENCY_MS: dict[frozenset[str], float] = {frozenset(pair.split("-")): ms for pair, ms in {
    "wnam-enam": 35, "wnam-sam": 90, "wnam-weur": 70, "wnam-eeur": 80, "wnam-apac": 85,
    "wnam-oc": 75, "wnam-afr": 140, "wnam-me": 115,
    "enam-sam": 60, "enam-weur": 40, "enam-eeur": 50, "enam-apac": 110, "enam-oc": 100,
    "enam-afr": 115, "enam-me": 95,
    "sam-weur": 95, "sam-eeur": 105, "sam-apac": 160, "sam-oc": 155, "sam-afr": 130, "sam-me": 150,
    "weur-eeur": 15, "weur-apac": 85, "weur-oc": 135, "weur-afr": 80, "weur-me": 55,
    "eeur-apac": 90, "eeur-oc": 140, "eeur-afr": 90, "eeur-me": 50,
    "apac-oc": 50, "apac-afr": 130, "apac-me": 45,
    "oc-afr": 140, "oc-me": 90,
    "afr-me": 65,
}.items()}

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


def one_way_ms(a: str | None, b: str | None, matrix: Mapping[frozenset[str], float] | None = None) -> float:
    """One-way latency between regions ``a`` and ``b`` (0 within a region or if either is None)."""
    if a is None or b is None or a == b:
        return 0.0
    return float((matrix or ONE_WAY_LATENCY_MS)[frozenset((a, b))])


def request_region(request: Any, explicit: str | None = None) -> str | None:
    """The region a request comes from: ``explicit``, else its ``x-course-region`` header, else
    its ``cf.colo``; None when none says."""
    if explicit is not None:
        return check_region(explicit)
    headers = getattr(request, "headers", None)
    named = headers.get(REGION_HEADER) if headers is not None else None
    if named:
        return check_region(named.strip().lower(), what=f"{REGION_HEADER} header")
    cf = getattr(request, "cf", None) or {}
    colo = cf.get("colo") if hasattr(cf, "get") else None
    if isinstance(colo, str):
        return COLO_REGIONS.get(colo.upper())
    return None


class NetworkModel:
    """The runtime's regions: the latency matrix in use and who is placed where.

    ``rt.regions`` (one per runtime). ``default`` is the region of code that names none (None:
    latency off for it). ``matrix`` may be replaced with another symmetric mapping.
    """

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.default: str | None = None
        self.matrix: dict[frozenset[str], float] = dict(ONE_WAY_LATENCY_MS)
        self._kv_base: float | None = None

    def one_way_ms(self, a: str | None, b: str | None) -> float:
        return one_way_ms(a, b, self.matrix)

    def caller_region(self) -> str | None:
        """The region of the code running now (``current_region``, else :attr:`default`)."""
        from course.workers.context import current_region

        region = current_region.get()
        return region if region is not None else self.default

    def placements(self) -> dict[str, str | None]:
        """Every placed Durable Object, as ``"BINDING:name" -> region``."""
        from course.runtime.objects.durable_objects import service

        out: dict[str, str | None] = {}
        for host in service(self.runtime).hosts.values():
            for hex_id, region in host.placement.items():
                out[f"{host.binding_name}:{host.names.get(hex_id, hex_id)}"] = region
        return out

    # -- KV propagation ----------------------------------------------------------------------
    def use_for_kv(self, base_seconds: float = 0.0) -> None:
        """Make KV propagation region-dependent: ``base_seconds`` plus the one-way latency.

        Off by default: KV then keeps its documented "up to 60 s" delay for every pair.
        """
        if base_seconds < 0:
            raise ValueError(f"base_seconds must be >= 0, got {base_seconds}")
        self._kv_base = base_seconds

    def kv_delay(self, src: Any, dst: Any) -> float | None:
        """Propagation seconds from ``src`` to ``dst`` under :meth:`use_for_kv`, else None."""
        if self._kv_base is None:
            return None
        if src == dst:
            return 0.0
        known = {r for r in (src, dst) if isinstance(r, str) and r in REGIONS}
        ms = self.one_way_ms(src, dst) if len(known) == 2 else 0.0
        return self._kv_base + ms / 1000.0

    def kv_max_delay(self) -> float:
        """The longest propagation delay under :meth:`use_for_kv` (0 when it is off)."""
        if self._kv_base is None:
            return 0.0
        return self._kv_base + max(self.matrix.values(), default=0.0) / 1000.0

    def __repr__(self) -> str:
        return f"<NetworkModel default={self.default!r} regions={len(REGIONS)}>"


def service(runtime: Any) -> NetworkModel:
    return runtime.service("regions", NetworkModel)


# -- calls across the network ------------------------------------------------------------------
#: What a caller sees when the network between it and a Durable Object fails, as workerd reports
#: it (https://developers.cloudflare.com/durable-objects/best-practices/error-handling/).
NETWORK_LOST_MESSAGE = "Network connection lost."


def network_error(message: str = NETWORK_LOST_MESSAGE) -> Exception:
    """The error of a lost connection: a JS ``Error`` with ``retryable = True``."""
    from course.workers.jsproxy import JsException

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


def caller_endpoint(runtime: Any) -> Endpoint:
    """Where the running code is: its region, its actor ("client", a Worker, "BINDING:name")."""
    from course.workers.context import current_actor, current_worker

    model = runtime.platform.get("regions")
    region = model.caller_region() if model is not None else None
    if region is None:
        from course.workers.context import current_region

        region = current_region.get()
    worker = getattr(current_worker.get(), "name", None)
    return Endpoint(region, current_actor.get(), worker)


def leg_ms(runtime: Any, src: Endpoint, dst: Endpoint, *, leg: str, **details: Any) -> float:
    """The one-way latency of a leg from ``src`` to ``dst`` (matrix plus injected latency), in ms.

    Records the leg as a ``"net"`` trace event when either side has a region or a latency
    fault applies (``details`` are added to it); the default single region records nothing.
    """
    faults = runtime.platform.get("faults")
    extra = faults.extra_latency_ms(src, dst) if faults is not None else 0.0
    model = runtime.platform.get("regions")
    base = model.one_way_ms(src.region, dst.region) if model is not None else one_way_ms(src.region, dst.region)
    ms = base + extra
    if src.region is not None or dst.region is not None or extra:
        runtime.trace.record("net", src=src.name, dst=dst.name, src_region=src.region, dst_region=dst.region,
                             ms=round(ms, 3), extra_ms=round(extra, 3), leg=leg, **details)
    return ms


async def transit(runtime: Any, src: Endpoint, dst: Endpoint, *, leg: str) -> None:
    """One leg of a call from ``src`` to ``dst``: partition check, then the latency on the clock."""
    import asyncio

    faults = runtime.platform.get("faults")
    if faults is not None:
        faults.check_link(src, dst, leg=leg)  # raises a network error if partitioned or dropped
    ms = leg_ms(runtime, src, dst, leg=leg)
    if ms > 0:
        await asyncio.sleep(ms / 1000.0)


async def call_object(host: Any, id: Any, hint: str | None, send: Callable[[], Any]) -> Any:
    """Deliver a call to a Durable Object through the network model.

    Places the object on its first call (``locationHint``, else the caller's region), then
    crosses the network both ways. With no regions and no faults it is just ``send()``.
    """
    runtime = host.runtime
    src = caller_endpoint(runtime)
    hex_id = id.toString()
    if id.name is not None:
        host.names.setdefault(hex_id, id.name)
    region = host.place(hex_id, hint, src.region)
    if src.region is None and region is None and runtime.platform.get("faults") is None:
        return await send()
    dst = Endpoint(region, f"{host.binding_name}:{host.names.get(hex_id, id.name or hex_id)}", host.binding_name)
    await transit(runtime, src, dst, leg="request")
    try:
        result = await send()
    except BaseException:
        await transit(runtime, dst, src, leg="response")
        raise
    await transit(runtime, dst, src, leg="response")
    return result


async def call_outbound(runtime: Any, url: str) -> None:
    """The request leg of an outbound ``fetch``: partitions and added latency by host name."""
    from urllib.parse import urlsplit

    if runtime.platform.get("faults") is None:
        return
    src = caller_endpoint(runtime)
    await transit(runtime, src, Endpoint(None, urlsplit(url).netloc or url), leg="request")
