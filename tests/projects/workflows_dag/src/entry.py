"""A DAG Workflow: two independent steps run concurrently, a final step depends on both.

Written against Cloudflare's Python Workflows API exactly as deployed (compatibility date before
2026-02-25, so ``step.do`` takes an explicit ``depends`` list). GET /start creates an instance
and answers with its id; GET /status/<id> answers the instance's status as JSON.
"""
import asyncio
import random
from urllib.parse import urlparse

from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class DAGWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("dependency 1")
        async def sleep_a_little():
            print("executing dep1")
            await asyncio.sleep(random.randint(1, 10))
            return "dep1 done"

        @step.do("dependency 2")
        async def sleep_longer():
            print("executing dep2")
            await asyncio.sleep(random.randint(5, 15))
            return "dep2 done"

        @step.do("final step", depends=[sleep_a_little, sleep_longer], concurrent=True)
        async def summarize(res1=None, res2=None):
            print("both dependencies finished")
            return {"first": res1, "second": res2}

        return await summarize()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)

        if url.path == "/start":
            instance = await self.env.MY_WORKFLOW.create()
            return Response("Just kicked off a workflow with ID: " + instance.id)

        if "/status" in url.path:
            instance_id = url.path.split("/")[-1]
            instance = await self.env.MY_WORKFLOW.get(instance_id)
            return Response.json(await instance.status())

        return Response("Use /start to trigger the workflow.\nUse /status/<workflow_id> to get its status.")
