from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.method == "POST":
            job = await request.json()
            await self.env.TASKS.send(job)
            await self.env.TASKS.sendBatch([{"body": {"n": i}} for i in range(3)])
            return Response("queued", status=202)
        done = await self.env.RESULTS.list()
        return Response.json(sorted(key.name for key in done.keys))

    async def queue(self, batch, env, ctx):
        print(f"got a batch of {len(batch.messages)} from {batch.queue}")
        for message in batch.messages:
            body = message.body
            await self.env.RESULTS.put(f"done:{message.id}", str(body.n if "n" in body else body.task))
            message.ack()
