"""Static assets (wrangler's ``assets``): files first, the Worker for the rest, ``env.ASSETS``.

Rules from https://developers.cloudflare.com/workers/static-assets/ (routing, html_handling,
not_found_handling, run_worker_first); content types as wrangler serves them.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import json5
import pytest

from course.runtime import ConfigError, load

SITE = Path(__file__).resolve().parents[1] / "projects" / "assets_site"


@pytest.fixture
def site(tmp_path, runtimes):
    def _load(**assets: object):
        folder = tmp_path / "site"
        shutil.copytree(SITE, folder)
        if assets:
            config = json5.loads((folder / "wrangler.jsonc").read_text())
            config["assets"].update(assets)
            config["assets"] = {k: v for k, v in config["assets"].items() if v is not None}
            (folder / "wrangler.jsonc").write_text(json5.dumps(config))
        rt = load(folder, virtual_time=True)
        runtimes.append(rt)
        return rt

    return _load


def test_files_are_served_with_wranglers_content_types_and_caching(site):
    client = site().client()
    expected = {"/css/site.css": "text/css; charset=utf-8", "/data.json": "application/json",
                "/app.js": "text/javascript; charset=utf-8", "/logo.svg": "image/svg+xml",
                "/": "text/html; charset=utf-8"}
    for path, kind in expected.items():
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"] == kind, path
        assert r.headers["cache-control"] == "public, max-age=0, must-revalidate"
        assert r.headers["etag"].startswith('"')
    assert client.get("/css/site.css").text == "body { color: teal; }\n"


def test_etag_revalidation_gives_304_and_head_has_no_body(site):
    client = site().client()
    etag = client.get("/data.json").headers["etag"]
    assert client.get("/data.json", headers={"if-none-match": etag}).status_code == 304
    head = client.head("/data.json")
    assert head.status_code == 200 and head.content == b""


def test_auto_trailing_slash_html_handling(site):
    client = site().client()
    assert client.get("/about").text == "<h1>About</h1>\n"
    moved = client.get("/about.html?x=1")
    assert (moved.status_code, moved.headers["location"]) == (307, "/about?x=1")
    assert client.get("/about/").headers["location"] == "/about"
    assert client.get("/blog").headers["location"] == "/blog/"
    assert client.get("/blog/").text == "<h1>Blog</h1>\n"
    assert client.get("/blog/index.html").headers["location"] == "/blog/"
    assert client.get("/index.html").headers["location"] == "/"


def test_force_trailing_slash(site):
    force = site(html_handling="force-trailing-slash").client()
    assert force.get("/about").headers["location"] == "/about/"
    assert force.get("/about/").text == "<h1>About</h1>\n"


def test_drop_trailing_slash(site):
    drop = site(html_handling="drop-trailing-slash").client()
    assert drop.get("/blog/").headers["location"] == "/blog"
    assert drop.get("/blog").text == "<h1>Blog</h1>\n"


def test_html_handling_none_serves_exact_paths_only(site):
    exact = site(html_handling="none").client()
    assert exact.get("/about.html").text == "<h1>About</h1>\n"
    assert exact.get("/about").text == "worker fallback for /about"


def test_unmatched_paths_and_run_worker_first_routes_reach_the_worker(site):
    client = site().client()
    assert client.get("/api/hello").json() == {"from": "worker"}
    assert client.get("/nothing-here").text == "worker fallback for /nothing-here"
    assert client.post("/about").text == "worker fallback for /about"  # not GET/HEAD: the Worker


def test_env_assets_fetch_from_worker_code(site):
    assert site().client().get("/api/page").text == "worker saw: <h1>About</h1>"


def test_single_page_application_fallback_for_navigations(site):
    client = site(not_found_handling="single-page-application").client()
    nav = client.get("/app/route", headers={"sec-fetch-mode": "navigate"})
    assert nav.status_code == 200 and nav.text == "<h1>Home</h1>\n"
    assert client.get("/app/route").text == "worker fallback for /app/route"  # fetch() from a page: the Worker


def test_run_worker_first_true_sends_everything_to_the_worker(site):
    client = site(run_worker_first=True).client()
    assert client.get("/data.json").text == "worker fallback for /data.json"


def test_404_page_is_the_nearest_404_html(tmp_path, runtimes):
    folder = tmp_path / "p"
    (folder / "public" / "docs").mkdir(parents=True)
    (folder / "src").mkdir()
    (folder / "public" / "404.html").write_text("top 404")
    (folder / "public" / "docs" / "404.html").write_text("docs 404")
    (folder / "src" / "entry.py").write_text("from workers import WorkerEntrypoint, Response\n"
                                             "class Default(WorkerEntrypoint):\n"
                                             "    async def fetch(self, request):\n"
                                             "        return await self.env.ASSETS.fetch(request)\n")
    (folder / "wrangler.toml").write_text('name = "p"\nmain = "src/entry.py"\n'
                                          'assets = { directory = "public", binding = "ASSETS", '
                                          'not_found_handling = "404-page" }\n')
    rt = load(folder, virtual_time=True)
    runtimes.append(rt)
    deep = rt.client().get("/docs/a/b")
    assert (deep.status_code, deep.text) == (404, "docs 404")
    assert rt.client().get("/other").text == "top 404"


@pytest.mark.parametrize("assets, message", [
    ({"directory": "missing"}, "assets.directory 'missing' is not a folder"),
    ({"binding": "ASSETS"}, "assets.directory is required"),
    ({"directory": "public", "html_handling": "sometimes"}, "assets.html_handling 'sometimes' is not one of"),
    ({"directory": "public", "run_worker_first": ["api/*"]}, "assets.run_worker_first must be true, false or a list"),
    ({"directory": "public", "colour": "blue"}, "assets has unknown keys ['colour']"),
])
def test_bad_assets_config_names_the_key(tmp_path, assets, message):
    folder = tmp_path / "bad"
    (folder / "public").mkdir(parents=True)
    (folder / "src").mkdir()
    (folder / "src" / "entry.py").write_text("from workers import WorkerEntrypoint, Response\n"
                                             "class Default(WorkerEntrypoint):\n"
                                             "    async def fetch(self, request):\n        return Response('x')\n")
    (folder / "wrangler.json").write_text(json.dumps({"name": "bad", "main": "src/entry.py", "assets": assets}))
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(folder, virtual_time=True)
