"""An upstream that accepts WebSockets: "welcome", two ticks a virtual second apart, echoes,
and closes with 1000 when asked; its subprotocol is the first one the client offered.
``/room`` hands the upgrade to a Durable Object that accepts it with the hibernation API."""
import asyncio
from urllib.parse import urlsplit

from js import WebSocketPair
from workers import DurableObject, Response, WorkerEntrypoint


class Room(DurableObject):
    async def fetch(self, request):
        client, server = WebSocketPair.new().object_values()
        self.ctx.acceptWebSocket(server)
        server.send(f"room has {len(self.ctx.getWebSockets())}")
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        count = int(await self.ctx.storage.get("count") or 0) + 1
        await self.ctx.storage.put("count", count)
        ws.send(f"room heard {message} (#{count})")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if urlsplit(request.url).path == "/room":
            return await self.env.ROOM.get(self.env.ROOM.idFromName("lobby")).fetch(request)
        if (request.headers.get("upgrade") or "").lower() != "websocket":
            return Response("expected a WebSocket upgrade", status=426)
        client, server = WebSocketPair.new().object_values()
        server.accept()

        def on_message(event):
            if event.data == "close please":
                server.close(1000, "as asked")
            else:
                server.send(f"echo: {event.data}")

        server.addEventListener("message", on_message)
        server.send("welcome")

        async def tick():
            for n in (1, 2):
                await asyncio.sleep(1)
                if server.readyState == 1:
                    server.send(f"tick {n}")

        self.ctx.waitUntil(tick())
        headers = {}
        offered = request.headers.get("sec-websocket-protocol")
        if offered:
            headers["sec-websocket-protocol"] = offered.split(",")[0].strip()
        return Response(None, status=101, web_socket=client, headers=headers)
