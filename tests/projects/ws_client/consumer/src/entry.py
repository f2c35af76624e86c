"""A Durable Object that keeps a WebSocket to an upstream feed (``js.WebSocket.new``, as in
Cloudflare's websocket-stream-consumer example), and a Worker route that uses the other form,
``fetch`` with ``Upgrade: websocket`` and ``resp.webSocket.accept()``."""
import asyncio
import time
from urllib.parse import parse_qs, urlsplit

import js
from pyodide.ffi import create_proxy
from workers import DurableObject, Response, WorkerEntrypoint, fetch

FEED = "wss://feed.example.com/subscribe"


class FeedConsumer(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.ws = None
        self.events = []

    async def fetch(self, request):
        url = urlsplit(request.url)
        if url.path == "/connect":
            self.ws = js.WebSocket.new(FEED, ["feed.v1", "feed.v0"])
            self.ws.addEventListener("open", create_proxy(self.on_open))
            self.ws.addEventListener("message", create_proxy(self.on_message))
            self.ws.addEventListener("error", create_proxy(self.on_error))
            self.ws.addEventListener("close", create_proxy(self.on_close))
            try:
                self.ws.send("too early")
            except Exception as exc:  # noqa: BLE001 - the test reads the error's name
                self.events.append(["send while connecting", getattr(exc, "name", type(exc).__name__)])
            return Response("connecting")
        if url.path == "/send":
            self.ws.send(parse_qs(url.query)["text"][0])
            return Response("sent")
        if url.path == "/status":
            state = None if self.ws is None else self.ws.readyState
            return Response.json({"events": self.events, "readyState": state,
                                  "protocol": getattr(self.ws, "protocol", None)})
        return Response("not found", status=404)

    async def on_open(self, event):
        self.events.append(["open", event.type, time.time()])
        await self.ctx.storage.put("opened", True)

    def on_message(self, event):
        self.events.append(["message", event.data, time.time()])

    def on_error(self, event):
        self.events.append(["error", str(event.message)])

    def on_close(self, event):
        self.events.append(["close", event.code, event.reason, event.wasClean])
        if self.ws.readyState == js.WebSocket.CLOSING:
            # before the web_socket_auto_reply_to_close compatibility date, the Worker answers
            self.ws.close(1000, "bye")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlsplit(request.url)
        if url.path == "/fetch-upgrade":
            resp = await fetch("https://feed.example.com/subscribe", headers={"Upgrade": "websocket"})
            ws = resp.webSocket
            ws.accept()
            got = asyncio.get_running_loop().create_future()
            seen = []

            def on_message(event):
                seen.append(event.data)
                if len(seen) == 2 and not got.done():
                    got.set_result(seen)

            ws.addEventListener("message", on_message)
            ws.send("hi")
            messages = await got
            ws.close(1000, "done")
            return Response.json({"status": resp.status, "messages": messages})
        if url.path == "/room-chat":
            ws = js.WebSocket.new("wss://feed.example.com/room")
            heard = []
            done = asyncio.get_running_loop().create_future()

            def on_open(event):
                ws.send("hello")
                ws.send("again")

            def on_message(event):
                heard.append(event.data)
                if len(heard) == 3:
                    ws.close(1000, "thanks")
                    done.set_result(None)

            ws.addEventListener("open", on_open)
            ws.addEventListener("message", on_message)
            await done
            return Response.json({"heard": heard})
        stub = self.env.CONSUMER.get(self.env.CONSUMER.idFromName("feed"))
        return await stub.fetch(request)
