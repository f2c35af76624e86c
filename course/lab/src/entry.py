"""The lab Worker's HTTP API: validates every request, then talks to the agents over RPC.

Routes (all JSON):
  GET  /                                  what this Worker is and its routes
  GET  /openapi.json                      the API as OpenAPI 3.1
  POST /coordinators/{name}/tasks         submit a TaskRequest, get a TaskReport
  GET  /coordinators/{name}/tasks/{id}    one task's TaskRecord
  GET  /coordinators/{name}               the coordinator's CoordinatorState
  GET  /workers/{name}                    a worker's WorkerState
  PUT  /workers/{name}/config             set a worker's fault knobs (WorkerConfig)
"""
import json
import re
from urllib.parse import urlparse

from pydantic import ValidationError
from workers import Response, WorkerEntrypoint

from agents import CoordinatorAgent, WorkerAgent  # noqa: F401  (exported Durable Object classes)
from agent_protocol.pair import TaskRequest, WorkerConfig
from openapi import build_openapi

NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
ROUTES = [
    ("GET", r"^/$", "index"),
    ("GET", r"^/openapi\.json$", "openapi"),
    ("POST", rf"^/coordinators/{NAME}/tasks$", "submit_task"),
    ("GET", rf"^/coordinators/{NAME}/tasks/(?P<task_id>[A-Za-z0-9._-]{{1,64}})$", "get_task"),
    ("GET", rf"^/coordinators/{NAME}$", "get_coordinator"),
    ("GET", rf"^/workers/{NAME}$", "get_worker"),
    ("PUT", rf"^/workers/{NAME}/config$", "configure_worker"),
]


def _route_summary(doc):
    routes = {}
    for line in doc.splitlines():
        match = re.match(r"^\s*(GET|POST|PUT)\s+(\S+)\s+(.*)$", line)
        if match:
            routes[f"{match[1]} {match[2]}"] = match[3]
    return routes


ROUTE_SUMMARY = _route_summary(__doc__)


def error(status, message, **extra):
    return Response.json({"error": message, **extra}, status=status)


def validation_error(exc):
    details = []
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        details.append({"field": loc or "(body)", "problem": err["msg"]})
    first = details[0]
    return error(422, f"invalid request: {first['field']}: {first['problem']}", details=details)


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        allowed = []
        for method, pattern, handler in ROUTES:
            match = re.match(pattern, path)
            if match:
                if method == request.method:
                    return await getattr(self, handler)(request, **match.groupdict())
                allowed.append(method)
        if allowed:
            return Response.json({"error": f"method {request.method} not allowed on {path}"}, status=405,
                                 headers={"allow": ", ".join(allowed)})
        return error(404, f"no route for {request.method} {path}")

    async def read_body(self, request, model):
        """The request's JSON body validated as ``model``, and None; or None and the error response."""
        text = await request.text()
        if not text.strip():
            return None, error(400, "the request body is empty; send a JSON object")
        try:
            body = json.loads(text)
        except ValueError as exc:
            return None, error(400, f"the request body is not valid JSON: {exc}")
        try:
            return model.model_validate(body), None
        except ValidationError as exc:
            return None, validation_error(exc)

    async def index(self, request):
        return Response.json({
            "worker": "course-lab",
            "version": self.env.COURSE_LAB_VERSION,
            "routes": ROUTE_SUMMARY,
        })

    async def openapi(self, request):
        return Response.json(build_openapi())

    async def submit_task(self, request, name):
        task, problem = await self.read_body(request, TaskRequest)
        if problem:
            return problem
        stub = self.env.COORDINATOR.getByName(name)
        report = to_python(await stub.submit(name, task.model_dump(mode="json")))
        return Response.json(report, status=201 if report["status"] == "done" else 200)

    async def get_task(self, request, name, task_id):
        state = to_python(await self.env.COORDINATOR.getByName(name).task(task_id))
        if state is None:
            return error(404, f"coordinator {name!r} has no task {task_id!r}")
        return Response.json(state)

    async def get_coordinator(self, request, name):
        return Response.json(to_python(await self.env.COORDINATOR.getByName(name).state(name)))

    async def get_worker(self, request, name):
        return Response.json(to_python(await self.env.WORKER.getByName(name).state(name)))

    async def configure_worker(self, request, name):
        config, problem = await self.read_body(request, WorkerConfig)
        if problem:
            return problem
        return Response.json(to_python(await self.env.WORKER.getByName(name).configure(config.model_dump())))
