"""A one-line progress bar with an ETA on stderr (tqdm is not a course dependency)."""
from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24


def _clock(seconds: float) -> str:
    seconds = int(round(max(seconds, 0)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class ProgressLine:
    """``done / total`` with a bar, elapsed time and ETA, redrawn in place on a terminal.

    Off a terminal (CI logs, pytest) each update is its own line, so logs stay readable.
    """

    def __init__(self, total: int, label: str = "graded", stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def render(self, note: str = "") -> str:
        elapsed = time.monotonic() - self.started
        filled = int(BAR_WIDTH * self.done / self.total) if self.total else BAR_WIDTH
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        text = (f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done}/{self.total} {self.label}  "
                f"elapsed {_clock(elapsed)}  ETA {_clock(eta) if eta is not None else '?:??'}")
        return f"{text}  {note}" if note else text

    def advance(self, note: str = "") -> None:
        self.done += 1
        line = self.render(note)
        if self._tty:
            self.stream.write("\r\x1b[2K" + line)
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
