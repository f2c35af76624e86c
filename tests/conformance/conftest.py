"""Fixtures that start both conformance targets once per session: workerd and the emulator.

Each target (see targets.py) listens on a free local port with a fresh state directory, answers
before the first test, and is stopped (its whole process group) at the end of the session.
Without Node.js the whole suite skips with a message that says how to run it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from targets import HERE, HOW_TO_RUN, Target, node_available, start_emulator, start_workerd, stop_target


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if node_available():
        return
    skip = pytest.mark.skip(reason=HOW_TO_RUN)
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def workerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    if not node_available():
        pytest.skip(HOW_TO_RUN)
    root = tmp_path_factory.mktemp("workerd")
    target = start_workerd(root / "state", root / "wrangler.log")
    try:
        yield target
    finally:
        stop_target(target)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("emulator")
    target = start_emulator(root / "state", root / "serve.log")
    try:
        yield target
    finally:
        stop_target(target)
