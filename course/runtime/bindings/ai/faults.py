"""Injected Workers AI failures, each firing at a seeded rate; every firing is traced.

Kinds:

* ``latency``: the call takes ``seconds`` longer (a number, or a ``(low, high)`` range drawn
  from the seed), on the runtime clock: ``asyncio.sleep`` on virtual time.
* ``rate_limit``: AiError 3040, HTTP 429, "Out of capacity" (errors page).
* ``server_error``: AiError 3043, HTTP 500, "Internal server error".
* ``timeout``: AiError 3007, HTTP 408, "Request timeout" (errors page).
* ``truncated``: the output stops halfway, as when a model hits ``max_tokens``; in JSON mode the
  ``response`` becomes the cut-off JSON text.
* ``malformed``: in JSON mode ``response`` is JSON text with a syntax error instead of an object;
  tool call ``arguments`` become a broken JSON string; plain text gets a stray fragment.
* ``hallucinated_tool``: the model calls a tool that was not offered.

``rate`` is the chance per call (1.0: always), ``times`` caps how often a fault fires, ``model``
limits it to one model. The draws come from ``rt.rng("ai:faults")``: same seed, same calls, same
faults.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

FAULT_KINDS = ("latency", "rate_limit", "server_error", "timeout", "truncated", "malformed", "hallucinated_tool")
#: Faults decided before the model runs (they replace or delay the call).
BEFORE = ("latency", "rate_limit", "server_error", "timeout")
#: Faults that damage what the model produced.
AFTER = ("truncated", "malformed", "hallucinated_tool")
#: Tool names a confused model invents.
HALLUCINATED_NAMES = ("search_web", "lookup_database", "run_python", "send_email", "get_user_profile")


@dataclass
class Fault:
    kind: str
    rate: float = 1.0
    times: int | None = None
    seconds: float | tuple[float, float] = 1.0
    model: str | None = None
    fired: int = 0

    def applies_to(self, model: str) -> bool:
        return (self.model is None or self.model == model) and (self.times is None or self.fired < self.times)


class FaultPlan:
    """The faults configured on one runtime's Workers AI, and the seeded draws that fire them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.faults: list[Fault] = []

    def add(self, kind: str, rate: float = 1.0, *, times: int | None = None,
            seconds: float | tuple[float, float] = 1.0, model: str | None = None) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown Workers AI fault {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {rate!r}")
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1, got {times!r}")
        fault = Fault(kind, rate, times, seconds, model)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def draw(self, phase: tuple[str, ...], model: str, applicable: Any = None) -> list[Fault]:
        """The faults of ``phase`` that fire on this call, in the order they were added."""
        fired = []
        for fault in self.faults:
            if fault.kind not in phase or not fault.applies_to(model):
                continue
            if applicable is not None and not applicable(fault):
                continue
            # Always draw, so one fault's outcome never shifts another's stream.
            roll = self.rng.random()
            if roll < fault.rate:
                fault.fired += 1
                fired.append(fault)
        return fired

    def latency(self, fault: Fault) -> float:
        if isinstance(fault.seconds, tuple):
            lo, hi = fault.seconds
            return round(self.rng.uniform(lo, hi), 3)
        return float(fault.seconds)
