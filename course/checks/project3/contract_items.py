"""Rubric items ``contract`` (the HTTP contract with no fault at all, good input and bad) and
``tracing`` (one W3C trace per task across the agents' log lines).

Case ``happy``: tasks from each client region get 202 with an Accepted body naming the caller's
region and a planner; after a minute each is readable with ``GET /tasks/{id}`` as a TaskResult
and is in ``GET /feed`` exactly once; a resubmitted task is acknowledged again and still finishes
once; an unknown task is 404. Case ``bad-input``: bodies that are not JSON, empty, or break the
TaskRequest contract get 400/422 with ``{"error": ...}`` and never reach a planner.

``tracing``: tasks sent with a ``traceparent`` header keep its trace id (their TaskResult says it),
a task sent without one gets a new one; every JSON log line about a task carries that trace id,
the intake, planner, analyst and notifier each log at least one line with a span of their own, and
every span's parent is the client's span or another span of the same trace.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.harness.streams import Streams
from course.checks.project3.contract import (
    CLIENT_COLOS,
    SUBMIT,
    Clients,
    QuietScenario,
    read_feed,
    task_body,
    task_text,
)
from course.checks.projects import ProjectCase, ProjectSession

RESULT_FIELDS = ("task_id", "status", "summary", "fallback", "region", "planner", "trace_id")


@dataclass(frozen=True)
class HappyCase(ProjectCase):
    tasks: tuple[tuple[str, str, str], ...]  # (region, task_id, text)
    runtime_seed: int = 0

    def describe(self) -> str:
        return "tasks " + ", ".join(f"{t} from {r}" for r, t, _ in self.tasks) + "; the first resubmitted"

    def play(self, session: ProjectSession) -> str:
        rt = session.rt

        async def send_all() -> list[tuple[int, Any, float]]:
            clients = Clients(session)
            try:
                out = [await clients.send(r, "POST", SUBMIT, body=task_body(t, text)) for r, t, text in self.tasks]
                region, task_id, text = self.tasks[0]
                out.append(await clients.send(region, "POST", SUBMIT, body=task_body(task_id, text)))
                return out
            finally:
                await clients.close()

        replies = rt.call(send_all())
        for (region, task_id, _), (status, data, _) in zip([*self.tasks, self.tasks[0]], replies):
            if status != 202 or not isinstance(data, dict):
                raise CaseFailed(f"POST {SUBMIT} ({task_id} from {region}) answered {status} {data}; expected 202 "
                                 "with an Accepted body")
            if data.get("task_id") != task_id or data.get("region") != region or not isinstance(data.get("planner"), str):
                raise CaseFailed(f"POST {SUBMIT} ({task_id} from {region}, colo {CLIENT_COLOS[region]}) answered {data}; "
                                 f"expected task_id {task_id!r}, region {region!r} and the planner's name")
        rt.clock.advance(60)
        for region, task_id, _ in self.tasks:
            reply = session.get(f"/tasks/{task_id}")
            if reply.status != 200 or not isinstance(reply.json, dict):
                raise CaseFailed(f"GET /tasks/{task_id} a minute after it was acknowledged answered {reply.brief()}; "
                                 "expected 200 with its TaskResult")
            missing = [f for f in RESULT_FIELDS if f not in reply.json]
            if missing or reply.json.get("status") != "done" or not reply.json.get("summary"):
                raise CaseFailed(f"GET /tasks/{task_id} answered {reply.brief()}; a TaskResult has "
                                 f"{', '.join(RESULT_FIELDS)}, status 'done' and a summary")
        feed = [r["task_id"] for r in read_feed(session)]
        for _, task_id, _ in self.tasks:
            if feed.count(task_id) != 1:
                raise CaseFailed(f"GET /feed lists {task_id} {feed.count(task_id)} times; expected once")
        unknown = session.get("/tasks/never-submitted")
        if unknown.status != 404 or unknown.error is None:
            raise CaseFailed(f"GET /tasks/never-submitted answered {unknown.brief()}; expected 404 with an error")
        return f"{len(self.tasks)} tasks done, each once"

    def candidates(self) -> Sequence[ProjectCase]:
        return [replace(self, tasks=(t,)) for t in self.tasks] if len(self.tasks) > 1 else []


def _bad_bodies(rng: Any) -> list[tuple[str, bytes, int]]:
    good = {"task_id": f"bad-{rng.randint(1, 99)}", "text": task_text(rng)}
    return [
        ("not JSON", b"{task_id: 1", 400),
        ("an empty body", b"", 400),
        ("no text", json.dumps({"task_id": good["task_id"]}).encode(), 422),
        ("an empty text", json.dumps({**good, "text": ""}).encode(), 422),
        ("a text over 2000 characters", json.dumps({**good, "text": "x" * 2001}).encode(), 422),
        ("a task id with spaces", json.dumps({**good, "task_id": "task 7"}).encode(), 422),
        ("an unknown priority", json.dumps({**good, "priority": "urgent"}).encode(), 422),
        ("an unknown field", json.dumps({**good, "callback": "http://x"}).encode(), 422),
        ("a JSON array", json.dumps([good]).encode(), 422),
    ]


@dataclass(frozen=True)
class BadInputCase(ProjectCase):
    bodies: tuple[tuple[str, bytes, int], ...]
    runtime_seed: int = 0

    def describe(self) -> str:
        return "POST /tasks with " + ", ".join(label for label, _, _ in self.bodies)

    def play(self, session: ProjectSession) -> str:
        mark = session.mark()
        for label, body, status in self.bodies:
            reply = session.request("POST", SUBMIT, content=body)
            if reply.status != status or reply.error is None:
                raise CaseFailed(f"POST {SUBMIT} with {label} answered {reply.brief()}; expected {status} with "
                                 '{"error": "<what is wrong>"}')
        reached = session.calls("PLANNER", since=mark)
        if reached:
            raise CaseFailed(f"the bad requests reached a planner {reached} times; refuse bad input at the intake")
        return f"{len(self.bodies)} bad requests refused"

    def candidates(self) -> Sequence[ProjectCase]:
        return [replace(self, bodies=(b,)) for b in self.bodies] if len(self.bodies) > 1 else []


#: The agents whose log lines every task's trace must reach.
TRACED_AGENTS = ("intake", "planner", "analyst", "notifier")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def log_lines(session: ProjectSession, since: int) -> list[dict[str, Any]]:
    """The Worker's JSON log lines (``print`` of a JSON object) since ``since``."""
    out = []
    for e in session.rt.trace.events("log", since=since):
        try:
            line = json.loads(str(e.data.get("message", "")))
        except ValueError:
            continue
        if isinstance(line, dict):
            out.append(line)
    return out


