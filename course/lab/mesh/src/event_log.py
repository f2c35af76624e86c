"""The notification agent's append-only event log (Day 6): SQL rows, expected versions, live sockets.

The log is one SQL table in the agent's Durable Object (``events``: ``seq`` 1, 2, 3... with no
gaps, the ``event_id`` unique, the event as JSON). Its *version* is the last ``seq``.

- An append names the version it expects (``expected_version``); if another writer got there
  first it is refused (the caller reads again and decides), so two writers never interleave
  their events unknowingly. ``None`` appends at the end whatever the version (the queue
  consumer, whose events are independent facts).
- An append whose event ids are all stored already is a retry of one that succeeded: it is
  answered as before and writes nothing (a lost reply, a redelivered queue message).
- Every event is validated with the mesh's event models (``agent_protocol.events``) before a row
  is written; a stored event is upcast when it is read.
- A WebSocket accepted with ``ctx.acceptWebSocket`` (hibernatable) first gets every event after
  the client's offset, then each new one as it is appended. Both happen in one turn of the
  object with no ``await`` in between, so no event is missed or sent twice at the seam. The
  offset lives in the socket's attachment so it survives hibernation.
"""
import json
import time
from urllib.parse import parse_qs, urlparse

from js import WebSocketPair
from workers import Response

from agent_protocol.events import AlertBoard, StoredEvent, parse_event, replay

#: The log's SQL schema (created on first use; the agent's other state stays in KV storage).
EVENTS_TABLE = ("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, "
                "at REAL NOT NULL, doc TEXT NOT NULL)")


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class NotificationEventLog:
    """Mixed into the NotificationAgent Durable Object: the log, its live sockets, its read model."""

    def _sql(self):
        sql = self.ctx.storage.sql
        sql.exec(EVENTS_TABLE)
        return sql

    def _version(self):
        return self._sql().exec("SELECT COALESCE(MAX(seq), 0) AS v FROM events").one()["v"]

    def _rows(self, after=0, ids=None):
        sql = self._sql()
        if ids is None:
            rows = sql.exec("SELECT seq, at, doc FROM events WHERE seq > ? ORDER BY seq", after).toArray()
        else:
            marks = ", ".join("?" for _ in ids)
            rows = sql.exec(f"SELECT seq, at, doc FROM events WHERE event_id IN ({marks}) ORDER BY seq", *ids).toArray()
        return [StoredEvent(seq=r["seq"], at=r["at"], event=parse_event(json.loads(r["doc"]))) for r in rows]

    async def append(self, events, expected_version=None):
        """Append ``events`` (documents) if the log is at ``expected_version`` (or any, if None).

        Returns ``{"ok", "version", "duplicate", "events"}``; ``ok`` False means a stale version
        (``version`` is the current one) or a partial overlap with stored event ids.
        """
        models = [parse_event(doc) for doc in to_python(events)]  # a ValidationError reaches the caller
        ids = [e.event_id for e in models]
        if len(set(ids)) != len(ids):
            raise ValueError("an append names the same event_id twice")
        version = self._version()
        stored = self._rows(ids=ids)
        if stored and len(stored) == len(ids):
            return {"ok": True, "version": version, "duplicate": True,
                    "events": [s.model_dump(mode="json") for s in stored]}
        if stored:
            return {"ok": False, "version": version, "duplicate": False,
                    "reason": f"events {sorted(s.event.event_id for s in stored)} are stored already, the rest not"}
        if expected_version is not None and expected_version != version:
            return {"ok": False, "version": version, "duplicate": False,
                    "reason": f"the log is at version {version}, not {expected_version}"}
        now, sql = time.time(), self._sql()
        new = [StoredEvent(seq=version + i + 1, at=now, event=e) for i, e in enumerate(models)]

        def write():
            for s in new:
                sql.exec("INSERT INTO events VALUES (?, ?, ?, ?)", s.seq, s.event.event_id, s.at,
                         json.dumps(s.event.model_dump(mode="json")))
        self.ctx.storage.transactionSync(write)
        self._push(new)
        return {"ok": True, "version": new[-1].seq, "duplicate": False, "events": [s.model_dump(mode="json") for s in new]}

    async def events(self, after=0):
        return [s.model_dump(mode="json") for s in self._rows(after=after)]

    async def board(self, at=None):
        """The read model rebuilt from the log by replay; ``at`` (seconds): as it was then."""
        return replay(self._rows(), AlertBoard(), until=at).model_dump(mode="json")

    # -- live delivery over hibernatable WebSockets ----------------------------------------
    def _push(self, new):
        for ws in self.ctx.getWebSockets():
            sent = (ws.deserializeAttachment() or {}).get("sent", 0)
            for s in new:
                if s.seq > sent:
                    ws.send(json.dumps(s.model_dump(mode="json")))
                    sent = s.seq
            ws.serializeAttachment({"sent": sent})

    async def fetch(self, request):
        """The WebSocket upgrade of ``/notify/{name}/events?after=SEQ`` (the Worker checked both)."""
        after = int(parse_qs(urlparse(request.url).query).get("after", ["0"])[0])
        client, server = WebSocketPair.new().object_values()
        self.subscribe_socket(server, after)
        return Response(None, status=101, web_socket=client)

    def subscribe_socket(self, server, after):
        """Accept ``server`` (hibernatable), send it the events after ``after``, then follow the log."""
        self.ctx.acceptWebSocket(server)
        sent = after
        for s in self._rows(after=after):
            server.send(json.dumps(s.model_dump(mode="json")))
            sent = s.seq
        server.serializeAttachment({"sent": sent})

    async def webSocketMessage(self, ws, message):
        # The stream is one-way; a client message asks where the socket is ("sent": its last seq).
        ws.send(json.dumps({"sent": (ws.deserializeAttachment() or {}).get("sent", 0), "version": self._version()}))

    async def webSocketClose(self, ws, code, reason, was_clean):
        ws.close(code, reason)
