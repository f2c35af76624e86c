"""Group commit: the events of one object that end in the same pass of the loop share one SQLite
COMMIT, and the output gate still holds every result until the writes before it are committed
(https://developers.cloudflare.com/durable-objects/api/state/, input and output gates; workerd
holds outgoing messages until storage confirms the writes made before them)."""
from __future__ import annotations

import asyncio
import pickle
import sqlite3
from pathlib import Path
from typing import Any, Callable

import pytest

from course.runtime import Runtime
from course.runtime.objects.instance import LiveObject
from course.runtime.objects.storage import ObjectStorage

from _projects import durable_objects_toml as toml

ENTRY = '''
import asyncio

from workers import DurableObject, WorkerEntrypoint, Response


class Tally(DurableObject):
    async def add(self):
        n = (await self.ctx.storage.get("n") or 0) + 1
        await self.ctx.storage.put("n", n)
        return n

    async def read(self):
        return await self.ctx.storage.get("n")

    async def put_then_sleep(self, n):
        await self.ctx.storage.put("n", n)
        await asyncio.sleep(5)  # the turn ends at an await that is not storage
        return "slept"


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response(str(await self.env.TALLY.getByName("t").add()))
'''


@pytest.fixture
def rt(load_project: Callable[..., Runtime], tmp_path: Path) -> Runtime:
    return load_project({"wrangler.toml": toml({"TALLY": "Tally"}), "src/entry.py": ENTRY},
                        persist_to=tmp_path / "state")


def stored_n(rt: Runtime) -> Any:
    """``n`` as another connection reads it from the object's file: what is committed."""
    [path] = [p for p in (rt.persist_to / "v3" / "do").rglob("*.sqlite") if "metadata" not in p.name]
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT value FROM _cf_KV WHERE key = 'n'").fetchone()
    return None if row is None else pickle.loads(row[0])


def count_commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    commits: list[int] = []
    flush = ObjectStorage.flush

    def counted(self: ObjectStorage) -> int:
        if self.committable:
            commits.append(self.pending_writes)
        return flush(self)

    monkeypatch.setattr(ObjectStorage, "flush", counted)
    return commits


def test_concurrent_events_that_end_together_share_one_commit(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    tally = rt.env["TALLY"].getByName("t")
    rt.call(tally.read())  # the object exists before counting
    commits = count_commits(monkeypatch)

    async def sixteen() -> list[int]:
        return await asyncio.gather(*(tally.add() for _ in range(16)))

    assert sorted(rt.call(sixteen())) == list(range(1, 17))
    assert commits == [16]
    turns = rt.trace.events("do_turn", method="add")
    assert sum(t.writes_committed for t in turns) == 16
    assert [g.writes for g in rt.trace.events("do_output_gate")] == [1] * 16


def test_no_result_leaves_before_the_writes_it_may_show_are_committed(rt: Runtime) -> None:
    tally = rt.env["TALLY"].getByName("t")
    seen: list[tuple[int, Any]] = []

    async def add_and_look() -> None:
        n = await tally.add()
        seen.append((n, stored_n(rt)))  # read from the file the moment the result arrives

    async def many() -> None:
        await asyncio.gather(*(add_and_look() for _ in range(12)))

    rt.call(many())
    assert len(seen) == 12 and all(committed is not None and committed >= n for n, committed in seen)


def test_a_reset_before_the_group_commit_fails_the_events_and_loses_only_their_writes(
        rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    tally = rt.env["TALLY"].getByName("t")
    assert rt.call(tally.add()) == 1  # committed and confirmed
    group_commit = LiveObject._group_commit

    def crash_first(self: LiveObject) -> None:
        rt.crash("TALLY", "t")  # the object resets after the events ended, before their commit
        group_commit(self)

    monkeypatch.setattr(LiveObject, "_group_commit", crash_first)

    async def three() -> list[Any]:
        return await asyncio.gather(*(tally.add() for _ in range(3)), return_exceptions=True)

    results = rt.call(three())
    assert all("no longer active" in str(r) for r in results), results
    crash = rt.trace.last("do_crash")
    assert len(crash.failed_events) == 3 and crash.lost_writes == 3
    assert stored_n(rt) == 1  # the confirmed write survives, the unconfirmed ones are gone
    monkeypatch.setattr(LiveObject, "_group_commit", group_commit)
    assert rt.call(tally.add()) == 2


def test_a_turn_that_ends_at_an_outside_await_still_commits_at_once(rt: Runtime) -> None:
    tally = rt.env["TALLY"].getByName("t")

    async def scenario() -> tuple[Any, Any]:
        sleeping = asyncio.ensure_future(tally.put_then_sleep(41))
        await asyncio.sleep(1)
        during = stored_n(rt)  # the event still runs: its first turn's write is committed already
        return during, await sleeping

    assert rt.call(scenario()) == (41, "slept")
    first = rt.trace.events("do_turn", method="put_then_sleep")[0]
    assert first.writes_committed == 1 and not first.final
