"""Service bindings: fetch and RPC between Workers of one runtime, clones, errors, entrypoints."""
from __future__ import annotations

import pytest

from course.runtime.bindings.services import structured_clone
from course.workers import JsException

GATEWAY = {
    "wrangler.toml": """
        name = "gateway"
        main = "src/entry.py"
        compatibility_date = "2025-01-01"

        [[services]]
        binding = "MATH"
        service = "math-worker"

        [[services]]
        binding = "ADMIN"
        service = "math-worker"
        entrypoint = "Admin"
    """,
    "src/entry.py": """
        from urllib.parse import urlparse
        from workers import WorkerEntrypoint, Response

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                path = urlparse(request.url).path
                if path == "/proxy":
                    upstream = await self.env.MATH.fetch("https://math/hello", method="POST", body="hi")
                    return Response(f"{upstream.status} {await upstream.text()}")
                if path == "/add":
                    return Response(str(await self.env.MATH.add(1, 2)))
                if path == "/admin":
                    return Response(await self.env.ADMIN.whoami())
                if path == "/boom":
                    try:
                        await self.env.MATH.explode()
                    except Exception as exc:
                        return Response(f"caught: {exc}", status=502)
                return Response("gateway")
    """,
}

MATH = {
    "wrangler.toml": """
        name = "math-worker"
        main = "src/entry.py"
        compatibility_date = "2025-01-01"
    """,
    "src/entry.py": """
        from workers import WorkerEntrypoint, Response

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return Response(f"math got {request.method} {await request.text()}", status=201)

            async def add(self, a, b):
                return a + b

            def mutate(self, data):
                data["tags"].append("callee")
                return data

            async def explode(self):
                raise ValueError("division by zero, sort of")

        class Admin(WorkerEntrypoint):
            async def fetch(self, request):
                return Response("admin")

            async def whoami(self):
                return "admin entrypoint"
    """,
}


@pytest.fixture
def mesh(load_project, make_project):
    """The gateway loads first and binds math-worker, which is loaded after it."""
    rt = load_project(GATEWAY)
    rt.add_project(make_project(MATH))
    return rt


def test_fetch_through_a_service_binding_reaches_the_other_worker(mesh):
    """env.SERVICE.fetch() sends a Request to the bound Worker and returns its Response (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/http/)."""
    r = mesh.client().get("/proxy")
    assert r.text == "201 math got POST hi"
    call = mesh.trace.last("service_call")
    assert (call.caller, call.service, call.call) == ("gateway", "math-worker", "fetch")
    assert mesh.trace.last("request", worker="math-worker").source == "service:gateway"


def test_rpc_calls_a_method_of_the_default_entrypoint(mesh):
    """await env.SERVICE.add(1, 2) runs the target's WorkerEntrypoint method (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/rpc/)."""
    assert mesh.client().get("/add").text == "3"
    assert mesh.trace.last("service_call").method == "add"


def test_named_entrypoint_receives_the_calls(mesh):
    """The entrypoint key binds a named WorkerEntrypoint class (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/rpc/#named-entrypoints)."""
    assert mesh.client().get("/admin").text == "admin entrypoint"


def test_rpc_error_is_raised_at_the_caller(mesh):
    """An exception thrown by the callee propagates to the caller (https://developers.cloudflare.com/workers/runtime-apis/rpc/error-handling/)."""
    r = mesh.client().get("/boom")
    assert r.status_code == 502 and "ValueError: division by zero, sort of" in r.text


def test_rpc_arguments_and_results_are_structured_clones(mesh):
    """RPC arguments and results are copied with structured clone (https://developers.cloudflare.com/workers/runtime-apis/rpc/#structured-clonable-types-and-more)."""
    original = {"tags": ["caller"]}
    result = mesh.call(mesh.worker("gateway").env.MATH.mutate(original))
    assert original == {"tags": ["caller"]}
    assert result.to_py() == {"tags": ["caller", "callee"]} and result.tags[1] == "callee"


def test_unknown_rpc_method_is_a_type_error(mesh):
    """Calling a method the entrypoint lacks fails at the caller (https://developers.cloudflare.com/workers/runtime-apis/rpc/)."""
    with pytest.raises(JsException, match="does not implement the method") as info:
        mesh.call(mesh.worker("gateway").env.MATH.subtract(3, 1))
    assert info.value.name == "TypeError"


def test_binding_to_a_worker_that_is_not_loaded_names_it(load_project):
    """A service binding resolves its target when called; a missing Worker is a clear error (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/)."""
    rt = load_project(GATEWAY)
    r = rt.client().get("/add")
    assert r.status_code == 500 and "'math-worker', which is not loaded" in r.text


def test_non_cloneable_rpc_argument_is_a_data_clone_error(mesh):
    """Only structured-cloneable values cross an RPC boundary by value (https://developers.cloudflare.com/workers/runtime-apis/rpc/#structured-clonable-types-and-more)."""
    with pytest.raises(JsException) as info:
        mesh.call(mesh.worker("gateway").env.MATH.add(object(), 1))
    assert info.value.name == "DataCloneError"


def test_structured_clone_keeps_shared_references_and_cycles():
    """Structured clone preserves object identity within one value (https://developer.mozilla.org/en-US/docs/Web/API/Web_Workers_API/Structured_clone_algorithm)."""
    shared = [1]
    value = {"a": shared, "b": shared}
    value["self"] = value
    copy = structured_clone(value)
    assert copy is not value and copy["a"] is copy["b"] and copy["self"] is copy
    assert copy["a"] is not shared
