from datetime import datetime, timezone
from urllib.parse import urlparse

from workers import (
    Blob,
    File,
    FormData,
    Response,
    WorkerEntrypoint,
    import_from_javascript,
    patch_env,
    python_from_rpc,
    python_to_rpc,
    wait_until,
)


async def audit(key):
    from workers import env

    await env.AUDIT.put(key, "seen")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path == "/form":
            form = await request.form_data()
            upload = form["file"]
            return Response.json(
                {"name": form["name"], "tags": form.get_all("tag"), "file": upload.name, "content": await upload.text()}
            )
        if path == "/make-form":
            form = FormData({"name": "ada"})
            form.append("file", Blob(["hello"], content_type="text/plain"), "hello.txt")
            return Response(form)
        if path == "/blob":
            blob = Blob(["ab", b"cd", File(["ef"], "x.txt")], content_type="text/plain")
            return Response(blob)
        if path == "/env":
            cloudflare_workers = import_from_javascript("cloudflare:workers")
            with patch_env(REGION="us"):
                patched = cloudflare_workers.env.REGION
            return Response(f"{cloudflare_workers.env.REGION} {patched}")
        if path == "/rpc":
            sent = python_to_rpc({"when": datetime(2026, 1, 1, tzinfo=timezone.utc), "items": [1, 2]})
            back = python_from_rpc(sent)
            try:
                python_to_rpc((1, 2))
                refused = ""
            except TypeError as exc:
                refused = str(exc)
            return Response.json({"year": back["when"].year, "items": back["items"], "refused": refused})
        if path == "/wait":
            wait_until(audit("background"))
            return Response("accepted", status=202)
        return Response.from_json({"error": "not found"}, status=404)
