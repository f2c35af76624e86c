"""The lab Worker's HTTP API: validates every request, then talks to the agents over RPC.

Routes (all JSON):
  GET  /                                  what this Worker is and its routes
  GET  /openapi.json                      the API as OpenAPI 3.1
  POST /coordinators/{name}/tasks         submit a TaskRequest, get a TaskReport
  GET  /coordinators/{name}/tasks/{id}    one task's TaskRecord
  GET  /coordinators/{name}               the coordinator's CoordinatorState
  GET  /workers/{name}                    a worker's WorkerState
  PUT  /workers/{name}/config             set a worker's fault knobs (WorkerConfig)
  POST /registries/{name}/agents          register an AgentCard, get its RegistryEntry (Day 2)
  POST /registries/{name}/agents/{agent_id}/heartbeat  keep an agent alive (404: expired, register again)
  GET  /registries/{name}/agents          the alive agents, ?capability= to filter (RegistryListing)
  PUT  /pools/{name}/config               size, strategy, capacity, queue bound of a pool (PoolConfig)
  POST /pools/{name}/tasks                run a PoolTaskRequest on the pool (429 + Retry-After when full)
  GET  /pools/{name}                      the pool's PoolState
  POST /tasks                             spawn an ephemeral task agent (EphemeralTaskRequest)
  GET  /tasks/{agent_id}                  its EphemeralTaskReport, 404 once its time-to-live is over
"""
import json
import re
from urllib.parse import parse_qs, urlparse

from pydantic import ValidationError
from workers import Response, WorkerEntrypoint

from agents import CoordinatorAgent, WorkerAgent  # noqa: F401  (exported Durable Object classes)
from pool_agent import PoolAgent  # noqa: F401
from registry_agent import RegistryAgent  # noqa: F401
from task_agent import EphemeralTaskAgent  # noqa: F401
from agent_protocol.discovery import AGENT_ID_PATTERN, CAPABILITY_PATTERN, AgentCard
from agent_protocol.pair import TaskRequest, WorkerConfig
from agent_protocol.pool import EphemeralTaskRequest, PoolConfig, PoolTaskRequest
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
    ("POST", rf"^/registries/{NAME}/agents$", "register_agent"),
    ("POST", rf"^/registries/{NAME}/agents/(?P<agent_id>[^/]+)/heartbeat$", "heartbeat"),
    ("GET", rf"^/registries/{NAME}/agents$", "list_agents"),
    ("PUT", rf"^/pools/{NAME}/config$", "configure_pool"),
    ("POST", rf"^/pools/{NAME}/tasks$", "submit_to_pool"),
    ("GET", rf"^/pools/{NAME}$", "get_pool"),
    ("POST", r"^/tasks$", "spawn_task"),
    ("GET", r"^/tasks/(?P<agent_id>[^/]+)$", "get_spawned_task"),
]
#: What a Durable Object id looks like (64 hex digits), as GET /tasks/{agent_id} expects it.
OBJECT_ID = re.compile(r"^[0-9a-f]{64}$")


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

    # -- Day 2: discovery, pools, ephemeral task agents -----------------------------------------
    async def register_agent(self, request, name):
        card, problem = await self.read_body(request, AgentCard)
        if problem:
            return problem
        entry = to_python(await self.env.REGISTRY.getByName(name).register(card.model_dump(mode="json")))
        return Response.json(entry, status=201)

    async def heartbeat(self, request, name, agent_id):
        if not re.match(AGENT_ID_PATTERN, agent_id):
            return error(422, f"invalid request: agent_id: {agent_id!r} does not match {AGENT_ID_PATTERN}")
        reply = to_python(await self.env.REGISTRY.getByName(name).heartbeat(agent_id))
        if not reply["alive"]:
            return error(404, f"agent {agent_id!r} is not registered in {name!r} (never, or its entry expired): "
                              "register again", **reply)
        return Response.json(reply)

    async def list_agents(self, request, name):
        capability = parse_qs(urlparse(request.url).query).get("capability", [None])[0]
        if capability is not None and not re.match(CAPABILITY_PATTERN, capability):
            return error(422, f"invalid request: capability: {capability!r} does not match {CAPABILITY_PATTERN}")
        agents = to_python(await self.env.REGISTRY.getByName(name).lookup(capability))
        return Response.json({"registry": name, "capability": capability, "agents": agents})

    async def configure_pool(self, request, name):
        config, problem = await self.read_body(request, PoolConfig)
        if problem:
            return problem
        return Response.json(to_python(await self.env.POOL.getByName(name).configure(name, config.model_dump(mode="json"))))

    async def submit_to_pool(self, request, name):
        task, problem = await self.read_body(request, PoolTaskRequest)
        if problem:
            return problem
        report = to_python(await self.env.POOL.getByName(name).submit(name, task.model_dump(mode="json")))
        if report.get("rejected"):
            seconds = report["retry_after"]
            return Response.json({"error": f"pool {name!r} is full ({report['queued']} tasks waiting): retry after "
                                           f"{seconds:g} s"}, status=429,
                                 headers={"retry-after": str(max(1, round(seconds)))})
        return Response.json(report)

    async def get_pool(self, request, name):
        return Response.json(to_python(await self.env.POOL.getByName(name).state(name)))

    async def spawn_task(self, request):
        task, problem = await self.read_body(request, EphemeralTaskRequest)
        if problem:
            return problem
        agent_id = self.env.TASK_AGENT.newUniqueId()
        report = to_python(await self.env.TASK_AGENT.get(agent_id).run(agent_id.toString(), task.model_dump(mode="json")))
        return Response.json(report, status=201)

    async def get_spawned_task(self, request, agent_id):
        if not OBJECT_ID.match(agent_id):
            return error(422, f"invalid request: agent_id: {agent_id!r} is not a Durable Object id (64 hex digits)")
        try:
            stub = self.env.TASK_AGENT.get(self.env.TASK_AGENT.idFromString(agent_id))
        except Exception as exc:  # an id of another namespace
            return error(404, f"no task agent {agent_id!r}: {exc}")
        report = to_python(await stub.report())
        if report is None:
            return error(404, f"task agent {agent_id} has no report: it never existed, or its time-to-live ended "
                              "and it deleted itself")
        return Response.json(report)
