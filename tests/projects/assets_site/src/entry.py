from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = request.url.split("://", 1)[1].split("/", 1)[1].split("?")[0]
        if path == "api/hello":
            return Response.json({"from": "worker"})
        if path == "api/page":  # the Worker reads an asset through the binding
            page = await self.env.ASSETS.fetch("/about")
            return Response("worker saw: " + (await page.text()).strip())
        return Response("worker fallback for /" + path, status=404)
