"""The NotificationAgent: one feed's log of notifications, and its subscribers over WebSockets.

- The log is a SQL table (``notes``: ``seq`` 1, 2, 3... with no gaps, ``update_id`` unique). Publishing
  an update that is in the log already (a redelivery) changes nothing and sends nothing.
- A subscriber connects to ``/feeds/{feed}/updates?after=SEQ`` and first gets every notification
  after ``SEQ``, then each new one as it is published. Both happen in one turn of the object, with
  no ``await`` between reading the log and following it, so nothing is missed or sent twice at the
  seam. A subscriber that reconnects with the last ``seq`` it saw resumes exactly where it was.
- Sockets are accepted with ``ctx.acceptWebSocket`` (hibernatable): the object can leave memory
  while its subscribers stay connected. What a socket has been sent (its offset) is in the
  socket's attachment, which survives hibernation; nothing about subscribers is in attributes.
"""
import json
from urllib.parse import parse_qs, urlparse

from js import WebSocketPair
from workers import DurableObject, Response

from protocol import Notification

NOTES_TABLE = ("CREATE TABLE IF NOT EXISTS notes (seq INTEGER PRIMARY KEY, update_id TEXT NOT NULL UNIQUE, "
               "doc TEXT NOT NULL)")


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class NotificationAgent(DurableObject):
    def _sql(self):
        sql = self.ctx.storage.sql
        sql.exec(NOTES_TABLE)
        return sql

    def _after(self, after):
        rows = self._sql().exec("SELECT doc FROM notes WHERE seq > ? ORDER BY seq", after).toArray()
        return [json.loads(r["doc"]) for r in rows]

    async def publish(self, note):
        """RPC: add ``note`` (a Notification without its seq) to the log and push it; return it with its seq."""
        note = to_python(note)
        return {**note, "seq": 1}  # TODO: store it in the log (once per update_id), push it to subscribers

    async def updates(self, after=0):
        """RPC: the notifications after ``after``, in order."""
        return []  # TODO: read them from the log

    async def update(self, update_id):
        """RPC: the notification of ``update_id``, or None."""
        return None  # TODO: read it from the log

    async def fetch(self, request):
        """The WebSocket upgrade of ``/feeds/{feed}/updates?after=SEQ`` (the Worker checked both)."""
        after = int(parse_qs(urlparse(request.url).query).get("after", ["0"])[0])
        client, server = WebSocketPair.new().object_values()
        server.accept()  # TODO: hibernatable, the backlog after the offset, then live updates
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        # The stream is one-way; any message from a subscriber asks where it is.
        ws.send(json.dumps({"sent": (ws.deserializeAttachment() or {}).get("sent", 0)}))

    async def webSocketClose(self, ws, code, reason, was_clean):
        ws.close(code, reason)
