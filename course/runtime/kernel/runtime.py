"""The kernel of the emulated Workers platform: one event loop, one clock, one trace, many Workers.

A :class:`Kernel` owns a private asyncio loop on its own thread. Every piece of Worker code
runs there, one task at a time, so the emulation is deterministic and works the same from a
plain script, pytest, or a Jupyter kernel that already runs a loop of its own. Callers reach it
through :meth:`Runtime.call` (blocking) or :meth:`Runtime.call_async` (awaitable), which is what
the httpx transports in :mod:`course.runtime.edges.transport` do.

The kernel knows nothing of particular bindings: they plug in as
:class:`~course.runtime.kernel.plugins.BindingPlugin` objects (the list is
``course.runtime.registry.PLUGINS``) and keep their runtime-wide state in typed service slots
(:class:`~course.runtime.kernel.plugins.ServiceSlot`). ``course.runtime.platform.Runtime`` adds
the conveniences a notebook uses (clients, faults, inspection) on top of it.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import hashlib
import inspect
import itertools
import random
import sys
import threading
import time as _time
import traceback
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import CoroutineType
from typing import Any, Awaitable, Callable, Iterable, Protocol, TypeVar

from course.workers.context import current_actor, current_region, current_runtime, current_worker
from course.workers.entrypoints import ExecutionContext
from course.workers.http import Request, Response
from course.workers.jsproxy import JsException

from course.runtime.kernel.plugins import BindingPlugin, UnsupportedBinding, plugins_for, unsupported_in
from course.runtime.kernel.regions import request_region
from course.runtime.kernel.clock import Clock, RuntimeEventLoop, bind_thread, install_time_patch
from course.runtime.kernel.mailbox import Mailbox
from course.runtime.kernel.cpu_limit import EXCEEDED_RESPONSE, CpuTimeLimitExceeded, LoopWatchdog, configured_cpu_ms
from course.runtime.kernel.config import ConfigError, config_from_dict, load_config
from course.runtime.kernel.trace import Trace
from course.runtime.kernel.worker import Worker, call_relaxed, import_main, install_handler_imports, relaxed_args

T = TypeVar("T")

#: Base URL of the in-process client: what ``wrangler dev`` listens on by default.
DEFAULT_BASE_URL = "http://localhost:8787"

_runtime_ids = itertools.count(1)

#: The fields of the three events of every request (one shared tuple each: Trace.record_row).
_REQUEST_KEYS = ("id", "worker", "method", "url", "path", "source")
_HANDLER_KEYS = ("id", "worker", "handler")
_RESPONSE_KEYS = ("id", "worker", "status", "wall_ms")

#: What workerd answers when a request's handler waits on something that can never happen.
NEVER_RESPONDS = ("The script will never generate a response: the handler is waiting on something "
                  "that no timer, I/O or other request can ever complete.")


@dataclass(frozen=True)
class LogLine:
    t: float
    level: str
    message: str
    worker: str | None = None


class OutboundFetch(Protocol):
    """Where a Worker's outbound ``fetch`` goes (``course.runtime.net.network.Network``)."""

    async def outbound_fetch(self, request: Request) -> Response: ...


