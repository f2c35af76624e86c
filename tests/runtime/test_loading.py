"""Loading Worker projects: main, sibling modules, vars, secrets, entrypoint styles, failures."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from course.runtime import Runtime, WorkerLoadError, load
from course.workers import Response, WorkerEntrypoint

HELLO = Path(__file__).resolve().parents[1] / "projects" / "hello"
TOML = 'name = "w"\nmain = "src/entry.py"\n'


def test_the_hello_sample_project_runs_in_process():
    with load(HELLO) as rt:
        client = rt.client()
        r = client.get("/")
        assert (r.status_code, r.text) == (200, "Hello from a Python Worker!")
        assert r.headers["x-hello"] == "world"
        r = client.post("/echo", json={"items": [1, 2]})
        assert r.json() == {"received": {"items": [1, 2]}, "max_items": 3}
        assert r.headers["content-type"] == "application/json"


def test_load_accepts_virtual_time_seed_and_persist_to(tmp_path):
    with load(HELLO, virtual_time=True, seed=7, persist_to=tmp_path / "state") as rt:
        assert rt.clock.virtual and rt.seed == 7
        assert rt.state_path("kv", "x") == (tmp_path / "state" / "v3" / "kv" / "x").resolve()


def test_sibling_modules_of_main_are_importable(load_project):
    rt = load_project({
        "wrangler.toml": TOML,
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            from helpers import greet
            from pkg.sub import VALUE
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response(greet() + VALUE)
        """,
        "src/helpers.py": "def greet():\n    return 'hi '\n",
        "src/pkg/__init__.py": "",
        "src/pkg/sub.py": "VALUE = 'there'\n",
    })
    assert rt.client().get("/").text == "hi there"


def test_vars_bind_strings_and_json_objects(load_project):
    rt = load_project({
        "wrangler.toml": TOML + '[vars]\nMODE = "dev"\nLIMITS = { max = 3, tags = ["a"] }\n',
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    e = self.env
                    return Response(f"{e.MODE} {e.LIMITS.max} {e.LIMITS['tags'][0]} {e.LIMITS.to_py()}")
        """,
    })
    assert rt.client().get("/").text == "dev 3 a {'max': 3, 'tags': ['a']}"


def test_dev_vars_secrets_are_bound_and_override_vars(load_project):
    rt = load_project({
        "wrangler.toml": TOML + '[vars]\nAPI_KEY = "placeholder"\n',
        ".dev.vars": '# local secrets\nAPI_KEY="s3cret"\nOTHER=plain\n',
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response(self.env.API_KEY + " " + self.env.OTHER)
        """,
    })
    assert rt.client().get("/").text == "s3cret plain"


def test_missing_env_name_lists_what_env_has(load_project):
    rt = load_project({
        "wrangler.toml": TOML + '[vars]\nMODE = "dev"\n',
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response(self.env.NOPE)
        """,
    })
    assert rt.client().get("/").status_code == 500
    assert "no binding or var named 'NOPE'" in rt.logs[-1].message and "MODE" in rt.logs[-1].message


def test_fetch_without_parameters_is_valid(load_project):
    rt = load_project({"wrangler.toml": TOML, "src/entry.py": """
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self):
                return Response("bare")
    """})
    assert rt.client().get("/").text == "bare"


def test_fetch_with_request_env_ctx_is_valid(load_project):
    rt = load_project({"wrangler.toml": TOML + '[vars]\nX = "x"\n', "src/entry.py": """
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request, env, ctx):
                return Response(f"{request.method} {env.X} {ctx is self.ctx}")
    """})
    assert rt.client().get("/").text == "GET x True"


def test_module_level_on_fetch_is_valid(load_project):
    rt = load_project({"wrangler.toml": TOML + '[vars]\nX = "x"\n', "src/entry.py": """
        from workers import Response
        async def on_fetch(request, env):
            return Response(f"on_fetch {request.method} {env.X}")
    """})
    assert rt.client().post("/").text == "on_fetch POST x"


def test_main_without_an_entrypoint_is_refused(make_project):
    root = make_project({"wrangler.toml": TOML, "src/entry.py": "X = 1\n"})
    with pytest.raises(WorkerLoadError, match="no entrypoint.*class Default\\(WorkerEntrypoint\\)"):
        load(root)


def test_main_that_raises_on_import_reports_the_file(make_project):
    root = make_project({"wrangler.toml": TOML, "src/entry.py": "raise RuntimeError('boom at import')\n"})
    with pytest.raises(WorkerLoadError, match=r"entry\.py: importing the Worker raised RuntimeError: boom at import"):
        load(root)


def test_main_with_a_syntax_error_reports_file_and_line(make_project):
    root = make_project({"wrangler.toml": TOML, "src/entry.py": "x = 1\ndef broken(:\n"})
    with pytest.raises(WorkerLoadError, match=r"entry\.py:2: syntax error"):
        load(root)


def two_projects(make_project, word: str, name: str) -> Path:
    return make_project({
        "wrangler.toml": f'name = "{name}"\nmain = "src/entry.py"\n',
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            from helpers import WORD
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response(WORD)
        """,
        "src/helpers.py": f"WORD = {word!r}\n",
    }, name=name)


