"""The mesh's agents as an A2A-style HTTP API (Day 5): a card, OpenAPI, tasks, problem details.

Routes (all answers JSON; every error ``application/problem+json``, RFC 9457):
  GET  /.well-known/agent-card.json           the mesh's agent card (A2A AgentCard: skills, url, version)
  GET  /openapi.json                          the OpenAPI 3.1 document of these routes, from the pydantic models
  POST /agents/analysis/{name}/tasks          submit an AnalysisRequest as a task: 202, Location, state "submitted"
  GET  /agents/analysis/{name}/tasks/{id}     the task: submitted, working, completed (result) or failed

A task here is the analysis agent's job seen through the A2A task states: the job's ``accepted``,
``running``, ``done`` and ``failed`` are ``submitted``, ``working``, ``completed`` and
``failed``. Submitting the same ``job_id`` again returns the same task (the job id is the
idempotency key). The older routes of ``entry.py`` are unchanged.
"""
import json
import re
from urllib.parse import urlparse

from pydantic import ValidationError
from workers import Response

from agent_protocol.agent_api import (PROBLEM_JSON, WELL_KNOWN_AGENT_CARD, A2AAgentCard, A2ATask, AgentSkill,
                                      openapi_document, problem)
from agent_protocol.mesh import AnalysisRequest

NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
TASK = r"(?P<task_id>[A-Za-z0-9][A-Za-z0-9._:-]{0,127})"
ROUTES = [
    ("GET", rf"^{re.escape(WELL_KNOWN_AGENT_CARD)}$", "card"),
    ("GET", r"^/openapi\.json$", "openapi"),
    ("POST", rf"^/agents/analysis/{NAME}/tasks$", "submit_task"),
    ("GET", rf"^/agents/analysis/{NAME}/tasks/{TASK}$", "get_task"),
]
#: The analysis job's status -> the A2A task state other agents see.
TASK_STATE = {"accepted": "submitted", "running": "working", "done": "completed", "failed": "failed"}
SKILLS = [AgentSkill(id="analyze", name="Analyse records", description="Reads records of a data agent and "
                     "summarises them (count, total, mean), with a model or with rules.", tags=["analysis"]),
          AgentSkill(id="records", name="Versioned records", description="PUT and GET records with "
                     "compare-and-set (/data/{name}/records/{key}).", tags=["data"]),
          AgentSkill(id="notify", name="Notifications", description="Subscribers and a deduplicated outbox.",
                     tags=["notification"])]
OPENAPI_ROUTES = [
    ("GET", WELL_KNOWN_AGENT_CARD, "The mesh's agent card", None, A2AAgentCard, []),
    ("POST", "/agents/analysis/{name}/tasks", "Submit an analysis task", AnalysisRequest, A2ATask, [400, 413, 422]),
    ("GET", "/agents/analysis/{name}/tasks/{id}", "Poll an analysis task", None, A2ATask, [404]),
]


def problem_response(status, kind, title, detail="", headers=None):
    return Response(json.dumps(problem(status, kind, title, detail)), status=status,
                    headers={"content-type": PROBLEM_JSON, **(headers or {})})


def handles(path):
    """Whether this module answers ``path`` (everything else stays with entry.py)."""
    return path in (WELL_KNOWN_AGENT_CARD, "/openapi.json") or path.startswith("/agents/")


def as_task(job):
    state = TASK_STATE[job["status"]]
    return A2ATask(id=job["job_id"], skill="analyze", state=state, result=job.get("result") if state == "completed"
                   else None, error="the analysis failed" if state == "failed" else None).model_dump(mode="json")


async def handle(worker, request):
    path = urlparse(request.url).path
    allowed = []
    for method, pattern, name in ROUTES:
        match = re.match(pattern, path)
        if match:
            if method == request.method:
                return await globals()[name](worker, request, **match.groupdict())
            allowed.append(method)
    if allowed:
        return problem_response(405, "method-not-allowed", "Method not allowed",
                                f"{request.method} is not allowed on {path}", {"allow": ", ".join(allowed)})
    return problem_response(404, "not-found", "No such route", f"no route for {request.method} {path}")


async def card(worker, request):
    origin = "{0.scheme}://{0.netloc}".format(urlparse(request.url))
    body = A2AAgentCard(name="course-mesh", description="The course's agent mesh: a data agent, an analysis agent "
                        "and a notification agent behind one Worker.", url=origin,
                        version=f"{worker.env.COURSE_MESH_VERSION}.0.0", skills=SKILLS)
    return Response.json(body.model_dump(mode="json"))


async def openapi(worker, request):
    return Response.json(openapi_document("course-mesh", f"{worker.env.COURSE_MESH_VERSION}.0.0", OPENAPI_ROUTES))


async def submit_task(worker, request, name):
    text = await request.text()
    if len(text.encode()) > 65_536:
        return problem_response(413, "too-large", "Request body too large", "keep large data in R2, send its key")
    try:
        ask = AnalysisRequest.model_validate(json.loads(text))
    except ValueError as exc:  # JSONDecodeError and pydantic's ValidationError are both ValueErrors
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(body)"
            return problem_response(422, "invalid-task", "Invalid analysis task", f"{where}: {first['msg']}")
        return problem_response(400, "bad-json", "The body is not JSON", str(exc))
    job = await worker.env.ANALYSIS.getByName(name).submit(ask.model_dump(mode="json"))
    job = job.to_py() if hasattr(job, "to_py") else job
    return Response.json(as_task(job), status=202,
                         headers={"location": f"/agents/analysis/{name}/tasks/{job['job_id']}"})


async def get_task(worker, request, name, task_id):
    job = await worker.env.ANALYSIS.getByName(name).job(task_id)
    job = job.to_py() if hasattr(job, "to_py") else job
    if job is None:
        return problem_response(404, "task-not-found", "No such task", f"analysis agent {name!r} has no task {task_id!r}")
    return Response.json(as_task(job))
