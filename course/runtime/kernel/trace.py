"""The runtime's trace: every request, response, handler call, timer and log line, in order.

A trace is a list of :class:`TraceEvent` records. Figures (``course.viz``), checks and grading
feedback read it; ``to_jsonl`` exports it. On virtual time, the same seed and inputs give the
same trace, byte for byte (``to_jsonl(wall=False)`` leaves out wall-clock durations).
"""
from __future__ import annotations

import collections
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator


@dataclass(frozen=True)
class TraceEvent:
    """One thing that happened: ``kind`` (request, response, handler, timer, log, error, ...),
    ``t`` (clock seconds since start), ``seq`` (order), and kind-specific ``data``."""

    seq: int
    t: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["data"][name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "t": round(self.t, 6), "kind": self.kind, **self.data}


#: Value types recorded as they are (everything else goes through :func:`_jsonable`).
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})
#: What Trace.record_row stores as it is: plain values, and tuples its callers fill with plain values.
_ROW_TYPES = _PLAIN_TYPES | {tuple}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        if _PLAIN_TYPES.issuperset(map(type, value)):  # ids, counts: copy, nothing to convert
            return list(value)
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": len(value)}
    return repr(value)


def _stored(value: Any) -> Any:
    """A recorded value that is not plain, as the trace keeps it: a list (or set) of plain values
    (ids, attempts) becomes a tuple, which the garbage collector stops tracking; the rest goes
    through :func:`_jsonable`. :func:`_event` turns those tuples back into lists."""
    if isinstance(value, (list, tuple, set, frozenset)) and _PLAIN_TYPES.issuperset(map(type, value)):
        return tuple(value)
    return _jsonable(value)


def _event(entry: tuple[Any, ...]) -> TraceEvent:
    """The TraceEvent of a stored entry ``(seq, t, kind, keys, *values)`` (without the frozen
    dataclass's ``__setattr__`` calls)."""
    values = entry[4:]
    data = dict(zip(entry[3], values))
    if not _PLAIN_TYPES.issuperset(map(type, values)):
        for key, value in data.items():
            if type(value) is tuple:
                data[key] = list(value)
    event = object.__new__(TraceEvent)
    event.__dict__.update(seq=entry[0], t=entry[1], kind=entry[2], data=data)
    return event


#: Distinct key tuples a trace keeps one copy of (see Trace._keys); more are stored as they come.
_KEY_TUPLES_KEPT = 4096


