from urllib.parse import urlparse

from pyodide.ffi import to_js
from workers import DurableObject, Response, WorkerEntrypoint


class Counter(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.loads = 0

    async def increment(self, by=1):
        value = (await self.ctx.storage.get("value")) or 0
        value += by
        await self.ctx.storage.put("value", value)
        return value

    async def history(self):
        entries = await self.ctx.storage.get("history")
        return entries if entries else []

    async def remember(self, note):
        notes = await self.history()
        notes.append(note)
        await self.ctx.storage.put("history", to_js(notes))

    def sql_count(self):
        self.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (at INTEGER)")
        self.ctx.storage.sql.exec("INSERT INTO hits VALUES (?)", 1)
        return self.ctx.storage.sql.exec("SELECT COUNT(*) AS n FROM hits").one()["n"]

    async def fetch(self, request):
        return Response(f"object {self.ctx.id.name} saw {request.method}")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        parts = urlparse(request.url).path.strip("/").split("/")
        name, action = parts[0], parts[1] if len(parts) > 1 else ""
        stub = self.env.COUNTERS.get(self.env.COUNTERS.idFromName(name))
        if action == "inc":
            return Response(str(await stub.increment(2)))
        if action == "note":
            await stub.remember(parts[2])
            return Response(",".join(await stub.history()))
        if action == "sql":
            return Response(str(await stub.sql_count()))
        if action == "by-name":
            return Response(str(await self.env.COUNTERS.getByName(name).increment()))
        return await stub.fetch(request)
