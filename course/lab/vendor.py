"""Keep the lab Worker's copy of the protocol package identical to ``course.protocol``.

The lab Worker deploys with Cloudflare's tooling, which bundles the files under ``src/`` and
nothing else, so it carries its own copy of the protocol models as ``src/agent_protocol``
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


def _sources(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.py"))} if folder.is_dir() else {}


def protocol_drift() -> list[str]:
    """File names that differ between course/protocol and the lab's copy (empty: identical)."""
    source, copy = _sources(PROTOCOL_DIR), _sources(VENDORED_DIR)
    return sorted(name for name in source.keys() | copy.keys() if source.get(name) != copy.get(name))


def sync_protocol() -> list[str]:
    """Make the lab's copy identical to course/protocol; return the files written or removed."""
    changed = protocol_drift()
    VENDORED_DIR.mkdir(parents=True, exist_ok=True)
    for name in changed:
        src, dst = PROTOCOL_DIR / name, VENDORED_DIR / name
        if src.exists():
            shutil.copyfile(src, dst)
        else:
            dst.unlink()
    return changed


def main() -> int:
    changed = sync_protocol()
    print(f"course/lab/src/agent_protocol: {', '.join(changed)} updated" if changed else
          "course/lab/src/agent_protocol is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
