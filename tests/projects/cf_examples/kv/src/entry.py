import json
from urllib.parse import parse_qs, urlparse

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        query = parse_qs(url.query)
        kv = self.env.NOTES
        if url.path == "/put":
            key, value = query["key"][0], query["value"][0]
            await kv.put(key, value)
            await kv.put(f"meta:{key}", json.dumps({"len": len(value)}), expirationTtl=3600, metadata={"kind": "meta"})
            return Response("stored", status=201)
        if url.path == "/get":
            value = await kv.get(query["key"][0])
            if value is None:
                return Response("missing", status=404)
            return Response(value)
        if url.path == "/json":
            data = await kv.get(f"meta:{query['key'][0]}", "json")
            same = await kv.get(f"meta:{query['key'][0]}", {"type": "json"})
            return Response.json({"len": data["len"], "same": same == data})
        if url.path == "/list":
            result = await kv.list(prefix="meta:")
            names = [key.name for key in result.keys]
            names_by_item = [key["name"] for key in result["keys"]]
            return Response.json(
                {
                    "names": names,
                    "same": names == names_by_item,
                    "complete": result.list_complete,
                    "metadata": [key.metadata.kind for key in result.keys],
                }
            )
        if url.path == "/page":
            first = await kv.list({"limit": 1})
            second = await kv.list({"limit": 1, "cursor": first.cursor})
            return Response.json([first.keys[0].name, second.keys[0].name, first.list_complete])
        if url.path == "/delete":
            await kv.delete(query["key"][0])
            return Response("deleted")
        return Response("not found", status=404)
