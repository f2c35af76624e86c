from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        token_ok = request.headers.get("authorization") == f"Bearer {self.env.API_TOKEN}"
        return Response.json(
            {
                "greeting": self.env.GREETING,
                "max_items": self.env.MAX_ITEMS,
                "search": self.env.FEATURES.search,
                "beta": self.env.FEATURES["beta"],
                "authorized": token_ok,
            }
        )
