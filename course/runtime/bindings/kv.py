"""Workers KV: the ``kv_namespaces`` binding, eventually consistent across regions.

The binding (``self.env.KV``) has Cloudflare's API: ``get`` (one key, or up to 100 keys at
once), ``getWithMetadata``, ``put`` (``expiration``, ``expirationTtl``, ``metadata``),
``delete`` and ``list`` (``prefix``, ``limit``, ``cursor``), with Cloudflare's limits and error
messages. Options are accepted both as an options dict, as in JavaScript
(``get(key, {"type": "json"})``), and as keyword arguments, as Pyodide passes them
(``get(key, type="json")``). References:
https://developers.cloudflare.com/kv/api/read-key-value-pairs/,
https://developers.cloudflare.com/kv/api/write-key-value-pairs/,
https://developers.cloudflare.com/kv/api/list-keys/,
https://developers.cloudflare.com/kv/api/delete-key-value-pairs/ and
https://developers.cloudflare.com/kv/platform/limits/.

Consistency (https://developers.cloudflare.com/kv/concepts/how-kv-works/): a write is visible at
once in the region that made it and in every other region after a propagation delay (60 s by
default). The region of the running code is ``course.workers.context.current_region`` (None: the
one default region), so with a single region KV reads like a strongly consistent store. Every
write is kept as a version stamped with its region and time on the runtime clock; a read in
region R sees the newest version written in R or written long enough ago to have reached R.
Expiry also follows the runtime clock (``rt.clock.wall()``). A read with ``cacheTtl`` is cached in
its region for that long, so other regions' writes stay invisible there until it expires. Writing
one key more than once a second is traced (``write_rate_exceeded``), and fails with 429 as on
Cloudflare after ``set_write_rate_limit(rt)``.

Inspection from Python (a notebook, a test), safe from any thread::

    store = kv_store(rt, "KV")          # the namespace bound as env.KV in the main Worker
    store.keys()                         # live keys, newest writes (ignoring propagation)
    store.get("k")                       # the value as str (bytes: store.entry("k").value)
    store.keys(region="ams")             # what code in region "ams" sees right now
    store.propagation_delay = 10         # this namespace; KV.of(rt) for all

State lives in memory, or in SQLite at ``rt.state_path("kv", <namespace id>.sqlite)`` when the
runtime has ``persist_to``.
"""
from __future__ import annotations

import asyncio
import base64
import json
import math
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course.runtime.net.regions import NETWORK
from course.runtime.kernel.plugins import Plugin, ServiceSlot, StoreRegistry
from course.workers.context import current_region
from course.workers.jsproxy import JsBuffer, JsException, JsObject, to_py, wrap
from course.runtime.kernel.runtime import Kernel

# -- limits (https://developers.cloudflare.com/kv/platform/limits/) ----------------------------
#: Key size: 512 bytes (UTF-8).
MAX_KEY_BYTES = 512
#: Value size: 25 MiB.
MAX_VALUE_BYTES = 25 * 1024 * 1024
#: Key metadata: 1024 bytes of serialized JSON.
MAX_METADATA_BYTES = 1024
#: Minimum cacheTtl: 30 seconds; the maximum is Number.MAX_SAFE_INTEGER (limits page, note 2).
MIN_CACHE_TTL = 30
MAX_CACHE_TTL = 2**53 - 1
#: A read without cacheTtl behaves as cacheTtl 60 (read-key-value-pairs: "which defaults to 60
#: seconds"); a lower cacheTtl shortens how long an earlier cached read is served.
DEFAULT_CACHE_TTL = 60
#: "Writes to same key: 1 per second" (limits page); Cloudflare answers faster writes with 429.
WRITES_PER_KEY_INTERVAL = 1.0
# https://developers.cloudflare.com/kv/api/write-key-value-pairs/#expiring-keys: "The minimum
# value for expirationTtl is 60 seconds"; absolute expirations must be at least 60 s ahead.
MIN_EXPIRATION_TTL = 60
MIN_EXPIRATION_AHEAD = 60
# https://developers.cloudflare.com/kv/api/list-keys/: "limit ... defaults to 1,000" (the maximum).
LIST_DEFAULT_LIMIT = 1000
LIST_MAX_LIMIT = 1000
# https://developers.cloudflare.com/kv/api/read-key-value-pairs/: up to 100 keys per bulk read.
BULK_GET_MAX_KEYS = 100
#: https://developers.cloudflare.com/kv/concepts/how-kv-works/: changes "may take up to 60
#: seconds or more to be visible in other global network locations".
DEFAULT_PROPAGATION_DELAY = 60.0

