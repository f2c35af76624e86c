from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response(f"backend got {await request.text()}", status=200)

    async def add(self, a, b):
        return a + b

    async def profile(self, name):
        return {"name": name, "roles": ["admin", "dev"]}

    async def fail(self):
        raise ValueError("quota exceeded")


class Billing(WorkerEntrypoint):
    async def invoice(self, number):
        return f"invoice #{number}"
