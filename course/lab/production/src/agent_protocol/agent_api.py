"""Agents as HTTP APIs (Day 5): agent cards, tasks and problem details, in the style of A2A.

The open Agent2Agent protocol (A2A, https://a2a-protocol.org) describes an agent by an
*agent card* published at a well-known path, and the work it does as *tasks* that move through
named states. These models keep the names of that specification (``AgentCard`` fields
``name``, ``description``, ``url``, ``version``, ``capabilities``, ``skills``,
``defaultInputModes``/``defaultOutputModes``; task states ``submitted``, ``working``,
``input-required``, ``completed``, ``failed``, ``canceled``, ``rejected``, ``auth-required``)
but carry them over plain REST routes (``POST /tasks``, ``GET /tasks/{id}``,
``POST /tasks/{id}/cancel``) instead of A2A's JSON-RPC methods, which is what the course's
Workers speak. Errors are RFC 9457 problem details (``application/problem+json``).

The course's own Day 1 lifecycle (:mod:`course.protocol.lifecycle`) is a different, smaller
machine; :class:`A2ATaskState` is the one an agent *publishes* to other agents.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Where an A2A agent publishes its card (A2A specification, "Agent Discovery", v0.3 on).
WELL_KNOWN_AGENT_CARD = "/.well-known/agent-card.json"
#: The media type of an error body (RFC 9457, section 3).
PROBLEM_JSON = "application/problem+json"
#: Where this course's problem types live (``type`` is a URI that names the kind of error).
PROBLEM_BASE = "https://workers-agents.course/problems/"
#: The A2A protocol version these cards claim.
A2A_PROTOCOL_VERSION = "0.3.0"


class A2ATaskState(str, Enum):
    """The states of an A2A task (A2A specification, ``TaskState``)."""

    SUBMITTED = "submitted"
    WORKING = "working"
    INPUT_REQUIRED = "input-required"
    AUTH_REQUIRED = "auth-required"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    REJECTED = "rejected"


#: States a task never leaves (A2A: "terminal"); a cancel of one of these is a 409.
TERMINAL_STATES = frozenset({A2ATaskState.COMPLETED, A2ATaskState.FAILED, A2ATaskState.CANCELED,
                             A2ATaskState.REJECTED})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AgentSkill(_Model):
    """One thing the agent can do (A2A ``AgentSkill``)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")
    name: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)


class AgentCapabilities(_Model):
    """Optional protocol features (A2A ``AgentCapabilities``)."""

    streaming: bool = False
    pushNotifications: bool = False


class A2AAgentCard(_Model):
    """An agent's public description, served at :data:`WELL_KNOWN_AGENT_CARD` (A2A ``AgentCard``)."""

    protocolVersion: str = A2A_PROTOCOL_VERSION
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    url: str = Field(description="where the agent's task API lives")
    version: str = "1.0.0"
    capabilities: AgentCapabilities = Field(default_factory=AgentCapabilities)
    defaultInputModes: list[str] = Field(default_factory=lambda: ["application/json"])
    defaultOutputModes: list[str] = Field(default_factory=lambda: ["application/json"])
    skills: list[AgentSkill] = Field(min_length=1)

    def skill_ids(self) -> list[str]:
        return [skill.id for skill in self.skills]


class TaskRequest(_Model):
    """``POST /tasks``: which skill, on what input."""

    skill: str = Field(min_length=1, max_length=64)
    input: str = Field(max_length=10_000)


class A2ATask(_Model):
    """A task as the API returns it (A2A ``Task``, with its status flattened)."""

    id: str
    skill: str
    state: A2ATaskState
    result: Any = None
    error: str | None = None


class ProblemDetails(BaseModel):
    """An error body (RFC 9457): a problem ``type`` URI, a short ``title``, the ``status``, a ``detail``.

    Extension members are allowed (``retry_after``, ``allowed``...), as the RFC says.
    """

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = ""
    instance: str | None = None


def problem(status: int, kind: str, title: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    """A problem-details body: ``problem(404, "task-not-found", "No such task", "task 't-9'...")``."""
    return ProblemDetails(type=PROBLEM_BASE + kind, title=title, status=status, detail=detail,
                          **extra).model_dump(exclude_none=True)


def openapi_document(title: str, version: str, routes: list[tuple[str, str, str, type | None, type | None, list[int]]]
                     ) -> dict[str, Any]:
    """An OpenAPI 3.1 document from ``(method, path, summary, request model, response model, error statuses)``.

    Schemas come from the pydantic models (``model_json_schema``), so the document and the
    validation the Worker does can never disagree.
    """
    schemas: dict[str, Any] = {"ProblemDetails": ProblemDetails.model_json_schema()}
    paths: dict[str, Any] = {}

    def ref(model: type) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas.setdefault(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    for method, path, summary, body, reply, errors in routes:
        operation: dict[str, Any] = {"summary": summary, "responses": {}}
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
        ok = "202" if method == "POST" and path.endswith("/tasks") else "200"
        operation["responses"][ok] = {"description": "OK" if ok == "200" else "Accepted"}
        if reply is not None:
            operation["responses"][ok]["content"] = {"application/json": {"schema": ref(reply)}}
        for status in errors:
            operation["responses"][str(status)] = {
                "description": "problem details (RFC 9457)",
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}
        paths.setdefault(path, {})[method.lower()] = operation
    return {"openapi": "3.1.0", "info": {"title": title, "version": version}, "paths": paths,
            "components": {"schemas": schemas}}


__all__ = ["A2A_PROTOCOL_VERSION", "PROBLEM_BASE", "PROBLEM_JSON", "TERMINAL_STATES", "WELL_KNOWN_AGENT_CARD",
           "A2AAgentCard", "A2ATask", "A2ATaskState", "AgentCapabilities", "AgentSkill", "ProblemDetails",
           "TaskRequest", "openapi_document", "problem"]
