"""chat: one Durable Object per room; every message is broadcast to every socket in the room.

Unchanged Cloudflare Python Worker code (WebSocket Hibernation API):
https://developers.cloudflare.com/durable-objects/best-practices/websockets/
The Worker routes ``/chat?room=NAME&user=WHO`` to the room's object with ``stub.fetch``.
"""
import json
from urllib.parse import parse_qs, urlparse

from js import WebSocketPair
from workers import DurableObject, Response, WorkerEntrypoint


class ChatRoom(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        # In-memory state is lost on hibernation; the sockets and their attachments are not.
        self.woken_with = len(self.ctx.getWebSockets())

    async def fetch(self, request):
        query = parse_qs(urlparse(request.url).query)
        user = query.get("user", ["anonymous"])[0]
        client, server = WebSocketPair.new().object_values()
        self.ctx.acceptWebSocket(server, [user])
        server.serializeAttachment({"user": user})
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        user = ws.deserializeAttachment()["user"]
        text = json.dumps({"from": user, "text": message, "online": len(self.ctx.getWebSockets())})
        for peer in self.ctx.getWebSockets():
            peer.send(text)

    async def webSocketClose(self, ws, code, reason, was_clean):
        ws.close(code, reason)


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        if url.path != "/chat":
            return Response("Not found", status=404)
        if request.headers.get("Upgrade") != "websocket":
            return Response("Durable Object expected Upgrade: websocket", status=426)
        room = parse_qs(url.query).get("room", ["lobby"])[0]
        stub = self.env.CHAT_ROOM.getByName(room)
        return await stub.fetch(request)