class Trace:
    """An append-only, queryable record of one runtime's events.

    Recording is on every hot path (seven events per Durable Object request, two per queue
    message), so :meth:`record` only stores the event's fields; the :class:`TraceEvent` objects are
    built the first time anyone reads the trace (or at once for a subscriber).
    """

    #: Keys holding wall-clock measurements, left out of deterministic exports.
    WALL_KEYS = frozenset({"wall_ms"})

    def __init__(self, clock: Any, *, limit: int | None = 1_000_000) -> None:
        self._clock = clock
        self._now = clock.now
        # Oldest first. A bounded deque drops the oldest entry in O(1) (a list paid a memmove of
        # the whole trace per event once full). The newest ``_raw`` entries are flat
        # (seq, t, kind, keys, *values) tuples not yet built into TraceEvents. Flat, and with one
        # shared ``keys`` tuple per field list, so that the garbage collector stops tracking an
        # entry at its first young collection: a dict per event stays tracked until a full
        # collection, and nested tuples get promoted before they are untracked, which made
        # full collections both more frequent and slower (bench/README.md).
        self._events: collections.deque[Any] = collections.deque(maxlen=limit)
        self._raw = 0
        self._lock = threading.Lock()
        self._seq = 0
        self._listeners: list[Callable[[TraceEvent], None]] = []
        #: one tuple per distinct list of field names (see above)
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}

    @property
    def limit(self) -> int | None:
        """How many events are kept (the oldest are dropped first); None keeps every one."""
        return self._events.maxlen

    @limit.setter
    def limit(self, value: int | None) -> None:
        with self._lock:
            self._events = collections.deque(self._built(), maxlen=value)

    def record(self, kind: str, **data: Any) -> None:
        """Append one event of ``kind`` with ``data`` (its values copied now, so a list the caller
        changes later does not change the trace)."""
        keys = tuple(data)
        shared = self._keys.get(keys)
        if shared is None and len(self._keys) < _KEY_TUPLES_KEPT:
            shared = self._keys.setdefault(keys, keys)
        values = tuple(data.values())
        if not _PLAIN_TYPES.issuperset(map(type, values)):
            values = tuple([v if type(v) in _PLAIN_TYPES else _stored(v) for v in values])
        self.record_plain(kind, shared or keys, values)

    def record_row(self, kind: str, keys: tuple[str, ...], values: tuple[Any, ...], t: float | None = None) -> None:
        """``record(kind, **dict(zip(keys, values)))`` without building the dict: the hot paths
        (seven events per Durable Object request) call this with a constant ``keys`` tuple,
        which every entry of that kind then shares. ``t`` is the clock's reading when the caller
        just took it (the same value ``record`` would read). A tuple among ``values`` is kept as
        it is (read back as a list): the caller passes only plain values in it (ids, counts)."""
        if type(values) is not tuple or not _ROW_TYPES.issuperset(map(type, values)):
            values = tuple([v if type(v) in _ROW_TYPES else _stored(v) for v in values])
        self.record_plain(kind, keys, values, t)

    def record_plain(self, kind: str, keys: tuple[str, ...], values: tuple[Any, ...], t: float | None = None) -> None:
        """:meth:`record_row` for callers whose ``values`` are all plain (str, int, float, bool,
        None, or tuples of those), which it does not check: the runtime's own events on the
        request path, whose values it makes itself."""
        with self._lock:
            self._seq += 1
            entry = (self._seq, self._now() if t is None else t, kind, keys) + values
            if not self._listeners:
                self._events.append(entry)
                self._raw += 1
                return
            event = _event(entry)
            self._built()
            self._events.append(event)
        for listener in self._listeners:
            listener(event)

    def record_rows(self, kind: str, keys: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
        """``record(kind, **dict(zip(keys, row)))`` for each tuple of ``rows``, in order, under one
        lock and without a dict per event (a queue's ``sendBatch``, a batch's acks). ``keys``
        should be a constant: every event of the call shares it."""
        with self._lock:
            if not self._listeners:
                now = self._clock.now()
                events = self._events
                seq = self._seq
                for values in rows:
                    if not _PLAIN_TYPES.issuperset(map(type, values)):
                        values = tuple([v if type(v) in _PLAIN_TYPES else _stored(v) for v in values])
                    seq += 1
                    events.append((seq, now, kind, keys, *values))
                self._raw += seq - self._seq
                self._seq = seq
                return
        for values in rows:  # a subscriber sees each event as it is recorded
            self.record(kind, **dict(zip(keys, values)))

    def _built(self) -> collections.deque[Any]:
        """The events, every raw entry built into a TraceEvent (call with the lock held)."""
        raw = min(self._raw, len(self._events))
        if raw:
            events = self._events
            fresh = [events.pop() for _ in range(raw)]
            fresh.reverse()
            events.extend(_event(entry) for entry in fresh)
            self._raw = 0
        return self._events

    def _snapshot(self) -> list[TraceEvent]:
        with self._lock:
            return list(self._built())

    def subscribe(self, listener: Callable[[TraceEvent], None]) -> Callable[[], None]:
        """Call ``listener`` on every new event; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- querying ----------------------------------------------------------------------------
    def events(self, kind: str | Iterable[str] | None = None, *, since: int = 0,
               where: Callable[[TraceEvent], bool] | None = None, **match: Any) -> list[TraceEvent]:
        """Events of ``kind`` (one or several) whose data equals every ``match`` item."""
        kinds = {kind} if isinstance(kind, str) else set(kind) if kind is not None else None
        events = self._snapshot()
        out = []
        for e in events:
            if e.seq <= since or (kinds is not None and e.kind not in kinds):
                continue
            if any(e.data.get(k) != v for k, v in match.items()):
                continue
            if where is not None and not where(e):
                continue
            out.append(e)
        return out

    filter = events

    def last(self, kind: str | None = None, **match: Any) -> TraceEvent | None:
        found = self.events(kind, **match)
        return found[-1] if found else None

    def count(self, kind: str | None = None, **match: Any) -> int:
        return len(self.events(kind, **match))

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self:
            counts[e.kind] = counts.get(e.kind, 0) + 1
        return counts

    def mark(self) -> int:
        """The current sequence number: pass it as ``since=`` to see only later events."""
        return self._seq

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self._raw = 0

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(self._snapshot())

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return self._snapshot()[index]
        with self._lock:
            return self._built()[index]

    # -- export ------------------------------------------------------------------------------
    def to_dicts(self, *, wall: bool = True) -> list[dict[str, Any]]:
        rows = [e.to_dict() for e in self]
        if not wall:
            rows = [{k: v for k, v in r.items() if k not in self.WALL_KEYS} for r in rows]
        return rows

    def to_jsonl(self, path: str | Path | None = None, *, wall: bool = True) -> str:
        """The trace as JSON lines; written to ``path`` when given."""
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.to_dicts(wall=wall))
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_dataframe(self) -> Any:  # pragma: no cover - pandas is optional
        import pandas as pd

        return pd.DataFrame(self.to_dicts())
