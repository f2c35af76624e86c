"""The runtime a notebook or a test holds: the kernel, every binding plugin, and the controls.

:class:`Runtime` is the kernel (:class:`course.runtime.kernel.runtime.Kernel`: loop, clock,
trace, dispatch) with the registry's binding plugins installed, the outbound network, and the
handles a learner uses from Python: in-process HTTP and WebSocket clients, the fault injector,
the region model, Workers AI controls, and Durable Object inspection and faults.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from course.runtime.bindings.ai.service import AI, AiService
from course.runtime.edges.fetch import fetch_on_loop, request_for
from course.runtime.edges.sessions import AsyncWebSocketSession, WebSocketSession, connect, connect_async
from course.runtime.edges.transport import AsyncWorkerTransport, WorkerTransport
from course.runtime.kernel.regions import check_region
from course.runtime.kernel.runtime import DEFAULT_BASE_URL, Kernel
from course.runtime.net.faults import FAULTS, Faults
from course.runtime.net.network import Network
from course.runtime.net.regions import NETWORK, NetworkModel
from course.runtime.objects import durable_objects
from course.runtime.objects.websocket_wire import WEBSOCKET_WIRE
from course.runtime.registry import PLUGINS, UNSUPPORTED
from course.workers.http import Response


class Runtime(Kernel):
    """An emulated Cloudflare Workers platform hosting one or more Workers."""

    def __init__(self, *, virtual_time: bool = False, seed: int = 0, persist_to: str | Path | None = None,
                 echo_logs: bool = False) -> None:
        super().__init__(virtual_time=virtual_time, seed=seed, persist_to=persist_to, echo_logs=echo_logs,
                         plugins=PLUGINS, unsupported=UNSUPPORTED)
        self.network = Network(self)
        WEBSOCKET_WIRE.of(self)  # WebSocketPair (course.workers) finds it in self.services

    # -- controls ------------------------------------------------------------------------------
    @property
    def faults(self) -> Faults:
        """The seeded fault injector (partitions, latency, drops, crashes...)."""
        return FAULTS.of(self)

    @property
    def regions(self) -> NetworkModel:
        """The network model (regions, latency matrix, placements)."""
        return NETWORK.of(self)

    @property
    def ai(self) -> AiService:
        """Workers AI controls (scripts, faults, backends)."""
        return AI.of(self)

    # -- Durable Objects -----------------------------------------------------------------------
    def evict(self, binding: str, name: Any) -> bool:
        """Evict a Durable Object from memory (storage and alarm stay); False if it was not live."""
        return durable_objects.evict(self, binding, name)

    def crash(self, binding: str, name: Any, *, code_update: bool = False) -> bool:
        """Reset a Durable Object: its in-flight requests fail, unconfirmed writes are lost."""
        return durable_objects.crash(self, binding, name, code_update=code_update)

    def objects(self, binding: str | None = None) -> list[durable_objects.ObjectInfo]:
        """The Durable Objects in memory (all, or one binding's)."""
        return durable_objects.objects(self, binding)

    def storage(self, binding: str, name: Any) -> durable_objects.StorageView:
        """A read view of one Durable Object's storage (``.kv()``, ``.sql(q)``, ``.alarm()``)."""
        return durable_objects.storage_view(self, binding, name)

    # -- clients -------------------------------------------------------------------------------
    def client(self, *, worker: str | None = None, base_url: str = DEFAULT_BASE_URL, region: str | None = None,
               test_scheduled: bool = False, cf: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Client:
        """A synchronous httpx client that reaches a Worker in-process (no sockets).

        ``region`` ("apac", "weur"...) is where its requests come from (course.runtime.net.regions);
        ``cf`` is every request's ``request.cf`` (e.g. ``{"colo": "SIN"}``: a request from
        Singapore, so from "apac"); ``test_scheduled`` answers ``/__scheduled?cron=...`` like
        ``course serve --test-scheduled`` (``/cdn-cgi/handler/scheduled`` always fires the
        scheduled handler).
        """
        transport = WorkerTransport(self, worker=worker, region=check_region(region), test_scheduled=test_scheduled,
                                    cf=cf)
        return httpx.Client(transport=transport, base_url=base_url, **kwargs)

    def async_client(self, *, worker: str | None = None, base_url: str = DEFAULT_BASE_URL,
                     region: str | None = None, test_scheduled: bool = False, cf: dict[str, Any] | None = None,
                     **kwargs: Any) -> httpx.AsyncClient:
        """An async httpx client that reaches a Worker in-process from any event loop (see :meth:`client`)."""
        transport = AsyncWorkerTransport(self, worker=worker, region=check_region(region),
                                         test_scheduled=test_scheduled, cf=cf)
        return httpx.AsyncClient(transport=transport, base_url=base_url, **kwargs)

    async def fetch(self, resource: Any, init: Any = None, *, worker: str | None = None, region: str | None = None,
                    base_url: str = DEFAULT_BASE_URL, test_scheduled: bool = False, **kwargs: Any) -> Response:
        """Send a request to a Worker in-process and return the Worker's ``Response``, with no HTTP
        client in between (what ``SELF.fetch`` is in vitest-pool-workers); await it from any loop.

        ``resource`` is a path (``"/do/counter?run=1"``, resolved against ``base_url``), an absolute
        URL or a ``Request``; ``init`` and keyword arguments are the Fetch API's (``method=``,
        ``headers=``, ``body=``, ``cf=``). ``region`` and ``test_scheduled`` are the clients'. Read the
        answer as Worker code does: ``response.status``, ``response.headers``,
        ``await response.json()``. No httpx request or response is built: a load test pays for
        the Worker and the runtime only (figures in bench/README.md). From another loop each
        request crosses to the runtime's thread and back; a coroutine run by ``rt.call(...)``
        is on the runtime's loop already, where ``rt.fetch`` awaits the Worker directly (about
        1.5x the rate on a Durable Object route).
        """
        request = request_for(resource, init, base_url=base_url, **kwargs)
        return await self.call_async(fetch_on_loop(self, request, worker=worker, region=check_region(region),
                                                   test_scheduled=test_scheduled))

    def websocket(self, path: str, *, worker: str | None = None, region: str | None = None, headers: Any = None,
                  base_url: str = DEFAULT_BASE_URL) -> WebSocketSession:
        """Open a WebSocket to a Worker in-process: a blocking session with ``send``,
        ``receive(timeout=)`` and ``close``."""
        return connect(self, path, worker=worker, region=check_region(region), headers=headers, base_url=base_url)

    async def async_websocket(self, path: str, *, worker: str | None = None, region: str | None = None,
                              headers: Any = None, base_url: str = DEFAULT_BASE_URL) -> AsyncWebSocketSession:
        """The async twin of :meth:`websocket`, usable from any event loop."""
        return await connect_async(self, path, worker=worker, region=check_region(region), headers=headers,
                                   base_url=base_url)

    def __enter__(self) -> "Runtime":
        return self

    def __repr__(self) -> str:
        mode = "virtual" if self.clock.virtual else "real"
        return f"<Runtime #{self.id} {mode} time, workers={list(self.workers)}>"


def load(path: str | Path, *, virtual_time: bool = False, seed: int = 0,
         persist_to: str | Path | None = None, echo_logs: bool = False) -> Runtime:
    """Load the Worker project at ``path`` into a new runtime and return the runtime."""
    rt = Runtime(virtual_time=virtual_time, seed=seed, persist_to=persist_to, echo_logs=echo_logs)
    try:
        rt.add_project(path)
    except BaseException:
        rt.close()
        raise
    return rt
