"""Due dates and late penalties, with nbgrader's semantics.

nbgrader compares a submission's timestamp with the assignment's due date; a late submission's
penalty comes from its ``LateSubmissionPlugin`` (``none``: no penalty, ``zero``: the whole score)
and is taken off the raw score, never below 0: ``score = max(0, raw_score - penalty)``. Its
documentation's example plugin takes points off per hour late; ``per-hour:P`` does that (P
points for each started hour). A submission whose time is unknown is never called late, and
gets a note saying so.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone

#: ``none`` | ``zero`` | ``per-hour:P``.
POLICY = re.compile(r"^(none|zero|per-hour:(?P<points>\d+(\.\d+)?))$")


@dataclass(frozen=True)
class LatePolicy:
    due: datetime | None = None
    method: str = "none"  # none | zero | per-hour
    points_per_hour: float = 0.0

    @classmethod
    def parse(cls, due: str | None, penalty: str = "none") -> "LatePolicy":
        """From ``--due`` (ISO date and time; UTC unless it says otherwise) and ``--late-penalty``."""
        m = POLICY.match(penalty.strip())
        if not m:
            raise ValueError(f"late penalty {penalty!r}: expected none, zero or per-hour:POINTS")
        when = None
        if due:
            try:
                when = datetime.fromisoformat(due.strip())
            except ValueError:
                raise ValueError(f"due date {due!r}: expected an ISO date and time, e.g. 2026-03-01T23:59") from None
            when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        method = "per-hour" if m["points"] else m.group(1)
        return cls(when, method, float(m["points"] or 0))

    def seconds_late(self, submitted: datetime | None) -> float:
        if self.due is None or submitted is None:
            return 0.0
        submitted = submitted if submitted.tzinfo else submitted.replace(tzinfo=timezone.utc)
        return max(0.0, (submitted - self.due).total_seconds())

    def penalty(self, raw_score: float, submitted: datetime | None) -> float:
        """Points taken off ``raw_score`` (at most all of it)."""
        late = self.seconds_late(submitted)
        if not late or self.method == "none":
            return 0.0
        if self.method == "zero":
            return raw_score
        return min(raw_score, self.points_per_hour * math.ceil(late / 3600))

    def note(self, submitted: datetime | None) -> str:
        """A verdict about lateness ("" when there is nothing to say)."""
        if self.due is None:
            return ""
        if submitted is None:
            return "no submission time is known (no timestamp.txt, no time in the LMS file name): not checked for lateness"
        late = self.seconds_late(submitted)
        if not late:
            return ""
        hours = late / 3600
        return f"submitted {hours:.1f} h after the due date ({self.due.isoformat()}): late"
