from urllib.parse import urlparse

from workers import Headers, Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        key = urlparse(request.url).path.lstrip("/")
        bucket = self.env.FILES
        if request.method == "PUT":
            obj = await bucket.put(
                key,
                await request.text(),
                httpMetadata={"contentType": request.headers.get("content-type", "text/plain")},
                customMetadata={"uploader": "python"},
            )
            return Response(f"Put {obj.key} ({obj.size} bytes) etag {obj.etag}", status=201)
        if request.method == "GET" and key == "":
            listing = await bucket.list({"prefix": "docs/"})
            return Response.json({"keys": [o.key for o in listing.objects], "truncated": listing.truncated})
        if request.method == "GET":
            obj = await bucket.get(key)
            if obj is None:
                return Response("Object Not Found", status=404)
            headers = Headers()
            obj.writeHttpMetadata(headers)
            headers.set("etag", obj.httpEtag)
            headers.set("x-uploader", obj.customMetadata["uploader"])
            return Response(await obj.text(), headers=headers)
        if request.method == "HEAD":
            head = await bucket.head(key)
            return Response(None, status=200 if head else 404)
        if request.method == "DELETE":
            await bucket.delete(key)
            return Response("Deleted!")
        return Response("Method Not Allowed", status=405, headers={"allow": "PUT, GET, DELETE"})
