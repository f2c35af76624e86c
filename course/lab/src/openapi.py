"""The lab Worker's API as an OpenAPI 3.1 document, built from the pydantic models."""
from agent_protocol.discovery import AgentCard, HeartbeatReply, RegistryEntry, RegistryListing
from agent_protocol.pair import CoordinatorState, TaskReport, TaskRecord, TaskRequest, WorkerConfig, WorkerState
from agent_protocol.pool import EphemeralTaskReport, EphemeralTaskRequest, PoolConfig, PoolState, PoolTaskReport, PoolTaskRequest

MODELS = [TaskRequest, TaskReport, TaskRecord, CoordinatorState, WorkerConfig, WorkerState,
          AgentCard, RegistryEntry, RegistryListing, HeartbeatReply,
          PoolConfig, PoolTaskRequest, PoolTaskReport, PoolState, EphemeralTaskRequest, EphemeralTaskReport]


def _ref(model):
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model):
    return {"content": {"application/json": {"schema": _ref(model)}}}


def build_openapi():
    schemas = {}
    for model in MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[model.__name__] = schema
    error = {"description": "bad input: the message names the field and the problem",
             "content": {"application/json": {"schema": {"type": "object", "properties": {
                 "error": {"type": "string"}, "details": {"type": "array"}}}}}}
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "course-lab", "version": "1",
                 "description": "The course's reference multi-agent Worker (Project 1: coordinator + workers)."},
        "paths": {
            "/coordinators/{name}/tasks": {"post": {
                "summary": "Submit a task to a coordinator", "parameters": [name],
                "requestBody": {"required": True, **_json(TaskRequest)},
                "responses": {"201": {"description": "task done", **_json(TaskReport)},
                              "200": {"description": "task failed", **_json(TaskReport)},
                              "400": error, "422": error}}},
            "/coordinators/{name}/tasks/{task_id}": {"get": {
                "summary": "One task's state",
                "parameters": [name, {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the task", **_json(TaskRecord)}, "404": error}}},
            "/coordinators/{name}": {"get": {
                "summary": "A coordinator's state and message log", "parameters": [name],
                "responses": {"200": {"description": "state", **_json(CoordinatorState)}}}},
            "/workers/{name}": {"get": {
                "summary": "A worker's state and message log", "parameters": [name],
                "responses": {"200": {"description": "state", **_json(WorkerState)}}}},
            "/workers/{name}/config": {"put": {
                "summary": "Set a worker's fault knobs", "parameters": [name],
                "requestBody": {"required": True, **_json(WorkerConfig)},
                "responses": {"200": {"description": "the new config", **_json(WorkerConfig)},
                              "400": error, "422": error}}},
            **day2_paths(name, error),
        },
        "components": {"schemas": schemas},
    }


def day2_paths(name, error):
    """Discovery, pools and ephemeral task agents (Day 2)."""
    agent_id = {"name": "agent_id", "in": "path", "required": True, "schema": {"type": "string"}}
    capability = {"name": "capability", "in": "query", "required": False, "schema": {"type": "string"}}
    full = {"description": "the pool and its queue are full; the Retry-After header says when to retry",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": error["content"]}
    return {
        "/registries/{name}/agents": {
            "post": {"summary": "Register an agent card", "parameters": [name],
                     "requestBody": {"required": True, **_json(AgentCard)},
                     "responses": {"201": {"description": "registered", **_json(RegistryEntry)}, "400": error,
                                   "422": error}},
            "get": {"summary": "The alive agents", "parameters": [name, capability],
                    "responses": {"200": {"description": "alive agents", **_json(RegistryListing)}, "422": error}}},
        "/registries/{name}/agents/{agent_id}/heartbeat": {"post": {
            "summary": "Keep an agent alive", "parameters": [name, agent_id],
            "responses": {"200": {"description": "alive until expires_at", **_json(HeartbeatReply)},
                          "404": error, "422": error}}},
        "/pools/{name}/config": {"put": {
            "summary": "Configure a pool", "parameters": [name], "requestBody": {"required": True, **_json(PoolConfig)},
            "responses": {"200": {"description": "the new config", **_json(PoolConfig)}, "400": error, "422": error}}},
        "/pools/{name}/tasks": {"post": {
            "summary": "Run a task on a pool", "parameters": [name],
            "requestBody": {"required": True, **_json(PoolTaskRequest)},
            "responses": {"200": {"description": "done", **_json(PoolTaskReport)}, "400": error, "422": error,
                          "429": full}}},
        "/pools/{name}": {"get": {
            "summary": "A pool's state", "parameters": [name],
            "responses": {"200": {"description": "state", **_json(PoolState)}}}},
        "/tasks": {"post": {
            "summary": "Spawn an ephemeral task agent", "requestBody": {"required": True, **_json(EphemeralTaskRequest)},
            "responses": {"201": {"description": "its report", **_json(EphemeralTaskReport)}, "400": error,
                          "422": error}}},
        "/tasks/{agent_id}": {"get": {
            "summary": "An ephemeral task agent's report", "parameters": [agent_id],
            "responses": {"200": {"description": "the report", **_json(EphemeralTaskReport)}, "404": error,
                          "422": error}}},
    }
