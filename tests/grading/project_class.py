"""What the class tests of Worker projects share: broken variants of a reference, and a class of them.

A variant is a copy of a reference Worker project (``solutions/projectN``) with text replaced in
its ``src/`` files; :func:`build_variant` checks that every text it replaces is there, so a change
to the reference cannot silently make a variant identical to it. An unloadable variant replaces
one file whole. :func:`build_class` lays out an LMS download of such folders, some zipped the way
zip tools wrap a folder.
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Callable, Mapping

#: name -> [(file under src/, old text, new text)]
Edits = Mapping[str, list[tuple[str, str, str]]]
#: name -> (file relative to the project, its new text, a word its "does not load" verdict must contain)
Unloadable = Mapping[str, tuple[str, str, str]]


def build_variant(solution: Path, dest: Path, variant: str | None, edits: Edits, unloadable: Unloadable) -> Path:
    """``dest`` as a copy of ``solution`` with ``variant`` applied (the reference when None)."""
    shutil.copytree(solution, dest, ignore=shutil.ignore_patterns("__pycache__", ".wrangler", "python_modules",
                                                                   "*.ipynb"))
    if variant in edits:
        for name, old, new in edits[variant]:
            path = dest / "src" / name
            text = path.read_text()
            assert old in text, f"variant {variant}: the text to replace is not in {name}"
            path.write_text(text.replace(old, new))
    elif variant in unloadable:
        rel, text, _ = unloadable[variant]
        (dest / rel).write_text(text)
    elif variant is not None:
        raise KeyError(variant)
    return dest


def zip_folder(folder: Path, archive: Path, wrapper: str) -> None:
    """``folder`` zipped inside a folder ``wrapper``, as zip tools usually wrap a project."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, Path(wrapper) / path.relative_to(folder))


def build_class(root: Path, work: Path, project: str, members: Mapping[str, tuple[str | None, bool, float]],
                build: Callable[[Path, str | None], Path], starter: Path) -> Path:
    """An LMS download in ``root``: each member (LMS name -> (variant, zipped?, expected score)) as a
    folder or a zip; the variant ``"starter"`` is the released starter; plus one stray file."""
    for name, (variant, zipped, _) in members.items():
        if variant == "starter":
            folder = work / name
            shutil.copytree(starter, folder, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            folder = build(work / name, variant)
        if zipped:
            zip_folder(folder, root / f"{name}.zip", project)
        else:
            shutil.copytree(folder, root / name)
    (root / "instructions.txt").write_text("not a submission")
    return root
