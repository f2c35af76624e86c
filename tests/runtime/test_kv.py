"""Workers KV binding: API, limits, expiry, listing, regional propagation, persistence."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest

from course.runtime import Runtime, load
from course.runtime.bindings.kv import KVEntry, KVStore, kv_store, set_propagation_delay, set_write_rate_limit
from course.workers import JsException
from course.workers.context import current_region

WRANGLER = """
name = "kv-demo"
main = "src/entry.py"
compatibility_date = "2025-06-01"
compatibility_flags = ["python_workers"]

[[kv_namespaces]]
binding = "KV"
id = "kv-demo-namespace"
"""

# A Worker in Cloudflare's documented Python style: GET /<key> reads, PUT /<key>?ttl= writes.
ENTRY = """
from urllib.parse import urlparse, parse_qs

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        key = url.path[1:]
        if request.method == "PUT":
            ttl = parse_qs(url.query).get("ttl")
            options = {"expirationTtl": int(ttl[0])} if ttl else {}
            await self.env.KV.put(key, await request.text(), options)
            return Response("stored", status=201)
        if request.method == "DELETE":
            await self.env.KV.delete(key)
            return Response(None, status=204)
        if key == "":
            listed = await self.env.KV.list()
            return Response.json([k.name for k in listed.keys])
        value = await self.env.KV.get(key)
        if value is None:
            return Response("Value not found", status=404)
        return Response(value)
"""

FILES = {"wrangler.toml": WRANGLER, "src/entry.py": ENTRY}


@pytest.fixture
def rt(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project(FILES)


def call(rt: Runtime, fn: Callable[[], Awaitable[Any]], region: Any = None) -> Any:
    """Run ``fn()`` on the runtime loop as code running in ``region``."""

    async def go() -> Any:
        token = current_region.set(region)
        try:
            return await fn()
        finally:
            current_region.reset(token)

    return rt.call(go())


def test_worker_project_puts_and_gets_values_over_http(rt: Runtime) -> None:
    """A Python Worker stores and reads KV through self.env.KV.
    https://developers.cloudflare.com/kv/api/write-key-value-pairs/"""
    client = rt.client()
    assert client.get("/greeting").status_code == 404
    assert client.put("/greeting", content="hello").status_code == 201
    r = client.get("/greeting")
    assert (r.status_code, r.text) == (200, "hello")
    assert client.get("/").json() == ["greeting"]
    assert client.delete("/greeting").status_code == 204
    assert client.get("/greeting").status_code == 404


def test_get_of_missing_key_returns_none(rt: Runtime) -> None:
    """get() resolves to null (None) when the key does not exist.
    https://developers.cloudflare.com/kv/api/read-key-value-pairs/"""
    assert call(rt, lambda: rt.env.KV.get("nope")) is None


def test_get_json_type_accepts_string_options_dict_and_keyword(rt: Runtime) -> None:
    """type "json" decodes the value, given as a string, an options object or a keyword.
    https://developers.cloudflare.com/kv/api/read-key-value-pairs/#get-method"""
    call(rt, lambda: rt.env.KV.put("cfg", '{"level": 3, "tags": ["a"]}'))
    for get in (lambda: rt.env.KV.get("cfg", "json"), lambda: rt.env.KV.get("cfg", {"type": "json"}),
                lambda: rt.env.KV.get("cfg", type="json")):
        value = call(rt, get)
        assert value.level == 3 and value["tags"] == ["a"]


def test_get_array_buffer_returns_the_stored_bytes(rt: Runtime) -> None:
    """type "arrayBuffer" returns the raw bytes of a binary value.
    https://developers.cloudflare.com/kv/api/read-key-value-pairs/#get-method"""
    call(rt, lambda: rt.env.KV.put("bin", b"\x00\xff\x10"))
    value = call(rt, lambda: rt.env.KV.get("bin", type="arrayBuffer"))
    assert bytes(value) == b"\x00\xff\x10" and value.byteLength == 3


def test_get_rejects_an_unknown_type(rt: Runtime) -> None:
    """Only text, json, arrayBuffer and stream are valid types.
    https://developers.cloudflare.com/kv/api/read-key-value-pairs/#get-method"""
    with pytest.raises(JsException, match="Unknown response type"):
        call(rt, lambda: rt.env.KV.get("k", "xml"))


def test_bulk_get_returns_a_map_with_none_for_missing_keys(rt: Runtime) -> None:
    """get([keys]) returns a Map of every requested key; missing keys map to null.
    https://developers.cloudflare.com/kv/api/read-key-value-pairs/"""
    call(rt, lambda: rt.env.KV.put("a", "1"))
    call(rt, lambda: rt.env.KV.put("b", "2"))
    values = call(rt, lambda: rt.env.KV.get(["a", "b", "c"]))
    assert values.get("a") == "1" and values["b"] == "2" and values.get("c") is None
    assert values.to_py() == {"a": "1", "b": "2", "c": None}


