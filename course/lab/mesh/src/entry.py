"""The mesh lab Worker's HTTP API: validates every request, then talks to the agents over RPC.

Routes (all JSON):
  GET  /                                      what this Worker is and its routes
  PUT  /data/{name}/records/{key}             write a record (RecordWrite; expected_version: compare-and-set, 409)
  GET  /data/{name}/records/{key}             one Record, 404 if none
  GET  /data/{name}/state                     the data agent's DataAgentState
  POST /analysis/{name}/jobs                  submit an AnalysisRequest (run by an alarm), 202
  GET  /analysis/{name}/jobs/{job_id}         one AnalysisJob (its intent log and result)
  GET  /analysis/{name}/state                 the analysis agent's AnalysisAgentState
  POST /notify/{name}/subscriptions           add a Subscription
  GET  /notify/{name}/state                   the notification agent's NotificationAgentState
  GET  /.well-known/agent-card.json           Day 5: the mesh's A2A-style agent card (agent_api.py)
  GET  /openapi.json                          Day 5: the OpenAPI document of the agent API
  POST /agents/analysis/{name}/tasks          Day 5: an analysis job as an A2A task (202, problem details)
  GET  /agents/analysis/{name}/tasks/{id}     Day 5: the task: submitted, working, completed, failed
  POST /notify/{name}/events                  Day 6: append to the notification agent's event log (events_api.py)
  GET  /notify/{name}/events?after=SEQ        Day 6: the events after SEQ; a WebSocket then pushes new ones
  GET  /notify/{name}/board?at=T              Day 6: the alert board rebuilt by replay, as of time T

The Worker also consumes the queue ``mesh-events`` (Day 6: notifications into the event log, events_api.py).
"""
import json
import re
from urllib.parse import urlparse

from pydantic import ValidationError
from workers import Response, WorkerEntrypoint

import agent_api
import events_api
from agents import AnalysisAgent, DataAgent, NotificationAgent  # noqa: F401  (exported Durable Object classes)
from agent_protocol.mesh import MAX_RECORD_BYTES, AnalysisRequest, RecordWrite, Subscription

NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
KEY = r"(?P<key>[A-Za-z0-9][A-Za-z0-9._:-]{0,127})"
ROUTES = [
    ("GET", r"^/$", "index"),
    ("PUT", rf"^/data/{NAME}/records/{KEY}$", "put_record"),
    ("GET", rf"^/data/{NAME}/records/{KEY}$", "get_record"),
    ("GET", rf"^/data/{NAME}/state$", "data_state"),
    ("POST", rf"^/analysis/{NAME}/jobs$", "submit_job"),
    ("GET", rf"^/analysis/{NAME}/jobs/{KEY}$", "get_job"),
    ("GET", rf"^/analysis/{NAME}/state$", "analysis_state"),
    ("POST", rf"^/notify/{NAME}/subscriptions$", "subscribe"),
    ("GET", rf"^/notify/{NAME}/state$", "notify_state"),
]


def error(status, message, **extra):
    return Response.json({"error": message, **extra}, status=status)


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if agent_api.handles(path):
            return await agent_api.handle(self, request)
        if events_api.handles(path):
            return await events_api.handle(self, request)
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

    async def queue(self, batch, env, ctx):
        await events_api.consume(self, batch)

    async def read_body(self, request, model):
        text = await request.text()
        if not text.strip():
            return None, error(400, "the request body is empty; send a JSON object")
        if len(text.encode()) > MAX_RECORD_BYTES:
            return None, error(413, f"the request body is over {MAX_RECORD_BYTES} bytes: keep large data in R2 and "
                                    "store its key here")
        try:
            body = json.loads(text)
        except ValueError as exc:
            return None, error(400, f"the request body is not valid JSON: {exc}")
        try:
            return model.model_validate(body), None
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(body)"
            return None, error(422, f"invalid request: {field}: {first['msg']}")

    async def index(self, request):
        routes = {f"{m} {p}": d for m, p, d in re.findall(r"^\s*(GET|POST|PUT)\s+(\S+)\s+(.*)$", __doc__, re.M)}
        return Response.json({"worker": "course-mesh", "version": self.env.COURSE_MESH_VERSION, "routes": routes})

    async def put_record(self, request, name, key):
        write, problem = await self.read_body(request, RecordWrite)
        if problem:
            return problem
        reply = to_python(await self.env.DATA.getByName(name).put(key, write.model_dump(mode="json")))
        if not reply["ok"]:
            return error(409, f"record {key!r} is at version {reply['version']}, not {write.expected_version}: "
                              "read it again and retry", current=reply["record"])
        return Response.json(reply["record"], status=201 if reply["version"] == 1 else 200)

    async def get_record(self, request, name, key):
        record = to_python(await self.env.DATA.getByName(name).get(key))
        if record is None:
            return error(404, f"data agent {name!r} has no record {key!r}")
        return Response.json(record)

    async def data_state(self, request, name):
        return Response.json(to_python(await self.env.DATA.getByName(name).state(name)))

    async def submit_job(self, request, name):
        job, problem = await self.read_body(request, AnalysisRequest)
        if problem:
            return problem
        return Response.json(to_python(await self.env.ANALYSIS.getByName(name).submit(job.model_dump(mode="json"))),
                             status=202)

    async def get_job(self, request, name, key):
        job = to_python(await self.env.ANALYSIS.getByName(name).job(key))
        if job is None:
            return error(404, f"analysis agent {name!r} has no job {key!r}")
        return Response.json(job)

    async def analysis_state(self, request, name):
        return Response.json(to_python(await self.env.ANALYSIS.getByName(name).state(name)))

    async def subscribe(self, request, name):
        sub, problem = await self.read_body(request, Subscription)
        if problem:
            return problem
        return Response.json({"subscribers": to_python(await self.env.NOTIFY.getByName(name).subscribe(sub.subscriber))},
                             status=201)

    async def notify_state(self, request, name):
        return Response.json(to_python(await self.env.NOTIFY.getByName(name).state(name)))
