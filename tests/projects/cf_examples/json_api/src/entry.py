import json
from urllib.parse import urlparse

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path == "/echo" and request.method == "POST":
            payload = await request.json()
            reply = {"received": payload, "keys": sorted(payload), "length": len(payload)}
            return Response.json(reply, status=201, headers={"x-handled-by": "python"})
        if path == "/text-json":
            body = json.dumps({"ok": True, "agent": request.headers.get("user-agent")})
            return Response(body, headers={"content-type": "application/json"})
        if path == "/bad":
            try:
                await request.json()
            except Exception as exc:
                return Response(f"bad json: {type(exc).__name__}", status=400)
        return Response("not found", status=404)
