"""A project's Python dependencies, vendored into ``python_modules/`` as ``pywrangler sync`` does.

On Cloudflare a Python Worker's ``pyproject.toml`` dependencies are installed into the
project's ``python_modules/`` folder (``pywrangler sync``; ``pywrangler dev`` syncs before it
starts) and the Worker imports them from there
(https://developers.cloudflare.com/workers/languages/python/packages/). Here:

- :func:`sync` installs the requirements with ``pip install --target`` into a fresh folder, checks
  it, then swaps it in and records a lock (a hash of the requirements and the Python version) in
  ``python_modules/.course-deps.json``; :func:`prepare` (called when a Worker loads, and by
  ``course serve``) syncs when the folder is missing or the lock is stale, with a progress line;
- a requirement the course's own environment already satisfies (FastAPI for a FastAPI Worker,
  say) is used from there and not copied: same code, no download, and nothing to clash;
- the vendored folder is on the import path of that Worker only (course.runtime.kernel.worker),
  never the emulator's. The emulator and its Workers share one interpreter, so a package the
  emulator itself has loaded cannot exist twice: a vendored copy of another version is a
  :class:`VendoringError` naming both versions and the way out, as is a dependency that needs a
  newer Python than this interpreter (Cloudflare runs Python Workers on 3.12 and 3.13).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

#: The folder pywrangler vendors into, beside ``pyproject.toml``.
PYTHON_MODULES = "python_modules"
#: The lock the course writes into it (its requirements hash and Python version).
LOCK_FILE = ".course-deps.json"
#: Extra pip arguments for automatic syncs (``--no-index --find-links DIR`` for offline wheels).
PIP_ARGS_ENV = "COURSE_DEPS_PIP_ARGS"
#: Requirements the platform itself provides: the Workers SDK is built into the runtime
#: (workerd injects ``workers``), so pywrangler never vendors it.
PLATFORM_PROVIDED = frozenset({"workers-py", "workers-runtime-sdk", "webtypy", "pyodide-py"})

Progress = Callable[[str], None]


class VendoringError(RuntimeError):
    """The project's dependencies cannot be vendored or used; the message says why and what to do."""


@dataclass
class SyncPlan:
    """What a project needs: requirements the course environment provides, and the rest."""

    root: Path
    requirements: list[str]
    provided: dict[str, str] = field(default_factory=dict)  # requirement -> installed version
    to_install: list[str] = field(default_factory=list)

    @property
    def lock(self) -> dict[str, object]:
        return {"requirements": sorted(self.to_install), "python": f"{sys.version_info[0]}.{sys.version_info[1]}"}

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.lock, sort_keys=True).encode()).hexdigest()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def project_requirements(root: Path) -> list[str]:
    """``[project].dependencies`` of ``root/pyproject.toml`` (none without the file)."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise VendoringError(f"{path}: not valid TOML ({exc}); fix it to install the Worker's dependencies") from None
    deps = data.get("project", {}).get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise VendoringError(f"{path}: [project].dependencies must be a list of requirement strings")
    return deps


def plan(root: Path | str) -> SyncPlan:
    """Split the project's requirements into those the course environment satisfies and the rest."""
    root = Path(root)
    requirements = project_requirements(root)
    result = SyncPlan(root, requirements)
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise VendoringError(f"{root / 'pyproject.toml'}: dependency {text!r} is not a valid requirement: "
                                 f"{exc}") from None
        if canonicalize_name(req.name) in PLATFORM_PROVIDED:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed is not None and req.specifier.contains(installed, prereleases=True) and not req.url:
            result.provided[text] = installed
        else:
            result.to_install.append(text)
    return result


def status(root: Path | str) -> str:
    """``"none"`` (nothing to vendor), ``"fresh"``, ``"stale"`` or ``"missing"``."""
    p = plan(root)
    if not p.to_install:
        return "none"
    lock = Path(root) / PYTHON_MODULES / LOCK_FILE
    if not lock.is_file():
        return "missing"
    try:
        recorded = json.loads(lock.read_text(encoding="utf-8")).get("digest")
    except (ValueError, OSError):
        return "stale"
    return "fresh" if recorded == p.digest else "stale"


def _pip_failure(output: str, to_install: list[str], root: Path) -> VendoringError:
    here = ".".join(map(str, sys.version_info[:3]))
    needs = re.search(r"Package '([^']+)' requires a different Python: \S+ not in '([^']+)'", output)
    ignored = re.search(r"require a different python version: (\S+) Requires-Python (\S+)", output)
    missing = re.search(r"No matching distribution found for (\S+)", output)
    if needs or ignored:
        package = needs[1] if needs else (missing[1] if missing else ", ".join(to_install))
        wanted = (needs[2] if needs else ignored[2]).rstrip(";,")  # type: ignore[index]
        return VendoringError(
            f"{root}: dependency {package} needs Python {wanted}, and this emulator runs on Python {here} "
            "(Cloudflare runs Python Workers on 3.12 and 3.13). Way out: depend on a release of "
            f"{package} that supports Python {sys.version_info[0]}.{sys.version_info[1]} in pyproject.toml, "
            "or run the course on a newer Python (python3.12 -m venv .venv, then make test)")
    tail = "\n".join(line for line in output.strip().splitlines()[-12:])
    return VendoringError(f"{root}: pip could not install {', '.join(to_install)} into {PYTHON_MODULES}:\n{tail}")