def test_bulk_get_rejects_more_than_100_keys(rt: Runtime) -> None:
    """A bulk read takes at most 100 keys.
    https://developers.cloudflare.com/kv/api/read-key-value-pairs/"""
    call(rt, lambda: rt.env.KV.get([f"k{i}" for i in range(100)]))
    with pytest.raises(JsException, match="maximum of 100 keys"):
        call(rt, lambda: rt.env.KV.get([f"k{i}" for i in range(101)]))


def test_bulk_get_accepts_only_text_and_json_types(rt: Runtime) -> None:
    """Bulk reads return text or json only.
    https://developers.cloudflare.com/kv/api/read-key-value-pairs/"""
    with pytest.raises(JsException, match='"json" or "text"'):
        call(rt, lambda: rt.env.KV.get(["a"], "arrayBuffer"))


def test_get_with_metadata_returns_value_metadata_and_cache_status(rt: Runtime) -> None:
    """getWithMetadata() resolves to {value, metadata, cacheStatus}; metadata null if none.
    https://developers.cloudflare.com/kv/api/read-key-value-pairs/#getwithmetadata-method"""
    call(rt, lambda: rt.env.KV.put("user", "ada", metadata={"role": "admin"}))
    call(rt, lambda: rt.env.KV.put("plain", "x"))
    result = call(rt, lambda: rt.env.KV.getWithMetadata("user"))
    assert result.value == "ada" and result.metadata.role == "admin" and result.cacheStatus is None
    assert call(rt, lambda: rt.env.KV.getWithMetadata("plain")).metadata is None
    missing = call(rt, lambda: rt.env.KV.getWithMetadata("none"))
    assert missing.value is None and missing.metadata is None


def test_key_longer_than_512_bytes_is_rejected(rt: Runtime) -> None:
    """Keys are at most 512 bytes of UTF-8 (a 2-byte character counts twice).
    https://developers.cloudflare.com/kv/platform/limits/"""
    call(rt, lambda: rt.env.KV.put("k" * 512, "ok"))
    with pytest.raises(JsException, match="414 UTF-8 encoded length of 514 exceeds key length limit of 512"):
        call(rt, lambda: rt.env.KV.put("é" * 257, "x"))
    with pytest.raises(JsException, match="KV GET failed: 414"):
        call(rt, lambda: rt.env.KV.get("k" * 513))


@pytest.mark.parametrize("key", ["", ".", ".."])
def test_empty_dot_and_dotdot_keys_are_rejected(rt: Runtime, key: str) -> None:
    """A key cannot be empty, "." or "..".
    https://developers.cloudflare.com/kv/api/write-key-value-pairs/"""
    with pytest.raises(JsException) as info:
        call(rt, lambda: rt.env.KV.put(key, "x"))
    assert info.value.name == "TypeError"


def test_value_larger_than_25_mib_is_rejected(rt: Runtime) -> None:
    """Values are at most 25 MiB.
    https://developers.cloudflare.com/kv/platform/limits/"""
    call(rt, lambda: rt.env.KV.put("big", b"x" * (25 * 1024 * 1024)))
    with pytest.raises(JsException, match="413 Value length of 26214401 exceeds limit of 26214400"):
        call(rt, lambda: rt.env.KV.put("too-big", b"x" * (25 * 1024 * 1024 + 1)))


def test_metadata_over_1024_serialized_bytes_is_rejected(rt: Runtime) -> None:
    """Metadata is at most 1024 bytes once serialized to JSON.
    https://developers.cloudflare.com/kv/platform/limits/"""
    call(rt, lambda: rt.env.KV.put("k", "v", metadata={"p": "x" * 1016}))  # exactly 1024 bytes
    with pytest.raises(JsException, match="413 Metadata length of 1034 exceeds limit of 1024"):
        call(rt, lambda: rt.env.KV.put("k", "v", metadata={"pad": "x" * 1024}))


def test_non_string_value_is_a_type_error(rt: Runtime) -> None:
    """put() takes strings, ArrayBuffers and streams; other values are a TypeError.
    https://developers.cloudflare.com/kv/api/write-key-value-pairs/"""
    with pytest.raises(JsException, match="accepts only strings") as info:
        call(rt, lambda: rt.env.KV.put("k", {"a": 1}))
    assert info.value.name == "TypeError"