def test_two_projects_with_the_same_module_names_load_side_by_side(make_project, runtimes):
    rt = Runtime(virtual_time=True)
    runtimes.append(rt)
    rt.add_project(two_projects(make_project, "first", "one"))
    rt.add_project(two_projects(make_project, "second", "two"))
    assert rt.client(worker="one").get("/").text == "first"
    assert rt.client(worker="two").get("/").text == "second"
    assert "entry" not in sys.modules and "helpers" not in sys.modules


def test_two_workers_with_the_same_name_are_refused(make_project, runtimes):
    rt = Runtime(virtual_time=True)
    runtimes.append(rt)
    rt.add_project(two_projects(make_project, "first", "same"))
    with pytest.raises(ValueError, match="named 'same' is already loaded"):
        rt.add_project(two_projects(make_project, "second", "same"))


def test_worker_defined_in_code_runs_with_vars(runtimes):
    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            return Response(f"code {self.env.COLOR}")

    rt = Runtime(virtual_time=True)
    runtimes.append(rt)
    rt.add_worker(Default, vars={"COLOR": "blue"})
    assert rt.client().get("/").text == "code blue"
    assert rt.env.COLOR == "blue"


def test_handler_exception_becomes_500_with_traceback_and_runtime_keeps_serving(load_project):
    rt = load_project({"wrangler.toml": TOML, "src/entry.py": """
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                if request.url.endswith("/boom"):
                    raise ValueError("kaput")
                return Response("fine")
    """})
    client = rt.client()
    r = client.get("/boom")
    assert r.status_code == 500 and "ValueError: kaput" in r.text
    error_log = rt.logs[-1]
    assert error_log.level == "error" and "Traceback" in error_log.message
    assert 'entry.py", line 5, in fetch' in error_log.message
    err = rt.trace.last("error")
    assert (err.error, err.message) == ("ValueError", "kaput")
    assert "Traceback" in rt.trace.last("log", level="error").message
    assert rt.trace.last("response").status == 500
    assert client.get("/").text == "fine"


def test_handler_returning_a_non_response_gives_500_saying_so(load_project):
    rt = load_project({"wrangler.toml": TOML, "src/entry.py": """
        from workers import WorkerEntrypoint
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return {"not": "a response"}
    """})
    r = rt.client().get("/")
    assert r.status_code == 500
    assert "returned dict; it must return a Response" in r.text


def test_a_notebook_module_with_the_same_name_neither_leaks_in_nor_is_lost(load_project, monkeypatch):
    notebook_helpers = types.ModuleType("helpers")
    notebook_helpers.WORD = "notebook's"
    monkeypatch.setitem(sys.modules, "helpers", notebook_helpers)
    rt = load_project({
        "wrangler.toml": TOML,
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            from helpers import WORD
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response(WORD)
        """,
        "src/helpers.py": "WORD = \"worker's\"\n",
    })
    assert rt.client().get("/").text == "worker's"
    assert sys.modules["helpers"] is notebook_helpers


def test_libraries_imported_from_elsewhere_stay_shared(make_project, runtimes, monkeypatch):
    root = make_project({
        "wrangler.toml": TOML,
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            import shared_lib
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response(str(id(shared_lib)))
        """,
        # A library inside the project folder but imported through its own sys.path entry,
        # as the course package is when a project lives in the course repository.
        "vendor/shared_lib.py": "X = 1\n",
    })
    monkeypatch.syspath_prepend(str(root / "vendor"))
    monkeypatch.delitem(sys.modules, "shared_lib", raising=False)
    rt = load(root, virtual_time=True)
    runtimes.append(rt)
    assert rt.client().get("/").text == str(id(sys.modules["shared_lib"]))
