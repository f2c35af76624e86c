from workers import Request, Response, WorkerEntrypoint, fetch


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        # A GET with the default options, then a POST with method, headers and body keywords.
        weather = await fetch("https://api.weather.example/today?city=Lisbon")
        forecast = await weather.json()
        created = await fetch(
            "https://api.weather.example/reports",
            method="POST",
            headers={"content-type": "application/json", "x-api-key": "k1"},
            body='{"city": "Lisbon"}',
        )
        # A Request object can be passed to fetch too.
        probe = await fetch(Request("https://api.weather.example/health", method="HEAD"))
        return Response.json(
            {
                "sky": forecast["sky"],
                "created_status": created.status,
                "created_id": (await created.json())["id"],
                "upstream_header": created.headers.get("x-upstream"),
                "health": probe.status,
                "ok": weather.ok,
            }
        )
