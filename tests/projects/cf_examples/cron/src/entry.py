from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def scheduled(self, controller, env, ctx):
        print(f"cron {controller.cron} fired")
        count = int(await self.env.RUNS.get("count") or 0) + 1
        await self.env.RUNS.put("count", str(count))
        await self.env.RUNS.put("last", str(controller.scheduledTime))

    async def fetch(self, request):
        return Response(f"runs: {await self.env.RUNS.get('count') or 0}")
