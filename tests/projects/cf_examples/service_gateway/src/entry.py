from urllib.parse import urlparse

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path == "/sum":
            total = await self.env.BACKEND.add(2, 3)
            return Response(f"sum={total}")
        if path == "/profile":
            profile = await self.env.BACKEND.profile("ada")
            return Response.json({"name": profile["name"], "roles": profile.roles})
        if path == "/invoice":
            return Response(await self.env.BILLING.invoice(42))
        if path == "/forward":
            upstream = await self.env.BACKEND.fetch("https://backend/hello", method="POST", body="from gateway")
            return Response(await upstream.text(), status=upstream.status)
        if path == "/error":
            try:
                await self.env.BACKEND.fail()
            except Exception as exc:
                return Response(f"backend failed: {exc}", status=502)
        return Response("not found", status=404)
