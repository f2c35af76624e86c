"""``course serve``: a Worker over real HTTP on localhost, like ``wrangler dev``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

#: wrangler dev's default port (https://developers.cloudflare.com/workers/wrangler/commands/#dev)
DEFAULT_PORT = 8787
LAB_DIR = Path(__file__).resolve().parent / "lab"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a Worker project over HTTP (like wrangler dev)")
    p.add_argument("directory", nargs="?", help="Worker project folder (default: the course's lab Worker)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--persist-to", default=None, help="keep local state in this folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="do not log each request")
    p.add_argument("--with", dest="with_projects", action="append", default=[], metavar="DIR",
                   help="also load the Worker project in DIR into the same runtime (reachable by service "
                        "bindings; like a second `wrangler dev -c`); repeatable")
    p.add_argument("--test-scheduled", action="store_true",
                   help="fire the scheduled handler on GET /__scheduled?cron=... (like wrangler dev)")
    p.set_defaults(func=run)


def resolve_project(directory: str | None) -> Path:
    if directory:
        return Path(directory)
    if (LAB_DIR / "wrangler.toml").exists() or (LAB_DIR / "wrangler.jsonc").exists():
        return LAB_DIR
    raise SystemExit("course serve: no project folder given, and the lab Worker is not available")


def load_runtime(project: Path, *, with_projects: list[str] | tuple[str, ...] = (), persist_to: str | None = None,
                 seed: int = 0) -> Any:
    """The runtime ``course serve`` serves: ``project`` (the main Worker, answering HTTP) and each
    ``--with`` project loaded into the same runtime, reachable from the others by service bindings
    (as with several ``wrangler dev -c``). Raises ConfigError/WorkerLoadError/FileNotFoundError."""
    from course.runtime import load

    rt = load(project, persist_to=persist_to, seed=seed, echo_logs=True)
    try:
        for extra in with_projects:
            rt.add_project(extra)
    except BaseException:
        rt.close()
        raise
    return rt


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from course.runtime import ConfigError, WorkerLoadError
    from course.runtime.edges.asgi import WorkerASGIApp

    project = resolve_project(args.directory)
    try:
        rt = load_runtime(project, with_projects=args.with_projects, persist_to=args.persist_to, seed=args.seed)
    except (ConfigError, WorkerLoadError, FileNotFoundError) as exc:
        print(f"course serve: {exc}", file=sys.stderr)
        return 1
    for name in list(rt.workers)[1:]:
        print(f"[course] also loaded Worker {name!r}", flush=True)
    app = WorkerASGIApp(rt, log=not args.quiet, test_scheduled=args.test_scheduled)
    worker = rt.worker()
    print(f"[course] Worker {worker.name!r} from {project} ready on http://{args.host}:{args.port}", flush=True)
    if worker.env.keys():
        print("[course] bindings: " + ", ".join(sorted(worker.env.keys())), flush=True)
    from course.runtime.edges.asgi import send_reason_phrases

    # h11 lets a Worker's own statusText through (send_reason_phrases); httptools would not.
    http = "h11" if send_reason_phrases() else "auto"
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="on",
                            http=http, ws="websockets-sansio" if _has_sansio() else "auto")
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        rt.close()
        print("[course] stopped", flush=True)
    return 0


def _has_sansio() -> bool:
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
        return True
    except Exception:
        return False