@dataclass(frozen=True)
class TracingCase(ProjectCase):
    tasks: tuple[tuple[str, str, str, str], ...]  # (region, task_id, text, traceparent or "")
    runtime_seed: int = 0

    def describe(self) -> str:
        return "; ".join(f"{t} from {r} " + (f"with traceparent {tp}" if tp else "without a traceparent")
                         for r, t, _, tp in self.tasks)

    def play(self, session: ProjectSession) -> str:
        rt = session.rt
        mark = session.mark()

        async def send_all() -> list[tuple[int, Any, float]]:
            clients = Clients(session)
            try:
                return [await clients.send(r, "POST", SUBMIT, body=task_body(t, text),
                                           headers={"traceparent": tp} if tp else None)
                        for r, t, text, tp in self.tasks]
            finally:
                await clients.close()

        for (region, task_id, _, _), (status, data, _) in zip(self.tasks, rt.call(send_all())):
            if status != 202:
                raise CaseFailed(f"POST {SUBMIT} ({task_id} from {region}) answered {status} {data}; expected 202")
        rt.clock.advance(60)
        lines = log_lines(session, mark)
        for region, task_id, _, tp in self.tasks:
            reply = session.get(f"/tasks/{task_id}")
            trace_id = reply.json.get("trace_id") if isinstance(reply.json, dict) else None
            if tp and trace_id != tp.split("-")[1]:
                raise CaseFailed(f"{task_id} was sent with traceparent {tp}; its TaskResult says trace_id "
                                 f"{trace_id!r}: continue the caller's trace")
            if not tp and not (isinstance(trace_id, str) and _HEX32.match(trace_id) and set(trace_id) != {"0"}):
                raise CaseFailed(f"{task_id} was sent without a traceparent; its TaskResult says trace_id {trace_id!r}: "
                                 "start a trace (32 hex digits, not all zero)")
            mine = [line for line in lines if line.get("task_id") == task_id]
            wrong = [line for line in mine if line.get("trace_id") != trace_id]
            if wrong:
                raise CaseFailed(f"a log line about {task_id} has trace_id {wrong[0].get('trace_id')!r}, not the task's "
                                 f"{trace_id}: {json.dumps(wrong[0])[:200]}")
            agents = {line.get("agent") for line in mine}
            missing = [a for a in TRACED_AGENTS if a not in agents]
            if missing:
                raise CaseFailed(f"no log line about {task_id} from {', '.join(missing)} (agents that logged it: "
                                 f"{', '.join(sorted(map(str, agents))) or 'none'})")
            spans = {line.get("span_id") for line in mine}
            roots = {tp.split("-")[2]} if tp else set()
            orphan = [line for line in mine if line.get("parent_id") not in spans | roots
                      and not (not tp and line.get("agent") == "intake")]
            if orphan:
                raise CaseFailed(f"the span of {orphan[0].get('agent')}'s log line about {task_id} has parent "
                                 f"{orphan[0].get('parent_id')!r}, which is neither the caller's span nor another span "
                                 "of the task's trace: pass each hop's own span on")
        return f"{len(self.tasks)} tasks, each one trace across {', '.join(TRACED_AGENTS)}"

    def candidates(self) -> Sequence[ProjectCase]:
        return [replace(self, tasks=(t,)) for t in self.tasks] if len(self.tasks) > 1 else []


class TracingScenario(QuietScenario):
    def cases(self) -> Sequence[ProjectCase]:
        rng = Streams(self.seed)("tracing")
        tasks = []
        for i, region in enumerate(CLIENT_COLOS):
            tp = f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01"
            tasks.append((region, f"tr{self.seed}-{i}", task_text(rng), tp))
        tasks.append((rng.choice(tuple(CLIENT_COLOS)), f"tr{self.seed}-{len(tasks)}", task_text(rng), ""))
        return [TracingCase(tuple(tasks), runtime_seed=self.seed * 100)]


class ContractScenario(QuietScenario):
    def cases(self) -> Sequence[ProjectCase]:
        rng = Streams(self.seed)("contract")
        tasks = tuple((region, f"c{self.seed}-{i}", task_text(rng)) for i, region in enumerate(CLIENT_COLOS))
        return [HappyCase(tasks, runtime_seed=self.seed * 100), BadInputCase(tuple(_bad_bodies(rng)),
                                                                             runtime_seed=self.seed * 100 + 1)]


__all__ = ["BadInputCase", "ContractScenario", "HappyCase", "TRACED_AGENTS", "TracingCase", "TracingScenario", "log_lines"]
