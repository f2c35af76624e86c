"""``print()`` in Worker code goes to the Worker's logs, as on Cloudflare, and still prints.

On Cloudflare a Python Worker's standard output and standard error become ``console.log`` and
``console.error`` lines in its logs (``wrangler tail``, the dashboard):
https://developers.cloudflare.com/workers/languages/python/how-python-workers-work/ . Here each
module of a Worker project gets a module-level ``print`` that records the line in ``rt.logs`` and
the trace (kind ``"log"``) and then prints as the builtin does.

Why a module global rather than replacing ``sys.stdout``: Jupyter (ipykernel) and pytest own
``sys.stdout`` and swap it at will; a global stream wrapper would either be thrown away or
capture the notebook's own prints. Shadowing ``print`` only in the Worker's modules captures
exactly the Worker's prints, on the runtime thread, and leaves every other writer alone.
Output a third-party library prints from its own module is not captured.
"""
from __future__ import annotations

import builtins
import io
import sys
from typing import Any


def worker_print(*args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None,
                 flush: bool = False) -> None:
    """The builtin ``print``, plus a log line when called from a Worker on a runtime."""
    from course.workers.context import current_runtime

    builtins.print(*args, sep=sep, end=end, file=file, flush=flush)
    rt = current_runtime.get()
    if rt is None or file not in (None, sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        return  # printing into a file or buffer of the Worker's own is not a log line
    buffer = io.StringIO()
    builtins.print(*args, sep=sep, end="", file=buffer)
    level = "error" if file in (sys.stderr, sys.__stderr__) else "log"
    rt.log(level, buffer.getvalue(), echo=False)


def capture_prints(namespace: dict[str, Any]) -> None:
    """Give a Worker module's namespace the logging ``print`` (unless it defines its own)."""
    if namespace.get("print", worker_print) is worker_print:
        namespace["print"] = worker_print