def test_expiration_ttl_under_60_seconds_is_rejected(rt: Runtime) -> None:
    """expirationTtl must be at least 60 seconds.
    https://developers.cloudflare.com/kv/api/write-key-value-pairs/#expiring-keys"""
    with pytest.raises(JsException, match="400 Invalid expiration_ttl of 59"):
        call(rt, lambda: rt.env.KV.put("k", "v", expirationTtl=59))


def test_expiration_less_than_60_seconds_ahead_is_rejected(rt: Runtime) -> None:
    """An absolute expiration must be at least 60 seconds in the future.
    https://developers.cloudflare.com/kv/api/write-key-value-pairs/#expiring-keys"""
    soon = int(rt.clock.wall()) + 30
    with pytest.raises(JsException, match="at least 60 seconds in the future"):
        call(rt, lambda: rt.env.KV.put("k", "v", {"expiration": soon}))


def test_key_expires_after_its_ttl_on_the_virtual_clock(rt: Runtime) -> None:
    """A key written with expirationTtl disappears once that many seconds have passed.
    https://developers.cloudflare.com/kv/api/write-key-value-pairs/#expiring-keys"""
    client = rt.client()
    client.put("/session?ttl=120", content="token")
    rt.clock.advance(119)
    assert client.get("/session").text == "token"
    rt.clock.advance(1)
    assert client.get("/session").status_code == 404
    assert call(rt, lambda: rt.env.KV.list()).keys == []


def test_absolute_expiration_is_reported_by_list_and_honoured(rt: Runtime) -> None:
    """expiration (epoch seconds) is listed with the key and removes it at that instant.
    https://developers.cloudflare.com/kv/api/list-keys/"""
    at = int(rt.clock.wall()) + 3600
    call(rt, lambda: rt.env.KV.put("k", "v", expiration=at, metadata={"v": 1}))
    listed = call(rt, lambda: rt.env.KV.list())
    assert listed.keys == [{"name": "k", "expiration": at, "metadata": {"v": 1}}]
    rt.clock.advance(3600)
    assert call(rt, lambda: rt.env.KV.get("k")) is None


def test_list_orders_keys_by_utf8_bytes(rt: Runtime) -> None:
    """Keys are listed in lexicographic order of their UTF-8 bytes (U+FFFF before U+10000,
    unlike UTF-16 order). https://developers.cloudflare.com/kv/api/list-keys/"""
    for key in ["b", "\U00010000", "a", "\uffff", "B"]:
        call(rt, lambda key=key: rt.env.KV.put(key, "x"))
    names = [k.name for k in call(rt, lambda: rt.env.KV.list()).keys]
    assert names == ["B", "a", "b", "\uffff", "\U00010000"]


def test_list_paginates_with_limit_and_cursor(rt: Runtime) -> None:
    """list() returns `limit` keys, list_complete false and a cursor for the next page.
    https://developers.cloudflare.com/kv/api/list-keys/"""
    for i in range(5):
        call(rt, lambda i=i: rt.env.KV.put(f"item:{i}", "x"))
    page1 = call(rt, lambda: rt.env.KV.list(limit=2))
    assert [k.name for k in page1.keys] == ["item:0", "item:1"] and page1.list_complete is False
    page2 = call(rt, lambda: rt.env.KV.list({"limit": 2, "cursor": page1.cursor}))
    assert [k.name for k in page2.keys] == ["item:2", "item:3"]
    page3 = call(rt, lambda: rt.env.KV.list(limit=2, cursor=page2.cursor))
    assert [k.name for k in page3.keys] == ["item:4"] and page3.list_complete is True
    assert "cursor" not in page3


def test_list_defaults_to_pages_of_1000_keys(rt: Runtime) -> None:
    """The default (and maximum) limit is 1000 keys.
    https://developers.cloudflare.com/kv/api/list-keys/"""
    store = kv_store(rt, "KV")
    for i in range(1001):
        store.write(f"k{i:04d}", KVEntry(b"x"))
    page = call(rt, lambda: rt.env.KV.list())
    assert len(page.keys) == 1000 and not page.list_complete


def test_list_limit_over_1000_is_rejected(rt: Runtime) -> None:
    """limit is at most 1000.
    https://developers.cloudflare.com/kv/api/list-keys/"""
    with pytest.raises(JsException, match="Invalid key_count_limit of 1001"):
        call(rt, lambda: rt.env.KV.list(limit=1001))


def test_list_filters_by_prefix(rt: Runtime) -> None:
    """prefix keeps only keys that start with it.
    https://developers.cloudflare.com/kv/api/list-keys/"""
    for key in ["user:1", "user:2", "order:1"]:
        call(rt, lambda key=key: rt.env.KV.put(key, "x"))
    assert [k.name for k in call(rt, lambda: rt.env.KV.list(prefix="user:")).keys] == ["user:1", "user:2"]


