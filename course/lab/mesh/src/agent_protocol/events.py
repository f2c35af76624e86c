"""The mesh's events (Day 6): versioned pydantic event types, their upcaster, and replaying them.

An event is a fact the mesh's agents agreed happened, written once to an append-only log and
never changed. The notification agent's log holds four kinds, told apart by ``type`` (a
pydantic *discriminated union*, :data:`MeshEvent`): :class:`AlertRaised`,
:class:`AlertAcknowledged`, :class:`SubscriberJoined` and :class:`SubscriberLeft`. Each kind
carries its own ``version``; an old stored event is *upcast* to the current shape when it is
read (:func:`upcast_event`), never rewritten in the log.

:class:`StoredEvent` is a log row: its position ``seq`` in the stream (1, 2, 3... with no
gaps), when it was written (``at``, seconds) and the event. :func:`project_alerts` folds
events into the read model the notification agent answers queries from (:class:`AlertBoard`),
and :func:`replay` rebuilds that model from a snapshot and the log's tail: each ``seq`` once,
in ``seq`` order, whatever duplicates or reordering the delivery added.
"""
from __future__ import annotations

from typing import Annotated, Any, Iterable, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

#: The current version of each event type (older stored versions are upcast on read).
EVENT_VERSIONS = {"alert_raised": 2, "alert_acknowledged": 1, "subscriber_joined": 1, "subscriber_left": 1}
#: An alert's severity, 1 (info) to 3 (critical); v1 events named it ``level``.
SEVERITY_OF_LEVEL = {"info": 1, "warn": 2, "crit": 3}


class UnknownEventVersion(ValueError):
    """A stored event has a version this code does not know (newer code wrote it)."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, max_length=128)
    agent: str = Field(min_length=1, max_length=64)


class AlertRaised(_Event):
    type: Literal["alert_raised"] = "alert_raised"
    version: Literal[2] = 2
    alert_id: str = Field(min_length=1, max_length=128)
    topic: str = Field(min_length=1, max_length=64)
    severity: int = Field(ge=1, le=3)
    text: str = Field(min_length=1, max_length=2_000)


class AlertAcknowledged(_Event):
    type: Literal["alert_acknowledged"] = "alert_acknowledged"
    version: Literal[1] = 1
    alert_id: str = Field(min_length=1, max_length=128)
    by: str = Field(min_length=1, max_length=64)


class SubscriberJoined(_Event):
    type: Literal["subscriber_joined"] = "subscriber_joined"
    version: Literal[1] = 1
    subscriber: str = Field(min_length=1, max_length=128)


class SubscriberLeft(_Event):
    type: Literal["subscriber_left"] = "subscriber_left"
    version: Literal[1] = 1
    subscriber: str = Field(min_length=1, max_length=128)


MeshEvent = Annotated[Union[AlertRaised, AlertAcknowledged, SubscriberJoined, SubscriberLeft],
                      Field(discriminator="type")]
MESH_EVENT = TypeAdapter(MeshEvent)


class StoredEvent(BaseModel):
    """One row of an append-only log: its place in the stream, when it was written, the event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=1)
    at: float = Field(ge=0)
    event: MeshEvent


def upcast_event(doc: dict[str, Any]) -> dict[str, Any]:
    """The current shape of a stored event document (a new dict; ``doc`` is not changed).

    ``alert_raised`` v1 had ``level`` ("info", "warn", "crit") where v2 has ``severity`` 1-3.
    A version newer than this code knows raises :class:`UnknownEventVersion`.
    """
    kind, version = doc.get("type"), doc.get("version", 1)
    current = EVENT_VERSIONS.get(str(kind))
    if current is not None and isinstance(version, int) and version > current:
        raise UnknownEventVersion(f"{kind} event version {version} was written by newer code "
                                  f"(this code knows up to {current})")
    out = dict(doc)
    if kind == "alert_raised" and version == 1:
        out.pop("level", None)
        out.update(version=2, severity=SEVERITY_OF_LEVEL.get(doc.get("level", "info"), 1))
    return out


def parse_event(doc: dict[str, Any]) -> Any:
    """A stored event document (any known version) as its current pydantic model."""
    return MESH_EVENT.validate_python(upcast_event(doc))


class AlertBoard(BaseModel):
    """The notification agent's read model: open alerts, subscribers, and how far it has read."""

    model_config = ConfigDict(extra="forbid")

    last_seq: int = 0
    open_alerts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    acknowledged: dict[str, str] = Field(default_factory=dict)
    subscribers: list[str] = Field(default_factory=list)


def project_alerts(board: AlertBoard, stored: StoredEvent) -> AlertBoard:
    """``board`` with one more event applied (a new board: a snapshot someone holds never changes)."""
    new = board.model_copy(deep=True)
    event = stored.event
    if isinstance(event, AlertRaised):
        new.open_alerts[event.alert_id] = {"topic": event.topic, "severity": event.severity, "text": event.text}
    elif isinstance(event, AlertAcknowledged):
        if new.open_alerts.pop(event.alert_id, None) is not None:
            new.acknowledged[event.alert_id] = event.by
    elif isinstance(event, SubscriberJoined):
        if event.subscriber not in new.subscribers:
            new.subscribers.append(event.subscriber)
    elif isinstance(event, SubscriberLeft):
        new.subscribers = [s for s in new.subscribers if s != event.subscriber]
    new.last_seq = stored.seq
    return new


def replay(log: Iterable[StoredEvent], snapshot: AlertBoard | None = None, *, until: float | None = None) -> AlertBoard:
    """The board rebuilt from ``snapshot`` (or empty) and the events after its ``last_seq``.

    Each ``seq`` is applied once, in ``seq`` order, however ``log`` repeats or shuffles them;
    ``until`` stops at the events written at or before that time ("what did it know at t?").
    """
    board = snapshot or AlertBoard()
    tail = {e.seq: e for e in log if e.seq > board.last_seq and (until is None or e.at <= until)}
    for seq in sorted(tail):
        if seq != board.last_seq + 1:
            break  # a gap: what follows it cannot be applied yet
        board = project_alerts(board, tail[seq])
    return board


__all__ = ["EVENT_VERSIONS", "SEVERITY_OF_LEVEL", "MESH_EVENT", "AlertAcknowledged", "AlertBoard", "AlertRaised",
           "MeshEvent", "StoredEvent", "SubscriberJoined", "SubscriberLeft", "UnknownEventVersion", "parse_event",
           "project_alerts", "replay", "upcast_event"]
