from urllib.parse import urlparse

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path == "/chat":
            result = await self.env.AI.run(
                "@cf/meta/llama-3.1-8b-instruct",
                {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]},
            )
            return Response.json({"answer": result.response, "same": result["response"] == result.response})
        if path == "/responses":
            result = await self.env.AI.run(
                "@cf/openai/gpt-oss-120b",
                {"instructions": "You are a concise assistant.", "input": "Name a colour."},
            )
            return Response.json({"has_output": bool(result.output)})
        return Response("not found", status=404)
