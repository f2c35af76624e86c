"""Keep the lab Worker's copy of the protocol package identical to ``course.protocol``.

Each lab Worker (the pair in ``course/lab``, the mesh in ``course/lab/mesh``) deploys with
Cloudflare's tooling, which bundles the files under ``src/`` and nothing else, so each carries
its own copy of the protocol models as ``src/agent_protocol``
(a real folder: a symlink would break on Windows checkouts and in a deploy bundle). The
notebooks and checks import ``course.protocol``; this module copies it over and reports drift,
and a test fails when the two differ. Run ``python -m course.lab.vendor`` (``make protocol``)
after changing ``course/protocol``.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

PROTOCOL_DIR = Path(__file__).resolve().parent.parent / "protocol"
VENDORED_DIR = Path(__file__).resolve().parent / "src" / "agent_protocol"
#: Every lab Worker's copy: the pair's (Days 1-2), the mesh's (Days 3-6) and the production system's (Day 7).
VENDORED_DIRS = (VENDORED_DIR, Path(__file__).resolve().parent / "mesh" / "src" / "agent_protocol",
                 Path(__file__).resolve().parent / "production" / "src" / "agent_protocol")


def _sources(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.py"))} if folder.is_dir() else {}


def _drift(copy_dir: Path) -> list[str]:
    source, copy = _sources(PROTOCOL_DIR), _sources(copy_dir)
    return sorted(name for name in source.keys() | copy.keys() if source.get(name) != copy.get(name))


def protocol_drift() -> list[str]:
    """Files that differ between course/protocol and a lab Worker's copy (empty: identical).

    The pair's copy is named by file name (``pair.py``), the others by their path from the lab
    folder (``mesh/src/agent_protocol/pair.py``).
    """
    out = []
    for copy_dir in VENDORED_DIRS:
        prefix = "" if copy_dir == VENDORED_DIR else f"{copy_dir.relative_to(VENDORED_DIR.parent.parent).as_posix()}/"
        out += [prefix + name for name in _drift(copy_dir)]
    return out


def sync_protocol() -> list[str]:
    """Make every lab Worker's copy identical to course/protocol; return the files written or removed."""
    changed = protocol_drift()
    for copy_dir in VENDORED_DIRS:
        copy_dir.mkdir(parents=True, exist_ok=True)
        for name in _drift(copy_dir):
            src, dst = PROTOCOL_DIR / name, copy_dir / name
            if src.exists():
                shutil.copyfile(src, dst)
            else:
                dst.unlink()
    return changed


def main() -> int:
    changed = sync_protocol()
    print(f"lab Workers' agent_protocol copies: {', '.join(changed)} updated" if changed else
          "the lab Workers' agent_protocol copies are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