class Kernel:
    """The loop, clock, trace, Workers and dispatch of an emulated Workers platform."""

    #: Seconds of inactivity (virtual on virtual time) before a Durable Object is evicted;
    #: None means durable_objects.IDLE_EVICTION_SECONDS, float("inf") never evicts.
    do_idle_timeout: float | None = None

    #: Where outbound ``fetch`` and ``passThroughOnException`` go; the platform sets it.
    network: OutboundFetch

    def __init__(self, *, virtual_time: bool = False, seed: int = 0, persist_to: str | Path | None = None,
                 echo_logs: bool = False, plugins: tuple[BindingPlugin, ...] = (),
                 unsupported: tuple[UnsupportedBinding, ...] = ()) -> None:
        self.id = next(_runtime_ids)
        self.seed = seed
        self.clock = Clock(virtual=virtual_time)
        self.clock.runtime = self
        if virtual_time:
            install_time_patch()
        install_handler_imports()
        self.trace = Trace(self.clock)
        self.plugins = plugins
        self.unsupported = unsupported
        self.persist_to = Path(persist_to).resolve() if persist_to is not None else None
        self.workers: dict[str, Worker] = {}
        self.main: Worker | None = None
        #: Runtime-wide services by name, created through their ServiceSlot on first use.
        self.services: dict[str, Any] = {}
        self.logs: list[LogLine] = []
        self.echo_logs = echo_logs
        self._request_ids = itertools.count(1)
        self._background: set[asyncio.Task[Any]] = set()
        self._held: set[asyncio.Task[Any]] = set()
        self._stalled: set[asyncio.Task[Any]] = set()
        self._closed = False
        #: stops a stretch of Worker code that runs past the CPU-time limit (kernel/cpu_limit.py)
        self.watchdog = LoopWatchdog()
        self._loop = RuntimeEventLoop(self.clock, self.watchdog, before_wait=self._before_wait)
        #: work handed in from other threads (call, call_async), one wake-up of the loop per batch
        self._inbox = Mailbox(self._loop)
        #: where results go back, one mailbox per caller loop (see Mailbox)
        self._replies: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Mailbox] = weakref.WeakKeyDictionary()
        self._replies_lock = threading.Lock()
        #: wake-ups of other threads, sent when the loop is about to wait (see when_waiting)
        self._on_wait: list[Callable[[], None]] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run_loop, name=f"course-runtime-{self.id}", daemon=True)
        self._thread.start()
        self._thread_ident = self._thread.ident
        self._ready.wait()
        self.watchdog.start(self._thread)

    # -- the loop thread ---------------------------------------------------------------------
    def _run_loop(self) -> None:
        bind_thread(self.clock)
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        try:
            self._loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            finally:
                self._before_wait()
                self._loop.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def on_loop_thread(self) -> bool:
        return threading.get_ident() == self._thread_ident

    async def _enter(self, awaitable: Awaitable[T], hold: bool) -> T:
        current_runtime.set(self)
        self.clock.note_arrival()
        task = asyncio.current_task()
        if hold:
            self.clock.hold()
            self._held.add(task)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if task in self._stalled:
                raise JsException(NEVER_RESPONDS, "Error") from None
            raise
        finally:
            if hold:
                self.clock.release()
                self._held.discard(task)
                self._stalled.discard(task)

    def _fail_stalled_callers(self) -> None:
        """Callers wait on work that nothing can ever finish; fail them, as workerd
        fails a request whose promise can never settle."""
        for task in list(self._held):
            if not task.done() and task not in self._stalled:
                self._stalled.add(task)
                self.trace.record("stalled", task=task.get_name())
                task.cancel()

    def call(self, awaitable: Awaitable[T], *, hold: bool = True, timeout: float | None = None) -> T:
        """Run ``awaitable`` on the runtime's loop and block until it is done.

        ``hold`` lets virtual time jump over idle waits while the caller waits.
        """
        if self._closed:
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # never run: no "was never awaited" warning on top of the error
            raise RuntimeError("this runtime is closed")
        if self.on_loop_thread():
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise RuntimeError("blocking call into the runtime from Worker code; await it instead "
                               "(use rt.async_client() or fetch inside a Worker)")
        done = threading.Lock()
        done.acquire()
        started: list[asyncio.Task[T]] = []

        def start() -> None:
            task = self._loop.create_task(self._enter(awaitable, hold))
            started.append(task)
            task.add_done_callback(lambda _t: self.when_waiting(done.release))

        self._inbox.post(start)
        if not done.acquire(timeout=-1 if timeout is None else timeout):
            self._inbox.post(_cancel_started, started)
            raise TimeoutError(f"the runtime did not finish within {timeout} s") from None
        task = started[0]
        if task.cancelled():
            raise concurrent.futures.CancelledError()
        return task.result()

    async def call_async(self, awaitable: Awaitable[T], *, hold: bool = True) -> T:
        """Await ``awaitable`` on the runtime's loop from any other event loop."""
        if self._closed or self._loop.is_closed():
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise RuntimeError("this runtime is closed")
        if self.on_loop_thread():
            return await awaitable
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        start = _StartFrom(self, awaitable, hold, self._reply_box(loop), future)
        self._inbox.post_from(loop, start)
        try:
            return await future
        except asyncio.CancelledError:
            if future.cancelled():  # our caller was cancelled: so is the work on the runtime
                self._inbox.post(start.cancel)
            raise

    def _reply_box(self, loop: asyncio.AbstractEventLoop) -> Mailbox:
        box = self._replies.get(loop)
        if box is None:
            with self._replies_lock:
                box = self._replies.get(loop)
                if box is None:
                    box = self._replies[loop] = Mailbox(loop, defer=self.when_waiting)
        return box

    def when_waiting(self, wake: Callable[[], None]) -> None:
        """Run ``wake`` (on the loop) once the loop has run everything ready and is about to wait.

        Used to hand results to other threads: woken any earlier, a caller thread would contend
        for the GIL with the runtime's remaining work (every SQLite call releases it).
        """
        self._on_wait.append(wake)

    def _before_wait(self) -> None:
        if self._on_wait:
            wakes, self._on_wait = self._on_wait, []
            for wake in wakes:
                wake()

    def run_on_loop(self, fn: Callable[[], T]) -> T:
        """Run the plain function ``fn`` on the runtime's loop and return its result.

        The one way code outside the loop (a notebook, a test, the HTTP server) touches loop-owned
        state such as an object's storage: at once when already on the loop, else blocking until
        the loop has run it (without holding virtual time).
        """
        if self.on_loop_thread():
            return fn()
        return self.call(self._run_fn(fn), hold=False)

    async def run_on_loop_async(self, fn: Callable[[], T]) -> T:
        """The awaitable twin of :meth:`run_on_loop`, from any event loop."""
        if self.on_loop_thread():
            return fn()
        return await self.call_async(self._run_fn(fn), hold=False)

    async def _run_fn(self, fn: Callable[[], T]) -> T:
        return fn()

    # -- randomness --------------------------------------------------------------------------
    def rng(self, purpose: str) -> random.Random:
        """A random stream for one purpose, fixed by the seed (adding a purpose shifts no other)."""
        digest = hashlib.sha256(f"{self.seed}:{purpose}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    # -- state on disk -----------------------------------------------------------------------
    def state_path(self, *parts: str) -> Path | None:
        """Where a binding keeps its state under ``persist_to`` (None: in memory)."""
        if self.persist_to is None:
            return None
        path = self.persist_to.joinpath("v3", *parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    # -- Workers -----------------------------------------------------------------------------
    def add_project(self, directory: str | Path) -> Worker:
        """Load a Worker project (a folder with a wrangler config) into this runtime."""
        config = load_config(directory)
        project = import_main(config)
        return self._install(Worker(self, config, dict(project.module.__dict__), project))

    def add_worker(self, entrypoint: type | None = None, *, name: str = "worker",
                   config: dict[str, Any] | None = None, exports: dict[str, Any] | None = None,
                   vars: dict[str, Any] | None = None, durable_objects: dict[str, type] | None = None,
                   kv_namespaces: Iterable[str] = (), d1_databases: Iterable[str] = (),
                   r2_buckets: Iterable[str] = (), ai: str | None = None) -> Worker:
        """Add a Worker defined in code (a notebook) with bindings declared in code.

        ``durable_objects={"AGENT": AgentClass}`` binds a namespace; ``kv_namespaces=["CACHE"]``
        and the like bind stores; ``config`` takes anything else in wrangler's schema.
        """
        data: dict[str, Any] = {"name": name, **(config or {})}
        all_exports: dict[str, Any] = dict(exports or {})
        if entrypoint is not None:
            all_exports["Default"] = entrypoint
        if vars:
            data["vars"] = {**data.get("vars", {}), **vars}
        if durable_objects:
            bindings = data.setdefault("durable_objects", {}).setdefault("bindings", [])
            classes = []
            for binding, cls in durable_objects.items():
                bindings.append({"name": binding, "class_name": cls.__name__})
                all_exports[cls.__name__] = cls
                classes.append(cls.__name__)
            data.setdefault("migrations", []).append({"tag": "v1", "new_sqlite_classes": classes})
        for key, names in (("kv_namespaces", kv_namespaces), ("d1_databases", d1_databases),
                           ("r2_buckets", r2_buckets)):
            for binding in names:
                data.setdefault(key, []).append({"binding": binding})
        if ai:
            data["ai"] = {"binding": ai}
        return self._install(Worker(self, config_from_dict(data), all_exports))

    def _install(self, worker: Worker) -> Worker:
        if worker.name in self.workers:
            raise ConfigError(worker.config.path or "<code>",
                              f"a Worker named {worker.name!r} is already loaded in this runtime", key="name")
        worker.bind_vars()
        for kind, names in unsupported_in(worker.config, self.unsupported):
            message = kind.message(names)
            # Always shown (not only with echo_logs): the learner must see it once, at load.
            self.log("warn", f"Worker {worker.name!r}: {message}", worker=worker.name, echo=False)
            print(f"[warn] Worker {worker.name!r}: {message}", file=sys.stderr)
            worker.env.mark_missing(names or [kind.key], message)
        plugins = plugins_for(worker.config, self.plugins)
        for plugin in plugins:
            worker.env._entries.update(plugin.bind(self, worker))
        self.workers[worker.name] = worker
        self.watchdog.limit_ms = configured_cpu_ms(w.config for w in self.workers.values())
        if self.main is None:
            self.main = worker
        for plugin in plugins:
            plugin.attach(self, worker)
        self.trace.record("worker_loaded", worker=worker.name, bindings=sorted(worker.env.keys()))
        return worker

    def worker(self, name: str | None = None) -> Worker:
        if name is None:
            if self.main is None:
                raise RuntimeError("no Worker is loaded in this runtime")
            return self.main
        try:
            return self.workers[name]
        except KeyError:
            raise KeyError(f"no Worker named {name!r} in this runtime (loaded: "
                           f"{', '.join(self.workers) or 'none'})") from None

    @property
    def env(self) -> Any:
        """The main Worker's env (for inspection from a notebook)."""
        return self.worker().env

    # -- invoking handlers -------------------------------------------------------------------
    async def dispatch(self, request: Request, *, worker: str | Worker | None = None,
                       entrypoint: str | None = None, source: str = "client", region: str | None = None) -> Response:
        """Deliver ``request`` to a Worker's fetch handler and return its Response.

        A handler that raises gives a 500 and a traceback in the log; the runtime keeps serving.
        ``region`` (or the request's ``x-course-region`` header or ``cf.colo``) is where the
        caller is: the Worker runs there (``course.runtime.net.regions``).
        """
        where = request_region(request, region)
        if where is not None and current_region.get() != where:
            region_token = current_region.set(where)
            try:
                return await self.dispatch(request, worker=worker, entrypoint=entrypoint, source=source)
            finally:
                current_region.reset(region_token)
        w = self.main if worker is None and self.main is not None else \
            worker if isinstance(worker, Worker) else self.worker(worker)
        rid = next(self._request_ids)
        started = _time.perf_counter()
        url = request.url
        path = url.partition("://")[2] if "://" in url else url
        slash = path.find("/")
        path = path[slash:] if slash >= 0 else "/"
        trace = self.trace
        t = self.clock.now()
        # The runtime makes these values (str and int): no need for record_row's check.
        trace.record_plain("request", _REQUEST_KEYS, (rid, w.name, request.method, url, path, source), t)
        ctx = ExecutionContext(self, w)
        token = current_worker.set(w)
        actor = current_actor.set(w.name)
        try:
            trace.record_plain("handler", _HANDLER_KEYS, (rid, w.name, "fetch"), t)
            handler = w.handler("fetch", entrypoint, ctx)
            if handler is None:
                raise JsException(f"Worker {w.name!r} has no fetch handler", "TypeError")
            response = handler(*relaxed_args(handler, (request, w.env, ctx)))
            if type(response) is CoroutineType or inspect.isawaitable(response):
                response = await response
            if not isinstance(response, Response):
                raise TypeError(f"the fetch handler returned {type(response).__name__}; it must "
                                "return a Response (from workers import Response)")
        except asyncio.CancelledError:
            if asyncio.current_task() not in self._stalled:
                raise
            task = asyncio.current_task()
            self._stalled.discard(task)
            if task is not None:
                task.uncancel()
            response = self._error_response(w, rid, JsException(NEVER_RESPONDS, "Error"))
        except CpuTimeLimitExceeded as exc:
            response = self._limit_response(w, rid, exc)
        except Exception as exc:  # noqa: BLE001 - any handler failure becomes a 500
            if ctx.pass_through:
                try:
                    response = await self.network.outbound_fetch(request)
                except Exception:  # noqa: BLE001
                    response = self._error_response(w, rid, exc)
            else:
                response = self._error_response(w, rid, exc)
        finally:
            current_worker.reset(token)
            current_actor.reset(actor)
        trace.record_plain("response", _RESPONSE_KEYS,
                           (rid, w.name, response.status, round((_time.perf_counter() - started) * 1000, 3)))
        return response

    def _error_response(self, worker: Worker, rid: int, exc: BaseException) -> Response:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.trace.record("error", id=rid, worker=worker.name, error=type(exc).__name__, message=str(exc))
        self.log("error", f"Uncaught exception in {worker.name}:\n{tb.rstrip()}", worker=worker.name)
        # Production shows "Error 1101: Worker threw exception"; the reason is in the log.
        return Response(f"Error 1101: Worker threw exception\n{type(exc).__name__}: {exc}\n",
                        status=500, headers={"content-type": "text/plain;charset=UTF-8"})

    def _limit_response(self, worker: Worker, rid: int, exc: CpuTimeLimitExceeded) -> Response:
        exc = CpuTimeLimitExceeded(self.watchdog.limit_ms)  # raised from the watchdog without arguments
        self.trace.record("error", id=rid, worker=worker.name, error="CpuTimeLimitExceeded", message=str(exc))
        self.log("error", f"{worker.name}: {exc} The invocation was stopped.", worker=worker.name)
        return Response(f"{EXCEEDED_RESPONSE}\n{exc}\n", status=503,
                        headers={"content-type": "text/plain;charset=UTF-8"})

    async def invoke(self, worker: str | Worker | None, handler_name: str, *args: Any,
                     entrypoint: str | None = None, strict: bool = True) -> Any:
        """Call a non-fetch handler (``queue``, ``scheduled``...) of a Worker.

        workerd calls these strictly for Python: ``queue(self, batch, env, ctx)`` with env and
        ctx passed positionally. Exceptions propagate to the caller (the platform decides what a
        failure means: a queue retry, a cron failure...).
        """
        w = worker if isinstance(worker, Worker) else self.worker(worker)
        ctx = ExecutionContext(self, w)
        token = current_worker.set(w)
        actor = current_actor.set(w.name)  # what the handler calls is called by this Worker
        try:
            self.trace.record("handler", worker=w.name, handler=handler_name)
            handler = w.handler(handler_name, entrypoint, ctx)
            if handler is None:
                raise JsException(f"Worker {w.name!r} has no {handler_name} handler", "TypeError")
            if strict:
                result = handler(*args, w.env, ctx)
                if inspect.isawaitable(result):
                    result = await result
                return result
            return await call_relaxed(handler, *args, w.env, ctx)
        finally:
            current_actor.reset(actor)
            current_worker.reset(token)

    # -- background work ---------------------------------------------------------------------
    def spawn(self, awaitable: Awaitable[Any], *, label: str = "task", worker: Any = None,
              platform: bool = False) -> asyncio.Task[Any]:
        """Run ``awaitable`` in the background on the loop; failures are logged, not raised.

        ``platform``: the platform's own work (a queue delivery), which runs in a context of its
        own; otherwise the task inherits the caller's (``ctx.waitUntil`` keeps its request's).
        """
        async def run() -> Any:
            current_runtime.set(self)
            if worker is not None:
                current_worker.set(worker)
            try:
                return await awaitable
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                self.trace.record("error", task=label, error=type(exc).__name__, message=str(exc))
                self.log("error", f"Uncaught exception in {label}:\n{tb.rstrip()}")
                return None

        if not self.on_loop_thread():
            raise RuntimeError("spawn() must be called from the runtime's loop")
        task = self._loop.create_task(run(), name=label, context=contextvars.Context() if platform else None)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def wait_until(self, awaitable: Awaitable[Any], *, worker: Any = None) -> asyncio.Task[Any]:
        """``ctx.waitUntil``: keep ``awaitable`` running after the response."""
        name = getattr(worker, "name", None)
        self.trace.record("wait_until", worker=name)
        return self.spawn(awaitable, label=f"waitUntil({name})", worker=worker)

    def call_later(self, delay: float, callback: Callable[[], Any], *, label: str,
                   **trace: Any) -> asyncio.TimerHandle:
        """Schedule a platform timer (alarm, cron, queue timeout); it is traced when it fires.

        ``callback`` may return an awaitable, which then runs as a background task.
        """
        return self.call_at(self.clock.now() + max(0.0, delay), callback, label=label, **trace)

    def call_at(self, when: float, callback: Callable[[], Any], *, label: str, **trace: Any) -> asyncio.TimerHandle:
        def fire() -> None:
            current_runtime.set(self)
            self.trace.record("timer", label=label, **trace)
            try:
                result = callback()
            except Exception as exc:  # noqa: BLE001
                self.log("error", f"timer {label} failed: {type(exc).__name__}: {exc}")
                return
            if inspect.isawaitable(result):
                self.spawn(result, label=label)

        def schedule() -> asyncio.TimerHandle:
            # ``when`` is on the runtime clock; on real time the loop counts from another origin.
            at = when if self.clock.virtual else when - self.clock.now() + self._loop.time()
            # A platform timer fires in a context of its own: whatever scheduled it (a request, an
            # object's turn) is not the caller of what it starts (a delivery, an alarm, a cron).
            return self._loop.call_at(at, fire, context=contextvars.Context())

        return self.run_on_loop(schedule)

    async def _drain(self) -> None:
        while True:
            pending = [t for t in self._background if not t.done()]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    def run_until_idle(self) -> None:
        """Wait for every background task (``waitUntil`` work, deliveries in progress) to finish.

        On virtual time, idle waits inside that work jump the clock; timers that are not due
        (a cron next minute, an alarm tomorrow) stay pending.
        """
        self.call(self._drain())

    # -- logging -----------------------------------------------------------------------------
    def log(self, level: str, message: str, *, worker: str | None = None, echo: bool = True) -> None:
        """Record a Worker log line; ``echo=False`` when the caller already printed it."""
        if worker is None:
            w = current_worker.get()
            worker = getattr(w, "name", None)
        self.logs.append(LogLine(self.clock.now(), level, message, worker))
        self.trace.record("log", level=level, message=message, worker=worker)
        if echo and (self.echo_logs or level == "error"):
            print(f"[{level}] {message}", file=sys.stderr if level in ("error", "warn") else sys.stdout)

    # -- shutdown ----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the loop and release every binding's resources. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.watchdog.stop()
        for service in list(self.services.values()):
            closer = getattr(service, "close", None)
            if closer is not None:
                try:
                    if self._loop.is_running() and not self.on_loop_thread():
                        fut = asyncio.run_coroutine_threadsafe(_maybe_await(closer()), self._loop)
                        fut.result(10)
                    else:
                        result = closer()
                        if inspect.iscoroutine(result):
                            result.close()
                except Exception as exc:  # noqa: BLE001
                    print(f"[warn] closing {service!r} failed: {exc}", file=sys.stderr)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if not self.on_loop_thread():
            self._thread.join(10)

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "virtual" if self.clock.virtual else "real"
        return f"<Runtime #{self.id} {mode} time, workers={list(self.workers)}>"


class _StartFrom:
    """``call_async``'s work, handed to the runtime's loop: start it there, and post its outcome
    back to the caller's loop. An object rather than closures: a request in flight then holds
    a few objects for the garbage collector to walk instead of a dozen cells and functions."""

    __slots__ = ("kernel", "awaitable", "hold", "reply", "future", "task")

    def __init__(self, kernel: Kernel, awaitable: Awaitable[Any], hold: bool, reply: Mailbox,
                 future: "asyncio.Future[Any]") -> None:
        self.kernel, self.awaitable, self.hold, self.reply, self.future = kernel, awaitable, hold, reply, future
        self.task: asyncio.Task[Any] | None = None

    def __call__(self) -> None:
        kernel = self.kernel
        self.task = kernel._loop.create_task(kernel._enter(self.awaitable, self.hold))
        self.awaitable = None  # the task holds it now
        self.task.add_done_callback(self.done)

    def done(self, task: "asyncio.Task[Any]") -> None:
        self.reply.post(_settle, self.future, task)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


def _settle(future: "asyncio.Future[Any]", task: "asyncio.Task[Any]") -> None:
    """Copy the outcome of ``task`` (on the runtime's loop) into ``future`` (on the caller's)."""
    if future.done():
        return
    if task.cancelled():
        future.cancel()
        return
    exc = task.exception()
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(task.result())


def _cancel_started(started: list["asyncio.Task[Any]"]) -> None:
    for task in started:
        task.cancel()


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