def _dist_infos(folder: Path) -> Iterable[tuple[str, str, set[str]]]:
    """(name, version, top-level import names) of each distribution installed in ``folder``."""
    for info in sorted(folder.glob("*.dist-info")):
        meta = (info / "METADATA").read_text(encoding="utf-8", errors="replace") if (info / "METADATA").is_file() else ""
        name = re.search(r"^Name: *(.+)$", meta, re.M)
        version = re.search(r"^Version: *(.+)$", meta, re.M)
        tops: set[str] = set()
        if (info / "top_level.txt").is_file():
            tops = {t.strip() for t in (info / "top_level.txt").read_text().split() if t.strip()}
        elif (info / "RECORD").is_file():
            for line in (info / "RECORD").read_text().splitlines():
                first = line.split(",", 1)[0].split("/", 1)[0]
                if first.endswith(".py"):
                    tops.add(first[:-3])
                elif first and not first.endswith((".dist-info", ".data")) and "." not in first and first != "..":
                    tops.add(first)
        if name and version:
            yield name[1].strip(), version[1].strip(), tops


def _emulator_version(top: str, owners: dict[str, list[str]]) -> tuple[str, str] | None:
    """(distribution, version) of the package the emulator loaded as ``top``, if any."""
    module = sys.modules.get(top)
    if module is None:
        return None
    for dist in owners.get(top, []):
        try:
            return dist, importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def clashes(folder: Path) -> list[str]:
    """Vendored packages the emulator itself has loaded at another version, one message each."""
    found: list[str] = []
    infos = list(_dist_infos(folder))
    if not any(top in sys.modules for _, _, tops in infos for top in tops):
        return found
    owners = importlib.metadata.packages_distributions()
    for name, version, tops in infos:
        for top in sorted(tops):
            emulator = _emulator_version(top, owners)
            if emulator is None:
                continue
            dist, loaded = emulator
            try:
                same = Version(loaded) == Version(version)
            except InvalidVersion:
                same = loaded == version
            if not same:
                found.append(
                    f"{folder}: the project vendors {name} {version}, but the course runtime itself runs on "
                    f"{dist} {loaded} (already loaded in this process, which the Worker shares). Way out: "
                    f"depend on a version compatible with {dist}=={loaded} (relax the pin in pyproject.toml "
                    f"that pulls {name} {version}), then run `course deps sync {folder.parent}`")
                break
    return found


def sync(root: Path | str, *, pip_args: Iterable[str] = (), progress: Progress = _stderr, force: bool = False) -> SyncPlan:
    """Install the project's requirements into ``root/python_modules`` (if stale, or ``force``)."""
    root = Path(root).resolve()
    p = plan(root)
    target = root / PYTHON_MODULES
    if not p.to_install:
        progress(f"[course] {root.name}: no dependency to vendor"
                 + (f" ({', '.join(f'{r} from the course environment' for r in p.provided)})" if p.provided else ""))
        return p
    if not force and status(root) == "fresh":
        progress(f"[course] {root.name}: python_modules is up to date")
        return p
    progress(f"[course] {root.name}: installing {', '.join(p.to_install)} into {PYTHON_MODULES}/ "
             "(pip install --target, like pywrangler sync)...")
    staging = Path(tempfile.mkdtemp(prefix=".python_modules-", dir=root))
    try:
        cmd = [sys.executable, "-m", "pip", "install", "--target", str(staging), "--disable-pip-version-check",
               "--no-input", "--progress-bar", "off", "--no-warn-script-location", *pip_args, *p.to_install]
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PIP_REQUIRE_VIRTUALENV": "0"})
        if done.returncode != 0:
            raise _pip_failure(done.stdout + "\n" + done.stderr, p.to_install, root)
        problems = clashes(staging)
        if problems:
            raise VendoringError("\n".join(problems).replace(str(staging), str(target)))
        (staging / LOCK_FILE).write_text(json.dumps({**p.lock, "digest": p.digest}, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    progress(f"[course] {root.name}: vendored {', '.join(n + ' ' + v for n, v, _ in _dist_infos(target))}")
    return p


def prepare(root: Path | str, *, progress: Progress = _stderr) -> Path | None:
    """Before a Worker loads: sync if needed, check for clashes; the folder to import from (or None)."""
    root = Path(root)
    target = root / PYTHON_MODULES
    if status(root) in ("missing", "stale"):
        sync(root, pip_args=shlex.split(os.environ.get(PIP_ARGS_ENV, "")), progress=progress)
    if not target.is_dir():
        return None
    problems = clashes(target)
    if problems:
        raise VendoringError("\n".join(problems))
    return target.resolve()


def worker_names(folder: Path) -> frozenset[str]:
    """Top-level module names the Worker imports from ``folder`` rather than the emulator's."""
    names = set()
    for child in folder.iterdir():
        if child.name.startswith(".") or child.name.endswith((".dist-info", ".data", ".pth")) or child.name in (
                "bin", "__pycache__"):
            continue
        stem = child.name.split(".", 1)[0] if child.is_file() else child.name
        if stem.isidentifier() and (child.is_dir() or child.suffix in (".py", ".so", ".pyd")):
            names.add(stem)
    # A package the emulator already loaded is shared (clashes() made sure it is the same version).
    return frozenset(n for n in names if n not in sys.modules and n not in sys.stdlib_module_names)


__all__ = ["LOCK_FILE", "PIP_ARGS_ENV", "PYTHON_MODULES", "SyncPlan", "VendoringError", "clashes", "plan", "prepare",
           "project_requirements", "status", "sync", "worker_names"]
