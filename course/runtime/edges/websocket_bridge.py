"""WebSockets over real HTTP (``course serve``): one ASGI WebSocket connection bridged to a Worker.

uvicorn runs the connection on its own loop; the Worker runs on the runtime's. The upgrade
request is dispatched like any request; a 101 with a WebSocket is accepted (with the Worker's
``Sec-WebSocket-Protocol``), anything else is sent back as the HTTP answer when the server
supports ASGI's ``websocket.http.response`` extension, else the connection closes with 1008.
Then two pumps copy frames: the client end's inbox to the ASGI ``send``, ASGI ``receive`` to
the client end.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from course.workers.http import Request
from course.workers.websocket import ABNORMAL_CLOSURE, SENDABLE_CLOSE_CODES, WebSocket

from course.runtime.edges.sessions import ClientInbox, client_region, take_client_end
from course.runtime.kernel.runtime import Kernel

#: The close code sent for an end that closed with a code no frame may carry (1005, 1006:
#: RFC 6455 7.4.1): an internal error.
INTERNAL_ERROR = 1011


async def serve_websocket(rt: Kernel, scope: dict[str, Any], receive: Callable[[], Any],
                          send: Callable[[Any], Any], *, url: str) -> None:
    """Bridge one ASGI WebSocket connection (uvicorn's loop) to a Worker (the runtime's loop)."""
    first = await receive()
    if first.get("type") != "websocket.connect":
        return
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
    request = Request(url, method="GET", headers=headers)
    response = await rt.call_async(rt.dispatch(request, source="http"))
    if response.status != 101 or response.webSocket is None:
        body = response.body or b""
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await send({"type": "websocket.http.response.start", "status": response.status,
                        "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                    for k, v in response.headers.raw_items()]})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})
        return

    async def take() -> tuple[WebSocket, ClientInbox]:
        return take_client_end(response, client_region(rt, request))

    end, inbox = await rt.call_async(take(), hold=False)
    accept: dict[str, Any] = {"type": "websocket.accept"}
    protocol = response.headers.get("sec-websocket-protocol")
    if protocol:
        accept["subprotocol"] = protocol
    await send(accept)

    async def pump_out() -> None:
        while True:
            kind, payload = await rt.call_async(inbox.queue.get(), hold=False)
            if kind == "message":
                if isinstance(payload, str):
                    await send({"type": "websocket.send", "text": payload})
                else:
                    await send({"type": "websocket.send", "bytes": bytes(payload)})
            elif kind == "close":
                code, reason, _clean = payload
                await send({"type": "websocket.close",
                            "code": code if code in SENDABLE_CLOSE_CODES else INTERNAL_ERROR, "reason": reason})
                return

    writer = asyncio.ensure_future(pump_out())
    try:
        while True:
            reader = asyncio.ensure_future(receive())
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            if writer in done:
                reader.cancel()
                break
            message = reader.result()
            if message["type"] == "websocket.receive":
                data = message.get("text")
                if data is None:
                    data = message.get("bytes") or b""
                if end.readyState != WebSocket.CLOSED and not end.close_sent:
                    await rt.run_on_loop_async(lambda d=data: end.send(d))
            elif message["type"] == "websocket.disconnect":
                code = message.get("code", 1005)
                if code in SENDABLE_CLOSE_CODES:
                    await rt.run_on_loop_async(lambda: end.close(code, message.get("reason") or ""))
                else:
                    await rt.run_on_loop_async(lambda: end.drop_connection(ABNORMAL_CLOSURE, ""))
                break
    finally:
        if not writer.done():
            writer.cancel()
