"""Clients that drive behaviours a single HTTP request cannot observe: WebSocket sessions and
the dev server's scheduled-handler trigger routes.

Each driver takes a target (targets.Target) and the run id and returns the answer the suite
compares, ``{"status": 200, "body": ...}``, with run-specific values normalised here.
"""
from __future__ import annotations

import json
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

#: Longest wait for one WebSocket message or handshake.
WS_TIMEOUT_S = 10
#: Longest wait for the object's webSocketClose to have run after the client closed.
CLOSE_SEEN_TIMEOUT_S = 5


def _ws(target: Any, path: str) -> ClientConnection:
    url = target.base_url.replace("http://", "ws://", 1) + path
    return connect(url, open_timeout=WS_TIMEOUT_S, close_timeout=WS_TIMEOUT_S)


def _frame(message: str | bytes) -> dict[str, Any]:
    return {"text": message} if isinstance(message, str) else {"binary": list(message)}


def ws_standard_echo(target: Any, run: str) -> dict[str, Any]:
    """Text, binary and empty frames echoed by a Worker; then the server closes with 4001."""
    frames: list[Any] = []
    with _ws(target, f"/ws/echo?run={run}") as ws:
        for message in ("hello", b"\x01\x02\x03", "", "é✓"):
            ws.send(message)
            frames.append(_frame(ws.recv(timeout=WS_TIMEOUT_S)))
        ws.send("close-me")
        try:
            frames.append({"unexpected": _frame(ws.recv(timeout=WS_TIMEOUT_S))})
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            frames.append({"closed_by_server": rcvd.code if rcvd else None,
                           "reason": rcvd.reason if rcvd else None})
    return {"status": 200, "body": frames}


def ws_hibernation(target: Any, run: str) -> dict[str, Any]:
    """Two hibernatable sockets (tags a and b) on one object; b closes with 4000."""
    path = f"/ws/hib?run={run}&room=h"
    answer: dict[str, Any] = {}
    with _ws(target, path + "&tag=a") as a:
        with _ws(target, path + "&tag=b") as b:
            a.send("ping")
            answer["auto_response"] = a.recv(timeout=WS_TIMEOUT_S)
            a.send("info")
            answer["info_a"] = json.loads(a.recv(timeout=WS_TIMEOUT_S))
            b.send("info")
            answer["info_b"] = json.loads(b.recv(timeout=WS_TIMEOUT_S))
            a.send(b"\x01\x02\x03")
            answer["binary"] = _frame(a.recv(timeout=WS_TIMEOUT_S))
            b.close(4000, "client bye")
            answer["client_close_answered"] = {"code": b.close_code, "reason": b.close_reason}
        # webSocketClose runs in the object after the handshake: poll for it.
        deadline = time.monotonic() + CLOSE_SEEN_TIMEOUT_S
        closes: list[Any] = []
        while not closes and time.monotonic() < deadline:
            a.send("closes")
            closes = json.loads(a.recv(timeout=WS_TIMEOUT_S))
            if not closes:
                time.sleep(0.1)
        answer["closes_seen_by_object"] = closes
        a.send("info")
        after = json.loads(a.recv(timeout=WS_TIMEOUT_S))
        after.pop("messages_seen", None)  # depends on how often the close was polled
        answer["info_after_close"] = after
    return {"status": 200, "body": answer}


#: The cron expression whose scheduled run throws (probes: scheduled handler).
FAILING_CRON = "59 23 31 12 *"
#: A fixed scheduledTime far from now: 2000-01-01T00:00:00Z.
FIXED_TIME_MS = 946684800000


def cron_triggers(target: Any, run: str) -> dict[str, Any]:
    """Fire the scheduled handler through each trigger route, then read what it recorded."""
    routes = [
        f"/cdn-cgi/handler/scheduled?cron=*/7+*+*+*+*&time={FIXED_TIME_MS}",
        "/cdn-cgi/handler/scheduled",
        "/__scheduled?cron=*/5+*+*+*+*",
        "/cdn-cgi/handler/scheduled?cron=" + FAILING_CRON.replace(" ", "+"),
    ]
    with target.client() as client:
        triggers = []
        for route in routes:
            r = client.get(route)
            triggers.append({"route": route, "status": r.status_code, "body": r.text})
        observed = client.get("/cron/observe").json()
    return {"status": 200, "body": {"triggers": triggers, **observed}}