def test_cache_ttl_below_30_seconds_is_rejected(rt: Runtime) -> None:
    """cacheTtl has a minimum of 30 seconds.
    https://developers.cloudflare.com/kv/platform/limits/"""
    call(rt, lambda: rt.env.KV.get("k", cacheTtl=30))
    with pytest.raises(JsException, match="Invalid cache_ttl of 10"):
        call(rt, lambda: rt.env.KV.get("k", cacheTtl=10))


def test_write_reaches_other_regions_only_after_the_propagation_delay(rt: Runtime) -> None:
    """KV is eventually consistent: other locations see a write up to 60 s later.
    https://developers.cloudflare.com/kv/concepts/how-kv-works/"""
    call(rt, lambda: rt.env.KV.put("flag", "on"), region="wnam")
    assert call(rt, lambda: rt.env.KV.get("flag"), region="wnam") == "on"
    assert call(rt, lambda: rt.env.KV.get("flag"), region="weur") is None
    rt.clock.advance(59)
    assert call(rt, lambda: rt.env.KV.get("flag"), region="weur") is None
    rt.clock.advance(1)
    assert call(rt, lambda: rt.env.KV.get("flag"), region="weur") == "on"


def test_other_regions_read_the_previous_value_until_an_update_propagates(rt: Runtime) -> None:
    """A stale read returns the old value, not nothing.
    https://developers.cloudflare.com/kv/concepts/how-kv-works/"""
    call(rt, lambda: rt.env.KV.put("v", "1"), region="a")
    rt.clock.advance(60)
    call(rt, lambda: rt.env.KV.put("v", "2"), region="a")
    call(rt, lambda: rt.env.KV.delete("gone"), region="a")
    assert call(rt, lambda: rt.env.KV.get("v"), region="b") == "1"
    assert call(rt, lambda: rt.env.KV.get("v"), region="a") == "2"
    rt.clock.advance(60)
    assert call(rt, lambda: rt.env.KV.get("v"), region="b") == "2"


def test_delete_propagates_like_a_write(rt: Runtime) -> None:
    """A delete is visible at once where it was made and later elsewhere.
    https://developers.cloudflare.com/kv/api/delete-key-value-pairs/"""
    call(rt, lambda: rt.env.KV.put("k", "v"), region="a")
    rt.clock.advance(60)
    call(rt, lambda: rt.env.KV.delete("k"), region="a")
    assert call(rt, lambda: rt.env.KV.get("k"), region="a") is None
    assert call(rt, lambda: rt.env.KV.get("k"), region="b") == "v"
    assert [k.name for k in call(rt, lambda: rt.env.KV.list(), region="b").keys] == ["k"]
    rt.clock.advance(60)
    assert call(rt, lambda: rt.env.KV.get("k"), region="b") is None


def test_propagation_delay_is_configurable_per_namespace_and_runtime(rt: Runtime) -> None:
    """The 60 s default can be changed to model faster or slower propagation.
    https://developers.cloudflare.com/kv/concepts/how-kv-works/"""
    set_propagation_delay(rt, 5)
    call(rt, lambda: rt.env.KV.put("k", "v"), region="a")
    rt.clock.advance(5)
    assert call(rt, lambda: rt.env.KV.get("k"), region="b") == "v"
    kv_store(rt, "KV").propagation_delay = 30
    call(rt, lambda: rt.env.KV.put("k2", "v"), region="a")
    rt.clock.advance(29)
    assert call(rt, lambda: rt.env.KV.get("k2"), region="b") is None


def test_single_default_region_reads_its_own_writes(rt: Runtime) -> None:
    """With one region (the default), a read right after a write sees it.
    https://developers.cloudflare.com/kv/concepts/how-kv-works/"""
    call(rt, lambda: rt.env.KV.put("k", "v"))
    assert call(rt, lambda: rt.env.KV.get("k")) == "v"


def test_every_operation_records_a_kv_trace_event(rt: Runtime) -> None:
    """get, put, delete and list each appear in the trace with op and key."""
    call(rt, lambda: rt.env.KV.put("k", "v"))
    call(rt, lambda: rt.env.KV.get("k"))
    call(rt, lambda: rt.env.KV.delete("k"))
    call(rt, lambda: rt.env.KV.list(prefix="x"))
    ops = [(e.op, e.get("key")) for e in rt.trace.events("kv")]
    assert ops == [("put", "k"), ("get", "k"), ("delete", "k"), ("list", None)]
    assert rt.trace.last("kv", op="get").hit is True


