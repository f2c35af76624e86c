"""The package's shape: the layer contracts hold and no import cycle exists inside ``course``.

The contracts live in pyproject.toml (``[tool.importlinter]``) and docs/architecture.md draws
them. Imports inside functions count: grimp reads every import statement of every module (all but
those under ``if TYPE_CHECKING:``, which never run).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
#: A module this long needs a reason in its docstring (docs/architecture.md, "module size").
MAX_MODULE_LINES = 700


def test_the_layer_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def strongly_connected_components(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm over the module graph, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[set[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                out.append(component)
    return out


def test_no_import_cycle_inside_course():
    # Imports under ``if TYPE_CHECKING:`` never run, so they cannot form a cycle at import time.
    graph = grimp.build_graph("course", include_external_packages=False, exclude_type_checking_imports=True)
    cycles = [sorted(c) for c in strongly_connected_components(graph) if len(c) > 1]
    described = []
    for members in cycles:
        edges = [f"{a} -> {b}" for a in members for b in sorted(graph.find_modules_directly_imported_by(a))
                 if b in members]
        described.append("\n  ".join(edges))
    assert cycles == [], "import cycles:\n  " + "\n\n  ".join(described)


def test_long_modules_say_why_in_their_docstring():
    too_long = []
    for path in sorted((ROOT / "course").rglob("*.py")):
        lines = path.read_text().count("\n")
        if lines <= MAX_MODULE_LINES:
            continue
        text = path.read_text()
        if "Why this module is long:" not in text.split('"""', 2)[1] if text.startswith('"""') else True:
            too_long.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert too_long == [], f"modules over {MAX_MODULE_LINES} lines without a 'Why this module is long:' note"
