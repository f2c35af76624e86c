"""Seeded random streams, one per purpose: the only source of randomness a scenario may use.

A scenario's cases, latencies and fault schedule are all drawn from streams fixed by its seed,
so the same seed gives the same case, the same trace and the same grade on every machine and
every run (``hash()`` is salted per process; sha256 is not). Each purpose gets its own stream,
as ``Runtime.rng(purpose)`` does, so drawing one more number for one purpose shifts no other.
"""
from __future__ import annotations

import hashlib
import random


def random_stream(*key: object) -> random.Random:
    """A ``random.Random`` fixed by ``key``: sha256 of its parts joined by ``:``.

    ``random_stream(seed, purpose)`` is the stream ``Runtime.rng(purpose)`` gives for ``seed``.
    """
    digest = hashlib.sha256(":".join(map(str, key)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class Streams:
    """The random streams of one seeded scenario: ``streams("latency", worker)``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, purpose: str, *more: object) -> random.Random:
        return random_stream(self.seed, purpose, *more)

    def __repr__(self) -> str:
        return f"Streams(seed={self.seed})"


__all__ = ["Streams", "random_stream"]
