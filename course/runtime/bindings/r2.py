"""R2: the ``r2_buckets`` binding, a strongly consistent object store with Cloudflare's API.

The binding (``self.env.BUCKET``) has Cloudflare's methods: ``put`` (``httpMetadata``,
``customMetadata``, ``md5``/``sha1``/``sha256``/``sha384``/``sha512``, ``onlyIf``) returning an
``R2Object`` (None when ``onlyIf`` fails), ``get`` (``onlyIf``, ``range``) returning an
``R2ObjectBody``, None for a missing key, or an ``R2Object`` without body when ``onlyIf`` fails,
``head``, ``delete`` (one key or up to 1000), ``list`` (``prefix``, ``limit``, ``cursor``,
``delimiter``, ``startAfter``, ``include``) and multipart uploads (``createMultipartUpload``,
``resumeMultipartUpload`` -> ``R2MultipartUpload`` with ``uploadPart``, ``abort``, ``complete``;
uploads in progress live in memory and are aborted after 7 days on the runtime clock). Conditions follow RFC 7232 and may be given as an
``R2Conditional`` dict or as a ``Headers`` object (If-Match, If-None-Match, If-Modified-Since,
If-Unmodified-Since); ranges as ``{offset, length}``, ``{suffix}`` or a ``Range`` header.
Options are accepted as a dict (as in JavaScript) or as keyword arguments (as Pyodide passes
them). References: https://developers.cloudflare.com/r2/api/workers/workers-api-reference/ and
https://developers.cloudflare.com/r2/platform/limits/.

Writes and deletes are visible everywhere as soon as they return (R2 is strongly consistent).

Inspection from Python, safe from any thread::

    bucket = r2_bucket(rt, "BUCKET")    # the bucket bound as env.BUCKET in the main Worker
    bucket.keys()                        # every key, in order
    bucket.get("a.txt")                  # the bytes, or None
    bucket.record("a.txt")               # key, size, etag, uploaded, metadata...

State lives in memory, or in SQLite at ``rt.state_path("r2", <bucket>.sqlite)`` when the runtime
has ``persist_to``.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as _dt
import email.utils
import hashlib
import json
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from course.runtime.kernel.plugins import Plugin, ServiceSlot, StoreRegistry
from course.workers.http import Headers, _Body
from course.workers.jsproxy import JsArray, JsBuffer, JsDate, JsException, JsObject, to_py, wrap

# -- limits (https://developers.cloudflare.com/r2/platform/limits/) ----------------------------
#: Object key length: 1,024 bytes.
MAX_KEY_BYTES = 1024
#: Object metadata size: 8,192 bytes.
MAX_METADATA_BYTES = 8192
#: Maximum upload size (single part): 5 GiB less 5 MiB.
MAX_PUT_BYTES = 5 * 1024**3 - 5 * 1024**2
# https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2listoptions:
# "Defaults to 1000, with a maximum of 1000".
LIST_DEFAULT_LIMIT = 1000
LIST_MAX_LIMIT = 1000
#: delete() takes up to 1000 keys (the S3 DeleteObjects maximum R2 applies to the binding).
DELETE_MAX_KEYS = 1000
#: ``include`` in list() is honoured from this compatibility date (else both kinds are included).
LIST_HONOR_INCLUDE_DATE = "2022-08-04"
#: "Maximum upload parts: 10,000" (limits page); part numbers run from 1 to this.
MAX_UPLOAD_PARTS = 10_000
#: Every part but the last must be at least 5 MiB
#: (https://developers.cloudflare.com/r2/api/workers/workers-multipart-usage/: "5MB is the
#: minimum part size, except for the last part").
MIN_PART_BYTES = 5 * 1024**2
#: Object size: 5 TiB less 5 GiB (limits page, note 2).
MAX_OBJECT_BYTES = 5 * 1024**4 - 5 * 1024**3
#: "Uncompleted multipart uploads will be automatically aborted after 7 days"
#: (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2multipartupload-definition).
MULTIPART_UPLOAD_LIFETIME = 7 * 24 * 3600

HASH_ALGORITHMS = ("md5", "sha1", "sha256", "sha384", "sha512")
_HTTP_FIELDS = {  # httpMetadata field -> header
    "contentType": "content-type",
    "contentLanguage": "content-language",
    "contentDisposition": "content-disposition",
    "contentEncoding": "content-encoding",
    "cacheControl": "cache-control",
    "cacheExpiry": "expires",
}


def _r2_error(op: str, message: str, code: int) -> JsException:
    return JsException(f"{op}: {message} ({code})", "Error")


def _validate_key(key: Any, op: str) -> str:
    if not isinstance(key, str):
        raise JsException(f"{op}: the key must be a string, not {type(key).__name__}", "TypeError")
    if key == "" or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise _r2_error(op, "The specified object name is not valid.", 10020)
    return key


def _utf8(key: str) -> bytes:
    return key.encode("utf-8")


def _to_datetime(value: Any, what: str) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(value / 1000, _dt.timezone.utc)  # a JS Date's milliseconds
    if isinstance(value, str):
        try:
            return _to_datetime(_dt.datetime.fromisoformat(value.replace("Z", "+00:00")), what)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)  # an HTTP date
            return _to_datetime(parsed, what)
    raise JsException(f"{what} must be a Date (datetime), not {type(value).__name__}", "TypeError")


@dataclass(frozen=True)
class R2Record:
    """One stored object."""

    key: str
    version: str
    data: bytes
    etag: str
    uploaded_ms: int
    http_metadata: dict[str, Any] = field(default_factory=dict)  # cacheExpiry as epoch ms
    custom_metadata: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm -> hex
    storage_class: str = "Standard"

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def uploaded(self) -> JsDate:
        """A JS Date on Cloudflare (``getTime()``); here also a datetime."""
        return JsDate.from_ms(self.uploaded_ms)


@dataclass
class MultipartState:
    """A multipart upload in progress: its key, options and the parts uploaded so far."""

    key: str
    upload_id: str
    created: float  # wall-clock seconds
    http_metadata: dict[str, Any]
    custom_metadata: dict[str, str]
    storage_class: str
    parts: dict[int, tuple[str, bytes]] = field(default_factory=dict)  # number -> (etag, data)


class R2Store:
    """One bucket's objects, optionally persisted in SQLite. Thread-safe, synchronous."""

    def __init__(self, name: str, *, path: Path | None = None) -> None:
        self.name = name
        self._lock = threading.RLock()
        self._objects: dict[str, R2Record] = {}
        #: multipart uploads in progress, by upload id (in memory only, as in ``wrangler dev``)
        self.uploads: dict[str, MultipartState] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, version TEXT, data BLOB, "
                             "etag TEXT, uploaded INTEGER, http_metadata TEXT, custom_metadata TEXT, "
                             "checksums TEXT, storage_class TEXT)")
            for row in self._db.execute("SELECT key, version, data, etag, uploaded, http_metadata, custom_metadata, "
                                        "checksums, storage_class FROM objects"):
                key, version, data, etag, uploaded, http, custom, sums, klass = row
                self._objects[key] = R2Record(key, version, bytes(data), etag, uploaded, json.loads(http),
                                              json.loads(custom), json.loads(sums), klass)

    def put(self, record: R2Record) -> None:
        with self._lock:
            self._objects[record.key] = record
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 (record.key, record.version, record.data, record.etag, record.uploaded_ms,
                                  json.dumps(record.http_metadata), json.dumps(record.custom_metadata),
                                  json.dumps(record.checksums), record.storage_class))

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._objects.pop(key, None)
                if self._db is not None:
                    self._db.execute("DELETE FROM objects WHERE key = ?", (key,))

    # -- inspection --------------------------------------------------------------------------
    def record(self, key: str) -> R2Record | None:
        with self._lock:
            return self._objects.get(key)

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None."""
        rec = self.record(key)
        return rec.data if rec is not None else None

    def keys(self, prefix: str = "") -> list[str]:
        """Every key starting with ``prefix``, in UTF-8 byte order (R2's list order)."""
        with self._lock:
            keys = [k for k in self._objects if k.startswith(prefix)]
        return sorted(keys, key=_utf8)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._objects

    def __len__(self) -> int:
        with self._lock:
            return len(self._objects)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __repr__(self) -> str:
        return f"<R2Store {self.name!r} objects={len(self)}>"


# -- objects as Worker code sees them ---------------------------------------------------------
class R2Object:
    """An object's metadata: key, version, size, etag, httpEtag, uploaded, httpMetadata, ..."""

    def __init__(self, record: R2Record, *, include: Iterable[str] = ("httpMetadata", "customMetadata"),
                 range: dict[str, int] | None = None, whole_range: bool = True) -> None:
        include = set(include)
        self.key = record.key
        self.version = record.version
        self.size = record.size
        self.etag = record.etag
        self.httpEtag = f'"{record.etag}"'
        self.uploaded = record.uploaded
        self.storageClass = record.storage_class
        http = dict(record.http_metadata)
        if "cacheExpiry" in http:
            http["cacheExpiry"] = _dt.datetime.fromtimestamp(http["cacheExpiry"] / 1000, _dt.timezone.utc)
        self.httpMetadata = wrap(http) if "httpMetadata" in include else None
        self.customMetadata = wrap(dict(record.custom_metadata)) if "customMetadata" in include else None
        # workerd reports the whole object as the range when none was asked for (conformance:
        # r2_metadata, head()).
        if range is None and whole_range:
            range = {"offset": 0, "length": record.size}
        self.range = wrap(range) if range is not None else None
        self.checksums = wrap({alg: JsBuffer(bytes.fromhex(h)) for alg, h in record.checksums.items()})
        self._record = record

    def writeHttpMetadata(self, headers: Headers) -> None:  # noqa: N802 - Cloudflare's name
        """Set the object's HTTP metadata as headers (Content-Type, Cache-Control, Expires...)."""
        for name, header in _HTTP_FIELDS.items():
            value = self._record.http_metadata.get(name)
            if value is None:
                continue
            if name == "cacheExpiry":
                value = email.utils.format_datetime(
                    _dt.datetime.fromtimestamp(value / 1000, _dt.timezone.utc), usegmt=True)
            headers.set(header, value)

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def to_py(self, **_: Any) -> dict[str, Any]:
        return {k: to_py(v) for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r} size={self.size} etag={self.etag}>"


class R2ObjectBody(R2Object, _Body):
    """An object with its body: ``text()``, ``json()``, ``arrayBuffer()``, ``bytes()``, ``body``.

    The body reads once, like any Fetch body (``_Body``: ``bodyUsed``, ``text``, ``bytes``...).
    """

    def __init__(self, record: R2Record, data: bytes, range: dict[str, int]) -> None:
        super().__init__(record, range=range)
        self._init_body(data)

    @property
    def body(self) -> JsBuffer:
        """The (ranged) body; a Response accepts it as its body."""
        return JsBuffer(self._body or b"")

    async def blob(self) -> JsBuffer:
        return JsBuffer(self._consume())

    async def json(self, **kwargs: Any) -> Any:
        try:
            return wrap(json.loads(self._consume().decode("utf-8"), **kwargs))
        except (ValueError, UnicodeDecodeError):
            raise JsException("Unexpected token in JSON: the object is not valid JSON", "SyntaxError") from None


# -- conditions and ranges ----------------------------------------------------------------------
def _etags(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    out = []
    for item in items:
        tag = str(item).strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        out.append(tag.strip('"'))
    return out


def conditional_from(only_if: Any) -> dict[str, Any]:
    """An ``onlyIf`` option (an R2Conditional dict or a Headers object) as an R2Conditional dict."""
    if only_if is None:
        return {}
    if isinstance(only_if, Headers):
        cond: dict[str, Any] = {}
        if only_if.has("if-match"):
            cond["etagMatches"] = only_if.get("if-match")
        if only_if.has("if-none-match"):
            cond["etagDoesNotMatch"] = only_if.get("if-none-match")
        if only_if.has("if-modified-since"):
            cond["uploadedAfter"] = only_if.get("if-modified-since")
        if only_if.has("if-unmodified-since"):
            cond["uploadedBefore"] = only_if.get("if-unmodified-since")
        if cond:
            cond["secondsGranularity"] = True  # HTTP dates have whole seconds
        return cond
    if isinstance(only_if, dict):
        return dict(only_if)
    raise JsException(f"onlyIf must be an R2Conditional object or Headers, not {type(only_if).__name__}", "TypeError")


def condition_passes(record: R2Record | None, cond: dict[str, Any]) -> bool:
    """Evaluate an R2Conditional against an object (None: no object) as RFC 7232 orders it."""
    if not cond:
        return True
    if record is None:
        # Nothing to match: If-Match and If-Modified-Since cannot hold.
        return cond.get("etagMatches") is None and cond.get("uploadedAfter") is None
    if_match = None
    if cond.get("etagMatches") is not None:
        tags = _etags(cond["etagMatches"])
        if_match = "*" in tags or record.etag in tags
        if not if_match:
            return False
    if_none_match = None
    if cond.get("etagDoesNotMatch") is not None:
        tags = _etags(cond["etagDoesNotMatch"])
        if_none_match = not ("*" in tags or record.etag in tags)
        if not if_none_match:
            return False
    uploaded = record.uploaded
    if cond.get("secondsGranularity"):
        uploaded = uploaded.replace(microsecond=0)
    # RFC 7232 section 6: the date conditions apply only when the matching etag one is absent.
    if if_match is None and cond.get("uploadedBefore") is not None:
        if uploaded > _to_datetime(cond["uploadedBefore"], "onlyIf.uploadedBefore"):
            return False
    if if_none_match is None and cond.get("uploadedAfter") is not None:
        if uploaded <= _to_datetime(cond["uploadedAfter"], "onlyIf.uploadedAfter"):
            return False
    return True


def resolve_range(spec: Any, size: int) -> dict[str, int]:
    """``{offset, length}`` of a range option (``{offset, length}``, ``{suffix}``, Range header)."""
    if spec is None:
        return {"offset": 0, "length": size}
    if isinstance(spec, Headers):
        header = spec.get("range")
        if header is None:
            return {"offset": 0, "length": size}
        m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
        if m is None or (m[1] == "" and m[2] == ""):
            raise _r2_error("get", "The requested range is not satisfiable", 10039)
        if m[1] == "":
            spec = {"suffix": int(m[2])}
        else:
            spec = {"offset": int(m[1])}
            if m[2] != "":
                spec["length"] = int(m[2]) - int(m[1]) + 1
    if not isinstance(spec, dict):
        raise JsException(f"range must be an R2Range object or Headers, not {type(spec).__name__}", "TypeError")
    for name in ("offset", "length", "suffix"):
        value = spec.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise JsException(f"range.{name} must be a non-negative integer, got {value!r}", "RangeError")
    if spec.get("suffix") is not None:
        if spec.get("offset") is not None or spec.get("length") is not None:
            raise JsException("range: suffix cannot be combined with offset or length", "TypeError")
        length = min(spec["suffix"], size)
        return {"offset": size - length, "length": length}
    offset = spec.get("offset") or 0
    if offset > size or (offset == size and size > 0):
        raise _r2_error("get", "The requested range is not satisfiable", 10039)
    length = spec.get("length")
    length = size - offset if length is None else min(length, size - offset)
    return {"offset": offset, "length": length}


def _body_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if hasattr(value, "to_bytes") and callable(value.to_bytes) and not isinstance(value, (int, bool)):
        return bytes(value.to_bytes())
    raise JsException("put: the value must be a string, ArrayBuffer, ArrayBufferView, ReadableStream, Blob or "
                      f"null (got {type(value).__name__})", "TypeError")


def _http_metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Headers):
        value = {name: value.get(header) for name, header in _HTTP_FIELDS.items() if value.has(header)}
    if not isinstance(value, dict):
        raise JsException(f"httpMetadata must be an object or Headers, not {type(value).__name__}", "TypeError")
    out: dict[str, Any] = {}
    for name in _HTTP_FIELDS:
        v = value.get(name)
        if v is None:
            continue
        if name == "cacheExpiry":
            out[name] = int(_to_datetime(v, "httpMetadata.cacheExpiry").timestamp() * 1000)
        else:
            out[name] = str(v)
    return out


def _custom_metadata(value: Any, op: str) -> dict[str, str]:
    custom_in = value or {}
    if not isinstance(custom_in, dict):
        raise JsException("customMetadata must be an object of string values", "TypeError")
    custom = {str(k): str(v) for k, v in custom_in.items()}
    if sum(len(k.encode()) + len(v.encode()) for k, v in custom.items()) > MAX_METADATA_BYTES:
        raise _r2_error(op, "Your metadata headers exceed the maximum allowed metadata size.", 10012)
    return custom


def _storage_class(value: Any) -> str:
    storage_class = value or "Standard"
    if storage_class not in ("Standard", "InfrequentAccess"):
        raise JsException(f'storageClass must be "Standard" or "InfrequentAccess", got {storage_class!r}',
                          "TypeError")
    return storage_class


def _options(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arg in args:
        if arg is None:
            continue
        if not isinstance(arg, dict):
            raise JsException(f"expected an options object, got {type(arg).__name__}", "TypeError")
        out.update(arg)
    out.update({k: v for k, v in kwargs.items() if v is not None})
    return out


# -- the binding -------------------------------------------------------------------------------
class R2Bucket:
    """The ``env.BUCKET`` binding object: Cloudflare's R2Bucket API."""

    def __init__(self, runtime: Any, binding: str, store: R2Store, *, honor_include: bool = True) -> None:
        self._rt = runtime
        self._binding = binding
        self._store = store
        self._honor_include = honor_include
        self._rng = runtime.rng(f"r2:{store.name}")

    def _trace(self, op: str, **data: Any) -> None:
        self._rt.trace.record("r2", op=op, binding=self._binding, bucket=self._store.name, **data)

    async def head(self, key: str) -> R2Object | None:
        """The object's metadata, or None."""
        _validate_key(key, "head")
        await asyncio.sleep(0)  # an R2 call is I/O: other tasks may run meanwhile
        record = self._store.record(key)
        self._trace("head", key=key, hit=record is not None)
        return R2Object(record) if record is not None else None

    async def get(self, key: str, *args: Any, **kwargs: Any) -> R2ObjectBody | R2Object | None:
        """``get(key, onlyIf=, range=)``: the body, None, or (condition failed) metadata only."""
        _validate_key(key, "get")
        opts = _options(args, kwargs)
        cond = conditional_from(opts.get("onlyIf"))
        await asyncio.sleep(0)
        record = self._store.record(key)
        if record is None:
            self._trace("get", key=key, hit=False)
            return None
        if not condition_passes(record, cond):
            self._trace("get", key=key, hit=True, precondition_failed=True)
            return R2Object(record)
        rng = resolve_range(opts.get("range"), record.size)
        data = record.data[rng["offset"]:rng["offset"] + rng["length"]]
        self._trace("get", key=key, hit=True, size=len(data))
        return R2ObjectBody(record, data, rng)

    async def put(self, key: str, value: Any, *args: Any, **kwargs: Any) -> R2Object | None:
        """Store ``value``; returns the new R2Object, or None when ``onlyIf`` fails."""
        _validate_key(key, "put")
        opts = _options(args, kwargs)
        data = _body_bytes(value)
        if len(data) > MAX_PUT_BYTES:
            raise _r2_error("put", "Your proposed upload exceeds the maximum allowed object size.", 100100)
        custom = _custom_metadata(opts.get("customMetadata"), "put")
        http = _http_metadata(opts.get("httpMetadata"))
        given = [alg for alg in HASH_ALGORITHMS if opts.get(alg) is not None]
        if len(given) > 1:
            raise JsException("You cannot specify multiple hashing algorithms.", "TypeError")
        checksums = {"md5": hashlib.md5(data).hexdigest()}
        for alg in given:
            expected = opts[alg]
            expected_hex = bytes(expected).hex() if isinstance(expected, (bytes, bytearray)) else str(expected).lower()
            actual = hashlib.new(alg, data).hexdigest()
            if expected_hex != actual:
                name = "Content-MD5" if alg == "md5" else alg.upper().replace("SHA", "SHA-")
                raise _r2_error("put", f"The {name} checksum you specified did not match what we received.", 10037)
            checksums[alg] = actual
        storage_class = _storage_class(opts.get("storageClass"))
        cond = conditional_from(opts.get("onlyIf"))
        await asyncio.sleep(0)
        if not condition_passes(self._store.record(key), cond):
            self._trace("put", key=key, precondition_failed=True)
            return None
        record = R2Record(key=key, version=f"{self._rng.getrandbits(128):032x}", data=data,
                          etag=checksums["md5"], uploaded_ms=int(self._rt.clock.wall() * 1000),
                          http_metadata=http, custom_metadata=custom, checksums=checksums,
                          storage_class=storage_class)
        self._store.put(record)
        self._trace("put", key=key, size=len(data), etag=record.etag)
        return R2Object(record, range=None, whole_range=False)

    async def delete(self, keys: str | list[str]) -> None:
        """Delete one key or a list of up to 1000 keys (missing keys are fine)."""
        many = keys if isinstance(keys, (list, tuple)) else [keys]
        if len(many) > DELETE_MAX_KEYS:
            raise _r2_error("delete", f"You can delete at most {DELETE_MAX_KEYS} keys at once "
                            f"(got {len(many)}).", 10022)
        for key in many:
            _validate_key(key, "delete")
        await asyncio.sleep(0)
        self._store.delete(many)
        self._trace("delete", keys=list(many))

    async def list(self, *args: Any, **kwargs: Any) -> Any:
        """``{objects, truncated, cursor?, delimitedPrefixes}``; options as R2ListOptions."""
        opts = _options(args, kwargs)
        limit = opts.get("limit", LIST_DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIST_MAX_LIMIT:
            raise _r2_error("list", "MaxKeys params must be positive integer <= 1000.", 10022)
        prefix = opts.get("prefix") or ""
        delimiter = opts.get("delimiter") or None
        start_after = opts.get("startAfter")
        include = list(opts.get("include") or [])
        for item in include:
            if item not in ("httpMetadata", "customMetadata"):
                raise JsException(f'list: include may hold "httpMetadata" and "customMetadata", not {item!r}',
                                  "TypeError")
        if not self._honor_include:
            include = ["httpMetadata", "customMetadata"]
        after, skip = None, None
        if opts.get("cursor"):
            try:
                state = json.loads(base64.urlsafe_b64decode(str(opts["cursor"]).encode("ascii")))
                after, skip = state["after"], state.get("skip")
            except (ValueError, KeyError, TypeError):
                raise _r2_error("list", "The cursor is not valid: pass the cursor of a previous list() result.",
                                10022) from None
        await asyncio.sleep(0)
        objects: list[R2Object] = []
        prefixes: list[str] = []
        last_key, last_prefix = None, None
        truncated = False
        for key in self._store.keys(prefix):
            if start_after is not None and _utf8(key) <= _utf8(start_after):
                continue
            if after is not None and _utf8(key) <= _utf8(after):
                continue
            if skip is not None and key.startswith(skip):
                continue
            group = None
            if delimiter:
                i = key.find(delimiter, len(prefix))
                if i >= 0:
                    group = key[: i + len(delimiter)]
            if group is not None and (group in prefixes or group == last_prefix):
                continue
            if len(objects) + len(prefixes) >= limit:
                truncated = True
                break
            if group is not None:
                prefixes.append(group)
                last_prefix = group
            else:
                record = self._store.record(key)
                if record is None:  # deleted meanwhile
                    continue
                objects.append(R2Object(record, include=include))
            last_key = key
        result: dict[str, Any] = {"objects": objects, "truncated": truncated, "delimitedPrefixes": prefixes}
        if truncated:
            state = {"after": last_key, "skip": last_prefix}
            result["cursor"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode("ascii")
        self._trace("list", prefix=prefix, count=len(objects), prefixes=len(prefixes), truncated=truncated)
        out = JsObject(result)
        out["objects"] = JsArray(objects)
        out["delimitedPrefixes"] = JsArray(prefixes)
        return out

    async def createMultipartUpload(self, key: str, *args: Any, **kwargs: Any) -> "R2MultipartUpload":  # noqa: N802
        """Start a multipart upload of ``key`` (``httpMetadata``, ``customMetadata``, ``storageClass``)."""
        _validate_key(key, "createMultipartUpload")
        opts = _options(args, kwargs)
        custom = _custom_metadata(opts.get("customMetadata"), "createMultipartUpload")
        http = _http_metadata(opts.get("httpMetadata"))
        storage_class = _storage_class(opts.get("storageClass"))
        await asyncio.sleep(0)
        upload_id = base64.urlsafe_b64encode(self._rng.getrandbits(192).to_bytes(24, "big")).decode("ascii")
        with self._store._lock:
            self._store.uploads[upload_id] = MultipartState(key, upload_id, self._rt.clock.wall(), http, custom,
                                                            storage_class)
        self._trace("createMultipartUpload", key=key, upload_id=upload_id)
        return R2MultipartUpload(self, key, upload_id)

    def resumeMultipartUpload(self, key: str, uploadId: str) -> "R2MultipartUpload":  # noqa: N802, N803
        """The upload ``uploadId`` of ``key``; like Cloudflare, nothing is checked until it is used."""
        _validate_key(key, "resumeMultipartUpload")
        if not isinstance(uploadId, str):
            raise JsException(f"resumeMultipartUpload: uploadId must be a string, not {type(uploadId).__name__}",
                              "TypeError")
        return R2MultipartUpload(self, key, uploadId)

    def _upload(self, key: str, upload_id: str, op: str) -> MultipartState:
        """The live upload, or Cloudflare's NoSuchUpload error (also once 7 days have passed)."""
        state = self._store.uploads.get(upload_id)
        if state is not None and self._rt.clock.wall() >= state.created + MULTIPART_UPLOAD_LIFETIME:
            self._store.uploads.pop(upload_id, None)
            self._trace("abortMultipartUpload", key=state.key, upload_id=upload_id, expired=True)
            state = None
        if state is None or state.key != key:
            raise JsException(f"{op}: The specified multipart upload does not exist. (10024): no upload "
                              f"{upload_id!r} in progress for key {key!r} (completed, aborted, expired after 7 "
                              "days, or never created)", "Error")
        return state

    def __repr__(self) -> str:
        return f"<R2Bucket {self._binding} ({self._store.name})>"


class R2MultipartUpload:
    """An upload in progress: ``key``, ``uploadId``, ``uploadPart``, ``abort``, ``complete``.

    Parts may arrive in any order; ``complete`` joins the listed parts by part number. Every
    part but the last must be the same size, at least 5 MiB; the last may be smaller
    (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2multipartupload-definition).
    The object's etag is S3's: the MD5 of the parts' MD5s, then ``-<number of parts>``, and it
    has no MD5 checksum ("The MD5 checksum will be included by default for non-multipart
    objects").
    """

    def __init__(self, bucket: R2Bucket, key: str, upload_id: str) -> None:
        self._bucket = bucket
        self.key = key
        self.uploadId = upload_id

    async def uploadPart(self, partNumber: int, value: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802, N803
        """Store part ``partNumber`` (1 to 10,000); returns ``{partNumber, etag}``."""
        if isinstance(partNumber, bool) or not isinstance(partNumber, int) or not 1 <= partNumber <= MAX_UPLOAD_PARTS:
            raise JsException(f"uploadPart: partNumber must be an integer from 1 to {MAX_UPLOAD_PARTS}, got "
                              f"{partNumber!r}", "RangeError")
        data = _body_bytes(value)
        if len(data) > MAX_PUT_BYTES:
            raise _r2_error("uploadPart", "Your proposed upload exceeds the maximum allowed object size.", 100100)
        await asyncio.sleep(0)
        bucket = self._bucket
        with bucket._store._lock:
            state = bucket._upload(self.key, self.uploadId, "uploadPart")
            etag = hashlib.md5(data).hexdigest()
            state.parts[partNumber] = (etag, data)  # a part uploaded again replaces the earlier one
        bucket._trace("uploadPart", key=self.key, upload_id=self.uploadId, part=partNumber, size=len(data))
        return wrap({"partNumber": partNumber, "etag": etag})

    async def abort(self) -> None:
        """Abandon the upload and its parts."""
        await asyncio.sleep(0)
        bucket = self._bucket
        with bucket._store._lock:
            bucket._upload(self.key, self.uploadId, "abortMultipartUpload")
            bucket._store.uploads.pop(self.uploadId, None)
        bucket._trace("abortMultipartUpload", key=self.key, upload_id=self.uploadId)

    async def complete(self, uploadedParts: Any) -> R2Object:  # noqa: N803
        """Join the listed parts (``[{partNumber, etag}, ...]``) into the object; returns its R2Object."""
        op = "completeMultipartUpload"
        parts = [to_py(p) for p in (uploadedParts or [])]
        await asyncio.sleep(0)
        bucket = self._bucket
        with bucket._store._lock:
            state = bucket._upload(self.key, self.uploadId, op)
            chosen: list[tuple[int, str, bytes]] = []
            seen: set[int] = set()
            for i, part in enumerate(parts):
                if not isinstance(part, dict) or "partNumber" not in part or "etag" not in part:
                    raise JsException(f"{op}: uploadedParts[{i}] must be an R2UploadedPart "
                                      f"{{partNumber, etag}}, got {part!r}", "TypeError")
                number, etag = part["partNumber"], str(part["etag"]).strip('"')
                stored = state.parts.get(number)
                if stored is None or stored[0] != etag or number in seen:
                    raise JsException(f"{op}: One or more of the specified parts could not be found. (10025): "
                                      f"part {number} with etag {etag!r} was not uploaded"
                                      + (" (listed twice)" if number in seen else ""), "Error")
                seen.add(number)
                chosen.append((number, etag, stored[1]))
            if not chosen:
                raise JsException(f"{op}: There was a problem with the multipart upload. (10048): no parts "
                                  "were given", "Error")
            chosen.sort()
            sizes = [len(data) for _, _, data in chosen]
            for (number, _, _), size in zip(chosen[:-1], sizes[:-1]):
                if size < MIN_PART_BYTES:
                    raise JsException(f"{op}: Your proposed upload is smaller than the minimum allowed object "
                                      f"size. (10011): part {number} is {size} bytes; every part but the last "
                                      f"must be at least {MIN_PART_BYTES} bytes (5 MiB)", "Error")
            if len(set(sizes[:-1])) > 1 or (len(sizes) > 1 and sizes[-1] > sizes[0]):
                raise JsException(f"{op}: There was a problem with the multipart upload. (10048): parts must "
                                  f"be uniform in size, only the last may be smaller (sizes {sizes})", "Error")
            data = b"".join(d for _, _, d in chosen)
            if len(data) > MAX_OBJECT_BYTES:
                raise _r2_error(op, "Your proposed upload exceeds the maximum allowed object size.", 100100)
            digest = hashlib.md5(b"".join(bytes.fromhex(e) for _, e, _ in chosen)).hexdigest()
            record = R2Record(key=self.key, version=f"{bucket._rng.getrandbits(128):032x}", data=data,
                              etag=f"{digest}-{len(chosen)}", uploaded_ms=int(bucket._rt.clock.wall() * 1000),
                              http_metadata=state.http_metadata, custom_metadata=state.custom_metadata,
                              checksums={}, storage_class=state.storage_class)
            bucket._store.put(record)
            bucket._store.uploads.pop(self.uploadId, None)
        bucket._trace(op, key=self.key, upload_id=self.uploadId, parts=len(chosen), size=len(data),
                      etag=record.etag)
        return R2Object(record, range=None, whole_range=False)

    def __repr__(self) -> str:
        return f"<R2MultipartUpload {self.key!r} {self.uploadId}>"


#: Every R2 bucket of one runtime, by bucket name.
R2: ServiceSlot[StoreRegistry[R2Store]] = ServiceSlot(
    "r2", lambda runtime: StoreRegistry(runtime, "r2", "R2", lambda bucket, path: R2Store(bucket, path=path)))


def _honors_include(config: Any) -> bool:
    if "r2_list_honor_include" in config.compatibility_flags:
        return True
    return config.compatibility_date is None or config.compatibility_date >= LIST_HONOR_INCLUDE_DATE


def bind(runtime: Any, worker: Any) -> dict[str, R2Bucket]:
    service = R2.of(runtime)
    out: dict[str, R2Bucket] = {}
    for entry in worker.config.r2_buckets:
        bucket = entry.bucket_name or entry.binding
        out[entry.binding] = R2Bucket(runtime, entry.binding, service.bind(worker.name, entry.binding, bucket),
                                      honor_include=_honors_include(worker.config))
    return out


def r2_bucket(runtime: Any, binding: str, worker: str | None = None) -> R2Store:
    """The bucket behind ``env.<binding>`` of ``worker`` (default: the main Worker)."""
    return R2.of(runtime).bound(binding, worker)


__all__ = ["R2Bucket", "R2MultipartUpload", "R2Object", "R2ObjectBody", "R2Record", "R2", "R2Store", "bind", "r2_bucket",
           "condition_passes", "resolve_range"]


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('r2', ("r2_buckets",), bind)
