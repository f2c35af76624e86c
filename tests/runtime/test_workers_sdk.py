"""The `workers` module's full surface, JS-object data that shadows dict methods, and print()."""
from __future__ import annotations

import asyncio
import copy
import json
import pickle
from http import HTTPStatus

import pytest

import course.workers as workers
from course.workers import Blob, File, FormData, Request, Response, python_from_rpc, python_to_rpc
from course.workers import js
from course.workers.jsproxy import JsObject, to_py, wrap

# The names of Cloudflare's `workers` module (Python Workers SDK, workers/__init__.py __all__).
CLOUDFLARE_WORKERS_ALL = [
    "Blob", "BlobEnding", "BlobValue", "Body", "Context", "DurableObject", "FetchKwargs",
    "FetchResponse", "File", "FormData", "FormDataValue", "Headers", "JSBody", "Request",
    "RequestInitCfProperties", "Response", "WorkerEntrypoint", "WorkflowEntrypoint", "env", "fetch",
    "handler", "import_from_javascript", "patch_env", "python_from_rpc", "python_to_rpc", "waitUntil",
    "wait_until",
]


def run(coro):
    return asyncio.run(coro)


def test_every_name_of_cloudflares_workers_module_is_importable():
    assert set(CLOUDFLARE_WORKERS_ALL) <= set(workers.__all__)
    for name in CLOUDFLARE_WORKERS_ALL:
        assert getattr(workers, name) is not None, name


def test_env_outside_a_worker_is_a_clear_error():
    with pytest.raises(RuntimeError, match="needs a running Worker"):
        workers.env.KV


def test_import_from_javascript_knows_only_cloudflare_modules():
    with pytest.raises(ImportError, match="cloudflare:sockets"):
        workers.import_from_javascript("cloudflare:sockets")
    with pytest.raises(ImportError, match="provides only"):
        workers.import_from_javascript("node:fs")


# -- JsObject data wins over dict methods ---------------------------------------------------

def test_data_named_like_a_dict_method_is_read_as_data():
    o = wrap({"keys": [{"name": "a"}], "items": [1, 2], "get": "v", "copy": 3, "update": {"x": 1}})
    assert o.keys[0].name == "a"
    assert o.items == [1, 2] and o.get == "v" and o.copy == 3 and o.update.x == 1


def test_shadowed_names_stay_callable_as_dict_methods():
    o = wrap({"keys": ["k"], "items": [1], "get": "v"})
    assert list(o.keys()) == ["keys", "items", "get"]
    assert o.get("items") == [1]
    assert dict(o.items()) == {"keys": ["k"], "items": [1], "get": "v"}


def test_objects_with_shadowing_data_still_serialise_copy_and_unpack():
    o = wrap({"items": [1, 2], "keys": {"a": 1}, "values": None, "get": "g"})
    expected = {"items": [1, 2], "keys": {"a": 1}, "values": None, "get": "g"}
    assert json.loads(json.dumps(o)) == expected
    assert json.loads(json.dumps(o, indent=2)) == expected
    assert copy.deepcopy(o) == expected and copy.copy(o) == expected
    assert pickle.loads(pickle.dumps(o)) == expected
    assert {**o} == expected and dict(o) == expected and to_py(o) == expected


def test_shadowing_value_that_cannot_carry_the_method_falls_back_to_the_method():
    o = wrap({"values": None, "pop": True})
    assert callable(o.values) and list(o.values()) == [None, True]
    assert o["pop"] is True


def test_plain_attribute_access_and_missing_properties_are_unchanged():
    o = JsObject({"name": "x"})
    assert o.name == "x" and o.to_py() == {"name": "x"}
    with pytest.raises(AttributeError, match="no property 'nme'"):
        o.nme


# -- Response and Request in the Python SDK's spelling --------------------------------------

def test_response_takes_status_positionally_as_the_python_sdk_does():
    assert Response("gone", 404).status == 404
    assert Response("ok", HTTPStatus.CREATED).status == 201
    assert Response("x", {"status": 202, "headers": {"a": "b"}}).headers["a"] == "b"
    r = Response("teapot", 418, "I'm a teapot")
    assert r.status_text == "I'm a teapot" and r.statusText == "I'm a teapot"


def test_response_json_and_from_json_accept_status_positionally():
    assert Response.json({"a": 1}, 201).status == 201
    r = Response.from_json([1], 202, "Accepted!")
    assert (r.status, r.status_text, r.headers["content-type"]) == (202, "Accepted!", "application/json")


