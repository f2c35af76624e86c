"""Rubric item ``contract``: the HTTP contract with no fault at all, good input and bad.

Case ``happy``: tasks from each client region get 202 with an Accepted body naming the caller's
region and a planner; after a minute each is readable with ``GET /tasks/{id}`` as a TaskResult
and is in ``GET /feed`` exactly once; a resubmitted task is acknowledged again and still finishes
once; an unknown task is 404. Case ``bad-input``: bodies that are not JSON, empty, or break the
TaskRequest contract get 400/422 with ``{"error": ...}`` and never reach a planner.
"""
from __future__ import annotations

import json
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

RESULT_FIELDS = ("task_id", "status", "summary", "fallback", "region", "planner")


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


class ContractScenario(QuietScenario):
    def cases(self) -> Sequence[ProjectCase]:
        rng = Streams(self.seed)("contract")
        tasks = tuple((region, f"c{self.seed}-{i}", task_text(rng)) for i, region in enumerate(CLIENT_COLOS))
        return [HappyCase(tasks, runtime_seed=self.seed * 100), BadInputCase(tuple(_bad_bodies(rng)),
                                                                             runtime_seed=self.seed * 100 + 1)]


__all__ = ["BadInputCase", "ContractScenario", "HappyCase"]
