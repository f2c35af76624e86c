"""Durable Object round-trips per second in-process, next to a hello route.

Run: ``python bench/bench_durable_objects.py`` (about 10 s). Each request of the DO route goes
Worker -> stub.fetch -> the object's fetch, which reads and writes its storage (SQLite, one
commit per request); the hello route returns a constant. For comparison, wrangler dev
(workerd, JavaScript) measured about 340 req/s and 1,000 req/s for the same two routes on these
machines (see /work/shared/DESIGN.md).
"""
from __future__ import annotations

import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.runtime import load  # noqa: E402

ENTRY = '''
from workers import DurableObject, Response, WorkerEntrypoint

class Counter(DurableObject):
    async def fetch(self, request):
        n = (await self.ctx.storage.get("n") or 0) + 1
        await self.ctx.storage.put("n", n)
        return Response(str(n))

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.endswith("/hello"):
            return Response("hello")
        return await self.env.COUNTER.getByName("bench").fetch(request)
'''

WRANGLER = '''
name = "bench"
main = "src/entry.py"
[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
'''


def measure(client, path: str, seconds: float) -> float:
    for _ in range(50):  # warm-up
        client.get(path)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        client.get(path)
        n += 1
    return n / (time.perf_counter() - start)


def main(seconds: float = 4.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        (root / "wrangler.toml").write_text(textwrap.dedent(WRANGLER))
        (root / "src" / "entry.py").write_text(textwrap.dedent(ENTRY))
        for persist in (None, root / "state"):
            rt = load(root, persist_to=persist)
            rt.trace.limit = 10_000  # keep memory flat over a long run
            try:
                client = rt.client()
                hello = measure(client, "/hello", seconds / 2)
                do = measure(client, "/do", seconds / 2)
                assert int(client.get("/do").text) > 0
            finally:
                rt.close()
            where = "in memory" if persist is None else "SQLite file"
            print(f"storage {where:12s}  hello route: {hello:8.0f} req/s   DO read+write round-trip: "
                  f"{do:8.0f} req/s   ratio DO/hello: {do / hello:.2f}")


if __name__ == "__main__":
    main()
