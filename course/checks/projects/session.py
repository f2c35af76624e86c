"""One case's world: a submitted Worker on its own runtime, a client, and what the runtime saw.

A :class:`ProjectSession` drives the submission only through its HTTP API (``rt.client()``,
and ``rt.async_client()`` for concurrent requests), as a real client would, and injects faults
only through the runtime's controls (``rt.faults``, ``rt.crash``, ``rt.evict``). It never reads
the submission's code or storage: everything it measures comes from the runtime's trace:

- the **messages**: HTTP requests and responses, every Durable Object RPC call and its reply,
  and every delivery a fault swallowed, as the harness's :class:`MessageLog` (the text and the
  sequence diagram a failure shows);
- the **counts** a budget is about: calls to a binding since a mark (:meth:`calls`), RPC
  messages (:meth:`rpc_messages`), virtual seconds (:meth:`elapsed`).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Iterable

import httpx

from course.checks.harness.messages import MessageLog
from course.runtime import Runtime

#: Trace kinds the message log is made of.
MESSAGE_KINDS = ("request", "response", "do_event", "fault")
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

        return asyncio.run(send_all())

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
            elif e.kind == "fault" and d.get("phase") == "hit":
                target = str(d.get("target", "?"))
                if d.get("fault") in LOST_CALL_FAULTS:
                    log.record(e.t, str(d.get("src", "?")), target, "rpc", fate=f"lost: {d.get('fault')}")
                else:  # a crash or an eviction: drawn as a fault on the object itself
                    log.record(e.t, target, target, str(d.get("fault")), fate=f"lost: {d.get('fault')}")
        return log

    def close(self) -> None:
        self.client.close()
        self.rt.close()


__all__ = ["MESSAGE_KINDS", "ProjectSession", "Reply"]
