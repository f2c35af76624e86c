"""One case's world: a submitted Worker on its own runtime, a client, and what the runtime saw.

A :class:`ProjectSession` drives the submission only through its HTTP API (``rt.client()``,
and ``rt.async_client()`` for concurrent requests), as a real client would, and injects faults
only through the runtime's controls (``rt.faults``, ``rt.crash``, ``rt.evict``). It never reads
the submission's code or storage: everything it measures comes from the runtime's trace:

- the **messages**: HTTP requests and responses, every Durable Object RPC call and its reply,
  every delivery a fault swallowed, the Worker's subrequests and Workers AI calls, the queue's
  sends, deliveries and retries, and the frames each WebSocket subscriber received, as the
  harness's :class:`MessageLog` (the text and the sequence diagram a failure shows);
- the **counts** a budget is about: calls to a binding since a mark (:meth:`calls`), RPC
  messages (:meth:`rpc_messages`), virtual seconds (:meth:`elapsed`).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

import httpx

from course.checks.harness.messages import MessageLog
from course.runtime import Runtime

#: Trace kinds the message log is made of.
MESSAGE_KINDS = ("request", "response", "do_event", "fault", "subrequest", "ai", "queue_send", "queue_delivery",
                 "queue_retry", "queue_duplicate", "queue_dead_letter")
#: Characters of a WebSocket frame shown in the message log.
FRAME_SHOWN = 60
#: Faults that swallow a call on its way (a crash or an eviction hits an object, not a call).
LOST_CALL_FAULTS = ("partition", "drop")


@dataclass(frozen=True)
class Reply:
    """An HTTP answer as the harness keeps it: status, parsed JSON (or None) and the raw text."""

    status: int
    json: Any
    text: str
    seconds: float  # virtual seconds the request took

    @property
    def error(self) -> str | None:
        """The ``error`` field of a JSON error body, if there is one."""
        return self.json.get("error") if isinstance(self.json, dict) and isinstance(self.json.get("error"), str) else None

    def brief(self) -> str:
        body = self.text if len(self.text) <= 160 else self.text[:157] + "..."
        return f"{self.status} {body}"


class Subscription:
    """A WebSocket client of the submission that keeps every frame with the virtual time it arrived.

    The time is taken when the platform hands the frame to the client (not when the harness reads
    it), so an end-to-end latency can be measured after the fact.
    """

    def __init__(self, session: "ProjectSession", path: str, label: str) -> None:
        self.path, self.label = path, label
        self.frames: list[tuple[float, str]] = []
        self._socket = session.rt.websocket(path)
        inbox = self._socket._inbox  # the client end's inbox: the one place a frame's arrival is seen
        deliver = inbox.deliver

        def keep(kind: str, payload: Any) -> None:
            if kind == "message":
                self.frames.append((session.now(), payload if isinstance(payload, str) else repr(payload)))

        def timed(ws: Any, kind: str, payload: Any) -> None:
            keep(kind, payload)
            deliver(ws, kind, payload)

        def follow() -> None:
            # Frames sent while the upgrade was answered (a backlog) are queued already: keep them
            # (they arrived now), then time every later one as it comes.
            queued = []
            while not inbox.queue.empty():
                queued.append(inbox.queue.get_nowait())
            for item in queued:
                keep(*item)
                inbox.queue.put_nowait(item)
            inbox.deliver = timed

        session.rt.run_on_loop(follow)

    @property
    def closed(self) -> bool:
        return self._socket.closed

    def messages(self) -> list[tuple[float, Any]]:
        """Every frame so far as ``(virtual time, parsed JSON or the text)``."""
        out = []
        for t, text in self.frames:
            try:
                out.append((t, json.loads(text)))
            except ValueError:
                out.append((t, text))
        return out

    def send(self, text: str) -> None:
        self._socket.send(text)

    def close(self) -> None:
        self._socket.close()


def _reply(response: httpx.Response, seconds: float) -> Reply:
    try:
        data = response.json()
    except ValueError:
        data = None
    return Reply(response.status_code, data, response.text, round(seconds, 6))


class ProjectSession:
    """A loaded submission (``rt``) with a client, for one case."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.client = rt.client()
        self.start = rt.trace.mark()
        self.subscriptions: list[Subscription] = []

    # -- requests ------------------------------------------------------------------------------
    def now(self) -> float:
        return self.rt.clock.now()

    def request(self, method: str, path: str, *, json: Any = None, content: bytes | None = None) -> Reply:
        began = self.now()
        response = self.client.request(method, path, json=json, content=content,
                                       headers={"content-type": "application/json"} if content is not None else None)
        return _reply(response, self.now() - began)

    def post(self, path: str, body: Any) -> Reply:
        return self.request("POST", path, json=body)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def concurrently(self, requests: Iterable[tuple[str, str, Any]]) -> list[Reply]:
        """Send every ``(method, path, json)`` at once (one virtual instant); replies in the same order."""
        requests = list(requests)

        async def send_all() -> list[Reply]:
            async with self.rt.async_client() as client:
                async def one(method: str, path: str, body: Any) -> Reply:
                    began = self.now()
                    response = await client.request(method, path, json=body)
                    return _reply(response, self.now() - began)

                return list(await asyncio.gather(*(one(*r) for r in requests)))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(send_all())
        # Called from a thread whose loop is running (a notebook's kernel): run on a thread of its own.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(lambda: asyncio.run(send_all())).result()

    def subscribe(self, path: str, label: str | None = None) -> Subscription:
        """Open a WebSocket to ``path`` (an upgrade request, as a browser would) and keep its frames."""
        sub = Subscription(self, path, label or f"subscriber{len(self.subscriptions) + 1}")
        self.subscriptions.append(sub)
        return sub

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass: timers, queue deliveries and alarms run meanwhile."""
        self.rt.clock.advance(seconds)

    def call(self, binding: str, name: str, method: str, *args: Any) -> Any:
        """Call RPC ``method`` of Durable Object ``name`` of ``binding`` as a client would (a redelivery)."""
        stub = getattr(self.rt.env, binding).getByName(name)
        return self.rt.call(getattr(stub, method)(*args))

    # -- what the trace saw --------------------------------------------------------------------
    def mark(self) -> int:
        return self.rt.trace.mark()

    def calls(self, binding: str, *, since: int = 0, method: str | None = None) -> int:
        """RPC calls that reached ``binding`` (started), plus those a fault swallowed on the way."""
        started = sum(1 for e in self.rt.trace.events("do_event", since=since)
                      if e.data.get("binding") == binding and e.data.get("phase") == "start"
                      and e.data.get("event_kind") == "rpc" and (method is None or e.data.get("method") == method))
        lost = sum(1 for e in self.rt.trace.events("fault", since=since)
                   if e.data.get("phase") == "hit" and e.data.get("fault") in LOST_CALL_FAULTS
                   and str(e.data.get("target", "")).startswith(f"{binding}:"))
        return started + lost

    def replies(self, binding: str, *, since: int = 0, until: int | None = None, method: str | None = None) -> int:
        """RPC calls to ``binding`` that returned normally between the marks ``since`` and ``until``."""
        return sum(1 for e in self.rt.trace.events("do_event", since=since)
                   if (until is None or e.seq <= until) and e.data.get("binding") == binding
                   and e.data.get("phase") == "end" and e.data.get("event_kind") == "rpc"
                   and e.data.get("outcome") == "ok" and (method is None or e.data.get("method") == method))

    def count(self, kind: str, *, since: int = 0, **match: Any) -> int:
        """Trace events of ``kind`` since the mark ``since`` whose data equals every ``match`` item."""
        return len(self.rt.trace.events(kind, since=since, **match))

    def subrequests(self, prefix: str, *, since: int = 0) -> list[str]:
        """The URLs of the Worker's outbound requests starting with ``prefix``, in order."""
        return [str(e.data.get("url")) for e in self.rt.trace.events("subrequest", since=since)
                if str(e.data.get("url", "")).startswith(prefix)]

    def rpc_messages(self, *, since: int = 0) -> int:
        """RPC messages between Durable Objects and Workers (each call and each reply counts one)."""
        return sum(1 for e in self.rt.trace.events("do_event", since=since) if e.data.get("event_kind") == "rpc")

    def log(self, *, since: int | None = None) -> MessageLog:
        """The messages since ``since`` (default: since the session began), as the harness's log."""
        log = MessageLog()
        for e in self.rt.trace.events(MESSAGE_KINDS, since=self.start if since is None else since):
            d = e.data
            if e.kind == "request":
                log.record(e.t, d.get("source", "client"), d.get("worker", "worker"), d.get("method", "?"),
                           d.get("path", ""))
            elif e.kind == "response":
                log.record(e.t, d.get("worker", "worker"), "client", "http.reply", str(d.get("status", "")))
            elif e.kind == "do_event" and d.get("event_kind") == "rpc":
                target = f"{d.get('binding')}:{d.get('object')}"
                caller = str(d.get("caller") or "client")
                if d.get("phase") == "start":
                    log.record(e.t, caller, target, str(d.get("method")))
                elif d.get("phase") == "end":
                    outcome = str(d.get("outcome", "ok"))
                    kind = f"{d.get('method')}.reply" if outcome == "ok" else f"{d.get('method')}.error"
                    log.record(e.t, target, caller, kind, "" if outcome == "ok" else outcome)
            elif e.kind == "subrequest":
                parts = urlsplit(str(d.get("url", "")))
                log.record(e.t, "worker", parts.netloc or "upstream", f"fetch.{d.get('method', 'GET')}",
                           parts.path or "/")
            elif e.kind == "ai":
                log.record(e.t, str(d.get("worker") or "worker"), "ai", "ai.run",
                           str(d.get("model", "")), "" if d.get("status") == "ok" else f"error {d.get('code', '')}")
            elif e.kind.startswith("queue_"):
                what = {"queue_send": ("worker", "send"), "queue_delivery": ("consumer", "deliver"),
                        "queue_retry": ("consumer", "retry"), "queue_duplicate": ("consumer", "redeliver"),
                        "queue_dead_letter": ("consumer", "dead-letter")}[e.kind]
                ids = d.get("ids") or [d.get("id")]
                sender, recipient = (what[0], f"queue:{d.get('queue')}") if e.kind == "queue_send" else \
                    (f"queue:{d.get('queue')}", what[0])
                log.record(e.t, sender, recipient, f"queue.{what[1]}", f"{len(ids)} message(s)")
            elif e.kind == "fault" and d.get("phase") == "hit":
                target = str(d.get("target", "?"))
                if d.get("fault") in LOST_CALL_FAULTS:
                    log.record(e.t, str(d.get("src", "?")), target, "rpc", fate=f"lost: {d.get('fault')}")
                else:  # a crash or an eviction: drawn as a fault on the object itself
                    log.record(e.t, target, target, str(d.get("fault")), fate=f"lost: {d.get('fault')}")
        for sub in self.subscriptions:
            for t, text in sub.frames:
                shown = text if len(text) <= FRAME_SHOWN else text[:FRAME_SHOWN - 3] + "..."
                log.record(t, "worker", sub.label, "ws.frame", shown)
        return log

    def close(self) -> None:
        for sub in self.subscriptions:
            if not sub.closed:
                try:
                    sub.close()
                except Exception:  # noqa: BLE001 - a socket the Worker broke; the runtime closes next
                    pass
        self.client.close()
        self.rt.close()


__all__ = ["MESSAGE_KINDS", "ProjectSession", "Reply", "Subscription"]
