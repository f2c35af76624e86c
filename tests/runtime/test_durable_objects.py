"""Durable Objects: ids, stubs, RPC, instances, gates, alarms, lifecycle, inspection."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest

from course.runtime import ConfigError, Runtime
from course.runtime.objects.durable_objects import (
    ALARM_MAX_RETRIES,
    CODE_UPDATE_RESET_MESSAGE,
    IDLE_EVICTION_SECONDS,
    INSTANCE_RESET_MESSAGE,
)
from course.workers import JsArray, JsException, Response

from _projects import LIST_EXAMPLE, durable_objects_toml as toml

COUNTER = '''
import asyncio
from workers import DurableObject, Response, WorkerEntrypoint, fetch

CONSTRUCTED = []

class Counter(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        CONSTRUCTED.append(ctx.id.name)
        self.memory = 0

    async def get(self):
        return await self.ctx.storage.get("n") or 0

    async def bump_memory(self):
        self.memory += 1
        return self.memory

    async def incr_racy(self):
        n = await self.ctx.storage.get("n") or 0
        await asyncio.sleep(0.1)            # an outside await between read and write
        await self.ctx.storage.put("n", n + 1)

    async def incr_racy_fetch(self):
        n = await self.ctx.storage.get("n") or 0
        await fetch("https://upstream.test/slow")
        await self.ctx.storage.put("n", n + 1)

    async def incr_blocked(self):
        async def body():
            n = await self.ctx.storage.get("n") or 0
            await asyncio.sleep(0.1)
            await self.ctx.storage.put("n", n + 1)
        await self.ctx.blockConcurrencyWhile(body)

    async def incr_storage_only(self):
        await asyncio.sleep(0.1)            # outside awaits before/after are fine
        n = await self.ctx.storage.get("n") or 0
        for _ in range(5):
            await self.ctx.storage.get("other")   # storage awaits keep the input gate closed
        await self.ctx.storage.put("n", n + 1)
        await asyncio.sleep(0.1)

    async def two_writes(self):
        await self.ctx.storage.put("a", 1)
        await self.ctx.storage.put("b", 2)
        await asyncio.sleep(1)

    async def slow(self, seconds):
        await self.ctx.storage.put("before", True)
        await asyncio.sleep(seconds)
        return "done"

    async def slow_txn(self):
        async def body(txn):
            await txn.put("y", 1)
            await asyncio.sleep(10)
        await self.ctx.storage.transaction(body)

    async def fail(self):
        raise ValueError("bad input: 42")

    async def echo(self, value):
        return value

    async def mutate(self, items):
        items.append("added-in-object")
        return items

    async def give_lambda(self):
        return lambda: 1

    def sync_method(self, x):
        return x * 2

    async def _private(self):
        return "secret"

    async def alarm(self):
        pass

    async def abort_me(self):
        await self.ctx.storage.put("aborted", True)
        self.ctx.abort("stop right there")

    async def fetch(self, request):
        n = (await self.ctx.storage.get("hits") or 0) + 1
        await self.ctx.storage.put("hits", n)
        return Response.json({"hits": n, "url": request.url, "method": request.method,
                              "body": await request.text()})


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        mode = request.url.rsplit("/", 1)[-1]
        stub = self.env.COUNTER.getByName("c")
        await asyncio.gather(*[getattr(stub, mode)() for _ in range(5)])
        return Response.json({"n": await stub.get()})
'''


@pytest.fixture
def counter(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": toml({"COUNTER": "Counter"}), "src/entry.py": COUNTER})


def run(rt: Runtime, fn: Callable[[], Any]) -> Any:
    """Run ``await fn()`` on the runtime's loop (Worker-side code in a test)."""
    async def go() -> Any:
        return await fn()
    return rt.call(go())


def stub(rt: Runtime, name: str = "c", binding: str = "COUNTER") -> Any:
    return rt.env[binding].getByName(name)


