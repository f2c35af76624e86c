"""``rt.fetch``: a request handed to a Worker in-process, without an HTTP client, answered with the
Worker's own Response (like vitest-pool-workers' ``SELF.fetch``); the edge answers as the clients do."""
from __future__ import annotations

import asyncio

import pytest

from course.runtime import Runtime
from course.workers import Request, Response

WORKER = {
    "wrangler.toml": 'name = "echo"\nmain = "src/entry.py"\n',
    "src/entry.py": """
        from workers import WorkerEntrypoint, Response

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                if request.url.endswith("/stream"):
                    from js import ReadableStream

                    def start(controller):
                        controller.enqueue(b"tick 0\\n")
                        controller.enqueue(b"tick 1\\n")
                        controller.close()
                    return Response(ReadableStream.new({"start": start}))
                body = await request.text()
                return Response.json({"method": request.method, "url": request.url, "body": body,
                                      "token": request.headers.get("x-token")},
                                     headers={"x-answered-by": "echo"})

            async def scheduled(self, controller, env, ctx):
                print("ran", controller.cron)
    """,
}


@pytest.fixture
def rt(load_project) -> Runtime:
    return load_project(WORKER)


def test_fetch_of_a_path_returns_the_workers_response(rt):
    async def main():
        response = await rt.fetch("/things?x=1")
        return response, await response.json()

    response, data = asyncio.run(main())
    assert isinstance(response, Response) and response.status == 200
    assert response.headers.get("x-answered-by") == "echo"
    assert data == {"method": "GET", "url": "http://localhost:8787/things?x=1", "body": "", "token": None}


def test_fetch_takes_the_fetch_apis_init_and_a_request(rt):
    async def main():
        posted = await rt.fetch("/p", method="POST", body="hi", headers={"x-token": "t1"})
        given = await rt.fetch(Request("https://example.com/r", method="PUT", body="yo"))
        return await posted.json(), await given.json()

    posted, given = asyncio.run(main())
    assert (posted["method"], posted["body"], posted["token"]) == ("POST", "hi", "t1")
    assert (given["method"], given["url"], given["body"]) == ("PUT", "https://example.com/r", "yo")


def test_fetch_answers_what_the_http_client_answers(rt):
    async def main():
        return await (await rt.fetch("/same", method="POST", body="b")).json()

    assert asyncio.run(main()) == rt.client().post("/same", content=b"b").json()
    requests = rt.trace.events("request")
    assert [r.source for r in requests] == ["client", "client"]


def test_a_streamed_body_is_read_whole_for_the_caller(rt):
    async def main():
        return await (await rt.fetch("/stream")).text()

    assert asyncio.run(main()) == "tick 0\ntick 1\n"


def test_fetch_refuses_a_declared_body_over_cloudflares_limit_before_the_worker(rt):
    async def main():
        return await rt.fetch("/big", method="POST", body="x", headers={"content-length": str(200 * 2**20)})

    response = asyncio.run(main())
    assert response.status == 413
    assert rt.trace.count("request") == 0


def test_fetch_fires_the_scheduled_handler_on_the_trigger_route(rt):
    async def main():
        return await rt.fetch("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*")

    response = asyncio.run(main())
    assert response.status == 200
    assert rt.trace.last("cron").cron == "* * * * *"


def test_fetch_of_a_relative_url_without_a_slash_names_the_problem(rt):
    async def main():
        return await rt.fetch("things")

    with pytest.raises(ValueError, match="path starting with '/' or an absolute URL"):
        asyncio.run(main())


def test_concurrent_fetches_from_one_gather_all_get_their_answer(rt):
    async def main():
        responses = await asyncio.gather(*(rt.fetch(f"/n{i}") for i in range(50)))
        return [(await r.json())["url"] for r in responses]

    assert asyncio.run(main()) == [f"http://localhost:8787/n{i}" for i in range(50)]
