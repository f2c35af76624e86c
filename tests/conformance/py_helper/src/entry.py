"""The helper Worker in Python: a fetch handler and RPC methods for service bindings.

js_helper/src/index.js is the same Worker in JavaScript.
"""
from urllib.parse import parse_qsl, urlsplit

from workers import Response, WorkerEntrypoint


class Admin(WorkerEntrypoint):
    """A named entrypoint, bound with ``entrypoint = "Admin"``."""

    def whoami(self):
        return "admin"


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        query = parse_qsl(urlsplit(request.url).query, keep_blank_values=True)
        return Response.json({
            "method": request.method,
            "url": request.url,
            "query_x": [v for k, v in query if k == "x"],
            "body": await request.text(),
            "header": request.headers.get("x-probe"),
        }, status=202, headers={"X-Helper": "1"})

    def add(self, a, b):
        return a + b

    def echo(self, value):
        return value

    def explode(self, message):
        raise RuntimeError(message)