# -- the docs example ----------------------------------------------------------------------------
def test_docs_list_example_runs_unchanged(load_project: Callable[..., Runtime]) -> None:
    """https://developers.cloudflare.com/durable-objects/get-started/ (Python tab): RPC + storage."""
    rt = load_project({"wrangler.toml": toml({"LIST": "List"}), "src/entry.py": LIST_EXAMPLE})
    client = rt.client()
    assert client.get("/").json() == ["hello"]
    assert client.get("/").json() == ["hello", "hello"]
    assert rt.storage("LIST", "default").kv() == {"messages": ["hello", "hello"]}


# -- ids -----------------------------------------------------------------------------------------
def test_id_from_name_is_deterministic_64_hex(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/namespace/#idfromname"""
    ns = counter.env.COUNTER
    a, b, c = ns.idFromName("x"), ns.idFromName("x"), ns.idFromName("y")
    assert a.equals(b) and a == b and not a.equals(c)
    assert len(a.toString()) == 64 and int(a.toString(), 16) >= 0
    assert a.name == "x"
    assert ns.idFromString(a.toString()).equals(a)


def test_id_from_string_rejects_bad_and_foreign_ids(load_project: Callable[..., Runtime]) -> None:
    """https://developers.cloudflare.com/durable-objects/api/namespace/#idfromstring"""
    rt = load_project({"wrangler.toml": toml({"A": "Counter", "B": "Other"}),
                       "src/entry.py": COUNTER + "\nclass Other(DurableObject):\n    pass\n"})
    with pytest.raises(JsException, match="64 hex digits"):
        rt.env.A.idFromString("not-an-id")
    with pytest.raises(JsException, match="not valid for this namespace"):
        rt.env.A.idFromString(rt.env.B.idFromName("x").toString())
    with pytest.raises(JsException, match="not valid for this namespace"):
        rt.env.A.get(rt.env.B.idFromName("x"))


def test_new_unique_id_is_seeded(make_project: Callable[..., Any]) -> None:
    """https://developers.cloudflare.com/durable-objects/api/namespace/#newuniqueid"""
    from course.runtime import load

    folder = make_project({"wrangler.toml": toml({"COUNTER": "Counter"}), "src/entry.py": COUNTER})
    ids = []
    for _ in range(2):
        rt = load(folder, virtual_time=True, seed=7)
        ids.append([rt.env.COUNTER.newUniqueId().toString() for _ in range(3)])
        assert rt.env.COUNTER.newUniqueId().name is None
        rt.close()
    assert ids[0] == ids[1] and len(set(ids[0])) == 3


def test_get_validates_location_hint(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/reference/data-location/#provide-a-location-hint"""
    ns = counter.env.COUNTER
    assert ns.get(ns.idFromName("c"), locationHint="enam").name == "c"
    with pytest.raises(JsException, match="locationHint"):
        ns.get(ns.idFromName("c"), locationHint="mars")


def test_class_without_migration_is_a_config_error(load_project: Callable[..., Runtime]) -> None:
    """https://developers.cloudflare.com/durable-objects/reference/durable-objects-migrations/"""
    text = 'name = "app"\nmain = "src/entry.py"\n[[durable_objects.bindings]]\nname = "COUNTER"\nclass_name = "Counter"\n'
    with pytest.raises(ConfigError, match="migration"):
        load_project({"wrangler.toml": text, "src/entry.py": COUNTER})


def test_script_name_binds_another_workers_class(make_project: Callable[..., Any], runtimes: list) -> None:
    """https://developers.cloudflare.com/durable-objects/reference/durable-objects-migrations/ (script_name):
    a binding may point at a class defined by another Worker."""
    from course.runtime import Runtime

    owner = make_project({"wrangler.toml": toml({"COUNTER": "Counter"}, name="owner"), "src/entry.py": COUNTER})
    user = make_project({"wrangler.toml": 'name = "user"\nmain = "src/entry.py"\n[[durable_objects.bindings]]\n'
                                          'name = "REMOTE"\nclass_name = "Counter"\nscript_name = "owner"\n',
                         "src/entry.py": "from workers import WorkerEntrypoint, Response\n"
                                         "class Default(WorkerEntrypoint):\n"
                                         "    async def fetch(self, request):\n"
                                         "        return Response(str(await self.env.REMOTE.getByName('c').bump_memory()))\n"})
    rt = Runtime(virtual_time=True)
    runtimes.append(rt)
    rt.add_project(owner)
    rt.add_project(user)
    assert run(rt, lambda: stub(rt).bump_memory()) == 1
    assert rt.client(worker="user").get("/").text == "2"  # the same instance


# -- stubs and RPC -------------------------------------------------------------------------------
def test_stub_fetch_delivers_a_request(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/stub/#fetch"""
    resp = run(counter, lambda: stub(counter).fetch("https://do/x", method="POST", body="hi"))
    assert isinstance(resp, Response)
    data = run(counter, resp.json)
    assert data == {"hits": 1, "url": "https://do/x", "method": "POST", "body": "hi"}


def test_rpc_values_are_deep_copied(counter: Runtime) -> None:
    """https://developers.cloudflare.com/workers/runtime-apis/rpc/#structured-clonable-types-and-more"""
    sent = ["a"]
    got = run(counter, lambda: stub(counter).mutate(sent))
    assert sent == ["a"]                        # the object changed its own copy
    assert got == ["a", "added-in-object"] and isinstance(got, JsArray)
    nested = {"k": [1, {"d": b"\x00"}], "t": None}
    assert run(counter, lambda: stub(counter).echo(nested)) == nested


def test_rpc_refuses_values_that_cannot_be_cloned(counter: Runtime) -> None:
    """https://developers.cloudflare.com/workers/runtime-apis/rpc/ : non-serializable -> DataCloneError"""
    with pytest.raises(JsException) as err:
        run(counter, lambda: stub(counter).echo(object()))
    assert err.value.name == "DataCloneError"
    with pytest.raises(JsException) as err:
        run(counter, lambda: stub(counter).give_lambda())
    assert err.value.name == "DataCloneError"


def test_rpc_errors_are_rethrown_at_the_caller(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/best-practices/error-handling/ : exceptions
    thrown by the object propagate to the caller (with .remote). A Python exception crosses as a
    JavaScript Error, so the caller catches a JsException named "Error" that keeps the original
    type and message (workerd, tests/conformance do_rpc_values)."""
    with pytest.raises(JsException, match="ValueError: bad input: 42") as err:
        run(counter, lambda: stub(counter).fail())
    assert err.value.remote is True
    assert err.value.name == "Error"
    assert run(counter, lambda: stub(counter).sync_method(21)) == 42


@pytest.mark.parametrize("method", ["_private", "alarm", "fetch_nothing", "webSocketMessage"])
def test_private_reserved_and_missing_methods_are_not_rpc(counter: Runtime, method: str) -> None:
    """https://developers.cloudflare.com/workers/runtime-apis/rpc/reserved-methods/"""
    with pytest.raises(JsException, match=f'does not implement the method "{method}"'):
        run(counter, lambda: getattr(stub(counter), method)())


# -- instances -----------------------------------------------------------------------------------
def test_one_instance_per_id_constructed_on_first_use(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/ : the
    constructor runs on the first request, not when the stub is made."""
    module_constructed = counter.worker().module.CONSTRUCTED
    s = stub(counter, "one")
    assert module_constructed == []
    assert [run(counter, s.bump_memory) for _ in range(3)] == [1, 2, 3]
    assert run(counter, lambda: stub(counter, "two").bump_memory()) == 1
    assert module_constructed == ["one", "two"]
    assert {o.name for o in counter.objects("COUNTER")} == {"one", "two"}


# -- concurrency: input and output gates ---------------------------------------------------------
def test_outside_await_between_read_and_write_loses_updates(counter: Runtime) -> None:
    """https://blog.cloudflare.com/durable-objects-easy-fast-correct-choose-three/ : the input gate
    only covers storage; an outside await lets other requests interleave -> lost update."""
    assert counter.client().get("/incr_racy").json() == {"n": 1}   # 5 increments, 4 lost


def test_outside_fetch_between_read_and_write_loses_updates(counter: Runtime) -> None:
    """Same blog post: awaiting fetch() opens the input gate."""
    async def slow(request: Any) -> Response:
        await asyncio.sleep(0.05)
        return Response("ok")
    counter.network.upstream("https://upstream.test", slow)
    assert counter.client().get("/incr_racy_fetch").json() == {"n": 1}


def test_block_concurrency_while_fixes_the_lost_update(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/state/#blockconcurrencywhile"""
    assert counter.client().get("/incr_blocked").json() == {"n": 5}
    turns = counter.trace.events("do_turn", object="c", method="incr_blocked")
    assert any(t.gate_wait for t in turns)   # later events waited at the closed gate


def test_storage_awaits_keep_the_input_gate_closed(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/state/ (input gates): no event is
    delivered while a storage operation is in flight, so read-then-write without outside awaits
    is atomic."""
    assert counter.client().get("/incr_storage_only").json() == {"n": 5}
    held = [t for t in counter.trace.events("do_turn", method="incr_storage_only") if t.input_gate == "held"]
    assert held and all(t.storage_ops == 7 for t in held)


def test_writes_without_an_await_between_commit_together(counter: Runtime) -> None:
    """https://blog.cloudflare.com/durable-objects-easy-fast-correct-choose-three/ (write coalescing)"""
    run(counter, lambda: stub(counter).two_writes())
    first = counter.trace.events("do_turn", method="two_writes")[0]
    assert first.writes_committed == 2 and not first.final
    assert counter.trace.count("do_output_gate") == 1


def test_output_gate_commits_before_the_result_is_returned(make_project: Callable[..., Any], tmp_path: Any) -> None:
    """https://developers.cloudflare.com/durable-objects/api/state/ (output gates): a response is sent
    only once its writes are durable -- read the file from another connection right after."""
    import sqlite3

    from course.runtime import load

    rt = load(make_project({"wrangler.toml": toml({"COUNTER": "Counter"}), "src/entry.py": COUNTER}),
              virtual_time=True, persist_to=tmp_path / "state")
    try:
        run(rt, lambda: stub(rt).fetch("https://do/"))
        [db] = list((tmp_path / "state").rglob("*.sqlite"))
        other = sqlite3.connect(db)
        assert other.execute("SELECT count(*) FROM _cf_KV WHERE key = 'hits'").fetchone() == (1,)
        other.close()
    finally:
        rt.close()


# -- lifecycle and faults ------------------------------------------------------------------------
def test_evict_drops_memory_keeps_storage_and_reconstructs(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/"""
    s = stub(counter)
    run(counter, lambda: s.fetch("https://do/"))
    assert run(counter, s.bump_memory) == 1
    assert counter.evict("COUNTER", "c") is True
    assert counter.objects("COUNTER") == []
    assert run(counter, s.bump_memory) == 1                     # memory is gone
    assert counter.storage("COUNTER", "c").get("hits") == 1     # storage is not
    assert counter.worker().module.CONSTRUCTED == ["c", "c"]
    assert counter.trace.last("do_evict").reason == "manual"


def test_idle_objects_are_evicted_after_the_idle_timeout(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/ :
    evicted after 70-140 s of inactivity (default: the lower bound; configurable)."""
    assert IDLE_EVICTION_SECONDS == 70
    run(counter, lambda: stub(counter).bump_memory())
    counter.clock.advance(IDLE_EVICTION_SECONDS - 1)
    assert len(counter.objects()) == 1
    counter.clock.advance(1)
    assert counter.objects() == []
    assert counter.trace.last("do_evict").reason == "idle"
    counter.do_idle_timeout = 5
    run(counter, lambda: stub(counter).bump_memory())
    counter.clock.advance(5)
    assert counter.objects() == []


def test_crash_fails_in_flight_requests_with_the_reset_error(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/observability/troubleshooting/ : "Connection
    closed: this Durable Object instance is no longer active." In-flight requests fail, memory is
    lost, committed storage stays, unconfirmed writes (an open transaction) are lost."""
    async def scenario() -> tuple[BaseException, BaseException]:
        s = stub(counter)
        slow = asyncio.ensure_future(s.slow(10))
        txn = asyncio.ensure_future(s.slow_txn())
        await asyncio.sleep(1)
        assert counter.crash("COUNTER", "c")
        errors = []
        for task in (slow, txn):
            try:
                await task
            except JsException as exc:
                errors.append(exc)
        return errors[0], errors[1]

    a, b = counter.call(scenario())
    assert str(a) == f"Error: {INSTANCE_RESET_MESSAGE}" and a.retryable is True
    view = counter.storage("COUNTER", "c")
    assert view.get("before") is True and view.get("y") is None
    crash = counter.trace.last("do_crash")
    assert len(crash.failed_events) == 2 and crash.lost_writes == 1
    assert run(counter, lambda: stub(counter).bump_memory()) == 1   # a fresh instance


def test_crash_with_code_update_uses_the_reset_message(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/observability/troubleshooting/"""
    async def scenario() -> BaseException:
        task = asyncio.ensure_future(stub(counter).slow(5))
        await asyncio.sleep(1)
        counter.crash("COUNTER", "c", code_update=True)
        try:
            await task
        except JsException as exc:
            return exc
        raise AssertionError("the request should have failed")
    assert CODE_UPDATE_RESET_MESSAGE in str(counter.call(scenario()))


def test_ctx_abort_resets_the_object(counter: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/state/#abort"""
    with pytest.raises(JsException, match="stop right there"):
        run(counter, lambda: stub(counter).abort_me())
    assert counter.objects() == []
    assert counter.storage("COUNTER", "c").get("aborted") is None   # not confirmed before the reset


# -- alarms --------------------------------------------------------------------------------------
ALARMS = '''
from workers import DurableObject, Response, WorkerEntrypoint

class Clock(DurableObject):
    async def schedule(self, seconds):
        import time
        await self.ctx.storage.setAlarm(int((time.time() + seconds) * 1000))

    async def get_alarm(self):
        return await self.ctx.storage.getAlarm()

    async def configure(self, failures):
        await self.ctx.storage.put("failures", failures)

    async def wipe(self):
        await self.ctx.storage.deleteAll()

    async def alarm(self, alarmInfo):
        runs = await self.ctx.storage.get("runs") or []
        runs.append([alarmInfo.retryCount, alarmInfo.isRetry])
        await self.ctx.storage.put("runs", runs)
        if len(runs) <= (await self.ctx.storage.get("failures") or 0):
            raise RuntimeError("alarm failed")

class NoAlarm(DurableObject):
    async def schedule(self):
        await self.ctx.storage.setAlarm(1)

class Relaxed(DurableObject):
    async def schedule(self):
        await self.ctx.storage.setAlarm(0)
    async def alarm(self):
        await self.ctx.storage.put("fired", True)

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")
'''


@pytest.fixture
def alarms(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project({"wrangler.toml": toml({"CLOCK": "Clock", "NOALARM": "NoAlarm", "RELAXED": "Relaxed"}),
                         "src/entry.py": ALARMS})


def test_alarm_fires_when_the_clock_reaches_it(alarms: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/alarms/"""
    s = stub(alarms, "a", "CLOCK")
    run(alarms, lambda: s.schedule(60))
    assert run(alarms, s.get_alarm) == int((alarms.clock.wall() + 60) * 1000)
    alarms.clock.advance(59)
    assert alarms.storage("CLOCK", "a").get("runs") is None
    alarms.clock.advance(1)
    alarms.run_until_idle()
    assert alarms.storage("CLOCK", "a").get("runs") == [[0, False]]
    assert run(alarms, s.get_alarm) is None


def test_alarm_handler_may_take_no_arguments(alarms: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/base/#alarm : alarmInfo is optional."""
    run(alarms, lambda: stub(alarms, "r", "RELAXED").schedule())
    alarms.run_until_idle()
    alarms.clock.advance(0)
    alarms.run_until_idle()
    assert alarms.storage("RELAXED", "r").get("fired") is True


def test_set_alarm_needs_an_alarm_handler(alarms: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/alarms/#setalarm"""
    with pytest.raises(JsException, match="alarm\\(\\) handler"):
        run(alarms, lambda: stub(alarms, "n", "NOALARM").schedule())


def test_set_alarm_replaces_the_existing_alarm(alarms: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/alarms/ : one alarm per object."""
    s = stub(alarms, "a", "CLOCK")
    run(alarms, lambda: s.schedule(10))
    run(alarms, lambda: s.schedule(20))
    alarms.clock.advance(15)
    alarms.run_until_idle()
    assert alarms.storage("CLOCK", "a").get("runs") is None
    alarms.clock.advance(10)
    alarms.run_until_idle()
    assert alarms.storage("CLOCK", "a").get("runs") == [[0, False]]


def test_alarm_retries_with_backoff_after_exception(alarms: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/alarms/ : retried with exponential
    backoff starting at 2 s, alarmInfo.retryCount / isRetry."""
    s = stub(alarms, "a", "CLOCK")
    run(alarms, lambda: s.configure(3))
    run(alarms, lambda: s.schedule(1))
    alarms.clock.advance(1 + 2 + 4 + 8)
    alarms.run_until_idle()
    assert alarms.storage("CLOCK", "a").get("runs") == [[0, False], [1, True], [2, True], [3, True]]
    starts = [e.t for e in alarms.trace.events("do_alarm", phase="run")]
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:])] == [2, 4, 8]


def test_alarm_gives_up_after_six_retries(alarms: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/alarms/ : up to 6 retries."""
    s = stub(alarms, "a", "CLOCK")
    run(alarms, lambda: s.configure(100))
    run(alarms, lambda: s.schedule(1))
    alarms.clock.advance(1 + sum(2 * 2 ** i for i in range(ALARM_MAX_RETRIES)) + 1000)
    alarms.run_until_idle()
    assert len(alarms.storage("CLOCK", "a").get("runs")) == 1 + ALARM_MAX_RETRIES
    assert alarms.trace.last("do_alarm").phase == "gave_up"
    assert run(alarms, s.get_alarm) is None


def test_alarm_survives_eviction(alarms: Runtime) -> None:
    """https://developers.cloudflare.com/durable-objects/api/alarms/ : alarms wake evicted objects."""
    s = stub(alarms, "a", "CLOCK")
    run(alarms, lambda: s.schedule(300))
    alarms.clock.advance(IDLE_EVICTION_SECONDS + 1)
    assert alarms.objects("CLOCK") == []
    alarms.clock.advance(300)
    alarms.run_until_idle()
    assert alarms.storage("CLOCK", "a").get("runs") == [[0, False]]


def test_delete_all_keeps_the_alarm_before_2026_02_24(alarms: Runtime) -> None:
    """https://developers.cloudflare.com/changelog/2026-02-24-deleteall-deletes-alarms : before that
    compatibility date deleteAll() leaves the alarm in place."""
    s = stub(alarms, "a", "CLOCK")
    run(alarms, lambda: s.schedule(60))
    run(alarms, s.wipe)
    assert run(alarms, s.get_alarm) is not None


def test_delete_all_deletes_the_alarm_from_2026_02_24(load_project: Callable[..., Runtime]) -> None:
    """https://developers.cloudflare.com/changelog/2026-02-24-deleteall-deletes-alarms"""
    rt = load_project({"wrangler.toml": toml({"CLOCK": "Clock"}, compat="2026-02-24"), "src/entry.py": ALARMS})
    s = stub(rt, "a", "CLOCK")
    run(rt, lambda: s.schedule(60))
    run(rt, s.wipe)
    assert run(rt, s.get_alarm) is None


# -- inspection ----------------------------------------------------------------------------------
def test_trace_records_turns_with_interleaving(counter: Runtime) -> None:
    """https://blog.cloudflare.com/durable-objects-easy-fast-correct-choose-three/ : turns of
    concurrent requests interleave at outside awaits; each turn is in the trace."""
    counter.client().get("/incr_racy")
    turns = counter.trace.events("do_turn", method="incr_racy")
    assert len(turns) == 10                                  # 2 turns per request
    assert any(t.interleaved for t in turns if t.turn == 2)  # others ran in between
    assert all(t.binding == "COUNTER" and t.object == "c" for t in turns)


def test_object_timeline_draws_a_figure(counter: Runtime) -> None:
    """Figure of one object's turns (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from course.viz import object_timeline

    counter.client().get("/incr_blocked")
    counter.evict("COUNTER", "c")
    fig = object_timeline(counter.trace, "COUNTER", "c")
    assert isinstance(fig, Figure) and fig.axes
    assert fig.axes[0].get_title()
