"""The emulated Cloudflare Workers platform that runs the course's Python Workers.

``load(path)`` reads a Worker project (wrangler config + Python entry point) and returns a
:class:`Runtime`; ``rt.client()`` calls it in-process, ``course serve`` over HTTP.
"""
from course.runtime.kernel.clock import Clock
from course.runtime.kernel.config import ConfigError, WranglerConfig, load_config
from course.runtime.kernel.runtime import DEFAULT_BASE_URL, LogLine
from course.runtime.platform import Runtime, load
from course.runtime.kernel.trace import Trace, TraceEvent
from course.runtime.kernel.worker import Env, Worker, WorkerLoadError

__all__ = ["Clock", "ConfigError", "WranglerConfig", "load_config", "DEFAULT_BASE_URL", "LogLine",
           "Runtime", "load", "Trace", "TraceEvent", "Env", "Worker", "WorkerLoadError"]
