"""Project 2's HTTP API and its queue consumer: the one place the three agents are wired together.

Routes (JSON in, JSON out; an error is {"error": "..."}):
  GET  /                                       what this Worker is
  POST /feeds/{feed}/updates                   an UpdateRequest; 202, the update is queued
  GET  /feeds/{feed}/updates?after=SEQ         the notifications after SEQ; with Upgrade: websocket,
                                               then every new one, live
  GET  /feeds/{feed}/updates/{update_id}       one update's notification; 404 until it is published
Bad input gets 400 (not JSON) or 422 (JSON that breaks the contract), never a 500.

The consumer of ``mesh-updates`` runs the pipeline for each message: DataAgent.readings ->
AnalysisAgent.analyse -> NotificationAgent.publish. A message is acknowledged only after its
notification is published; anything that raises on the way (an agent that crashed) retries it.
Every step is idempotent by update id, so a retried or duplicated message repeats no work
that was done and announces the update once.
"""
import json
import re
from urllib.parse import parse_qs, urlparse

from pydantic import ValidationError
from workers import Response, WorkerEntrypoint

from analysis import AnalysisAgent  # noqa: F401  (Durable Object classes are exported from main)
from data import DataAgent  # noqa: F401
from notify import NotificationAgent  # noqa: F401
from protocol import Reading, UpdateMessage, UpdateRequest, facts

FEED = r"(?P<feed>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
ROUTES = [
    ("GET", r"^/$", "index"),
    ("POST", rf"^/feeds/{FEED}/updates$", "submit_update"),
    ("GET", rf"^/feeds/{FEED}/updates$", "read_updates"),
    ("GET", rf"^/feeds/{FEED}/updates/(?P<update_id>[A-Za-z0-9._-]{{1,64}})$", "get_update"),
]


def error(status, message):
    return Response.json({"error": message}, status=status)


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


async def run_pipeline(env, feed, update_id):
    """Fetch, analyse and publish one update; returns its notification. Raises if an agent failed."""
    data = to_python(await env.DATA.getByName(feed).readings(feed, update_id))
    note = {"feed": feed, "update_id": update_id}
    if not data["ok"]:
        note.update(status="failed", error=data["error"])
    else:
        readings = [Reading.model_validate(r) for r in data["readings"]]
        numbers = facts(readings)
        analysis = to_python(await env.ANALYSIS.getByName(feed).analyse(feed, update_id, data["readings"]))
        note.update(status="degraded" if analysis["degraded"] else "ok", count=numbers["count"],
                    mean=numbers["mean"], trend=analysis["trend"], summary=analysis["summary"],
                    anomalies=analysis["anomalies"], source=analysis["source"])
    return to_python(await env.NOTIFY.getByName(feed).publish(note))


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        for method, pattern, handler in ROUTES:
            match = re.match(pattern, path)
            if match and method == request.method:
                return await getattr(self, handler)(request, **match.groupdict())
        return error(404, f"no route for {request.method} {path}")

    async def index(self, request):
        return Response.json({"worker": "project2-agent-mesh", "routes": [f"{m} {p}" for m, p, _ in ROUTES]})

    async def submit_update(self, request, feed):
        text = await request.text()
        if not text.strip():
            return error(400, "the request body is empty; send an UpdateRequest as JSON")
        try:
            body = json.loads(text)
        except ValueError as exc:
            return error(400, f"the request body is not JSON: {exc}")
        try:
            update = UpdateRequest.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(body)"
            return error(422, f"invalid UpdateRequest: {where}: {first['msg']}")
        message = UpdateMessage(feed=feed, update_id=update.update_id).model_dump(mode="json")
        # BEGIN SOLUTION
        await self.env.UPDATES.send(message)
        # END SOLUTION
        # STARTER: pass  # TODO: send the message to the mesh-updates queue
        return Response.json({**message, "status": "queued"}, status=202)

    async def read_updates(self, request, feed):
        values = parse_qs(urlparse(request.url).query).get("after", ["0"])
        try:
            after = int(values[0])
            if after < 0:
                raise ValueError
        except ValueError:
            return error(400, f"?after= must be a whole number >= 0, got {values[0]!r}")
        stub = self.env.NOTIFY.getByName(feed)
        if (request.headers.get("upgrade") or "").lower() == "websocket":
            return await stub.fetch(request)  # the agent accepts the socket and keeps it across hibernation
        return Response.json(to_python(await stub.updates(after)))

    async def get_update(self, request, feed, update_id):
        note = to_python(await self.env.NOTIFY.getByName(feed).update(update_id))
        if note is None:
            return error(404, f"feed {feed!r} has published no update {update_id!r} (yet)")
        return Response.json(note)

    async def queue(self, batch, env, ctx):
        """The ``mesh-updates`` consumer: the pipeline for each message, acknowledged once published."""
        for message in batch.messages:
            try:
                update = UpdateMessage.model_validate(to_python(message.body))
            except ValidationError:
                message.ack()  # a message that breaks the contract will never succeed: do not retry it
                continue
            # BEGIN SOLUTION
            try:
                await run_pipeline(self.env, update.feed, update.update_id)
            except Exception:  # an agent crashed or was unreachable: the queue delivers it again
                message.retry()
            else:
                message.ack()
            # END SOLUTION
            # STARTER: message.ack()  # TODO: run the pipeline (run_pipeline), ack once published, retry if it fails
