"""hello-python: the sample Worker the tests and the benchmark share.

Unchanged Cloudflare Python Worker code: it runs on Cloudflare, under `course serve`, and
in-process through `course.runtime.load(...).client()`.
"""
from urllib.parse import urlparse

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path == "/":
            return Response(
                f"{self.env.GREETING} from a Python Worker!",
                headers={"content-type": "text/plain", "x-hello": "world"},
            )
        if path == "/echo" and request.method == "POST":
            data = await request.json()
            return Response.json({"received": data, "max_items": self.env.LIMITS.max_items})
        return Response("Not found", status=404)
