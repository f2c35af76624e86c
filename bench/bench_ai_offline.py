"""Accuracy of the offline Workers AI model on the evaluation set, per category, and calls/s.

    python bench/bench_ai_offline.py                  # table, compared with the saved "before" run
    python bench/bench_ai_offline.py --failures       # also list every failing case and why
    python bench/bench_ai_offline.py --label before   # save this run as "before" (the baseline)

Every case of tests/runtime/ai_eval/ goes through ``env.AI.run`` of a loaded Worker project (the
whole binding: validation, the offline model, the wire shape), on a virtual clock. Runs are
saved by label in bench/results/ai_offline.json (not committed); the table shows each saved
label beside this run, so a change to the model can be judged case by case.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.runtime import load  # noqa: E402
from course.runtime.bindings.ai import evaluation  # noqa: E402

EVAL_DIR = ROOT / "tests" / "runtime" / "ai_eval"
RESULTS = ROOT / "bench" / "results" / "ai_offline.json"
PROJECT = {
    "wrangler.toml": 'name = "ai-eval"\nmain = "src/entry.py"\n[ai]\nbinding = "AI"\n',
    "src/entry.py": "from workers import Response, WorkerEntrypoint\n\n\nclass Default(WorkerEntrypoint):\n"
                    "    async def fetch(self, request):\n        return Response('ok')\n",
}


def run_eval(repeat: int) -> tuple[evaluation.EvalReport, float]:
    """The report of one pass, and calls/s over ``repeat`` passes."""
    evalset = evaluation.load(EVAL_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in PROJECT.items():
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        rt = load(Path(tmp), virtual_time=True)
        try:
            def run(model: str, inputs: dict) -> dict:
                return rt.call(rt.env.AI.run(model, inputs)).to_py()

            report = evaluation.evaluate(evalset, run)
            start = time.perf_counter()
            for _ in range(repeat):
                evaluation.evaluate(evalset, run)
            elapsed = time.perf_counter() - start
        finally:
            rt.close()
    return report, repeat * len(evalset.cases) / elapsed if elapsed else 0.0


def summary(report: evaluation.EvalReport, calls_per_s: float) -> dict:
    return {"overall": report.accuracy, "calls_per_s": round(calls_per_s, 1),
            "categories": {c: [p, t] for c, (p, t) in report.by_category().items()},
            "failed": {r.id: r.problems for r in report.failures()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", help="save this run under LABEL (e.g. before, after)")
    parser.add_argument("--failures", action="store_true", help="list failing cases and their problems")
    parser.add_argument("--repeat", type=int, default=3, help="passes timed for calls/s (default 3)")
    args = parser.parse_args()

    report, cps = run_eval(args.repeat)
    now = summary(report, cps)
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": {}}
    columns = {label: run for label, run in saved["runs"].items() if label != args.label}
    columns["this run"] = now

    header = f"{'category':<12}" + "".join(f"{label:>14}" for label in columns)
    print(header)
    for cat in now["categories"]:
        cells = []
        for run in columns.values():
            p, t = run["categories"].get(cat, [0, 0])
            cells.append(f"{p:>3}/{t:<3} {p / t if t else 0:>5.0%}")
        print(f"{cat:<12}" + "".join(f"{c:>14}" for c in cells))
    print(f"{'overall':<12}" + "".join(f"{run['overall']:>14.1%}" for run in columns.values()))
    print(f"{'calls/s':<12}" + "".join(f"{run['calls_per_s']:>14,.0f}" for run in columns.values()))

    if args.failures:
        for fail in report.failures():
            print(f"\nFAIL {fail.id} [{fail.category}]")
            for problem in fail.problems:
                print(f"  - {problem}")
    if args.label:
        saved["runs"][args.label] = now
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(saved, indent=2) + "\n")
        print(f"\nsaved as {args.label!r} in {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
