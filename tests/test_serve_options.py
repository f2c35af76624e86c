"""`course serve --with DIR` and the scheduled-handler trigger routes, as in `wrangler dev`.

``--with`` loads more Worker projects into the served runtime so the main Worker reaches them by
service bindings (like several ``wrangler dev -c``). ``/cdn-cgi/handler/scheduled?cron=&time=``
fires the main Worker's ``scheduled`` handler (answers ``ok`` or ``exception``/500, as Miniflare),
and with ``--test-scheduled`` so does ``/__scheduled?cron=`` (answers ``Ran scheduled event``).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

from course.cli import build_parser
from course.runtime import ConfigError
from course.runtime.bindings.cron import crons
from course.runtime.edges.asgi import WorkerASGIApp, log_path
from course.cli.serve import load_runtime

MAIN = {
    "wrangler.toml": """
        name = "main"
        main = "src/entry.py"
        compatibility_date = "2025-12-01"
        compatibility_flags = ["python_workers"]
        services = [{ binding = "OTHER", service = "other" }]
    """,
    "src/entry.py": """
        from workers import Response, WorkerEntrypoint

        RUNS = []

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                if request.url.endswith("/runs"):
                    return Response.json(RUNS)
                if request.url.endswith("/seen"):
                    return Response.json({"body_is_null": request.body is None, "colo": request.cf.colo,
                                          "protocol": request.cf.httpProtocol})
                return Response(str(await self.env.OTHER.double(21)))

            async def scheduled(self, controller, env, ctx):
                RUNS.append([controller.cron, controller.scheduledTime])
                if controller.cron == "fail":
                    raise RuntimeError("scheduled fails")
    """,
}
OTHER = {
    "wrangler.toml": """
        name = "other"
        main = "src/entry.py"
        compatibility_date = "2025-12-01"
        compatibility_flags = ["python_workers"]
    """,
    "src/entry.py": """
        from workers import WorkerEntrypoint

        class Default(WorkerEntrypoint):
            def double(self, n):
                return 2 * n
    """,
}


@pytest.fixture
def projects(make_project: Callable[..., Path]) -> tuple[Path, Path]:
    return make_project(MAIN, name="main"), make_project(OTHER, name="other")


@pytest.fixture
def served(projects: tuple[Path, Path]) -> Iterator[Callable[..., list[httpx.Response]]]:
    """``served([(path, params), ...], test_scheduled=False)``: GET each in turn over ASGI."""
    main, other = projects
    rt = load_runtime(main, with_projects=[str(other)])

    def get(requests: list[tuple[str, dict[str, Any]]], test_scheduled: bool = False,
            method: str = "GET", content: bytes | None = None) -> list[httpx.Response]:
        app = WorkerASGIApp(rt, log=False, test_scheduled=test_scheduled)

        async def run() -> list[httpx.Response]:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://localhost:8787") as client:
                return [await client.request(method, path, params=params, content=content)
                        for path, params in requests]

        return asyncio.run(run())

    try:
        yield get
    finally:
        rt.close()


def test_serve_parser_accepts_repeated_with_and_test_scheduled() -> None:
    args = build_parser().parse_args(["serve", "a", "--with", "b", "--with", "c", "--test-scheduled"])
    assert args.with_projects == ["b", "c"] and args.test_scheduled is True
    args = build_parser().parse_args(["serve", "a"])
    assert args.with_projects == [] and args.test_scheduled is False


def test_serve_with_loads_a_second_worker_reachable_by_service_binding(served) -> None:
    [r] = served([("/", {})])
    assert r.status_code == 200 and r.text == "42"


def test_serve_with_a_missing_project_is_an_error_naming_it(projects, tmp_path: Path) -> None:
    main, _ = projects
    with pytest.raises((ConfigError, FileNotFoundError), match="nowhere"):
        load_runtime(main, with_projects=[str(tmp_path / "nowhere")])


def test_cdn_cgi_scheduled_route_fires_the_handler_with_cron_and_time(served) -> None:
    ok, failed, runs_response = served([
        ("/cdn-cgi/handler/scheduled", {"cron": "*/7 * * * *", "time": "946684800000"}),
        ("/cdn-cgi/handler/scheduled", {"cron": "fail"}),
        ("/runs", {}),
    ])
    runs = runs_response.json()
    assert (ok.status_code, ok.text) == (200, "ok")
    assert (failed.status_code, failed.text) == (500, "exception")
    assert runs[0] == ["*/7 * * * *", 946684800000]
    assert runs[1][0] == "fail"


def test_test_scheduled_route_only_with_the_flag(served) -> None:
    [off] = served([("/__scheduled", {"cron": "* * * * *"})])
    assert off.text == "42"  # without --test-scheduled the Worker's own fetch answers
    on, runs_response = served([("/__scheduled", {"cron": "*/5 * * * *"}), ("/runs", {})], test_scheduled=True)
    runs = runs_response.json()
    assert (on.status_code, on.text) == (200, "Ran scheduled event")
    assert runs[-1][0] == "*/5 * * * *"


def test_cdn_cgi_scheduled_route_refuses_a_bad_time(served) -> None:
    [r] = served([("/cdn-cgi/handler/scheduled", {"time": "soon"})])
    assert r.status_code == 400 and "soon" in r.text


def test_served_post_with_an_empty_body_has_a_non_null_body(served) -> None:
    """workerd: Content-Length: 0 is an empty body, not no body (tests/conformance: http_empty_body)."""
    [r] = served([("/seen", {})], method="POST", content=b"")
    assert r.json()["body_is_null"] is False
    [r] = served([("/seen", {})])
    assert r.json()["body_is_null"] is True


def test_served_request_has_a_cf_object_naming_no_region(served) -> None:
    """request.cf is present on incoming requests (tests/conformance: http_request_cf)."""
    [r] = served([("/seen", {})])
    assert r.json()["colo"] == "LOCAL" and r.json()["protocol"].startswith("HTTP/")


def test_redirect_location_is_the_serialized_url_and_relative_urls_are_refused() -> None:
    """workerd parses the redirect URL (tests/conformance: http_redirect_statuses)."""
    from course.workers.http import Response
    from course.workers.jsproxy import JsException

    r = Response.redirect("https://EXAMPLE.com:443/é?q=a b#frag", 307)
    assert r.headers.get("location") == "https://example.com/%C3%A9?q=a%20b#frag"
    with pytest.raises(JsException, match="Unable to parse URL: /relative"):
        Response.redirect("/relative", 301)


def test_served_chunked_body_over_the_limit_gets_413_from_a_running_count(projects) -> None:
    """Without a Content-Length, the bytes received are counted and the request refused past the
    limit (https://developers.cloudflare.com/workers/platform/limits/#request-limits)."""
    main, other = projects
    rt = load_runtime(main, with_projects=[str(other)])
    sent: list[int] = []

    async def upload():
        for n in range(1000):
            sent.append(n)
            yield b"0123456789"

    async def run() -> tuple[httpx.Response, httpx.Response]:
        app = WorkerASGIApp(rt, log=False, max_body_bytes=100)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            return (await client.post("/seen", content=upload()),
                    await client.post("/seen", content=b"x" * 101))

    try:
        chunked, declared = asyncio.run(run())
    finally:
        rt.close()
    assert chunked.status_code == 413 and "over 100 bytes" in chunked.text
    assert declared.status_code == 413
    assert rt.trace.count("request") == 0


def test_log_path_keeps_percent_encoding_and_escapes_control_characters() -> None:
    assert log_path({"raw_path": b"/a%0Ab", "path": "/a\nb"}) == "/a%0Ab"
    assert log_path({"path": "/a\nb\x1b[31m\x7f"}) == "/a%0Ab%1B[31m%7F"
    assert log_path({"raw_path": "/é x".encode(), "path": "/é x"}) == "/%C3%A9%20x"


def test_serve_crons_flag_fires_crons_on_the_wall_clock(make_project) -> None:
    """Without --crons, course serve (real time) arms no cron timer, as wrangler dev; with it, it does."""
    files = dict(MAIN)
    files["wrangler.toml"] = MAIN["wrangler.toml"].replace("services =", 'triggers = { crons = ["*/5 * * * *"] }\n        services =')
    main = make_project(files, name="main")
    make_project(OTHER, name="other")
    assert build_parser().parse_args(["serve", "a", "--crons"]).crons is True
    for wall_clock, armed in ((False, False), (True, True)):
        rt = load_runtime(main, wall_clock_crons=wall_clock)
        try:
            assert (crons(rt).schedules()[0]["next"] is not None) is armed
        finally:
            rt.close()