def test_response_raise_for_status_and_replace_body():
    with pytest.raises(OSError, match="503 Server Error"):
        Response("down", 503).raise_for_status()
    r = Response("old", 201, headers={"x-a": "1"}).replace_body("new")
    assert (r.status, r.headers["x-a"], run(r.text())) == (201, "1", "new")


def test_request_body_used_and_missing_header_item_is_none():
    req = Request("https://a.example/", method="POST", body="hi")
    assert req.headers["x-missing"] is None
    assert req.body_used is False
    assert run(req.text()) == "hi"
    assert req.body_used is True


def test_form_data_round_trips_through_a_multipart_body():
    form = FormData({"name": "ada"})
    form.append("tag", "x")
    form.append("tag", "y")
    form.append("doc", Blob(["hello"], content_type="text/plain"), "a.txt")
    req = Request("https://a.example/", method="POST", body=form)
    parsed = run(req.form_data())
    assert parsed["name"] == "ada" and parsed.get_all("tag") == ["x", "y"]
    assert isinstance(parsed["doc"], File) and parsed["doc"].name == "a.txt"
    assert run(parsed["doc"].text()) == "hello"


def test_form_data_from_a_non_form_body_is_a_type_error():
    req = Request("https://a.example/", method="POST", body="{}", headers={"content-type": "application/json"})
    with pytest.raises(TypeError, match="FormData"):
        run(req.form_data())


def test_blob_joins_parts_and_slices():
    blob = Blob(["ab", b"cd", Blob(["ef"])], content_type="Text/Plain")
    assert (blob.size, blob.content_type) == (6, "text/plain")
    assert run(blob.slice(1, 3).text()) == "bc"
    with pytest.raises(TypeError, match="Blob"):
        Blob([object()])


def test_python_to_rpc_refuses_what_workers_rpc_cannot_send():
    for bad in [(1, 2), bytearray(b"x"), {"nested": (1,)}]:
        with pytest.raises(TypeError, match="cannot be sent over RPC"):
            python_to_rpc(bad)
    assert python_from_rpc(python_to_rpc({"a": [1, {"b": 2}]})) == {"a": [1, {"b": 2}]}


# -- js globals ----------------------------------------------------------------------------------

def test_js_url_parses_like_the_whatwg_url():
    u = js.URL.new("https://user@api.example:8443/v1/items?q=a&q=b#top")
    assert (u.hostname, u.port, u.host, u.pathname) == ("api.example", "8443", "api.example:8443", "/v1/items")
    assert u.searchParams.get("q") == "a" and list(u.searchParams.getAll("q")) == ["a", "b"]
    assert u.hash == "#top" and u.origin == "https://api.example:8443"
    with pytest.raises(Exception, match="Invalid URL"):
        js.URL.new("/relative")
    assert js.URL.new("/x?y=1", "https://b.example/a").href == "https://b.example/x?y=1"


def test_js_constructors_have_new():
    assert js.Request.new("https://a.example/").url == "https://a.example/"
    assert js.Headers.new({"A": "1"}).get("a") == "1"
    assert js.Response.new("x", status=201).status == 201
    assert js.Map.new([["a", 1]]).get("a") == 1
    assert js.Blob.new(["ab"]).size == 2


# -- print() in Worker code ------------------------------------------------------------------

PRINTING = {
    "wrangler.toml": """
        name = "printer"
        main = "src/entry.py"
        compatibility_date = "2025-01-01"
    """,
    "src/entry.py": """
        import io
        import sys
        from workers import WorkerEntrypoint, Response
        from helpers import shout

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                print("hello", "logs", sep="-")
                print("oops", file=sys.stderr)
                buffer = io.StringIO()
                print("private", file=buffer)
                shout()
                return Response(buffer.getvalue())
    """,
    "src/helpers.py": """
        def shout():
            print("from a helper module")
    """,
}


def test_print_in_worker_code_goes_to_the_logs_and_still_prints(load_project, capsys):
    rt = load_project(PRINTING)
    assert rt.client().get("/").text == "private\n"
    assert [(line.level, line.message, line.worker) for line in rt.logs] == [
        ("log", "hello-logs", "printer"), ("error", "oops", "printer"), ("log", "from a helper module", "printer"),
    ]
    assert rt.trace.events("log")[0].message == "hello-logs"
    out, err = capsys.readouterr()
    assert out.count("hello-logs") == 1 and "from a helper module" in out
    assert err.count("oops") == 1


def test_print_outside_worker_code_is_not_captured(load_project):
    rt = load_project(PRINTING)
    print("from the test")
    assert rt.logs == []
