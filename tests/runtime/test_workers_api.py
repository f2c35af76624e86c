"""The Python Workers API (course.workers): entrypoints, Request, Response, Headers, fetch, shims."""
from __future__ import annotations

import asyncio
import sys
import types

import httpx
import pytest

from course.workers import (
    Headers,
    JsException,
    JsObject,
    JsProxy,
    Request,
    Response,
    WorkerEntrypoint,
    to_js,
)
from course.workers.jsproxy import wrap


def run(coro):
    return asyncio.run(coro)


# -- WorkerEntrypoint and ctx ---------------------------------------------------------------

def test_entrypoint_sees_env_vars_and_ctx(load_project):
    rt = load_project({
        "wrangler.toml": """
            name = "w"
            main = "src/entry.py"
            [vars]
            NAME = "Ada"
        """,
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response(f"{self.env.NAME} {type(self.ctx).__name__}")
        """,
    })
    assert rt.client().get("/").text == "Ada ExecutionContext"


def test_wait_until_work_finishes_after_the_response(load_project):
    rt = load_project({
        "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n',
        "src/entry.py": """
            import asyncio
            from workers import WorkerEntrypoint, Response
            DONE = []
            async def later():
                await asyncio.sleep(5)
                DONE.append("flushed")
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    if request.url.endswith("/done"):
                        return Response(",".join(DONE))
                    self.ctx.waitUntil(later())
                    return Response("accepted")
        """,
    })
    client = rt.client()
    assert client.get("/").text == "accepted"
    rt.run_until_idle()
    assert client.get("/done").text == "flushed"
    assert rt.trace.count("wait_until") == 1


def test_pass_through_on_exception_forwards_the_request_to_the_origin(load_project):
    rt = load_project({
        "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n',
        "src/entry.py": """
            from workers import WorkerEntrypoint
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    self.ctx.passThroughOnException()
                    raise ValueError("broken")
        """,
    })
    rt.network.upstream("http://localhost:8787", lambda req: Response("from origin", status=203))
    r = rt.client().get("/page")
    assert (r.status_code, r.text) == (203, "from origin")


# -- Request --------------------------------------------------------------------------------

def test_request_exposes_url_method_and_headers():
    req = Request("https://example.com/a?b=1", method="post", headers={"X-Key": "v"}, body="hi")
    assert req.url == "https://example.com/a?b=1"
    assert req.method == "POST"
    assert req.headers.get("x-key") == "v"


def test_request_body_reads_as_text_json_and_bytes():
    assert run(Request("https://e.com", method="POST", body="héllo").text()) == "héllo"
    assert run(Request("https://e.com", method="POST", body='{"a": [1]}').json()) == {"a": [1]}
    data = run(Request("https://e.com", method="POST", body=b"\x00\x01").bytes())
    assert data == b"\x00\x01" and data.to_py() == b"\x00\x01"


def test_request_json_body_allows_attribute_access():
    data = run(Request("https://e.com", method="POST", body='{"user": {"id": 7}}').json())
    assert data.user.id == 7 and data["user"]["id"] == 7


def test_request_body_can_be_read_only_once():
    req = Request("https://e.com", method="POST", body="once")
    run(req.text())
    assert req.bodyUsed
    with pytest.raises(JsException, match="already been used") as info:
        run(req.text())
    assert info.value.name == "TypeError"


def test_request_needs_an_absolute_url():
    with pytest.raises(JsException, match="Invalid URL"):
        Request("/relative")


def test_get_request_cannot_have_a_body():
    with pytest.raises(JsException, match="GET or HEAD"):
        Request("https://e.com", method="GET", body="x")


# -- Response -------------------------------------------------------------------------------

def test_response_body_may_be_str_bytes_or_none():
    assert run(Response("text").text()) == "text"
    assert run(Response(b"\xff\x00").bytes()) == b"\xff\x00"
    assert run(Response(None, status=204).text()) == ""


def test_response_str_body_defaults_to_text_content_type():
    assert Response("x").headers["content-type"] == "text/plain;charset=UTF-8"
    assert Response("x", headers={"Content-Type": "text/html"}).headers["content-type"] == "text/html"


def test_response_rejects_a_dict_body_pointing_to_response_json():
    with pytest.raises(TypeError, match=r"Response.json"):
        Response({"a": 1})


def test_response_status_and_headers():
    r = Response("nope", status=404, headers={"X-Why": "missing"})
    assert r.status == 404 and r.statusText == "Not Found"
    assert r.headers["x-why"] == "missing"
    assert not r.ok


def test_response_ok_is_true_only_for_2xx():
    assert Response("", status=200).ok and Response("", status=299).ok
    assert not Response("", status=300).ok and not Response("", status=500).ok


@pytest.mark.parametrize("status", [199, 600, 0, 1000])
def test_response_status_outside_200_to_599_is_a_range_error(status):
    with pytest.raises(JsException, match="200 to 599") as info:
        Response("x", status=status)
    assert info.value.name == "RangeError"


def test_response_101_requires_a_web_socket():
    with pytest.raises(JsException, match="webSocket") as info:
        Response(None, status=101)
    assert info.value.name == "RangeError"
    sock = object()
    r = Response(None, status=101, web_socket=sock)
    assert r.web_socket is sock and r.webSocket is sock


def test_response_json_builds_a_json_response():
    r = Response.json({"a": 1, "b": [True, None]}, status=201)
    assert r.status == 201
    assert r.headers["content-type"] == "application/json"
    assert run(r.text()) == '{"a": 1, "b": [true, null]}'  # the SDK's json.dumps(data)


def test_response_json_instance_method_reads_the_body():
    assert run(Response('{"x": 2}').json()) == {"x": 2}


def test_response_redirect_sets_location_and_status():
    r = Response.redirect("https://example.com/next", 301)
    assert r.status == 301 and r.headers["location"] == "https://example.com/next"
    assert Response.redirect("https://e.com").status == 302


def test_response_redirect_rejects_a_non_redirect_status():
    with pytest.raises(JsException, match="redirect status") as info:
        Response.redirect("https://e.com", 200)
    assert info.value.name == "RangeError"


def test_response_body_can_be_read_only_once():
    r = Response("x")
    run(r.text())
    with pytest.raises(JsException, match="already been used"):
        run(r.json())


def test_response_with_null_body_status_rejects_a_body():
    with pytest.raises(JsException, match="null body status"):
        Response("x", status=204)


# -- Headers --------------------------------------------------------------------------------

def test_headers_are_case_insensitive():
    h = Headers({"Content-Type": "text/plain"})
    assert h.get("CONTENT-TYPE") == "text/plain" and "content-type" in h and h.has("Content-type")
    h.set("content-TYPE", "application/json")
    assert h["Content-Type"] == "application/json" and len(h) == 1


def test_headers_iterate_lowercased_and_sorted():
    h = Headers([("X-B", "2"), ("a-first", "1"), ("X-A", "3")])
    assert list(h) == [("a-first", "1"), ("x-a", "3"), ("x-b", "2")]
    assert h.keys() == ["a-first", "x-a", "x-b"]


def test_headers_join_repeated_values_with_comma_except_set_cookie():
    h = Headers()
    h.append("Accept", "a")
    h.append("accept", "b")
    h.append("Set-Cookie", "x=1")
    h.append("Set-Cookie", "y=2")
    assert h.get("accept") == "a, b"
    assert h.getSetCookie() == ["x=1", "y=2"]


def test_headers_reject_an_invalid_name():
    with pytest.raises(TypeError, match="Invalid header name"):
        Headers({"bad name": "x"})


# -- JsObject -------------------------------------------------------------------------------

def test_binding_results_allow_attribute_and_item_access():
    row = wrap({"meta": {"changes": 1}, "results": [{"id": 1}]})
    assert isinstance(row, JsObject) and isinstance(row, JsProxy)
    assert row.meta.changes == 1 and row["meta"]["changes"] == 1
    assert row.results[0].id == 1


def test_to_py_turns_proxies_into_plain_python():
    plain = wrap({"a": [{"b": b"x"}]}).to_py()
    assert type(plain) is dict and type(plain["a"]) is list and type(plain["a"][0]) is dict
    assert to_js({"k": 1}).to_py() == {"k": 1}


def test_missing_property_on_a_js_object_is_an_attribute_error():
    with pytest.raises(AttributeError, match="'nope'"):
        wrap({"a": 1}).nope


# -- outbound fetch -------------------------------------------------------------------------

FETCH_WORKER = {
    "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n',
    "src/entry.py": """
        from workers import WorkerEntrypoint, Response, fetch
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                upstream = await fetch("https://api.example.com/v1/items?x=1",
                                       method="POST", body="ping", headers={"x-k": "v"})
                return Response(f"{upstream.status} {await upstream.text()}")
    """,
}


def test_fetch_without_a_registered_upstream_fails_naming_the_url(load_project):
    rt = load_project(FETCH_WORKER)
    r = rt.client().get("/")
    assert r.status_code == 500
    assert "https://api.example.com/v1/items?x=1" in r.text
    assert "rt.network.upstream" in r.text
    assert "is offline" in rt.logs[-1].message


def test_fetch_reaches_an_upstream_function(load_project):
    rt = load_project(FETCH_WORKER)
    seen = []

    async def api(request):
        seen.append((request.method, request.url, request.headers.get("x-k"), await request.text()))
        return Response("pong", status=201)

    rt.network.upstream("https://api.example.com", api)
    assert rt.client().get("/").text == "201 pong"
    assert seen == [("POST", "https://api.example.com/v1/items?x=1", "v", "ping")]
    assert rt.trace.last("subrequest").upstream == "https://api.example.com"


def test_fetch_reaches_an_httpx_mock_transport(load_project):
    rt = load_project(FETCH_WORKER)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=f"mock {request.method} {request.url.path} {request.content.decode()}")

    rt.network.upstream("https://api.example.com", httpx.MockTransport(handler))
    assert rt.client().get("/").text == "200 mock POST /v1/items ping"


# -- Cloudflare's import names (shims) ------------------------------------------------------

SHIM_WORKER = {
    "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n',
    "src/entry.py": """
        from workers import WorkerEntrypoint
        from js import Response, Object, JSON
        from pyodide.ffi import to_js, create_proxy, JsException
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                obj = to_js({"a": 1, "n": [1, 2]}, dict_converter=Object.fromEntries)
                cb = create_proxy(lambda: "called")
                return Response.new(JSON.stringify(obj) + " " + str(obj.to_py()) + " " + cb())
    """,
}


def test_unchanged_cloudflare_imports_load_and_run(load_project):
    rt = load_project(SHIM_WORKER)
    assert rt.client().get("/").text == '{"a":1,"n":[1,2]} ' + "{'a': 1, 'n': [1, 2]} called"


def test_shim_modules_are_removed_from_sys_modules_after_load(load_project):
    load_project(SHIM_WORKER)
    for name in ("workers", "js", "pyodide", "pyodide.ffi"):
        assert name not in sys.modules, name


def test_a_preexisting_js_module_is_restored_after_load(load_project, monkeypatch):
    theirs = types.ModuleType("js")
    monkeypatch.setitem(sys.modules, "js", theirs)
    rt = load_project(SHIM_WORKER)
    assert sys.modules["js"] is theirs
    assert rt.client().get("/").status_code == 200


def test_upstream_prefix_matches_only_at_a_url_boundary(load_project):
    rt = load_project({
        "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n',
        "src/entry.py": """
            from urllib.parse import parse_qs, urlparse
            from workers import WorkerEntrypoint, Response, fetch
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    target = parse_qs(urlparse(request.url).query)["u"][0]
                    return Response(await (await fetch(target)).text())
        """,
    })
    rt.network.upstream("https://api.example.com", lambda req: Response("api"))
    rt.network.upstream("https://api.example.com/v2", lambda req: Response("v2"))
    client = rt.client()
    assert client.get("/", params={"u": "https://api.example.com/v1"}).text == "api"
    assert client.get("/", params={"u": "https://api.example.com/v2/items"}).text == "v2"
    assert client.get("/", params={"u": "https://api.example.com/v2beta"}).text == "api"
    r = client.get("/", params={"u": "https://api.example.com.evil.test/"})
    assert r.status_code == 500 and "api.example.com.evil.test" in r.text
