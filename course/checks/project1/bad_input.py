"""Rubric item ``bad-input``: every malformed request gets a precise 4xx, and costs no work.

Each case sends a seeded selection of bad requests (a body that is not JSON, an empty one, a
task that breaks the contract in one field, a task or route that does not exist), then one
good task. Every bad request must be answered with the status the brief gives and a JSON body
``{"error": "<what is wrong>"}``, never a 5xx; none may reach a worker; the good task after
them must still be done.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Sequence

from course.checks.harness.cases import CaseFailed
from course.checks.harness.streams import Streams
from course.checks.project1.contract import WORKER, TaskSpec, check_report, draw_task, submit_path, task_path
from course.checks.projects import ProjectCase, ProjectScenario, ProjectSession

#: A body that breaks the contract: 400 (not JSON) or 422 (JSON that is not a valid TaskRequest).
BODY_STATUSES = (400, 422)


@dataclass(frozen=True)
class BadRequest:
    label: str
    method: str
    path: str
    body: bytes | None
    statuses: tuple[int, ...]

    def describe(self) -> str:
        body = "" if self.body is None else f" {self.body[:60].decode(errors='replace')!r}"
        return f"{self.label}: {self.method} {self.path}{body}"


def _bad_bodies(rng: Any, good: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, body) pairs, each breaking the contract in one way."""
    def changed(**fields: Any) -> dict[str, Any]:
        return {**good, **fields}

    missing = dict(good)
    missing.pop(rng.choice(["task_id", "operation", "items"]))
    words = good["operation"] in ("word_count", "uppercase")
    return [
        ("not JSON", b"{task_id: " + str(rng.randint(1, 99)).encode()),
        ("empty body", b""),
        ("a JSON array", json.dumps([good]).encode()),
        ("unknown operation", changed(operation=rng.choice(["divide", "median", "SUM"]))),
        ("no items", changed(items=[])),
        ("items of the wrong type", changed(items=[rng.randint(1, 9)] if words else ["seven"])),
        ("too many workers", changed(workers=rng.choice([0, 9, 1000]))),
        ("workers not a number", changed(workers="three")),
        ("a task id with spaces", changed(task_id="task " + str(rng.randint(1, 99)))),
        ("no attempts", changed(max_attempts=0)),
        ("a missing field", missing),
    ]


@dataclass(frozen=True)
class BadInputCase(ProjectCase):
    requests: tuple[BadRequest, ...]
    good: TaskSpec
    runtime_seed: int = 0

    def describe(self) -> str:
        return "; ".join(r.describe() for r in self.requests) + f"; then {self.good.describe()}"

    def play(self, session: ProjectSession) -> str:
        mark = session.mark()
        for bad in self.requests:
            reply = session.request(bad.method, bad.path, content=bad.body)
            if reply.status not in bad.statuses:
                raise CaseFailed(f"{bad.label} ({bad.method} {bad.path}) answered {reply.brief()}; expected "
                                 f"{' or '.join(map(str, bad.statuses))} with a JSON error")
            if reply.error is None or not reply.error.strip():
                raise CaseFailed(f"{bad.label} ({bad.method} {bad.path}) answered {reply.brief()}; the body must be "
                                 'JSON {"error": "<what is wrong>"}')
        sent = session.calls(WORKER, since=mark)
        if sent:
            raise CaseFailed(f"the bad requests caused {sent} assignments to workers; bad input must be refused "
                             "before any work")
        check_report(session.post(submit_path(self.good.coordinator), self.good.body()), self.good)
        return f"{len(self.requests)} bad requests refused"

    def candidates(self) -> Sequence[ProjectCase]:
        if len(self.requests) <= 1:
            return []
        return [replace(self, requests=(r,)) for r in self.requests]


class BadInputScenario(ProjectScenario):
    def cases(self) -> Sequence[ProjectCase]:
        streams = Streams(self.seed)
        out = []
        for n in range(3):
            rng = streams("bad-input", n)
            good = draw_task(rng, "pair", f"good-{n}")
            path = submit_path(good.coordinator)
            pool = [BadRequest(label, "POST", path, body if isinstance(body, bytes) else json.dumps(body).encode(),
                               BODY_STATUSES) for label, body in _bad_bodies(rng, good.body())]
            pool += [BadRequest("a task that does not exist", "GET", task_path(good.coordinator, f"nope-{n}"), None,
                                (404,)),
                     BadRequest("a route that does not exist", "GET", f"/agents/{rng.randint(1, 99)}", None, (404,))]
            chosen = rng.sample(pool, 5)
            out.append(BadInputCase(tuple(chosen), good, runtime_seed=self.seed * 100 + n))
        # every kind appears in some case: the last case takes the kinds the sample left out
        seen = {r.label for case in out for r in case.requests}
        rest = tuple(r for r in pool if r.label not in seen)
        if rest:
            out.append(BadInputCase(rest, out[-1].good, runtime_seed=self.seed * 100 + 3))
        return out


__all__ = ["BODY_STATUSES", "BadInputCase", "BadInputScenario", "BadRequest"]
