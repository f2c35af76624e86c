"""Run every benchmark in bench/, one after another, and say which (if any) failed.

``make bench`` calls this. Each benchmark prints its own table of figures and ratios; this
script only sequences them so one machine measures all of them in one sitting.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "bench_hot_path.py",
    "bench_runtime.py",
    "bench_durable_objects.py",
    "bench_queues_cron.py",
    "bench_conformance_do.py",
    "bench_grading.py",
    "bench_ai_offline.py",
]


def main(argv: list[str]) -> int:
    chosen = [b for b in BENCHMARKS if not argv or any(a in b for a in argv)]
    failed = []
    for name in chosen:
        path = HERE / name
        if not path.exists():
            print(f"== {name}: missing, skipped", flush=True)
            continue
        print(f"\n== {name}", flush=True)
        if subprocess.run([sys.executable, str(path)]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
