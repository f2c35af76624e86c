"""The learner's agent (a Durable Object that serves HTTP) on a fresh emulated runtime, called over HTTP.

Questions 1 and 2 are Durable Object classes with a ``fetch(request)`` handler: an agent whose
API is HTTP. Each case loads the class into its own ``Runtime(virtual_time=True, seed=...)``
behind a Worker that forwards every request to one instance (``env.AGENT.getByName("agent")``),
then calls it through ``rt.client()`` as any other agent would, moving the virtual clock and
evicting the object between requests. Every request and response goes into the message log.
"""
from __future__ import annotations

import json
from typing import Any

import httpx

from course.checks.harness import CaseFailed, MessageLog
from course.runtime import Runtime
from course.workers import Response, WorkerEntrypoint

#: The compatibility date the checks' Workers run with (the lab Worker's).
COMPATIBILITY_DATE = "2025-11-01"
BINDING, INSTANCE = "AGENT", "agent"
#: The URL the agent under test is reached at (its card's ``url`` should be this).
AGENT_URL = "https://agent.example"


class _Front(WorkerEntrypoint):
    """The Worker in front of the learner's agent: every request goes to the one instance."""

    async def fetch(self, request: Any) -> Response:
        try:
            return await self.env.AGENT.getByName("agent").fetch(request)
        except Exception as exc:  # the learner's fetch raised: an agent would answer 500
            text = str(exc)
            if "NotImplementedError" in text:
                return Response("NotImplementedError", status=599)
            return Response(f"your agent raised {text.removeprefix('Error: ')}", status=500)


class AgentUnderTest:
    """One learner agent on the emulator; ``call()`` sends one request and logs both legs."""

    def __init__(self, cls: type, *, seed: int = 0, log: MessageLog | None = None, caller: str = "client") -> None:
        self.rt = Runtime(virtual_time=True, seed=seed)
        try:
            self.rt.add_worker(_Front, name="day5-check", durable_objects={BINDING: cls},
                               config={"compatibility_date": COMPATIBILITY_DATE})
        except BaseException:
            self.rt.close()
            raise
        self.http = self.rt.client(base_url=AGENT_URL)
        self.log, self.caller = log if log is not None else MessageLog(), caller

    def __enter__(self) -> "AgentUnderTest":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()
        self.rt.close()

    def now(self) -> float:
        return self.rt.clock.now()

    def move_to(self, t: float) -> None:
        if t > self.now():
            self.rt.clock.advance(t - self.now())

    def evict(self) -> None:
        self.rt.evict(BINDING, INSTANCE)
        self.log.record(self.now(), "platform", "agent", "evict", "memory lost, storage kept", "fault")

    def call(self, method: str, path: str, *, body: Any = None, raw: str | None = None,
             headers: dict[str, str] | None = None, note: str = "") -> httpx.Response:
        content = raw if raw is not None else (json.dumps(body) if body is not None else None)
        hdrs = dict(headers or {})
        if content is not None:
            hdrs.setdefault("content-type", "application/json")
        shown = " ".join(f"{k}={v}" for k, v in hdrs.items() if k != "content-type")
        detail = f"{path}{'  ' + shown if shown else ''}{'  ' + short(content, 60) if content else ''}"
        self.log.record(self.now(), self.caller, "agent", f"http.{method}", detail, note)
        response = self.http.request(method, path, content=content, headers=hdrs)
        if response.status_code == 599:
            raise NotImplementedError("the agent's fetch is not written yet")
        self.log.record(self.now(), "agent", self.caller, f"http.{response.status_code}.reply",
                        short(response.text, 90))
        return response


def short(text: Any, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def body_of(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise CaseFailed(f"{what} answered {response.status_code} with a body that is not JSON: "
                         f"{short(response.text, 80)!r}") from None


def expect_problem(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    """The response must be ``status`` with an RFC 9457 problem-details body; return that body."""
    if response.status_code != status:
        raise CaseFailed(f"{what} answered {response.status_code}, expected {status}"
                         + (f": {short(response.text, 80)!r}" if response.status_code >= 500 else ""))
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/problem+json":
        raise CaseFailed(f"{what} answered {status} with content-type {kind!r}: an error body is problem "
                         "details, content-type 'application/problem+json' (RFC 9457)")
    body = body_of(response, what)
    missing = [k for k in ("type", "title", "status") if not isinstance(body, dict) or k not in body]
    if missing:
        raise CaseFailed(f"{what}: the problem details {short(body, 80)} lack {missing} (RFC 9457: type, title, "
                         "status, detail)")
    if body["status"] != status:
        raise CaseFailed(f"{what}: the problem details say status {body['status']!r} but the response is {status}")
    return body


__all__ = ["AGENT_URL", "AgentUnderTest", "body_of", "expect_problem", "short"]