GET_TYPES = ("text", "json", "arrayBuffer", "stream")
BULK_GET_TYPES = ("text", "json")


class _Latest:
    def __repr__(self) -> str:
        return "LATEST"


#: Inspection reads the newest write, as if every region had caught up.
LATEST: Any = _Latest()


@dataclass(frozen=True)
class KVEntry:
    """One stored value: bytes, absolute expiration (epoch seconds) and metadata (JSON-able)."""

    value: bytes
    expiration: int | None = None
    metadata: Any = None


@dataclass
class _Version:
    at: float  # wall-clock second of the write
    region: Any  # region that wrote it (visible there at once)
    entry: KVEntry | None  # None: a delete


def _kv_error(op: str, status: int, message: str) -> JsException:
    return JsException(f"KV {op} failed: {status} {message}", "Error")


def validate_key(key: Any, op: str) -> str:
    """A key Cloudflare accepts, or the error Cloudflare raises."""
    if not isinstance(key, str):
        raise JsException(f"KV {op.lower()}() key must be a string, not {type(key).__name__}", "TypeError")
    if key == "":
        raise JsException("Key name cannot be empty.", "TypeError")
    if key in (".", ".."):
        raise JsException(f'"{key}" is not allowed as a key name.', "TypeError")
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise _kv_error(op, 414, f"UTF-8 encoded length of {size} exceeds key length limit of {MAX_KEY_BYTES}.")
    return key


def _value_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if hasattr(value, "to_bytes") and callable(value.to_bytes) and not isinstance(value, (int, bool)):
        return bytes(value.to_bytes())
    raise JsException("KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams "
                      f"as values (got {type(value).__name__}).", "TypeError")


def _options(args: tuple[Any, ...], kwargs: dict[str, Any], *, string_is: str | None = None) -> dict[str, Any]:
    """Merge a trailing JS-style options object (or a bare type string) with keyword options."""
    out: dict[str, Any] = {}
    for arg in args:
        if arg is None:
            continue
        if isinstance(arg, str) and string_is:
            out[string_is] = arg
        elif isinstance(arg, dict):
            out.update(to_py(arg))
        else:
            raise JsException(f"expected an options object, got {type(arg).__name__}", "TypeError")
    out.update({k: to_py(v) for k, v in kwargs.items() if v is not None})
    return out


def _utf8_order(key: str) -> bytes:
    return key.encode("utf-8")


