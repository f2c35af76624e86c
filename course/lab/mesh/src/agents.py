"""The mesh's three agents and the state each persists (Day 3).

- :class:`DataAgent`: the single writer of its records (SQL table ``records``, one row per key,
  a version per row); a write may be a compare-and-set on that version. Schema changes go
  through ``PRAGMA user_version`` inside ``blockConcurrencyWhile``.
- :class:`AnalysisAgent`: an analysis job is written to storage first (the intent log), then
  an alarm runs it: it reads each record from the data agent, keeps what it read in the same
  write as its progress, computes, asks Workers AI for a reading (Day 4, :mod:`analysis`: JSON
  mode, validated, one retry, a second model, rules flagged ``degraded`` at the end), and
  notifies. A crash or an eviction anywhere resumes from the log; the alarm is retried by the
  platform if it throws.
- :class:`NotificationAgent`: subscribers and an outbox; a notification with a key it has
  seen is not sent again (the analysis agent may retry after a crash). Day 6: it keeps an
  event log (:mod:`event_log`), and each new notification is published to the ``mesh-events``
  queue as an ``alert_raised`` event, which the Worker's consumer appends to that log.
"""
import json
import time

from workers import DurableObject

from agent_protocol.mesh import (
    MESH_STATE_VERSION,
    AnalysisAgentState,
    AnalysisJob,
    DataAgentState,
    Notification,
    NotificationAgentState,
    MAX_OUTBOX,
)
from analysis import analyse, facts
from event_log import NotificationEventLog

#: The data agent's SQL schema version.
DATA_SCHEMA = 1


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class DataAgent(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        ctx.blockConcurrencyWhile(self.migrate)

    async def migrate(self):
        sql = self.ctx.storage.sql
        if sql.exec("PRAGMA user_version").one()["user_version"] < DATA_SCHEMA:
            def create():
                sql.exec("CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                         "source TEXT NOT NULL, version INTEGER NOT NULL, updated_at REAL NOT NULL)")
                sql.exec(f"PRAGMA user_version = {DATA_SCHEMA}")
            self.ctx.storage.transactionSync(create)

    def _row(self, key):
        rows = self.ctx.storage.sql.exec("SELECT * FROM records WHERE key = ?", key).toArray()
        if not rows:
            return None
        r = rows[0]
        return {"key": r["key"], "value": json.loads(r["value"]), "source": r["source"], "version": r["version"],
                "updated_at": r["updated_at"]}

    async def put(self, key, write):
        write = to_python(write)
        current = self._row(key)
        have = current["version"] if current else 0
        expected = write.get("expected_version")
        if expected is not None and expected != have:
            return {"ok": False, "record": current, "version": have}
        record = {"key": key, "value": write["value"], "source": write.get("source", ""), "version": have + 1,
                  "updated_at": time.time()}
        self.ctx.storage.sql.exec("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?)", key,
                                  json.dumps(record["value"]), record["source"], record["version"], record["updated_at"])
        return {"ok": True, "record": record, "version": record["version"]}

    async def get(self, key):
        return self._row(key)

    async def state(self, name):
        sql = self.ctx.storage.sql
        row = sql.exec("SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(value)), 0) AS b FROM records").one()
        return DataAgentState(name=name, records=row["n"], bytes=row["b"]).model_dump(mode="json")


class AnalysisAgent(DurableObject):
    async def submit(self, job):
        job = AnalysisJob.model_validate(to_python(job))
        key = f"job:{job.job_id}"
        known = await self.ctx.storage.get(key)
        if known is not None:
            return known  # a retried submit: the same job, nothing new
        stored = job.model_dump(mode="json")
        queue = (await self.ctx.storage.get("queue")) or []
        await self.ctx.storage.put({key: stored, "queue": queue + [job.job_id]})  # the intent, in one write
        await self.ctx.storage.setAlarm(time.time() * 1000)
        return stored

    async def alarm(self):
        queue = (await self.ctx.storage.get("queue")) or []
        for job_id in list(queue):
            key = f"job:{job_id}"
            job = await self.ctx.storage.get(key)
            job["status"], job["attempts"] = "running", job["attempts"] + 1
            await self.ctx.storage.put(key, job)
            data = self.env.DATA.getByName(job["data_agent"])
            for record_key in job["keys"]:
                if record_key in job["read"]:
                    continue  # read before a crash: kept in the log
                record = to_python(await data.get(record_key))
                job["read"][record_key] = None if record is None else record["value"]
                await self.ctx.storage.put(key, job)
            job["result"] = facts(job["read"])
            # The model's reading, or the rules' (degraded); a crash before the write below asks again.
            report = await analyse(self.env.AI, job_id, job["read"])
            job["analysis"] = report.model_dump(mode="json")
            job["status"] = "done"
            queue = [j for j in queue if j != job_id]
            await self.ctx.storage.put({key: job, "queue": queue})
            if job.get("notify"):
                text = (f"analysis {job_id}: {job['result']['records']} records, total {job['result']['total']}, "
                        f"trend {report.trend}" + (" (degraded: rule-based reading)" if report.degraded else ""))
                await self.env.NOTIFY.getByName(job["notify"]).send({"key": f"analysis:{job_id}", "text": text})

    async def job(self, job_id):
        return await self.ctx.storage.get(f"job:{job_id}")

    async def state(self, name):
        jobs = await self.ctx.storage.list(prefix="job:")
        return AnalysisAgentState(name=name, jobs={k[4:]: v["status"] for k, v in to_python(jobs).items()}).model_dump()


class NotificationAgent(NotificationEventLog, DurableObject):
    async def subscribe(self, subscriber):
        subscribers = (await self.ctx.storage.get("subscribers")) or []
        if subscriber not in subscribers:
            subscribers = subscribers + [subscriber]
            await self.ctx.storage.put("subscribers", subscribers)
        return subscribers

    async def send(self, notification):
        note = Notification.model_validate(to_python(notification))
        outbox = (await self.ctx.storage.get("outbox")) or []
        if any(n["key"] == note.key for n in outbox):
            return {"sent": False, "duplicate": True}
        note.sent_at = time.time()
        note.to = (await self.ctx.storage.get("subscribers")) or []
        outbox = (outbox + [note.model_dump(mode="json")])[-MAX_OUTBOX:]  # a size budget: the oldest go first
        await self.ctx.storage.put("outbox", outbox)
        # Published after the outbox write: a crash in between is a notification the log misses
        # (the outbox has it); a resend finds the key and stops above. The id makes redelivery a no-op.
        await self.env.MESH_EVENTS.send({"agent": self.ctx.id.name, "event": {
            "type": "alert_raised", "event_id": f"notification:{note.key}", "agent": self.ctx.id.name,
            "alert_id": note.key, "topic": "notification", "severity": 1, "text": note.text}})
        return {"sent": True, "duplicate": False}

    async def state(self, name):
        return NotificationAgentState(
            version=MESH_STATE_VERSION, name=name, subscribers=(await self.ctx.storage.get("subscribers")) or [],
            outbox=(await self.ctx.storage.get("outbox")) or []).model_dump(mode="json")