def test_store_is_inspectable_from_the_notebook_thread(rt: Runtime) -> None:
    """kv_store(rt, binding) exposes keys and values without going through the Worker."""
    rt.client().put("/a", content="1")
    store = kv_store(rt, "KV")
    assert isinstance(store, KVStore) and store.keys() == ["a"] and store.get("a") == "1"
    assert "a" in store and len(store) == 1
    with pytest.raises(KeyError, match="no KV binding 'NOPE'"):
        kv_store(rt, "NOPE")


def test_persisted_namespace_survives_a_restart(make_project: Callable[..., Any], tmp_path: Any) -> None:
    """With persist_to, KV data lives in SQLite and a new runtime reads it back.
    https://developers.cloudflare.com/workers/development-testing/local-data/"""
    project = make_project(FILES)
    state = tmp_path / "state"
    with load(project, virtual_time=True, persist_to=state) as rt1:
        rt1.client().put("/kept", content="yes")
    assert (state / "v3" / "kv" / "kv-demo-namespace.sqlite").is_file()
    with load(project, virtual_time=True, persist_to=state) as rt2:
        assert rt2.client().get("/kept").text == "yes"


def test_cache_ttl_must_be_an_integer(rt: Runtime) -> None:
    """cacheTtl is an integer number of seconds, at least 30 and at most Number.MAX_SAFE_INTEGER.
    https://developers.cloudflare.com/kv/platform/limits/"""
    with pytest.raises(JsException, match="Invalid cache_ttl of 30.5"):
        call(rt, lambda: rt.env.KV.get("k", cacheTtl=30.5))
    with pytest.raises(JsException, match="Invalid cache_ttl"):
        call(rt, lambda: rt.env.KV.get("k", cacheTtl=2**53))


def test_read_with_cache_ttl_hides_other_regions_writes_until_it_expires(rt: Runtime) -> None:
    """A read cached with cacheTtl (negative lookups too) keeps being served in that location
    until the cacheTtl expires, even after the write has propagated; a read with a lower
    cacheTtl (or none: 60 s) checks for newer data sooner.
    https://developers.cloudflare.com/kv/api/read-key-value-pairs/#cachettl-parameter"""
    assert call(rt, lambda: rt.env.KV.get("k", cacheTtl=300), region="b") is None
    call(rt, lambda: rt.env.KV.put("k", "v"), region="a")
    rt.clock.advance(120)  # propagated, but b has a cached (negative) answer
    assert call(rt, lambda: rt.env.KV.get("k", cacheTtl=300), region="b") is None
    assert call(rt, lambda: rt.env.KV.get("k", cacheTtl=100), region="b") == "v"
    call(rt, lambda: rt.env.KV.put("k", "v2"), region="a")
    rt.clock.advance(60)
    assert call(rt, lambda: rt.env.KV.get("k", cacheTtl=100), region="b") == "v"  # cached at 120 s
    rt.clock.advance(40)
    assert call(rt, lambda: rt.env.KV.get("k"), region="b") == "v2"


def test_a_regions_own_write_replaces_its_cached_read(rt: Runtime) -> None:
    """Writes are visible at once in the location that made them, cached read or not.
    https://developers.cloudflare.com/kv/concepts/how-kv-works/"""
    call(rt, lambda: rt.env.KV.put("k", "old"), region="a")
    assert call(rt, lambda: rt.env.KV.get("k", cacheTtl=3600), region="a") == "old"
    call(rt, lambda: rt.env.KV.put("k", "new"), region="a")
    assert call(rt, lambda: rt.env.KV.get("k", cacheTtl=3600), region="a") == "new"


def test_writing_one_key_more_than_once_a_second_is_traced_and_can_be_enforced(rt: Runtime) -> None:
    """KV allows 1 write per second to the same key; faster writes get 429 on Cloudflare.
    https://developers.cloudflare.com/kv/platform/limits/"""
    call(rt, lambda: rt.env.KV.put("k", "1"))
    call(rt, lambda: rt.env.KV.put("k", "2"))
    assert rt.trace.last("kv", op="put").get("write_rate_exceeded") is True
    set_write_rate_limit(rt)
    with pytest.raises(JsException, match="KV PUT failed: 429 Too Many Requests"):
        call(rt, lambda: rt.env.KV.put("k", "3"))
    call(rt, lambda: rt.env.KV.put("other", "x"))  # another key is fine
    rt.clock.advance(1)
    call(rt, lambda: rt.env.KV.put("k", "4"))
    assert kv_store(rt, "KV").get("k") == "4"
