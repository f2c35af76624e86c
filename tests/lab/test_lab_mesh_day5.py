"""The mesh lab Worker as an agent API (Day 5): its card at the well-known path, OpenAPI, tasks, problem details."""
from __future__ import annotations

from typing import Iterator

import pytest

from course.lab.connect import LabClient, connect
from course.protocol import PROBLEM_JSON, WELL_KNOWN_AGENT_CARD, A2AAgentCard, A2ATask, ProblemDetails


@pytest.fixture
def mesh() -> Iterator[LabClient]:
    client = connect(seed=5, lab="mesh")
    yield client
    client.close()


def _problem(response: object, status: int) -> ProblemDetails:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = ProblemDetails.model_validate(response.json())
    assert body.status == status and body.type.startswith("https://")
    return body


def test_the_card_is_an_a2a_agent_card_at_the_well_known_path(mesh: LabClient) -> None:
    card = A2AAgentCard.model_validate(mesh.get(WELL_KNOWN_AGENT_CARD).json())
    assert card.name == "course-mesh" and {"analyze", "records", "notify"} <= set(card.skill_ids())
    assert card.url.startswith("http") and card.version.startswith("1.")


def test_openapi_is_generated_from_the_protocol_models(mesh: LabClient) -> None:
    doc = mesh.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    post = doc["paths"]["/agents/analysis/{name}/tasks"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AnalysisRequest"}
    assert PROBLEM_JSON in post["responses"]["422"]["content"]
    assert {"A2AAgentCard", "A2ATask", "AnalysisRequest", "ProblemDetails"} <= set(doc["components"]["schemas"])


def test_an_analysis_task_moves_from_submitted_to_completed_and_a_resubmit_is_the_same_task(mesh: LabClient) -> None:
    for key, value in (("a", 2), ("b", 4)):
        mesh.put(f"/data/prices/records/{key}", json={"value": value})
    ask = {"job_id": "t1", "data_agent": "prices", "keys": ["a", "b"]}
    created = mesh.post("/agents/analysis/main/tasks", json=ask)
    assert created.status_code == 202 and created.headers["location"] == "/agents/analysis/main/tasks/t1"
    assert A2ATask.model_validate(created.json()).state.value == "submitted"
    mesh.advance(30)
    done = A2ATask.model_validate(mesh.get(created.headers["location"]).json())
    assert done.state.value == "completed" and done.result["total"] == 6
    again = mesh.post("/agents/analysis/main/tasks", json=ask)
    assert again.status_code == 202 and again.json()["state"] == "completed"


def test_every_error_is_problem_details_with_its_status(mesh: LabClient) -> None:
    _problem(mesh.post("/agents/analysis/main/tasks", content="{not json", headers={"content-type": "application/json"}), 400)
    bad = _problem(mesh.post("/agents/analysis/main/tasks", json={"job_id": "t2", "data_agent": "prices", "keys": []}), 422)
    assert "keys" in bad.detail
    _problem(mesh.get("/agents/analysis/main/tasks/nope"), 404)
    _problem(mesh.get("/agents/nowhere"), 404)
    wrong = mesh.delete("/agents/analysis/main/tasks")
    _problem(wrong, 405)
    assert wrong.headers["allow"] == "POST"


def test_the_older_mesh_routes_still_answer_as_before(mesh: LabClient) -> None:
    routes = mesh.get("/").json()["routes"]
    assert "PUT /data/{name}/records/{key}" in routes and "GET /.well-known/agent-card.json" in routes
    assert mesh.put("/data/p/records/k", json={"value": 1}).status_code == 201
    assert mesh.get("/nowhere").json()["error"].startswith("no route")
