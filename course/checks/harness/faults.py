"""The faults an emulated peer or link can have, as data a scenario draws and a shrinker removes.

A fault belongs to a peer (by name) and changes what the network does with the messages sent
to it and the replies it sends back. These are the faults of the network and the process;
what a peer *answers* (an error reply, a wrong correlation id) is the peer's own behaviour,
written by the day's checks. Every fault is recorded in the message log where it acts.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Crash:
    """The peer is down: messages to it are lost and it never answers."""

    def __str__(self) -> str:
        return "crash"


@dataclass(frozen=True)
class Drop:
    """Each message to the peer is lost with this probability (drawn from the ``drop`` stream)."""

    probability: float

    def __str__(self) -> str:
        return f"drop({self.probability:g})"


@dataclass(frozen=True)
class Delay:
    """The peer's replies arrive this many seconds later than the network's latency says."""

    seconds: float

    def __str__(self) -> str:
        return f"delay({self.seconds:g} s)"


@dataclass(frozen=True)
class Duplicate:
    """Each reply of the peer arrives twice, ``gap`` seconds apart (at-least-once delivery)."""

    gap: float

    def __str__(self) -> str:
        return f"duplicate(+{self.gap:g} s)"


@dataclass(frozen=True)
class Reorder:
    """The peer's replies get up to ``spread`` extra seconds each (``reorder`` stream), so a
    later reply may overtake an earlier one."""

    spread: float

    def __str__(self) -> str:
        return f"reorder(<= {self.spread:g} s)"


Fault = Crash | Drop | Delay | Duplicate | Reorder

__all__ = ["Crash", "Delay", "Drop", "Duplicate", "Fault", "Reorder"]
