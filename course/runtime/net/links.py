"""Calls across the network: the legs between a caller and a Durable Object or an upstream.

Every call that crosses regions goes through :func:`transit`: the partition check of the fault
injector, then the one-way latency of the region matrix (plus injected latency) on the runtime
clock, recorded as a ``"net"`` trace event. With one region and no faults a call is direct.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable
from urllib.parse import urlsplit

from course.runtime.net.endpoints import Endpoint
from course.runtime.net.faults import FAULTS
from course.runtime.net.regions import NETWORK, one_way_ms
from course.workers.context import current_actor, current_region, current_worker
from course.runtime.kernel.runtime import Kernel


def caller_endpoint(runtime: Kernel) -> Endpoint:
    """Where the running code is: its region, its actor ("client", a Worker, "BINDING:name")."""
    model = NETWORK.peek(runtime)
    region = model.caller_region() if model is not None else None
    if region is None:
        region = current_region.get()
    worker = getattr(current_worker.get(), "name", None)
    return Endpoint(region, current_actor.get(), worker)


def leg_ms(runtime: Kernel, src: Endpoint, dst: Endpoint, *, leg: str, **details: Any) -> float:
    """The one-way latency of a leg from ``src`` to ``dst`` (matrix plus injected latency), in ms.

    Records the leg as a ``"net"`` trace event when either side has a region or a latency
    fault applies (``details`` are added to it); the default single region records nothing.
    """
    faults = FAULTS.peek(runtime)
    extra = faults.extra_latency_ms(src, dst) if faults is not None else 0.0
    model = NETWORK.peek(runtime)
    base = model.one_way_ms(src.region, dst.region) if model is not None else one_way_ms(src.region, dst.region)
    ms = base + extra
    if src.region is not None or dst.region is not None or extra:
        runtime.trace.record("net", src=src.name, dst=dst.name, src_region=src.region, dst_region=dst.region,
                             ms=round(ms, 3), extra_ms=round(extra, 3), leg=leg, **details)
    return ms


async def transit(runtime: Kernel, src: Endpoint, dst: Endpoint, *, leg: str) -> None:
    """One leg of a call from ``src`` to ``dst``: partition check, then the latency on the clock."""
    faults = FAULTS.peek(runtime)
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
    if src.region is None and region is None and FAULTS.peek(runtime) is None:
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


async def call_outbound(runtime: Kernel, url: str) -> None:
    """The request leg of an outbound ``fetch``: partitions and added latency by host name."""
    if FAULTS.peek(runtime) is None:
        return
    src = caller_endpoint(runtime)
    await transit(runtime, src, Endpoint(None, urlsplit(url).netloc or url), leg="request")
