"""``course serve``: a Worker over real HTTP on localhost, like ``wrangler dev``.

As with ``wrangler dev``:

- local state persists in the project's ``.wrangler/state`` (the folder ``course d1 execute``
  writes to), or in ``--persist-to DIR``; ``--no-persist`` keeps it in memory;
- ``Ready on http://HOST:PORT`` is printed once the socket accepts connections (``--port 0``
  picks a free port and prints it), so scripts that wait for wrangler's line work unchanged;
- cron triggers fire only when asked: ``/cdn-cgi/handler/scheduled`` always and ``/__scheduled``
  with ``--test-scheduled``; ``--crons`` also fires them on the wall clock, as Cloudflare does;
- the Worker's subrequests (``fetch``, ``requests``, ``httpx``, ``aiohttp``) reach the real
  network; ``--offline`` keeps it offline, as an in-process runtime is;
- the project's ``pyproject.toml`` dependencies are vendored into ``python_modules/`` first when
  missing or stale (like ``pywrangler dev``; course.runtime.kernel.vendoring).

Reference: https://developers.cloudflare.com/workers/wrangler/commands/#dev
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import uvicorn

from course.runtime import ConfigError, WorkerLoadError, load
from course.runtime.bindings.cron import crons
from course.runtime.edges.asgi import WorkerASGIApp, send_reason_phrases
from course.runtime.kernel.config import ConfigWarning, default_state_dir, find_config
from course.runtime.kernel.vendoring import VendoringError

#: wrangler dev's default port (https://developers.cloudflare.com/workers/wrangler/commands/#dev)
DEFAULT_PORT = 8787
LAB_DIR = Path(__file__).resolve().parent / "lab"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a Worker project over HTTP (like wrangler dev)")
    p.add_argument("directory", nargs="?", help="Worker project folder (default: the course's lab Worker)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free port")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--persist-to", default=None, metavar="DIR",
                       help="keep local state in DIR (default: the project's .wrangler/state, as wrangler dev)")
    state.add_argument("--no-persist", action="store_true", help="keep local state in memory only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="do not log each request")
    p.add_argument("--with", dest="with_projects", action="append", default=[], metavar="DIR",
                   help="also load the Worker project in DIR into the same runtime (reachable by service "
                        "bindings; like a second `wrangler dev -c`); repeatable")
    p.add_argument("--test-scheduled", action="store_true",
                   help="fire the scheduled handler on GET /__scheduled?cron=... (like wrangler dev)")
    p.add_argument("--crons", action="store_true",
                   help="also fire cron triggers on the wall clock (wrangler dev never does)")
    p.add_argument("--offline", action="store_true",
                   help="do not let the Worker's subrequests reach the internet (only registered upstreams)")
    p.set_defaults(func=run)


def resolve_project(directory: str | None) -> Path:
    if directory:
        return Path(directory)
    if (LAB_DIR / "wrangler.toml").exists() or (LAB_DIR / "wrangler.jsonc").exists():
        return LAB_DIR
    raise SystemExit("course serve: no project folder given, and the lab Worker is not available")


def state_dir(project: Path, persist_to: str | Path | None = None, *, persist: bool = True) -> Path | None:
    """Where ``course serve`` keeps local state: ``persist_to``, else the project's
    ``.wrangler/state`` (as wrangler dev and ``course d1 execute``), or None (in memory)."""
    if not persist:
        return None
    if persist_to is not None:
        return Path(persist_to)
    return default_state_dir(find_config(project).resolve().parent)


def load_runtime(project: Path, *, with_projects: list[str] | tuple[str, ...] = (), persist_to: str | Path | None = None,
                 seed: int = 0, wall_clock_crons: bool = False, offline: bool = False) -> Any:
    """The runtime ``course serve`` serves: ``project`` (the main Worker, answering HTTP) and each
    ``--with`` project loaded into the same runtime, reachable from the others by service bindings
    (as with several ``wrangler dev -c``). Crons fire on the wall clock only with
    ``wall_clock_crons``; subrequests reach the internet unless ``offline``, as with ``wrangler dev``.
    Raises ConfigError/WorkerLoadError/VendoringError/FileNotFoundError."""
    rt = load(project, persist_to=persist_to, seed=seed, echo_logs=True)
    rt.network.online = not offline
    try:
        for extra in with_projects:
            rt.add_project(extra)
        if wall_clock_crons:
            crons(rt).start()
    except BaseException:
        rt.close()
        raise
    return rt


def ready_line(host: str, port: int) -> str:
    """wrangler dev's ready line, which scripts wait for."""
    shown = f"[{host}]" if ":" in host else host
    return f"[course:info] Ready on http://{shown}:{port}"


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints the ready line once its socket accepts connections."""

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            port = self.servers[0].sockets[0].getsockname()[1]
            print(ready_line(self.config.host, port), flush=True)


def run(args: argparse.Namespace) -> int:
    project = resolve_project(args.directory)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConfigWarning)
        try:
            state = state_dir(project, args.persist_to, persist=not args.no_persist)
            rt = load_runtime(project, with_projects=args.with_projects, persist_to=state, seed=args.seed,
                              wall_clock_crons=args.crons, offline=args.offline)
        except (ConfigError, WorkerLoadError, VendoringError, FileNotFoundError) as exc:
            print(f"course serve: {exc}", file=sys.stderr)
            return 1
    for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, ConfigWarning)):
        print(f"▲ [WARNING] {message}", file=sys.stderr, flush=True)
    for w in caught:
        if not issubclass(w.category, ConfigWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for name in list(rt.workers)[1:]:
        print(f"[course] also loaded Worker {name!r}", flush=True)
    app = WorkerASGIApp(rt, log=not args.quiet, test_scheduled=args.test_scheduled)
    worker = rt.worker()
    print(f"[course] Worker {worker.name!r} from {project}", flush=True)
    if worker.env.keys():
        print("[course] bindings: " + ", ".join(sorted(worker.env.keys())), flush=True)
    print(f"[course] local state in {state}" if state is not None else "[course] local state in memory",
          flush=True)
    print("[course] subrequests stay offline (registered upstreams only)" if args.offline
          else "[course] subrequests reach the internet (--offline to keep them local)", flush=True)
    if worker.config.triggers.crons:
        how = "on the wall clock and on request" if args.crons else "only on request (--crons: on the wall clock)"
        print(f"[course] crons {', '.join(worker.config.triggers.crons)} fire {how}: "
              "/cdn-cgi/handler/scheduled" + (", /__scheduled" if args.test_scheduled else ""), flush=True)

    # h11 lets a Worker's own statusText through (send_reason_phrases); httptools would not.
    http = "h11" if send_reason_phrases() else "auto"
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="on",
                            http=http, ws="websockets-sansio" if _has_sansio() else "auto")
    server = AnnouncingServer(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        rt.close()
        print("[course] stopped", flush=True)
    return 0


def _has_sansio() -> bool:
    try:  # optional: uvicorn >= 0.35 only has the sans-I/O websockets implementation
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
        return True
    except Exception:
        return False
