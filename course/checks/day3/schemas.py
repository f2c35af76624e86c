"""Question 1, state schemas: the pydantic models of a coordinator, a worker and a memory agent.

The learner writes ``CoordinatorState`` (with ``TaskEntry``), ``WorkerState`` and
``MemoryState`` (with ``MemoryEntry``): the state each agent persists, with the rules that keep
it valid. A case is one document (a dict, as loaded from storage) and what must happen to it:
a valid document validates and survives a round trip through JSON unchanged; a document that
breaks one rule (named in the case) raises ``pydantic.ValidationError``. The documents are
drawn from the seed: every rule gets one breaking document per scenario.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from course.checks.day3.types import MAX_ENTRY_CHARS, MAX_TASK_ID_LENGTH, MAX_WORKER_CAPACITY, MEMORY_BUDGET_CHARS
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

MODELS = ("CoordinatorState", "WorkerState", "MemoryState")


def _coordinator(rng: Any) -> dict[str, Any]:
    tasks = []
    for i in range(rng.randint(2, 4)):
        status = ("pending", "assigned", "done", "failed")[i % 4]
        tasks.append({"task_id": f"t-{rng.randrange(100, 999)}{i}", "status": status,
                      "worker": None if status == "pending" else f"worker-{rng.randint(1, 3)}",
                      "attempts": 0 if status == "pending" else rng.randint(1, 3),
                      "result": {"words": rng.randint(1, 99)} if status == "done" else None})
    return {"coordinator_id": f"coord-{rng.randrange(10, 99)}", "version": rng.randint(0, 40), "tasks": tasks}


def _worker(rng: Any) -> dict[str, Any]:
    capacity = rng.randint(2, 6)
    return {"worker_id": f"worker-{rng.randint(1, 9)}", "capacity": capacity,
            "in_flight": [f"t-{rng.randrange(100, 999)}{i}" for i in range(rng.randint(0, capacity))],
            "completed": rng.randint(0, 500)}


def _memory(rng: Any) -> dict[str, Any]:
    t = float(rng.randint(0, 1000))
    entries = []
    for i in range(rng.randint(2, 4)):
        t += rng.randint(0, 60)
        entries.append({"key": f"m-{i}", "text": f"remember item {rng.randint(1, 999)}", "created_at": t,
                        "topic": rng.choice(("general", "prices", "travel"))})
    return {"agent_id": f"memory-{rng.randrange(10, 99)}", "entries": entries}


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


def _task_with(status: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        doc["tasks"][0].update({"status": status, **fields})
    return change


#: (model, rule, how a valid document breaks it)
BREAKS: tuple[tuple[str, str, Callable[[dict[str, Any]], None]], ...] = (
    ("CoordinatorState", "an unknown field is refused (a typo must not be dropped silently)", _set(("owner",), "x")),
    ("CoordinatorState", "coordinator_id is not empty", _set(("coordinator_id",), "")),
    ("CoordinatorState", "version is >= 0", _set(("version",), -1)),
    ("CoordinatorState", "a status is one of pending, assigned, done, failed", _task_with("running")),
    ("CoordinatorState", "a task_id is at most MAX_TASK_ID_LENGTH characters",
     _set(("tasks", 0, "task_id"), "t" * (MAX_TASK_ID_LENGTH + 1))),
    ("CoordinatorState", "an assigned task names its worker", _task_with("assigned", worker=None, attempts=1)),
    ("CoordinatorState", "a pending task has no worker", _task_with("pending", worker="worker-1", result=None)),
    ("CoordinatorState", "a done task has a result", _task_with("done", worker="worker-1", result=None)),
    ("CoordinatorState", "attempts is >= 0", _set(("tasks", 0, "attempts"), -2)),
    ("CoordinatorState", "task ids are unique", lambda d: d["tasks"].append(copy.deepcopy(d["tasks"][0]))),
    ("WorkerState", "capacity is 1 to MAX_WORKER_CAPACITY", _set(("capacity",), MAX_WORKER_CAPACITY + 1)),
    ("WorkerState", "capacity is 1 to MAX_WORKER_CAPACITY", _set(("capacity",), 0)),
    ("WorkerState", "no more tasks in flight than capacity",
     lambda d: d.update(in_flight=[f"t-{i}" for i in range(d["capacity"] + 1)])),
    ("WorkerState", "tasks in flight are unique", lambda d: d.update(in_flight=["t-1", "t-1"])),
    ("WorkerState", "completed is >= 0", _set(("completed",), -1)),
    ("WorkerState", "an unknown field is refused (a typo must not be dropped silently)", _set(("inflight",), [])),
    ("MemoryState", "an entry's text is 1 to MAX_ENTRY_CHARS characters",
     _set(("entries", 0, "text"), "x" * (MAX_ENTRY_CHARS + 1))),
    ("MemoryState", "an entry's text is 1 to MAX_ENTRY_CHARS characters", _set(("entries", 0, "text"), "")),
    ("MemoryState", "entry keys are unique", lambda d: d["entries"][1].update(key=d["entries"][0]["key"])),
    ("MemoryState", "entries are in created_at order",
     lambda d: d["entries"][1].update(created_at=d["entries"][0]["created_at"] - 1)),
    ("MemoryState", "all texts together fit MEMORY_BUDGET_CHARS",
     lambda d: d.update(entries=[{"key": f"m-{i}", "text": "y" * MAX_ENTRY_CHARS, "created_at": float(i),
                                  "topic": "general"} for i in range(MEMORY_BUDGET_CHARS // MAX_ENTRY_CHARS + 1)])),
    ("MemoryState", "created_at is >= 0", _set(("entries", 0, "created_at"), -5.0)),
)

_BUILD = {"CoordinatorState": _coordinator, "WorkerState": _worker, "MemoryState": _memory}


@dataclass(frozen=True)
class SchemaCase(Case):
    model: str
    rule: str  # "" for a valid document
    document: str  # JSON

    def describe(self) -> str:
        what = "a valid document" if not self.rule else f"a document that breaks the rule '{self.rule}'"
        return f"{self.model}.model_validate({self.document}): {what}"

    def check(self, models: Any, log: MessageLog) -> str:
        model = _model(models, self.model)
        doc = json.loads(self.document)
        from pydantic import ValidationError

        if self.rule:
            try:
                model.model_validate(doc)
            except ValidationError:
                return "refused"
            raise CaseFailed(f"{self.model}.model_validate({self.document}) was accepted, but it breaks the rule "
                             f"'{self.rule}': it must raise ValidationError")
        try:
            value = model.model_validate(doc)
        except ValidationError as exc:
            raise CaseFailed(f"{self.model}.model_validate({self.document}) refused a valid document: "
                             f"{str(exc).splitlines()[0]} ({'; '.join(e['msg'] for e in exc.errors()[:2])})") from None
        again = model.model_validate(json.loads(value.model_dump_json()))
        if again != value:
            raise CaseFailed(f"{self.model}: a document does not survive model_dump_json() and model_validate(): "
                             f"{value!r} came back as {again!r}")
        return "valid"


def _model(models: Any, name: str) -> Any:
    found = models.get(name) if isinstance(models, dict) else getattr(models, name, None)
    if found is None:
        raise CaseFailed(f"no model named {name}: run the scenario on a dict of your models, e.g. "
                         f"{{'CoordinatorState': CoordinatorState, ...}}")
    if not hasattr(found, "model_validate"):
        raise CaseFailed(f"{name} is not a pydantic model (it has no model_validate)")
    return found


class SchemaScenario(Scenario):
    default_target = "MODELS"

    def __init__(self, seed: int = 0) -> None:
        super().__init__("state-schemas", seed, f"day3.schema_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        rng = random_stream("day3", "schemas", self.seed)
        out: list[Case] = []
        for name in MODELS:
            for _ in range(2):
                out.append(SchemaCase(name, "", json.dumps(_BUILD[name](rng))))
        for name, rule, change in BREAKS:
            doc = _BUILD[name](rng)
            change(doc)
            out.append(SchemaCase(name, rule, json.dumps(doc)))
        return out

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"{len(cases)} documents: every valid one accepted and round-tripped, every broken rule refused"


def schema_scenario(seed: int = 0) -> SchemaScenario:
    """Valid documents of the three agents' states, and one document breaking each rule."""
    return SchemaScenario(seed)


def grade_schemas(models: Any, seed: int = 0) -> CheckResult:
    return schema_scenario(seed).run(models).assert_ok()


__all__ = ["BREAKS", "MODELS", "SchemaCase", "SchemaScenario", "grade_schemas", "schema_scenario"]
