"""A project's pyproject.toml dependencies are vendored into python_modules, like pywrangler sync.

Every wheel here is built by the test itself (a wheel is a zip with a dist-info folder), and
pip installs it offline (``--no-index --find-links``), so these tests never reach PyPI.
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from course.cli import main as course_main
from course.runtime import load
from course.runtime.kernel import vendoring
from course.runtime.kernel.vendoring import LOCK_FILE, PIP_ARGS_ENV, VendoringError

ENTRY = """
from workers import WorkerEntrypoint, Response
import greetlib

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        from greetlib.extra import SHOUT        # a vendored submodule imported inside a handler
        return Response(greetlib.GREETING + SHOUT)
"""


def build_wheel(folder: Path, name: str, version: str, files: dict[str, str], *, requires_python: str | None = None,
                requires: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel ``name-version-py3-none-any.whl`` holding ``files``."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires_python:
        meta += f"Requires-Python: {requires_python}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    contents = dict(files)
    contents[f"{info}/METADATA"] = meta
    contents[f"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: course-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    contents[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*contents, f"{info}/RECORD"])
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in contents.items():
            zf.writestr(path, text)
    return wheel


def greetlib(wheels: Path, version: str) -> None:
    build_wheel(wheels, "greetlib", version, {
        "greetlib/__init__.py": f"GREETING = 'hello from greetlib {version}'\n",
        "greetlib/extra.py": "SHOUT = '!'\n",
    })


def project(make_project, dependencies: list[str]) -> Path:
    deps = ", ".join(f'"{d}"' for d in dependencies)
    return make_project({
        "wrangler.toml": 'name = "vendored"\nmain = "src/entry.py"\n',
        "pyproject.toml": f'[project]\nname = "vendored"\nversion = "0.1.0"\ndependencies = [{deps}]\n',
        "src/entry.py": ENTRY,
    })


@pytest.fixture
def wheels(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    monkeypatch.setenv(PIP_ARGS_ENV, f"--no-index --find-links {folder}")
    return folder


def test_load_syncs_missing_python_modules_and_the_worker_imports_from_there(make_project, runtimes, wheels, capsys):
    greetlib(wheels, "1.0")
    folder = project(make_project, ["greetlib==1.0"])
    rt = load(folder, virtual_time=True)
    runtimes.append(rt)
    assert "installing greetlib==1.0 into python_modules/" in capsys.readouterr().err  # the progress line
    assert (folder / "python_modules" / "greetlib" / "__init__.py").is_file()
    assert (folder / "python_modules" / LOCK_FILE).is_file()
    assert rt.client().get("/").text == "hello from greetlib 1.0!"
    # only the Worker sees it: the emulator's own interpreter has no greetlib
    assert "greetlib" not in sys.modules
    with pytest.raises(ImportError):
        __import__("greetlib")


def test_vendored_library_code_reads_the_runtime_clock(make_project, runtimes, wheels):
    build_wheel(wheels, "clocklib", "1.0", {"clocklib/__init__.py": (
        "import datetime, time\n"
        "from datetime import datetime as DT\n"
        "def stamps():\n"
        "    return [datetime.datetime.now(datetime.timezone.utc).timestamp(), DT.now().timestamp(), time.time()]\n")})
    folder = make_project({
        "wrangler.toml": 'name = "clock"\nmain = "src/entry.py"\n',
        "pyproject.toml": '[project]\nname = "clock"\nversion = "0"\ndependencies = ["clocklib==1.0"]\n',
        "src/entry.py": "import clocklib\nfrom workers import WorkerEntrypoint, Response\n"
                        "class Default(WorkerEntrypoint):\n    async def fetch(self, request):\n"
                        "        return Response.json(clocklib.stamps())\n",
    })
    rt = load(folder, virtual_time=True)
    runtimes.append(rt)
    rt.clock.advance(3600)
    expected = rt.clock.wall()
    assert all(abs(stamp - expected) < 1 for stamp in rt.client().get("/").json())


def test_a_changed_pin_makes_python_modules_stale_and_load_resyncs(make_project, runtimes, wheels):
    greetlib(wheels, "1.0")
    greetlib(wheels, "2.0")
    folder = project(make_project, ["greetlib==1.0"])
    runtimes.append(load(folder, virtual_time=True))
    assert vendoring.status(folder) == "fresh"
    (folder / "pyproject.toml").write_text((folder / "pyproject.toml").read_text().replace("==1.0", "==2.0"))
    assert vendoring.status(folder) == "stale"
    rt = load(folder, virtual_time=True)
    runtimes.append(rt)
    assert rt.client().get("/").text == "hello from greetlib 2.0!"


def test_course_deps_sync_cli_and_status(make_project, wheels, capsys):
    greetlib(wheels, "1.0")
    folder = project(make_project, ["greetlib==1.0"])
    assert course_main(["deps", "status", str(folder)]) == 1
    assert "python_modules is missing" in capsys.readouterr().out
    assert course_main(["deps", "sync", str(folder), "--no-index", "--find-links", str(wheels)]) == 0
    out = capsys.readouterr().out
    assert "vendored greetlib 1.0" in out
    assert course_main(["deps", "status", str(folder)]) == 0
    assert course_main(["deps", "sync", str(folder), "--no-index", "--find-links", str(wheels)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_dependencies_the_course_environment_provides_are_not_copied(make_project, runtimes):
    folder = make_project({
        "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n',
        "pyproject.toml": f'[project]\nname = "w"\nversion = "0"\ndependencies = ["httpx>={httpx.__version__}", '
                          '"workers-py"]\n',
        "src/entry.py": "import httpx\nfrom workers import WorkerEntrypoint, Response\n"
                        "class Default(WorkerEntrypoint):\n    async def fetch(self, request):\n"
                        "        return Response(httpx.__version__)\n",
    })
    assert vendoring.status(folder) == "none"
    rt = load(folder, virtual_time=True)
    runtimes.append(rt)
    assert rt.client().get("/").text == httpx.__version__
    assert not (folder / "python_modules").exists()


def test_a_vendored_package_clashing_with_the_emulators_own_names_both_versions(make_project, wheels):
    # a project pinning another httpx than the one the emulator runs on (as a pinned mcp pulled
    # an older pydantic): one interpreter cannot hold both
    build_wheel(wheels, "httpx", "0.1.0", {"httpx/__init__.py": "__version__ = '0.1.0'\n"})
    folder = project(make_project, ["httpx==0.1.0"])
    with pytest.raises(VendoringError) as caught:
        load(folder, virtual_time=True)
    message = str(caught.value)
    assert "vendors httpx 0.1.0" in message
    assert f"runs on httpx {httpx.__version__}" in message
    assert f"compatible with httpx=={httpx.__version__}" in message and "course deps sync" in message
    assert not (folder / "python_modules").exists()  # nothing half-installed is left behind


def test_a_dependency_needing_a_newer_python_is_named_with_the_way_out(make_project, wheels):
    build_wheel(wheels, "newlib", "1.0", {"newlib/__init__.py": ""}, requires_python=">=3.99")
    folder = project(make_project, ["newlib"])
    with pytest.raises(VendoringError) as caught:
        vendoring.sync(folder, pip_args=["--no-index", "--find-links", str(wheels)], progress=lambda line: None)
    message = str(caught.value)
    assert "newlib needs Python >=3.99" in message
    assert f"this emulator runs on Python {sys.version_info[0]}.{sys.version_info[1]}" in message
    assert "Way out" in message


def test_a_malformed_requirement_is_named(make_project):
    folder = project(make_project, ["not a requirement!!"])
    with pytest.raises(VendoringError, match=r"dependency 'not a requirement!!' is not a valid requirement"):
        vendoring.plan(folder)
