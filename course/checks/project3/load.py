"""Rubric items ``throughput`` and ``loadtest``: the system under load, and the learner's own load test.

``throughput``: :data:`BURST` tasks arrive from one region within one virtual second; every one
must be acknowledged and finished, and no Durable Object may receive more than
:data:`PER_OBJECT_LIMIT` requests in any second of the run (counted from the runtime's trace), so
a role every task passes through must be sharded.

``loadtest``: the submission's ``loadtest.py`` is imported and its ``run(client, *, tasks, rate,
clock, sleep, results_path)`` is called against the loaded Worker on the virtual clock, with a
seeded extra latency on the planners so the numbers are not trivial. The results file it writes
must hold the numbers the harness measured itself from the runtime's trace: requests sent and
acknowledged, p50 and p99 latency and throughput.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import httpx

from course.checks.harness.cases import CaseFailed, describe_exception
from course.checks.harness.streams import Streams
from course.checks.project3.contract import (
    CLIENT_COLOS,
    SUBMIT,
    Clients,
    QuietScenario,
    percentile,
    read_feed,
    task_body,
    task_text,
)
from course.checks.projects import Budget, ProjectCase, ProjectSession, project_root
from course.runtime.edges.transport import WorkerTransport

#: Requests per second one Durable Object serves: Cloudflare's documented soft limit
#: (https://developers.cloudflare.com/durable-objects/platform/limits/, "about 1,000 requests per second").
PER_OBJECT_LIMIT = 1000
#: Tasks in the burst (one virtual second).
BURST = 1200
OBJECT_BUDGET = Budget("requests one Durable Object received in one second", PER_OBJECT_LIMIT, "requests")
#: The load test's arguments, and how close its numbers must be to the harness's.
LOADTEST_TASKS = 60
LOADTEST_RATE = 20.0
LATENCY_TOLERANCE_MS = 1.0
THROUGHPUT_TOLERANCE = 0.05
RESULT_KEYS = ("sent", "accepted", "errors", "p50_ms", "p99_ms", "throughput_rps", "duration_s")


@dataclass(frozen=True)
class BurstCase(ProjectCase):
    tasks: int
    region: str
    runtime_seed: int = 0

    def describe(self) -> str:
        return f"{self.tasks} tasks from {self.region} within one second"

    def play(self, session: ProjectSession) -> str:
        rt = session.rt
        rng = Streams(self.runtime_seed)("burst")
        texts = [task_text(rng) for _ in range(self.tasks)]
        mark = session.mark()

        async def burst() -> list[tuple[int, Any, float]]:
            clients = Clients(session)
            try:
                return list(await asyncio.gather(*(clients.send(self.region, "POST", SUBMIT,
                                                                body=task_body(f"b-{i:05d}", texts[i]))
                                                   for i in range(self.tasks))))
            finally:
                await clients.close()

        with contextlib.redirect_stdout(io.StringIO()):
            replies = rt.call(burst())
            refused = [(i, r) for i, r in enumerate(replies) if r[0] != 202]
            if refused:
                i, (status, data, _) = refused[0]
                raise CaseFailed(f"{len(refused)} of {self.tasks} tasks were not acknowledged; b-{i:05d} got {status} "
                                 f"{json.dumps(data)[:160]}")
            rt.clock.advance(300)
            done = {r["task_id"] for r in read_feed(session)}
        missing = [f"b-{i:05d}" for i in range(self.tasks) if f"b-{i:05d}" not in done]
        if missing:
            raise CaseFailed(f"{len(missing)} of {self.tasks} acknowledged tasks had not finished 5 minutes after the "
                             f"burst, e.g. {missing[0]}")
        per_second: Counter[tuple[str, int]] = Counter()
        for e in rt.trace.events("do_event", since=mark):
            if e.data.get("phase") == "start":
                per_second[(f"{e.data.get('binding')}:{e.data.get('object')}", int(e.t))] += 1
        (obj, second), n = max(per_second.items(), key=lambda kv: (kv[1], kv[0]))
        problem = OBJECT_BUDGET.check(n, f"{obj} in second {second}: shard every role that each task passes through")
        if problem:
            raise CaseFailed(problem)
        return f"{self.tasks} tasks in one second, the busiest object {obj} at {n} requests/s"

    def candidates(self) -> Sequence[ProjectCase]:
        return []


class ThroughputScenario(QuietScenario):
    def cases(self) -> Sequence[ProjectCase]:
        region = Streams(self.seed)("burst-region").choice(tuple(CLIENT_COLOS))
        return [BurstCase(BURST, region, runtime_seed=self.seed * 100)]


def load_loadtest(root: Path) -> Any:
    path = root / "loadtest.py"
    if not path.is_file():
        raise CaseFailed("no loadtest.py next to wrangler.toml: the brief asks for a load test with a run() function")
    name = f"_project3_loadtest_{abs(hash(str(root)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:  # the learner's file: any error is a verdict
        raise CaseFailed(f"loadtest.py does not import: {describe_exception(exc)}") from None
    finally:
        sys.modules.pop(name, None)
    if not callable(getattr(module, "run", None)):
        raise CaseFailed("loadtest.py has no run(client, *, tasks, rate, clock, sleep, results_path) function")
    return module


@dataclass(frozen=True)
class LoadTestCase(ProjectCase):
    region: str
    extra_ms: float
    jitter_ms: float
    folder: str = ""
    runtime_seed: int = 0

    def describe(self) -> str:
        return (f"loadtest.run(tasks={LOADTEST_TASKS}, rate={LOADTEST_RATE:g}) from {self.region}, planners "
                f"{self.extra_ms:g}-{self.extra_ms + self.jitter_ms:g} ms further away each way")

    def play(self, session: ProjectSession) -> str:
        rt = session.rt
        module = load_loadtest(project_root(self.folder))
        rt.faults.latency(self.extra_ms, jitter_ms=self.jitter_ms, between=("*", "PLANNER:*"))
        client = httpx.Client(transport=WorkerTransport(rt, cf={"colo": CLIENT_COLOS[self.region]}),
                              base_url="http://project3.test")
        mark = session.mark()
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            out = Path(tmp) / "loadtest_results.json"
            try:
                module.run(client, tasks=LOADTEST_TASKS, rate=LOADTEST_RATE, clock=rt.clock.now,
                           sleep=rt.clock.advance, results_path=str(out))
            except Exception as exc:  # the learner's load test failed
                raise CaseFailed(f"loadtest.run(...) raised {describe_exception(exc)}") from None
            finally:
                client.close()
            if not out.is_file():
                raise CaseFailed("loadtest.run(...) wrote no results file at results_path")
            try:
                results = json.loads(out.read_text())
            except ValueError as exc:
                raise CaseFailed(f"the results file is not JSON: {exc}") from None
        if not isinstance(results, dict) or [k for k in RESULT_KEYS if k not in results]:
            raise CaseFailed(f"the results file must hold {', '.join(RESULT_KEYS)}; it holds {str(results)[:160]}")
        mine = measured(session, mark)
        for key in ("sent", "accepted", "errors"):
            if results[key] != mine[key]:
                raise CaseFailed(f"the load test says {key} = {results[key]!r}; the runtime's trace shows {mine[key]}")
        for key in ("p50_ms", "p99_ms"):
            if not isinstance(results[key], (int, float)) or abs(results[key] - mine[key]) > LATENCY_TOLERANCE_MS:
                raise CaseFailed(f"the load test says {key} = {results[key]!r}; the harness measured {mine[key]:g} "
                                 f"(nearest-rank, milliseconds, within {LATENCY_TOLERANCE_MS:g})")
        got = results["throughput_rps"]
        if not isinstance(got, (int, float)) or abs(got - mine["throughput_rps"]) > THROUGHPUT_TOLERANCE * mine["throughput_rps"]:
            raise CaseFailed(f"the load test says throughput_rps = {got!r}; the harness measured "
                             f"{mine['throughput_rps']:g} (requests / seconds from the first request to the last answer)")
        return (f"the load test's numbers match: {mine['sent']} sent, p99 {mine['p99_ms']:g} ms, "
                f"{mine['throughput_rps']:g} req/s")

    def candidates(self) -> Sequence[ProjectCase]:
        return [replace(self, jitter_ms=0.0)] if self.jitter_ms else []


def measured(session: ProjectSession, mark: int) -> dict[str, float]:
    """The load test's numbers as the trace shows them: POST /tasks requests and their answers."""
    began: dict[Any, float] = {}
    rows = []
    for e in session.rt.trace.events(("request", "response"), since=mark):
        if e.kind == "request" and e.data.get("path") == SUBMIT and e.data.get("method") == "POST":
            began[e.data.get("id")] = e.t
        elif e.kind == "response" and e.data.get("id") in began:
            rows.append((began[e.data["id"]], e.t, e.data.get("status")))
    ms = [(end - start) * 1000 for start, end, _ in rows]
    span = (max(end for _, end, _ in rows) - min(start for start, _, _ in rows)) if rows else 0.0
    accepted = sum(1 for *_, status in rows if status == 202)
    return {"sent": len(rows), "accepted": accepted, "errors": len(rows) - accepted,
            "p50_ms": round(percentile(ms, 50), 3), "p99_ms": round(percentile(ms, 99), 3),
            "throughput_rps": round(len(rows) / span, 3) if span else 0.0}


class LoadTestScenario(QuietScenario):
    def cases(self) -> Sequence[ProjectCase]:
        rng = Streams(self.seed)("loadtest")
        return [LoadTestCase(rng.choice(tuple(CLIENT_COLOS)), float(rng.randint(10, 30)), float(rng.randint(20, 60)),
                             self.folder, runtime_seed=self.seed * 100)]


__all__ = ["BURST", "BurstCase", "LoadTestCase", "LoadTestScenario", "OBJECT_BUDGET", "PER_OBJECT_LIMIT",
           "ThroughputScenario", "load_loadtest", "measured"]
