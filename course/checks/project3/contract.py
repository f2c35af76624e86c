"""Project 3's contract as the checks read it: routes, where clients come from, signing, results.

The brief states it for the learner and ``src/protocol.py`` of the starter fixes it; this module
is the harness's own reading (it never imports the submission). Signed calls use the course's
canonical request (``course.protocol.production``): method, path, SHA-256 of the body, timestamp
and nonce under HMAC-SHA256, the scheme the brief gives.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import httpx

from course.checks.harness.cases import CaseFailed
from course.checks.harness.result import CheckResult
from course.checks.projects import ProjectScenario, ProjectSession, project_root
from course.protocol.production import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from course.runtime.edges.transport import AsyncWorkerTransport
from course.runtime.kernel.config import read_dev_vars

SUBMIT = "/tasks"
SIGNED = "/internal/tasks"
FEED = "/feed"
#: The regions the harness's clients come from, and the Cloudflare colo each one's requests carry
#: (``request.cf.colo``; the brief's COLO_REGIONS maps them back).
CLIENT_COLOS = {"wnam": "SJC", "weur": "LHR", "apac": "SIN"}
#: The secret a submission's agents share (its ``.dev.vars``, as ``wrangler dev`` reads it).
SIGNING_KEY_NAME = "AGENT_SIGNING_KEY"
#: Words the harness's task texts are made of.
WORDS = ("agents", "queue", "durable", "region", "latency", "breaker", "retry", "signed", "metrics", "shard",
         "planner", "notifier", "fallback", "budget", "health")
#: Files of a project that decide how it behaves (what the hour's memo is keyed by).
SKIPPED_PARTS = ("python_modules", ".wrangler", "__pycache__", ".git", "node_modules", ".venv")


class QuietScenario(ProjectScenario):
    """A scenario whose Worker's log lines (its ``print``s) stay out of the grader's output."""

    def run(self, folder: Path | str) -> CheckResult:
        self.folder = str(folder)
        with contextlib.redirect_stdout(io.StringIO()):
            return super().run(folder)


def signing_key(folder: Path | str) -> str | None:
    """The submission's shared secret (None if its ``.dev.vars`` has none)."""
    return read_dev_vars(project_root(folder)).get(SIGNING_KEY_NAME) or None


def missing_key_message() -> str:
    return (f"no {SIGNING_KEY_NAME} in .dev.vars: the harness signs partner calls with it (the brief: 'Signed "
            "calls'); on Cloudflare it is a secret (`wrangler secret put`)")


def project_digest(folder: Path | str) -> str:
    """A digest of every file of the project: the same files give the same hour."""
    root = project_root(folder)
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not path.is_symlink() and not any(p in SKIPPED_PARTS for p in rel.parts):
            h.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def task_text(rng: Any) -> str:
    sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))).capitalize() + "."
                 for _ in range(rng.randint(1, 3))]
    return " ".join(sentences)


@dataclass(frozen=True)
class Sent:
    """One request the harness sent and what it got."""

    t: float
    route: str
    region: str
    task_id: str
    status: int
    seconds: float
    json: Any


class Clients:
    """One async httpx client per client region (their requests carry that region's colo).

    Used from a coroutine running on the runtime's own loop (``rt.call(...)``), so virtual time
    jumps straight over the idle gaps between arrivals instead of waiting for other threads.
    """

    def __init__(self, session: ProjectSession) -> None:
        self.session = session
        self.by_region = {r: httpx.AsyncClient(transport=AsyncWorkerTransport(session.rt, cf={"colo": colo}),
                                               base_url="http://project3.test")
                          for r, colo in CLIENT_COLOS.items()}

    async def send(self, region: str, method: str, path: str, *, body: bytes | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any, float]:
        began = self.session.now()
        response = await self.by_region[region].request(
            method, path, content=body, headers={"content-type": "application/json", **(headers or {})})
        try:
            data = response.json()
        except ValueError:
            data = None
        return response.status_code, data, round(self.session.now() - began, 6)

    async def close(self) -> None:
        for client in self.by_region.values():
            await client.aclose()


def signed_headers(key: str, path: str, body: bytes, timestamp: int, nonce: str) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(key, "POST", path, body, timestamp, nonce), TIMESTAMP_HEADER: str(timestamp),
            NONCE_HEADER: nonce}


def task_body(task_id: str, text: str, priority: str = "normal") -> bytes:
    return json.dumps({"task_id": task_id, "text": text, "priority": priority}).encode()


def read_feed(session: ProjectSession) -> list[dict[str, Any]]:
    reply = session.get(FEED)
    if reply.status != 200 or not isinstance(reply.json, dict) or not isinstance(reply.json.get("completions"), list):
        raise CaseFailed(f"GET {FEED} answered {reply.brief()}; expected 200 with {{\"completions\": [...]}}")
    rows = reply.json["completions"]
    bad = [r for r in rows if not isinstance(r, dict) or not isinstance(r.get("task_id"), str)]
    if bad:
        raise CaseFailed(f"GET {FEED}: an entry is not a TaskResult: {str(bad[0])[:160]}")
    return rows


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile, as the brief defines it (0 for none)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


__all__ = ["CLIENT_COLOS", "Clients", "QuietScenario", "FEED", "SIGNED", "SUBMIT", "Sent", "missing_key_message", "percentile", "project_digest",
           "read_feed", "signed_headers", "signing_key", "task_body", "task_text"]
