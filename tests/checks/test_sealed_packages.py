"""sealed() on a check that is a package: it verifies the check's modules and what they import, nothing else."""
from __future__ import annotations

import pytest

from course.checks import sealed as sealed_module
from course.checks.sealed import GradingCodeModified, sealed, verify


def test_sealing_day1_covers_its_modules_the_harness_it_imports_and_the_shared_protocol() -> None:
    names = sealed_module._module_names("day1")
    assert {"course.checks.day1", "course.checks.day1.coordinator", "course.checks.day1.envelope",
            "course.checks.day1.types", "course.checks.harness.network", "course.checks.harness.shrink",
            "course.checks.harness.result", "course.protocol.lifecycle", "course.protocol.envelope",
            "course.checks.day1.design"} <= set(names)
    assert all(n == "course.checks" or n.startswith(("course.checks.day1", "course.checks.harness"))
               or n in ("course.protocol.lifecycle", "course.protocol.envelope", *sealed_module.SUPPORT_MODULES)
               for n in names), names
    assert "course.protocol.pair" not in names and "course.checks.sealed" not in names


def test_only_days_and_projects_can_be_sealed() -> None:
    for name in ("harness", "sealed", "day9"):
        with pytest.raises(ValueError, match="no checks named"):
            sealed(name)


@pytest.mark.parametrize("module, attr, needle", [
    ("course.checks.day1.split", "expected_sizes", "course.checks.day1.split.expected_sizes was replaced"),
    ("course.checks.harness.network", "describe_message", "course.checks.harness.network.describe_message was replaced"),
    ("course.checks.harness.scenario", "run_case", "course.checks.harness.scenario.run_case was replaced"),
    ("course.protocol.lifecycle", "LIFECYCLE", "course.protocol.lifecycle.LIFECYCLE was changed"),
])
def test_a_patched_submodule_harness_or_shared_table_is_caught(monkeypatch: pytest.MonkeyPatch, module: str,
                                                                attr: str, needle: str) -> None:
    import importlib

    target = importlib.import_module(module)
    monkeypatch.setattr(target, attr, {} if attr == "LIFECYCLE" else (lambda *a, **k: None))
    with pytest.raises(GradingCodeModified, match=needle):
        verify("day1")


def test_a_patched_method_of_a_harness_class_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from course.checks.harness.network import Network

    monkeypatch.setattr(Network, "send", lambda self, raw, *, sender: None)
    with pytest.raises(GradingCodeModified, match="Network.send was replaced"):
        verify("day1")
    monkeypatch.undo()
    verify("day1")


@pytest.mark.parametrize("day", ["day1", "day2"])
def test_type_aliases_recreated_after_typings_cache_is_evicted_are_not_tampering(day):
    """``Store = Literal[...]`` re-executed after typing's bounded cache dropped it is a new
    object with the same meaning; a long test run (or a big notebook) evicts that cache."""
    import importlib
    import typing

    from course.checks.sealed import verify

    importlib.import_module(f"course.checks.{day}.design")  # the live aliases exist before eviction
    for clear in typing._cleanups:  # what eviction does, all at once
        clear()
    verify(day)  # raises GradingCodeModified on a difference
