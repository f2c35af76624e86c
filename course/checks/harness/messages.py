"""The messages a scenario exchanged, as a log a learner reads and a diagram the grader draws.

Every message the emulated network carries is recorded once, at the virtual time it reached
its recipient (or was lost), with what became of it: delivered, lost to a crashed peer,
dropped, duplicated, late. :meth:`MessageLog.text` is the block a failure message shows;
:func:`parse_log` reads that block back into sequence-diagram arrows, which is how the
feedback page draws the diagram from nothing but the failure text the notebook recorded.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

#: First line of the message block in a failure message (what :func:`parse_log` looks for).
LOG_HEADER = "messages (virtual time, sender -> recipient, type, detail, [what happened]):"
#: Most messages a failure message lists (the smallest failing case is usually far below it).
MAX_LOGGED = 40
#: Fates that mean the message never arrived.
LOST_FATES = ("lost", "dropped")

_LINE = re.compile(r"^\s*(?P<t>\d+\.\d+)s\s+(?P<sender>\S+) -> (?P<recipient>\S+)\s+(?P<type>\S+)"
                   r"(?P<detail>.*?)(?:\s+\[(?P<fate>[^\]]+)\])?\s*$")

#: One arrow of a sequence diagram, as ``course.viz.sequence_diagram`` takes it.
Arrow = tuple[float, str, str, str, str]


@dataclass(frozen=True)
class LoggedMessage:
    """One message: when it arrived (or was lost), who sent it to whom, and what became of it."""

    t: float
    sender: str
    recipient: str
    type: str
    detail: str = ""
    fate: str = ""  # "" = delivered; else e.g. "lost: worker-2 has crashed", "duplicate", "late"

    def line(self) -> str:
        fate = f"  [{self.fate}]" if self.fate else ""
        detail = f"  {self.detail}" if self.detail else ""
        return f"{self.t:8.3f}s  {self.sender} -> {self.recipient}  {self.type}{detail}{fate}"

    def arrow(self) -> Arrow:
        return _arrow(self.t, self.sender, self.recipient, self.type, self.fate)


def _arrow(t: float, sender: str, recipient: str, kind: str, fate: str) -> Arrow:
    if fate.startswith(LOST_FATES):
        return (t, sender, sender, f"{kind} to {recipient}: {fate}", "fault")
    label = f"{kind} [{fate}]" if fate else kind
    if "error" in kind or "fail" in kind:
        return (t, sender, recipient, label, "error")
    if kind.endswith((".result", ".reply", ".report")):
        return (t, sender, recipient, label, "reply")
    return (t, sender, recipient, label, "call")


class MessageLog:
    """The messages of one scenario run, in the order they happened."""

    def __init__(self) -> None:
        self._messages: list[LoggedMessage] = []

    def record(self, t: float, sender: str, recipient: str, type: str, detail: str = "", fate: str = "") -> None:
        self._messages.append(LoggedMessage(round(t, 6), sender, recipient, type, detail, fate))

    @property
    def messages(self) -> list[LoggedMessage]:
        """Ordered by time; messages at the same instant keep the order they were recorded in."""
        return sorted(self._messages, key=lambda m: m.t)

    def __len__(self) -> int:
        return len(self._messages)

    def text(self, limit: int = MAX_LOGGED) -> str:
        """The log as the block a failure message shows ("" when nothing was sent)."""
        messages = self.messages
        if not messages:
            return ""
        lines = [LOG_HEADER, *(m.line() for m in messages[:limit])]
        if len(messages) > limit:
            lines.append(f"  ... and {len(messages) - limit} more")
        return "\n".join(lines)

    def arrows(self, limit: int = MAX_LOGGED) -> tuple[Arrow, ...]:
        return tuple(m.arrow() for m in self.messages[:limit])


def parse_log(text: str) -> list[Arrow]:
    """The arrows of the message block in ``text`` (a failure message), [] if it has none."""
    if LOG_HEADER not in text:
        return []
    arrows: list[Arrow] = []
    for line in text.split(LOG_HEADER, 1)[1].splitlines()[1:]:
        found = _LINE.match(line)
        if found is None:
            if arrows and not line.strip().startswith("..."):
                break  # the block ended
            continue
        arrows.append(_arrow(float(found["t"]), found["sender"], found["recipient"], found["type"],
                             found["fate"] or ""))
    return arrows


def actors(arrows: Iterable[Arrow]) -> list[str]:
    """Everyone who sent or received a message, in order of first appearance."""
    seen: dict[str, None] = {}
    for _, sender, recipient, _, _ in arrows:
        seen.setdefault(sender, None)
        seen.setdefault(recipient, None)
    return list(seen)


__all__ = ["LOG_HEADER", "LoggedMessage", "MessageLog", "actors", "parse_log"]
