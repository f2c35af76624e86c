"""Dynamic Worker Loaders (``worker_loaders`` in wrangler's config): ``env.LOADER.get(id, get_code)``
caches the loaded Worker by ID, ``env.LOADER.load(code)`` loads afresh, ``getEntrypoint(name)`` is a
Fetcher with RPC (https://developers.cloudflare.com/dynamic-workers/api-reference/).

tests/projects/worker_loader/ is a parent Worker written for these tests (Cloudflare's
python-workers-examples 17-dynamic-py-py is the case that found the gap).
"""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from course.runtime import ConfigError, load
from course.workers import Request

PROJECT = Path(__file__).resolve().parents[1] / "projects" / "worker_loader"


@pytest.fixture
def rt(tmp_path, runtimes):
    shutil.copytree(PROJECT, tmp_path / "parent")
    runtime = load(tmp_path / "parent", virtual_time=True)
    runtimes.append(runtime)
    return runtime


def test_get_loads_once_per_id_and_keeps_the_loaded_worker(rt):
    c = rt.client()
    assert c.get("/get?id=a").text == "HELLO #1 AT HTTP://LOCALHOST:8787/GET?ID=A | callbacks ['a']"
    # the same ID: the callback is not called again and the loaded module's state is kept
    assert c.get("/get?id=a&greeting=hi").text.startswith("HELLO #2 AT")
    assert c.get("/get?id=b&greeting=hi").text.startswith("HI #1 AT")
    assert c.get("/get?id=a").text.endswith("callbacks ['a', 'b']")
    assert "loader-parent/LOADER:a" in rt.workers and "loader-parent/LOADER:b" in rt.workers
    loaded = rt.trace.events("worker_loaded_dynamically")
    assert [e.data["worker"] for e in loaded] == ["loader-parent/LOADER:a", "loader-parent/LOADER:b"]
    assert loaded[0].data["modules"] == ["entry.py", "helpers.py"]


def test_concurrent_first_calls_for_one_id_load_it_once(rt):
    async def both():
        return await asyncio.gather(*(rt.dispatch(Request(f"https://parent.test/get?id=c&n={n}"))
                                      for n in (1, 2)))

    responses = rt.call(both())
    assert [r.status for r in responses] == [200, 200]
    assert all(rt.call(r.text()).endswith("callbacks ['c']") for r in responses)
    assert [name for name in rt.workers if name.endswith(":c")] == ["loader-parent/LOADER:c"]


def test_load_starts_a_fresh_worker_every_call(rt):
    c = rt.client()
    assert c.get("/load").text.startswith("HELLO #1 AT")
    assert c.get("/load").text.startswith("HELLO #1 AT")
    assert sum(name.startswith("loader-parent/LOADER:load-") for name in rt.workers) == 2


def test_env_of_the_loaded_worker_holds_values_and_the_parents_bindings_and_rpc_works(rt):
    c = rt.client()
    c.get("/get?id=n")  # the loaded Worker writes the parent's KV namespace it was given
    assert rt.call(rt.worker().env.NOTES.get("last")) == "http://localhost:8787/get?id=n"
    assert c.get("/rpc?id=r&greeting=welcome").json() == {"text": "WELCOME, ADA",
                                                          "note": "http://localhost:8787/get?id=n"}


@pytest.mark.parametrize("kind, message", [
    ("js", "module 'index.js' is given as a string, which Cloudflare reads as JavaScript"),
    ("outbound", "globalOutbound (blocking or intercepting the loaded Worker's fetch and connect) is not emulated"),
    ("main", "mainModule 'missing.py' must name one of its modules (entry.py, helpers.py)"),
    ("date", "needs compatibilityDate"),
])
def test_workercode_the_emulator_cannot_run_is_refused_by_name(rt, kind, message):
    r = rt.client().get(f"/bad?kind={kind}")
    assert r.status_code == 500
    assert r.text.startswith("TypeError: ") and message in r.text


def test_a_loader_entry_without_a_binding_name_is_a_config_error(tmp_path, runtimes):
    shutil.copytree(PROJECT, tmp_path / "parent")
    config = tmp_path / "parent" / "wrangler.toml"
    config.write_text(config.read_text().replace('binding = "LOADER"', 'name = "LOADER"'))
    with pytest.raises(ConfigError, match="each worker_loaders entry needs a \"binding\" name"):
        runtimes.append(load(tmp_path / "parent"))
