"""The lab Worker's API as an OpenAPI 3.1 document, built from the pydantic models."""
from agent_protocol.pair import CoordinatorState, TaskReport, TaskRecord, TaskRequest, WorkerConfig, WorkerState

MODELS = [TaskRequest, TaskReport, TaskRecord, CoordinatorState, WorkerConfig, WorkerState]


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
        },
        "components": {"schemas": schemas},
    }
