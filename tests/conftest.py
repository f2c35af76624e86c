"""Shared fixtures: write a Worker project to a temp folder and load it into a runtime."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable, Iterator

import pytest

from course.runtime import Runtime, load


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """``make_project({"wrangler.toml": "...", "src/entry.py": "..."})`` -> the project folder.

    File texts are dedented, so tests can write them inline.
    """
    counter = {"n": 0}

    def make(files: dict[str, str], name: str | None = None) -> Path:
        counter["n"] += 1
        root = tmp_path / (name or f"project{counter['n']}")
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        return root

    return make


@pytest.fixture
def runtimes() -> Iterator[list[Runtime]]:
    """Collects runtimes a test creates and closes them afterwards."""
    created: list[Runtime] = []
    yield created
    for rt in created:
        rt.close()


@pytest.fixture
def load_project(make_project: Callable[..., Path], runtimes: list[Runtime]) -> Callable[..., Runtime]:
    """``load_project(files, virtual_time=True, seed=0)`` -> a loaded runtime, closed after the test."""

    def _load(files: dict[str, str], **kwargs: object) -> Runtime:
        kwargs.setdefault("virtual_time", True)
        rt = load(make_project(files), **kwargs)  # type: ignore[arg-type]
        runtimes.append(rt)
        return rt

    return _load
