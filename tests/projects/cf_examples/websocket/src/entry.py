import json
from urllib.parse import urlparse

from js import WebSocketPair
from pyodide.ffi import create_proxy
from workers import DurableObject, Response, WorkerEntrypoint


class Room(DurableObject):
    """Hibernatable WebSockets: the runtime calls webSocketMessage for each message."""

    async def fetch(self, request):
        if request.headers.get("Upgrade") != "websocket":
            return Response("Expected WebSocket upgrade", status=426)
        client, server = WebSocketPair.new().object_values()
        self.ctx.acceptWebSocket(server)
        server.send(json.dumps({"type": "welcome", "peers": len(self.ctx.getWebSockets())}))
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        for peer in self.ctx.getWebSockets():
            peer.send(json.dumps({"type": "message", "text": message}))

    async def webSocketClose(self, ws, code, reason, wasClean):
        ws.close(code, reason)


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path.startswith("/room/"):
            room = self.env.ROOMS.getByName(path[len("/room/"):])
            return await room.fetch(request)
        if path == "/echo":
            # A WebSocket handled in the Worker itself, with event listeners.
            client, server = WebSocketPair.new().object_values()
            server.accept()

            def on_message(event):
                server.send(f"echo: {event.data}")

            server.addEventListener("message", create_proxy(on_message))
            return Response(None, status=101, web_socket=client)
        return Response("not found", status=404)