class KVStore:
    """One KV namespace's data: versions per key, regions, expiry, optional SQLite persistence.

    Methods are synchronous and thread-safe; the binding calls them from the runtime loop and
    notebooks may call the inspection methods from their own thread.
    """

    def __init__(self, namespace_id: str, clock: Any, *, path: Path | None = None,
                 propagation_delay: float | None = None, service: "KVService | None" = None) -> None:
        self.namespace_id = namespace_id
        self._clock = clock
        self._service = service
        self._own_delay = propagation_delay
        self._lock = threading.RLock()
        self._versions: dict[str, list[_Version]] = {}
        #: (key, region) -> (entry or None, wall time read, cacheTtl): reads cached with cacheTtl
        self._cached: dict[tuple[str, Any], tuple[KVEntry | None, float, float]] = {}
        self._last_write: dict[str, float] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, "
                             "expiration INTEGER, metadata TEXT)")
            for key, value, expiration, metadata in self._db.execute("SELECT key, value, expiration, metadata FROM kv"):
                entry = KVEntry(bytes(value), expiration, json.loads(metadata) if metadata is not None else None)
                self._versions[key] = [_Version(-math.inf, None, entry)]

    # -- configuration ---------------------------------------------------------------------
    @property
    def propagation_delay(self) -> float:
        """Seconds before a write made in one region is visible in the others."""
        if self._own_delay is not None:
            return self._own_delay
        if self._service is not None:
            return self._service.propagation_delay
        return DEFAULT_PROPAGATION_DELAY

    @propagation_delay.setter
    def propagation_delay(self, seconds: float | None) -> None:
        if seconds is not None and seconds < 0:
            raise ValueError(f"propagation delay must be >= 0 seconds, got {seconds}")
        self._own_delay = seconds

    # -- core operations (used by the binding) ----------------------------------------------
    def _visible(self, key: str, region: Any, now: float) -> KVEntry | None:
        versions = self._versions.get(key)
        if not versions:
            return None
        delay = self.propagation_delay
        chosen: _Version | None = None
        if region is LATEST:
            chosen = versions[-1]
        else:
            for version in reversed(versions):
                if version.region == region or version.at + self._delay(version.region, region, delay) <= now:
                    chosen = version
                    break
        if chosen is None or chosen.entry is None:
            return None
        if chosen.entry.expiration is not None and chosen.entry.expiration <= now:
            return None
        return chosen.entry

    def _delay(self, src: Any, dst: Any, default: float) -> float:
        """Propagation seconds from ``src`` to ``dst``: the region model's if it is configured
        for KV (``rt.regions.use_for_kv()``), else ``default``."""
        runtime = getattr(self._service, "runtime", None)
        model = NETWORK.peek(runtime) if runtime is not None else None
        by_model = model.kv_delay(src, dst) if model is not None else None
        return default if by_model is None else by_model

    def _prune(self, key: str, now: float) -> None:
        """Forget versions older than the newest one every region already sees."""
        versions = self._versions.get(key)
        if not versions:
            return
        runtime = getattr(self._service, "runtime", None)
        model = NETWORK.peek(runtime) if runtime is not None else None
        delay = max(self.propagation_delay, model.kv_max_delay() if model is not None else 0.0)
        for i in range(len(versions) - 1, -1, -1):
            if versions[i].at + delay <= now:
                del versions[:i]
                break
        if len(versions) == 1 and versions[0].entry is None and versions[0].at + delay <= now:
            del self._versions[key]

    def read(self, key: str, region: Any = None, cache_ttl: float | None = None) -> KVEntry | None:
        """The entry ``region`` sees now. A read with ``cache_ttl`` is cached in that region for
        that long: writes from other regions stay invisible there until it expires (negative
        lookups too), while the region's own writes show at once
        (https://developers.cloudflare.com/kv/api/read-key-value-pairs/#cachettl-parameter)."""
        now = self._clock.wall()
        with self._lock:
            cached = self._cached.get((key, region)) if region is not LATEST else None
            if cached is not None:
                entry, at, ttl = cached
                fresh = now < at + min(ttl, cache_ttl if cache_ttl is not None else DEFAULT_CACHE_TTL)
                if fresh:
                    if entry is not None and entry.expiration is not None and entry.expiration <= now:
                        return None
                    return entry
                del self._cached[(key, region)]
            entry = self._visible(key, region, now)
            if cache_ttl is not None and region is not LATEST:
                self._cached[(key, region)] = (entry, now, float(cache_ttl))
            self._prune(key, now)
            return entry

    def note_write(self, key: str) -> bool:
        """Record a write of ``key`` now; False if the previous one was under a second ago."""
        now = self._clock.wall()
        with self._lock:
            last = self._last_write.get(key)
            self._last_write[key] = now
            return last is None or now - last >= WRITES_PER_KEY_INTERVAL

    def write(self, key: str, entry: KVEntry | None, region: Any = None) -> None:
        """Store ``entry`` (None deletes) as written now from ``region``."""
        now = self._clock.wall()
        with self._lock:
            self._cached.pop((key, region), None)  # a region sees its own writes at once
            self._versions.setdefault(key, []).append(_Version(now, region, entry))
            self._prune(key, now)
            if self._db is not None:
                if entry is None:
                    self._db.execute("DELETE FROM kv WHERE key = ?", (key,))
                else:
                    meta = json.dumps(entry.metadata) if entry.metadata is not None else None
                    self._db.execute("INSERT OR REPLACE INTO kv (key, value, expiration, metadata) VALUES (?, ?, ?, ?)",
                                     (key, entry.value, entry.expiration, meta))

    def live(self, region: Any = None, prefix: str = "") -> list[tuple[str, KVEntry]]:
        """Every (key, entry) visible in ``region`` now, in UTF-8 byte order."""
        now = self._clock.wall()
        with self._lock:
            out = []
            for key in list(self._versions):
                if not key.startswith(prefix):
                    continue
                entry = self._visible(key, region, now)
                if entry is not None:
                    out.append((key, entry))
        out.sort(key=lambda kv: _utf8_order(kv[0]))
        return out

    # -- inspection --------------------------------------------------------------------------
    def keys(self, prefix: str = "", *, region: Any = LATEST) -> list[str]:
        """Live keys (newest writes by default; ``region=`` for one region's view)."""
        return [k for k, _ in self.live(region, prefix)]

    def entry(self, key: str, *, region: Any = LATEST) -> KVEntry | None:
        return self.read(key, region)

    def get(self, key: str, default: Any = None, *, region: Any = LATEST) -> str | None:
        """The value of ``key`` decoded as UTF-8 text, or ``default``."""
        entry = self.read(key, region)
        return entry.value.decode("utf-8", errors="replace") if entry is not None else default

    def items(self, prefix: str = "", *, region: Any = LATEST) -> list[tuple[str, str]]:
        return [(k, e.value.decode("utf-8", errors="replace")) for k, e in self.live(region, prefix)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.read(key, LATEST) is not None

    def __len__(self) -> int:
        return len(self.live(LATEST))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __repr__(self) -> str:
        return f"<KVStore {self.namespace_id!r} keys={len(self)}>"


class KVService(StoreRegistry[KVStore]):
    """Every KV namespace of one runtime, by namespace id (``KV.of(rt)``), with KV-wide settings."""

    def __init__(self, runtime: Kernel) -> None:
        super().__init__(runtime, "kv", "KV", self._open)
        self.propagation_delay = DEFAULT_PROPAGATION_DELAY
        #: raise 429 on a second write to one key within a second (else only trace it)
        self.enforce_write_rate = False

    def _open(self, namespace_id: str, path: Path | None) -> KVStore:
        return KVStore(namespace_id, self.runtime.clock, path=path, service=self)


#: The runtime's KV namespaces.
KV: ServiceSlot[KVService] = ServiceSlot("kv", KVService)


def _decode(value: bytes, type_: str, op: str) -> Any:
    if type_ == "text":
        return value.decode("utf-8", errors="replace")
    if type_ == "json":
        try:
            return wrap(json.loads(value.decode("utf-8")))
        except (ValueError, UnicodeDecodeError) as exc:
            raise JsException(f"Unexpected token in JSON at position {getattr(exc, 'pos', 0)}: the value "
                              "is not valid JSON", "SyntaxError") from None
    # arrayBuffer, and stream: a body here is bytes (Response accepts them as a stream body).
    return JsBuffer(value)


class KVNamespace:
    """The ``env.KV`` binding object: Cloudflare's KVNamespace API."""

    def __init__(self, runtime: Kernel, binding: str, store: KVStore) -> None:
        self._rt = runtime
        self._binding = binding
        self._store = store

    def _trace(self, op: str, **data: Any) -> None:
        self._rt.trace.record("kv", op=op, binding=self._binding, namespace=self._store.namespace_id,
                              region=current_region.get(), **data)

    @staticmethod
    def _read_options(args: tuple[Any, ...], kwargs: dict[str, Any], op: str, bulk: bool) -> tuple[str, Any]:
        opts = _options(args, kwargs, string_is="type")
        type_ = opts.get("type", "text")
        allowed = BULK_GET_TYPES if bulk else GET_TYPES
        if type_ not in allowed:
            if bulk:
                raise _kv_error(op, 400, f'"{type_}" is not a valid type. Use "json" or "text"')
            raise JsException('Unknown response type. Possible types are "text", "arrayBuffer", "json", '
                              'and "stream".', "TypeError")
        cache_ttl = opts.get("cacheTtl")
        if cache_ttl is not None:
            if isinstance(cache_ttl, bool) or not isinstance(cache_ttl, (int, float)) or cache_ttl < MIN_CACHE_TTL:
                raise _kv_error(op, 400, f"Invalid cache_ttl of {cache_ttl}. Cache TTL must be at least {MIN_CACHE_TTL}.")
            if cache_ttl != int(cache_ttl) or cache_ttl > MAX_CACHE_TTL:
                raise _kv_error(op, 400, f"Invalid cache_ttl of {cache_ttl}. Cache TTL must be an integer of at "
                                f"most {MAX_CACHE_TTL} seconds.")
        return type_, cache_ttl

    async def _get(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any], with_metadata: bool) -> Any:
        bulk = isinstance(key, (list, tuple))
        op = "GET_BULK" if bulk else "GET"
        type_, cache_ttl = self._read_options(args, kwargs, op, bulk)
        region = current_region.get()
        await asyncio.sleep(0)  # a KV read is I/O: other tasks may run meanwhile
        if bulk:
            keys = [validate_key(k, op) for k in key]
            if len(keys) > BULK_GET_MAX_KEYS:
                raise _kv_error(op, 400, f"You can request a maximum of {BULK_GET_MAX_KEYS} keys")
            if not keys:
                raise _kv_error(op, 400, "You must request a minimum of 1 key")
            out: dict[str, Any] = {}
            for k in keys:
                entry = self._store.read(k, region, cache_ttl)
                value = _decode(entry.value, type_, op) if entry is not None else None
                if with_metadata:
                    out[k] = wrap({"value": value, "metadata": entry.metadata}) if entry is not None else None
                else:
                    out[k] = value
            self._trace("getWithMetadata" if with_metadata else "get", keys=keys,
                        hits=sum(1 for v in out.values() if v is not None))
            return _JsMap(out)
        validate_key(key, op)
        entry = self._store.read(key, region, cache_ttl)
        self._trace("getWithMetadata" if with_metadata else "get", key=key, hit=entry is not None)
        value = _decode(entry.value, type_, op) if entry is not None else None
        if with_metadata:
            return wrap({"value": value, "metadata": wrap(entry.metadata) if entry is not None else None,
                         "cacheStatus": None})
        return value

    async def get(self, key: str | list[str], *args: Any, **kwargs: Any) -> Any:
        """``get(key, type="text"|"json"|"arrayBuffer"|"stream", cacheTtl=)``; a list of keys
        (up to 100, type text or json) returns a dict-like of key -> value (None when missing)."""
        return await self._get(key, args, kwargs, with_metadata=False)

    async def getWithMetadata(self, key: str | list[str], *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        """``{value, metadata, cacheStatus}`` for one key; for a list, key -> ``{value, metadata}``."""
        return await self._get(key, args, kwargs, with_metadata=True)

    async def put(self, key: str, value: Any, *args: Any, **kwargs: Any) -> None:
        """``put(key, value, expiration=, expirationTtl=, metadata=)`` (or an options dict)."""
        validate_key(key, "PUT")
        opts = _options(args, kwargs)
        data = _value_bytes(value)
        if len(data) > MAX_VALUE_BYTES:
            raise _kv_error("PUT", 413, f"Value length of {len(data)} exceeds limit of {MAX_VALUE_BYTES}.")
        now = self._rt.clock.wall()
        expiration: int | None = None
        if opts.get("expirationTtl") is not None:
            ttl = opts["expirationTtl"]
            if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl < MIN_EXPIRATION_TTL:
                raise _kv_error("PUT", 400, f"Invalid expiration_ttl of {ttl}. Expiration TTL must be at "
                                f"least {MIN_EXPIRATION_TTL}.")
            expiration = int(now) + int(ttl)
        if opts.get("expiration") is not None:
            exp = opts["expiration"]
            if isinstance(exp, bool) or not isinstance(exp, (int, float)) or exp < now + MIN_EXPIRATION_AHEAD:
                raise _kv_error("PUT", 400, f"Invalid expiration of {exp}. Expiration times must be at least "
                                f"{MIN_EXPIRATION_AHEAD} seconds in the future.")
            # Cloudflare documents one option or the other; given both, expirationTtl wins.
            expiration = int(exp) if expiration is None else expiration
        metadata = opts.get("metadata")
        if metadata is not None:
            try:
                serialized = json.dumps(metadata, separators=(",", ":"))
            except (TypeError, ValueError) as exc:
                raise JsException(f"KV put() metadata must be serializable to JSON: {exc}", "TypeError") from None
            size = len(serialized.encode("utf-8"))
            if size > MAX_METADATA_BYTES:
                raise _kv_error("PUT", 413, f"Metadata length of {size} exceeds limit of {MAX_METADATA_BYTES}.")
        region = current_region.get()
        await asyncio.sleep(0)
        within_rate = self._store.note_write(key)
        if not within_rate and self._store._service is not None and self._store._service.enforce_write_rate:
            self._trace("put", key=key, size=len(data), rate_limited=True)
            raise _kv_error("PUT", 429, "Too Many Requests")
        self._store.write(key, KVEntry(data, expiration, metadata), region)
        # Writing one key more than once a second exceeds KV's limit; traced even when not enforced.
        self._trace("put", key=key, size=len(data), expiration=expiration,
                    **({} if within_rate else {"write_rate_exceeded": True}))

    async def delete(self, key: str) -> None:
        """Remove ``key`` (deleting a missing key succeeds)."""
        validate_key(key, "DELETE")
        region = current_region.get()
        await asyncio.sleep(0)
        self._store.write(key, None, region)
        self._trace("delete", key=key)

    async def list(self, *args: Any, **kwargs: Any) -> Any:
        """``list(prefix=, limit=1000, cursor=)`` -> ``{keys, list_complete, cursor?, cacheStatus}``."""
        opts = _options(args, kwargs)
        prefix = opts.get("prefix") or ""
        limit = opts.get("limit", LIST_DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise _kv_error("GET", 400, f"Invalid key_count_limit of {limit}. Please specify an integer greater "
                            "than 0.")
        if limit > LIST_MAX_LIMIT:
            raise _kv_error("GET", 400, f"Invalid key_count_limit of {limit}. Please specify an integer less "
                            f"than {LIST_MAX_LIMIT}.")
        cursor = opts.get("cursor")
        after: bytes | None = None
        if cursor:
            try:
                after = base64.urlsafe_b64decode(cursor.encode("ascii"))
            except (ValueError, AttributeError):
                raise _kv_error("GET", 400, f"Invalid cursor {cursor!r}: pass the cursor of a previous list() "
                                "result") from None
        region = current_region.get()
        await asyncio.sleep(0)
        live = self._store.live(region, prefix)
        if after is not None:
            live = [(k, e) for k, e in live if _utf8_order(k) > after]
        page, rest = live[:limit], live[limit:]
        keys = []
        for name, entry in page:
            item: dict[str, Any] = {"name": name}
            if entry.expiration is not None:
                item["expiration"] = entry.expiration
            if entry.metadata is not None:
                item["metadata"] = entry.metadata
            keys.append(item)
        result: dict[str, Any] = {"keys": keys, "list_complete": not rest, "cacheStatus": None}
        if rest:
            result["cursor"] = base64.urlsafe_b64encode(_utf8_order(page[-1][0])).decode("ascii")
        self._trace("list", prefix=prefix, count=len(keys), list_complete=not rest)
        return _ListResult(wrap(result))

    def __repr__(self) -> str:
        return f"<KVNamespace {self._binding} ({self._store.namespace_id})>"


class _ListResult(JsObject):
    """``list()``'s result: ``result.keys`` is the array of keys, as in JavaScript (JsObject
    lets data win over the dict method of the same name)."""

    __slots__ = ()


class _JsMap(dict):
    """A JS ``Map`` as Pyodide shows it: ``m.get(k)``, ``m[k]``, iteration, ``to_py()``."""

    def to_py(self, **_: Any) -> dict:
        return to_py(dict(self))


def namespace_id(entry: Any) -> str:
    """The id a wrangler ``kv_namespaces`` entry stores its data under (local: id or binding)."""
    return entry.id or entry.binding


def bind(runtime: Kernel, worker: Any) -> dict[str, KVNamespace]:
    service = KV.of(runtime)
    return {entry.binding: KVNamespace(runtime, entry.binding, service.bind(worker.name, entry.binding, namespace_id(entry)))
            for entry in worker.config.kv_namespaces}


def kv_store(runtime: Kernel, binding: str, worker: str | None = None) -> KVStore:
    """The store behind ``env.<binding>`` of ``worker`` (default: the main Worker), for inspection."""
    return KV.of(runtime).bound(binding, worker)


def set_write_rate_limit(runtime: Kernel, enforce: bool = True) -> None:
    """Make a second ``put`` of one key within a second fail with 429, as on Cloudflare
    (https://developers.cloudflare.com/kv/platform/limits/: "Writes to same key: 1 per second").
    Off by default, as in ``wrangler dev``; over-fast writes are traced either way
    (``write_rate_exceeded`` on the ``kv`` put event)."""
    KV.of(runtime).enforce_write_rate = bool(enforce)


def set_propagation_delay(runtime: Kernel, seconds: float) -> None:
    """Set the cross-region propagation delay of every KV namespace without its own setting."""
    if seconds < 0:
        raise ValueError(f"propagation delay must be >= 0 seconds, got {seconds}")
    KV.of(runtime).propagation_delay = float(seconds)


__all__ = ["KVEntry", "KVNamespace", "KVService", "KVStore", "LATEST", "bind", "kv_store",
                          "set_propagation_delay", "set_write_rate_limit"]


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('kv', ("kv_namespaces",), bind)
