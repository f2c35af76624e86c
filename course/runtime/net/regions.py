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

from typing import Any, Mapping

from course.runtime.kernel.plugins import ServiceSlot, durable_object_control
from course.runtime.kernel.regions import REGION_NAMES, REGIONS, check_region  # noqa: F401 - re-exported for users of the network model
from course.workers.context import current_region
from course.runtime.kernel.runtime import Kernel

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

def one_way_ms(a: str | None, b: str | None, matrix: Mapping[frozenset[str], float] | None = None) -> float:
    """One-way latency between regions ``a`` and ``b`` (0 within a region or if either is None)."""
    if a is None or b is None or a == b:
        return 0.0
    return float((matrix or ONE_WAY_LATENCY_MS)[frozenset((a, b))])


class NetworkModel:
    """The runtime's regions: the latency matrix in use and who is placed where.

    ``rt.regions`` (one per runtime). ``default`` is the region of code that names none (None:
    latency off for it). ``matrix`` may be replaced with another symmetric mapping.
    """

    def __init__(self, runtime: Kernel) -> None:
        self.runtime = runtime
        self.default: str | None = None
        self.matrix: dict[frozenset[str], float] = dict(ONE_WAY_LATENCY_MS)
        self._kv_base: float | None = None

    def one_way_ms(self, a: str | None, b: str | None) -> float:
        return one_way_ms(a, b, self.matrix)

    def caller_region(self) -> str | None:
        """The region of the code running now (``current_region``, else :attr:`default`)."""
        region = current_region.get()
        return region if region is not None else self.default

    def placements(self) -> dict[str, str | None]:
        """Every placed Durable Object, as ``"BINDING:name" -> region``."""
        try:
            return durable_object_control(self.runtime).placements()
        except KeyError:
            return {}

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


#: The runtime's network model (``rt.regions``).
NETWORK: ServiceSlot[NetworkModel] = ServiceSlot("regions", NetworkModel)
