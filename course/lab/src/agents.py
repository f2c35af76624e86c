"""The agents of Project 1: a coordinator that splits and delegates, workers that compute.

Both are SQLite-backed Durable Objects. Every message an agent sends or receives is appended to
its ``message_log`` table, so a lesson can read any agent's history, and ids come from a counter
in the same database, so a run on the emulator's virtual clock is repeatable to the byte.
"""
import asyncio
import json
import time

from workers import DurableObject

from agent_protocol.envelope import Envelope
from agent_protocol.lifecycle import TaskState, can_transition
from agent_protocol.pair import (
    SubtaskSpec,
    SubtaskState,
    TaskRecord,
    TaskReport,
    TaskRequest,
    WorkerConfig,
    aggregate,
    apply_operation,
    split,
)

#: How long a coordinator waits for one worker before it counts the attempt as failed.
SUBTASK_TIMEOUT_SECONDS = 30.0

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS message_log (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " direction TEXT NOT NULL, type TEXT NOT NULL, envelope TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, state TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def to_python(value):
    """A value received over RPC as plain Python (RPC delivers JS proxies on Cloudflare)."""
    return value.to_py() if hasattr(value, "to_py") else value


def rows(cursor):
    array = cursor.toArray()
    array = array.to_py() if hasattr(array, "to_py") else list(array)
    return [to_python(r) if not isinstance(r, dict) else dict(r) for r in array]


class _Agent(DurableObject):
    kind = "agent"

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.sql = ctx.storage.sql
        for statement in SCHEMA:
            self.sql.exec(statement)

    # -- small SQL helpers -------------------------------------------------------------------
    def next_id(self, prefix):
        found = rows(self.sql.exec("SELECT value FROM counters WHERE name = ?", prefix))
        value = (found[0]["value"] if found else 0) + 1
        self.sql.exec("INSERT INTO counters(name, value) VALUES (?, ?) "
                      "ON CONFLICT(name) DO UPDATE SET value = excluded.value", prefix, value)
        return f"{prefix}-{value}"

    def log(self, direction, envelope):
        self.sql.exec("INSERT INTO message_log(direction, type, envelope) VALUES (?, ?, ?)",
                      direction, envelope.type, envelope.model_dump_json())

    def read_log(self, limit=500):
        found = rows(self.sql.exec(
            "SELECT direction, envelope FROM message_log ORDER BY seq DESC LIMIT ?", limit))
        return [{"direction": r["direction"], "envelope": json.loads(r["envelope"])} for r in reversed(found)]

    def setting(self, name, default):
        found = rows(self.sql.exec("SELECT value FROM settings WHERE name = ?", name))
        return json.loads(found[0]["value"]) if found else default

    def set_setting(self, name, value):
        self.sql.exec("INSERT INTO settings(name, value) VALUES (?, ?) "
                      "ON CONFLICT(name) DO UPDATE SET value = excluded.value", name, json.dumps(value))


class WorkerAgent(_Agent):
    """Computes one subtask per ``task.assign`` message and answers with its result."""

    kind = "worker"

    async def handle(self, envelope):
        message = Envelope.model_validate(to_python(envelope))
        self.log("in", message)
        me = message.recipient
        config = WorkerConfig.model_validate(self.setting("config", {}))
        if config.delay_seconds:
            await asyncio.sleep(config.delay_seconds)
        spec = SubtaskSpec.model_validate(message.payload)
        if config.fail_next > 0:
            config.fail_next -= 1
            self.set_setting("config", config.model_dump())
            self.set_setting("failed", self.setting("failed", 0) + 1)
            reply = message.reply("task.failed", {"task_id": spec.task_id, "subtask_id": spec.subtask_id,
                                                  "error": "injected failure (fail_next)"},
                                  sent_at=time.time(), id=self.next_id(me))
        else:
            value = apply_operation(spec.operation, spec.items)
            self.set_setting("processed", self.setting("processed", 0) + 1)
            reply = message.reply("task.result", {"task_id": spec.task_id, "subtask_id": spec.subtask_id,
                                                  "worker": me, "value": value},
                                  sent_at=time.time(), id=self.next_id(me))
        self.log("out", reply)
        return reply.model_dump(mode="json")

    async def configure(self, config):
        checked = WorkerConfig.model_validate(to_python(config))
        self.set_setting("config", checked.model_dump())
        return checked.model_dump()

    async def state(self, name):
        return {"name": name, "processed": self.setting("processed", 0), "failed": self.setting("failed", 0),
                "config": self.setting("config", WorkerConfig().model_dump()), "log": self.read_log()}


class CoordinatorAgent(_Agent):
    """Splits a task, delegates the slices to workers, reassigns failures, aggregates results."""

    kind = "coordinator"

    def load_task(self, task_id):
        found = rows(self.sql.exec("SELECT state FROM tasks WHERE task_id = ?", task_id))
        return TaskRecord.model_validate_json(found[0]["state"]) if found else None

    def save_task(self, state):
        self.sql.exec("INSERT INTO tasks(task_id, state) VALUES (?, ?) "
                      "ON CONFLICT(task_id) DO UPDATE SET state = excluded.state",
                      state.task_id, state.model_dump_json())

    @staticmethod
    def move(subtask, status):
        if not can_transition(subtask.status, status):
            raise ValueError(f"illegal transition {subtask.status.value} -> {status.value} "
                             f"for subtask {subtask.subtask_id}")
        subtask.status = status
        subtask.history.append(status)

    async def submit(self, name, request):
        req = TaskRequest.model_validate(to_python(request))
        me = f"coordinator:{name}"
        task_id = req.task_id or self.next_id("task")
        existing = self.load_task(task_id)
        if existing is not None and existing.status in (TaskState.DONE, TaskState.FAILED):
            return self.report(existing)  # submitting the same task twice is harmless
        submit = Envelope(id=self.next_id(me), type="task.submit", sender="client:api", recipient=me,
                          correlation_id=task_id, sent_at=time.time(), payload=req.model_dump(mode="json"))
        self.log("in", submit)
        slices = split(req.items, req.workers)
        state = TaskRecord(task_id=task_id, operation=req.operation, max_attempts=req.max_attempts,
                           created_at=time.time(),
                           subtasks=[SubtaskState(subtask_id=f"{task_id}.{i}", items=items)
                                     for i, items in enumerate(slices)])
        workers = [f"{name}-w{i}" for i in range(len(slices))]
        self.save_task(state)
        await asyncio.gather(*(self.run_subtask(me, state, i, workers, submit) for i in range(len(slices))))
        if all(s.status == TaskState.DONE for s in state.subtasks):
            state.result = aggregate(state.operation, [s.value for s in state.subtasks])
            state.status = TaskState.DONE
        else:
            state.status = TaskState.FAILED
        state.finished_at = time.time()
        self.save_task(state)
        report = self.report(state, workers)
        self.log("out", submit.reply("task.report", report, sent_at=time.time(), id=self.next_id(me)))
        return report

    async def run_subtask(self, me, state, index, workers, cause):
        subtask = state.subtasks[index]
        choice = index
        while subtask.attempts < state.max_attempts:
            worker = workers[choice % len(workers)]
            choice += 1
            self.move(subtask, TaskState.ASSIGNED)
            subtask.worker = worker
            subtask.attempts += 1
            spec = SubtaskSpec(task_id=state.task_id, subtask_id=subtask.subtask_id,
                               operation=state.operation, items=subtask.items)
            assign = Envelope(id=self.next_id(me), type="task.assign", sender=me, recipient=f"worker:{worker}",
                              correlation_id=state.task_id, causation_id=cause.id, sent_at=time.time(),
                              payload=spec.model_dump(mode="json"))
            self.log("out", assign)
            self.move(subtask, TaskState.RUNNING)
            self.save_task(state)
            try:
                stub = self.env.WORKER.getByName(worker)
                raw = await asyncio.wait_for(stub.handle(assign.model_dump(mode="json")), SUBTASK_TIMEOUT_SECONDS)
                reply = Envelope.model_validate(to_python(raw))
            except Exception as exc:  # a crashed, slow or broken worker: try another one
                self.move(subtask, TaskState.FAILED)
                subtask.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                self.save_task(state)
                continue
            self.log("in", reply)
            if reply.type == "task.result" and reply.correlation_id == state.task_id:
                subtask.value = reply.payload.get("value")
                subtask.error = None
                self.move(subtask, TaskState.DONE)
                self.save_task(state)
                return
            self.move(subtask, TaskState.FAILED)
            subtask.error = reply.payload.get("error", f"unexpected reply {reply.type}")
            self.save_task(state)

    def report(self, state, workers=None):
        workers = workers or sorted({s.worker for s in state.subtasks if s.worker})
        return TaskReport(
            task_id=state.task_id, status=state.status, result=state.result, subtasks=len(state.subtasks),
            reassignments=sum(max(0, s.attempts - 1) for s in state.subtasks), workers=list(workers),
            failed_subtasks=[s.subtask_id for s in state.subtasks if s.status != TaskState.DONE],
        ).model_dump(mode="json")

    async def task(self, task_id):
        state = self.load_task(task_id)
        return state.model_dump(mode="json") if state is not None else None

    async def state(self, name):
        found = rows(self.sql.exec("SELECT task_id FROM tasks ORDER BY rowid"))
        return {"name": name, "tasks": [r["task_id"] for r in found], "log": self.read_log()}
