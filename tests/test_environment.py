"""environment.yml (conda / Binder) and pyproject.toml (pip) declare the same dependencies."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: Entries of environment.yml that are conda's own, not the project's dependencies.
CONDA_ONLY = {"python", "pip"}


def parse_requirement(spec: str) -> tuple[str, str]:
    """("name", "lower bound") from "name>=1.2" (names normalised as pip does)."""
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([^,;\s]+)\s*", spec)
    assert m, f"{spec!r}: every dependency needs exactly a lower bound (name>=version)"
    return re.sub(r"[-_.]+", "-", m[1]).lower(), m[2]


def pyproject_dependencies() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(parse_requirement(s) for s in specs)


def environment_dependencies() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps: dict[str, str] = {}
    for item in env["dependencies"]:
        if isinstance(item, dict):  # the `pip:` section installs the course itself
            continue
        name = re.split(r"[<>=\s]", item, maxsplit=1)[0]
        if name in CONDA_ONLY:
            continue
        key, bound = parse_requirement(item)
        assert key not in deps, f"environment.yml lists {key} twice"
        deps[key] = bound
    return deps


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    pip, conda = pyproject_dependencies(), environment_dependencies()
    assert sorted(set(pip) - set(conda)) == [], "in pyproject.toml but missing from environment.yml"
    assert sorted(set(conda) - set(pip)) == [], "in environment.yml but missing from pyproject.toml"


def test_environment_yml_uses_the_same_lower_bounds_as_pyproject():
    pip, conda = pyproject_dependencies(), environment_dependencies()
    differ = {name: (pip[name], conda[name]) for name in pip.keys() & conda.keys() if pip[name] != conda[name]}
    assert differ == {}, "lower bounds differ (pyproject, environment.yml)"


def test_environment_yml_installs_the_course_itself_with_pip():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item]
    assert pip_sections and "-e ." in pip_sections[0]


def test_python_lower_bound_matches_requires_python():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert python == [f"python{requires}"]
