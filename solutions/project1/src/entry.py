"""Project 1's HTTP API: checks every request, then talks to the agents over RPC.

Routes (JSON in, JSON out; an error is {"error": "..."}):
  GET  /                                   what this Worker is
  POST /coordinators/{name}/tasks          submit a TaskRequest; 200 with its TaskReport
  GET  /coordinators/{name}/tasks/{id}     the task's TaskRecord; 404 if there is none
  GET  /workers/{name}                     a worker's WorkerStats
Bad input gets 400 (not JSON) or 422 (JSON that breaks the contract), never a 500.
"""
import json
import re
from urllib.parse import urlparse

from pydantic import ValidationError
from workers import Response, WorkerEntrypoint

from coordinator import CoordinatorAgent  # noqa: F401  (Durable Object classes are exported from main)
from protocol import TaskRequest
from worker import WorkerAgent  # noqa: F401

NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
ROUTES = [
    ("GET", r"^/$", "index"),
    ("POST", rf"^/coordinators/{NAME}/tasks$", "submit_task"),
    ("GET", rf"^/coordinators/{NAME}/tasks/(?P<task_id>[A-Za-z0-9._-]{{1,64}})$", "get_task"),
    ("GET", rf"^/workers/{NAME}$", "get_worker"),
]


def error(status, message):
    return Response.json({"error": message}, status=status)


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        for method, pattern, handler in ROUTES:
            match = re.match(pattern, path)
            if match and method == request.method:
                return await getattr(self, handler)(request, **match.groupdict())
        return error(404, f"no route for {request.method} {path}")

    async def index(self, request):
        return Response.json({"worker": "project1-agent-pair", "routes": [f"{m} {p}" for m, p, _ in ROUTES]})

    async def submit_task(self, request, name):
        # BEGIN SOLUTION
        text = await request.text()
        if not text.strip():
            return error(400, "the request body is empty; send a TaskRequest as JSON")
        try:
            body = json.loads(text)
        except ValueError as exc:
            return error(400, f"the request body is not JSON: {exc}")
        try:
            task = TaskRequest.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(body)"
            return error(422, f"invalid TaskRequest: {where}: {first['msg']}")
        report = to_python(await self.env.COORDINATOR.getByName(name).submit(name, task.model_dump(mode="json")))
        return Response.json(report)
        # END SOLUTION
        # STARTER: return error(501, "TODO: validate the TaskRequest, then hand it to the coordinator")

    async def get_task(self, request, name, task_id):
        # BEGIN SOLUTION
        record = to_python(await self.env.COORDINATOR.getByName(name).task(task_id))
        if record is None:
            return error(404, f"coordinator {name!r} has no task {task_id!r}")
        return Response.json(record)
        # END SOLUTION
        # STARTER: return error(501, "TODO: the task's record from its coordinator, 404 if there is none")

    async def get_worker(self, request, name):
        return Response.json(to_python(await self.env.WORKER.getByName(name).stats(name)))
