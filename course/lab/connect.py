"""``course.connect()``: an httpx client on the lab Worker, emulated or live.

By default the lab Worker runs in-process on the emulated runtime (offline, virtual time,
seeded). With ``COURSE_WORKER_URL`` set (or ``url=``), the same client talks to a live Worker:
one deployed to Cloudflare, or ``course serve`` in another terminal. Emulator controls (clock,
faults, inspection) exist only in emulated mode; in live mode they raise :class:`EmulatorOnly`
with a message a notebook can print before it skips the cell.
"""
from __future__ import annotations

import os
from typing import Any

import httpx

from course.lab import LAB_DIR, MESH_DIR
from course.runtime import DEFAULT_BASE_URL, load
from course.runtime.edges.transport import WorkerTransport

#: The production lab Worker (Day 7, Project 3): course/lab/production (wrangler.toml + src/).
PRODUCTION_DIR = LAB_DIR / "production"
#: Environment variable naming a live lab Worker.
URL_ENV = "COURSE_WORKER_URL"
#: The lab Workers ``connect(lab=...)`` reaches: (project folder, environment variable of its live URL).
LABS = {"pair": (LAB_DIR, URL_ENV), "mesh": (MESH_DIR, "COURSE_MESH_URL"),
        "production": (PRODUCTION_DIR, "COURSE_PRODUCTION_URL")}


class EmulatorOnly(RuntimeError):
    """A control that needs the emulated runtime was used against a live Worker."""


class LabClient(httpx.Client):
    """An httpx client on the lab Worker, with ``.emulated`` and emulator controls."""

    def __init__(self, *, runtime: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime

    @property
    def emulated(self) -> bool:
        return self.runtime is not None

    def require_emulator(self, what: str = "this cell") -> Any:
        """The runtime, or EmulatorOnly explaining that ``what`` needs the emulator."""
        if self.runtime is None:
            raise EmulatorOnly(f"{what} needs the emulated Worker (COURSE_WORKER_URL is set, so this "
                               f"client talks to {self.base_url}); unset it to run this cell")
        return self.runtime

    # Shortcuts for the controls lessons use most.
    @property
    def trace(self) -> Any:
        return self.require_emulator("reading the trace").trace

    @property
    def clock(self) -> Any:
        return self.require_emulator("the virtual clock").clock

    def advance(self, seconds: float) -> float:
        return self.clock.advance(seconds)

    def crash(self, binding: str, name: str) -> Any:
        return self.require_emulator("crashing an object").crash(binding, name)

    def evict(self, binding: str, name: str) -> Any:
        return self.require_emulator("evicting an object").evict(binding, name)

    def close(self) -> None:
        super().close()
        if self.runtime is not None:
            self.runtime.close()


def connect(url: str | None = None, *, seed: int = 0, virtual_time: bool = True, timeout: float = 30.0,
            persist_to: str | None = None, lab: str = "pair") -> LabClient:
    """A client on a lab Worker: live at ``url`` (or its environment variable), else emulated in-process.

    ``lab`` is ``"pair"`` (Days 1-2, $COURSE_WORKER_URL), ``"mesh"`` (Days 3-6, $COURSE_MESH_URL) or
    ``"production"`` (Day 7 and Project 3, $COURSE_PRODUCTION_URL).
    """
    if lab not in LABS:
        raise ValueError(f"unknown lab Worker {lab!r}; expected one of {sorted(LABS)}")
    folder, env = LABS[lab]
    url = url or os.environ.get(env) or None
    if url:
        return LabClient(base_url=url.rstrip("/"), timeout=timeout)
    rt = load(folder, virtual_time=virtual_time, seed=seed, persist_to=persist_to)
    return LabClient(runtime=rt, transport=WorkerTransport(rt), base_url=DEFAULT_BASE_URL, timeout=timeout)
