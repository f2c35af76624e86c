"""Imports inside handlers work as on Cloudflare, without leaking into the notebook."""
from __future__ import annotations

import sys

from course.runtime import Runtime
from course.workers import Response, WorkerEntrypoint

ENTRY = """
from workers import WorkerEntrypoint, Response

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        from js import JSON            # a shim, imported lazily
        import helpers                 # the project's own module, imported lazily
        from pkg.sub import WORD       # a submodule nobody imported at load time
        return Response(JSON.stringify({"who": helpers.WHO, "word": WORD}))
"""


def project(make_project, who: str, name: str):
    return make_project({
        "wrangler.toml": f'name = "{name}"\nmain = "src/entry.py"\n',
        "src/entry.py": ENTRY,
        "src/helpers.py": f"WHO = {who!r}\n",
        "src/pkg/__init__.py": "",
        "src/pkg/sub.py": f"WORD = {who.upper()!r}\n",
    }, name=name)


def test_lazy_imports_in_handlers_see_their_own_project(make_project, runtimes) -> None:
    rt = Runtime(virtual_time=True)
    runtimes.append(rt)
    rt.add_project(project(make_project, "first", "one"))
    rt.add_project(project(make_project, "second", "two"))
    assert rt.client(worker="one").get("/").json() == {"who": "first", "word": "FIRST"}
    assert rt.client(worker="two").get("/").json() == {"who": "second", "word": "SECOND"}
    assert rt.client(worker="one").get("/").json() == {"who": "first", "word": "FIRST"}


def test_lazy_imports_do_not_leak_into_sys_modules(make_project, runtimes) -> None:
    rt = Runtime(virtual_time=True)
    runtimes.append(rt)
    rt.add_project(project(make_project, "first", "one"))
    rt.client().get("/")
    rt.run_until_idle()
    for name in ("js", "workers", "helpers"):
        assert name not in sys.modules or not getattr(sys.modules[name], "__file__", "").startswith(str(rt.worker().src_dir)), name
    assert "helpers" not in sys.modules


class Shimmed(WorkerEntrypoint):
    async def fetch(self, request):
        from js import Object  # code pasted from Cloudflare's docs into a notebook class

        return Response(str(sorted(Object.fromEntries([["b", 1], ["a", 2]]))))


def test_shim_import_inside_a_notebook_defined_handler() -> None:
    with Runtime() as rt:
        rt.add_worker(Shimmed)
        assert rt.client().get("/").text == "['a', 'b']"
