"""The notification agent's event log over HTTP, a WebSocket and a queue (Day 6).

Routes (answers JSON; errors ``application/problem+json``, RFC 9457):
  POST /notify/{name}/events                  append events (EventAppend: expected_version; 409 when stale)
  GET  /notify/{name}/events?after=SEQ        the stored events after SEQ; with Upgrade: websocket, then live ones
  GET  /notify/{name}/board?at=T              the AlertBoard read model rebuilt by replay (as of time T, seconds)

The queue ``mesh-events`` carries the notifications the agents publish (:class:`EventDelivery`:
which notification agent, which event). Delivery is at least once, so :func:`consume` appends
each event by its id, and a duplicate is a no-op. A message that is not a valid delivery is
retried like any failure, and after ``max_retries`` the queue moves it to the dead-letter queue
``mesh-events-dlq`` (https://developers.cloudflare.com/queues/configuration/dead-letter-queues/),
where it waits for a person instead of blocking the log.
"""
import json
import re
from urllib.parse import parse_qs, urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from workers import Response

from agent_protocol.agent_api import PROBLEM_JSON, problem
from agent_protocol.events import MeshEvent

NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
ROUTES = [
    ("POST", rf"^/notify/{NAME}/events$", "append_events"),
    ("GET", rf"^/notify/{NAME}/events$", "read_events"),
    ("GET", rf"^/notify/{NAME}/board$", "board"),
]
#: Events in one append: a batch a client builds by hand, not a bulk import.
MAX_APPEND_EVENTS = 100
#: The request body limit, as the mesh's other routes (keep large data in R2).
MAX_BODY_BYTES = 64 * 1024


class EventAppend(BaseModel):
    """An append: the events, and the log version the writer read before deciding them."""

    model_config = ConfigDict(extra="forbid")

    expected_version: int | None = Field(default=None, ge=0)
    events: list[MeshEvent] = Field(min_length=1, max_length=MAX_APPEND_EVENTS)


class EventDelivery(BaseModel):
    """A queue message: the event to append to notification agent ``agent``'s log."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    event: MeshEvent


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


def problem_response(status, kind, title, detail="", **extra):
    return Response(json.dumps(problem(status, kind, title, detail, **extra)), status=status,
                    headers={"content-type": PROBLEM_JSON})


def handles(path):
    """Whether this module answers ``path`` (everything else stays with entry.py)."""
    return any(re.match(pattern, path) for _, pattern, _ in ROUTES)


async def handle(worker, request):
    path = urlparse(request.url).path
    allowed = []
    for method, pattern, name in ROUTES:
        match = re.match(pattern, path)
        if match:
            if method == request.method:
                return await globals()[name](worker, request, **match.groupdict())
            allowed.append(method)
    return Response(json.dumps(problem(405, "method-not-allowed", "Method not allowed",
                                       f"{request.method} is not allowed on {path}")), status=405,
                    headers={"content-type": PROBLEM_JSON, "allow": ", ".join(allowed)})


def _number(request, key, kind):
    """The query parameter ``key`` as ``kind`` (None when absent); ValueError names it."""
    values = parse_qs(urlparse(request.url).query).get(key)
    if not values:
        return None
    try:
        value = kind(values[0])
    except ValueError:
        raise ValueError(f"?{key}= must be a number, got {values[0]!r}") from None
    if value < 0:
        raise ValueError(f"?{key}= must be >= 0, got {values[0]!r}")
    return value


async def append_events(worker, request, name):
    text = await request.text()
    if len(text.encode()) > MAX_BODY_BYTES:
        return problem_response(413, "too-large", "Request body too large", "keep large data in R2, send its key")
    try:
        ask = EventAppend.model_validate(json.loads(text))
    except ValueError as exc:  # JSONDecodeError and pydantic's ValidationError are both ValueErrors
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(body)"
            return problem_response(422, "invalid-events", "Invalid events", f"{where}: {first['msg']}")
        return problem_response(400, "bad-json", "The body is not JSON", str(exc))
    try:
        reply = to_python(await worker.env.NOTIFY.getByName(name).append(
            [e.model_dump(mode="json") for e in ask.events], ask.expected_version))
    except Exception as exc:  # a repeated event_id inside one append
        return problem_response(422, "invalid-events", "Invalid events", str(exc))
    if not reply["ok"]:
        return problem_response(409, "version-conflict", "The event log moved on",
                                f"{reply['reason']}: read the log again and retry", current_version=reply["version"])
    return Response.json(reply, status=200 if reply["duplicate"] else 201)


async def read_events(worker, request, name):
    try:
        after = _number(request, "after", int) or 0
    except ValueError as exc:
        return problem_response(400, "bad-offset", "Bad offset", str(exc))
    stub = worker.env.NOTIFY.getByName(name)
    if (request.headers.get("upgrade") or "").lower() == "websocket":
        return await stub.fetch(request)  # the object accepts the socket and keeps it across hibernation
    return Response.json(to_python(await stub.events(after)))


async def board(worker, request, name):
    try:
        at = _number(request, "at", float)
    except ValueError as exc:
        return problem_response(400, "bad-time", "Bad time", str(exc))
    return Response.json(to_python(await worker.env.NOTIFY.getByName(name).board(at)))


async def consume(worker, batch):
    """The ``mesh-events`` consumer: append each delivery's event, by id (a duplicate is a no-op)."""
    for message in batch.messages:
        try:
            delivery = EventDelivery.model_validate(to_python(message.body))
            reply = to_python(await worker.env.NOTIFY.getByName(delivery.agent).append(
                [delivery.event.model_dump(mode="json")], None))
            if not reply["ok"]:
                raise ValueError(reply["reason"])
        except Exception:  # a poison message or a failed append: retried, then dead-lettered
            message.retry()
        else:
            message.ack()
