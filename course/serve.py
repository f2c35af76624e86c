"""``course serve``: a Worker over real HTTP on localhost, like ``wrangler dev``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    p.set_defaults(func=run)


def resolve_project(directory: str | None) -> Path:
    if directory:
        return Path(directory)
    if (LAB_DIR / "wrangler.toml").exists() or (LAB_DIR / "wrangler.jsonc").exists():
        return LAB_DIR
    raise SystemExit("course serve: no project folder given, and the lab Worker is not available")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from course.runtime import ConfigError, WorkerLoadError, load
    from course.runtime.asgi import WorkerASGIApp

    project = resolve_project(args.directory)
    try:
        rt = load(project, persist_to=args.persist_to, seed=args.seed, echo_logs=True)
    except (ConfigError, WorkerLoadError, FileNotFoundError) as exc:
        print(f"course serve: {exc}", file=sys.stderr)
        return 1
    app = WorkerASGIApp(rt, log=not args.quiet)
    worker = rt.worker()
    print(f"[course] Worker {worker.name!r} from {project} ready on http://{args.host}:{args.port}", flush=True)
    if worker.env.keys():
        print("[course] bindings: " + ", ".join(sorted(worker.env.keys())), flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="on",
                            ws="websockets-sansio" if _has_sansio() else "auto")
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
