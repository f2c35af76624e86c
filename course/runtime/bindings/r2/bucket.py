"""The ``env.BUCKET`` binding: Cloudflare's R2Bucket API over one bucket's store.

``head``, ``get``, ``put``, ``delete``, ``list`` and the start of multipart uploads
(``createMultipartUpload``, ``resumeMultipartUpload``; the upload itself is :mod:`.multipart`).
Every call is I/O on Cloudflare, so each yields to the event loop once before it acts.
Reference: https://developers.cloudflare.com/r2/api/workers/workers-api-reference/.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

from course.runtime.bindings.r2.arguments import (MAX_PUT_BYTES, body_bytes, parse_custom_metadata,
                                                  parse_http_metadata, parse_options, parse_storage_class,
                                                  r2_error, validate_key)
from course.runtime.bindings.r2.conditions import condition_passes, conditional_from, resolve_range
from course.runtime.bindings.r2.multipart import R2MultipartUpload
from course.runtime.bindings.r2.objects import R2Object, R2ObjectBody
from course.runtime.bindings.r2.store import MultipartState, R2Record, R2Store, key_order
from course.workers.jsproxy import JsArray, JsException, JsObject
from course.runtime.kernel.runtime import Kernel

# https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2listoptions:
# "Defaults to 1000, with a maximum of 1000".
LIST_DEFAULT_LIMIT = 1000
LIST_MAX_LIMIT = 1000
#: delete() takes up to 1000 keys (the S3 DeleteObjects maximum R2 applies to the binding).
DELETE_MAX_KEYS = 1000
#: The checksums ``put`` accepts (at most one per call); the MD5 is always computed.
HASH_ALGORITHMS = ("md5", "sha1", "sha256", "sha384", "sha512")


class R2Bucket:
    """The ``env.BUCKET`` binding object: Cloudflare's R2Bucket API."""

    def __init__(self, runtime: Kernel, binding: str, store: R2Store, *, honor_include: bool = True) -> None:
        self._rt = runtime
        self._binding = binding
        self._store = store
        self._honor_include = honor_include
        self._rng = runtime.rng(f"r2:{store.name}")

    def _trace(self, op: str, **data: Any) -> None:
        self._rt.trace.record("r2", op=op, binding=self._binding, bucket=self._store.name, **data)

    async def head(self, key: str) -> R2Object | None:
        """The object's metadata, or None."""
        validate_key(key, "head")
        await asyncio.sleep(0)  # an R2 call is I/O: other tasks may run meanwhile
        record = self._store.record(key)
        self._trace("head", key=key, hit=record is not None)
        return R2Object(record) if record is not None else None

    async def get(self, key: str, *args: Any, **kwargs: Any) -> R2ObjectBody | R2Object | None:
        """``get(key, onlyIf=, range=)``: the body, None, or (condition failed) metadata only."""
        validate_key(key, "get")
        opts = parse_options(args, kwargs)
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
        validate_key(key, "put")
        opts = parse_options(args, kwargs)
        data = body_bytes(value)
        if len(data) > MAX_PUT_BYTES:
            raise r2_error("put", "Your proposed upload exceeds the maximum allowed object size.", 100100)
        custom = parse_custom_metadata(opts.get("customMetadata"), "put")
        http = parse_http_metadata(opts.get("httpMetadata"))
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
                raise r2_error("put", f"The {name} checksum you specified did not match what we received.", 10037)
            checksums[alg] = actual
        storage_class = parse_storage_class(opts.get("storageClass"))
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
            raise r2_error("delete", f"You can delete at most {DELETE_MAX_KEYS} keys at once "
                           f"(got {len(many)}).", 10022)
        for key in many:
            validate_key(key, "delete")
        await asyncio.sleep(0)
        self._store.delete(many)
        self._trace("delete", keys=list(many))

    async def list(self, *args: Any, **kwargs: Any) -> Any:
        """``{objects, truncated, cursor?, delimitedPrefixes}``; options as R2ListOptions."""
        opts = parse_options(args, kwargs)
        limit = opts.get("limit", LIST_DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIST_MAX_LIMIT:
            raise r2_error("list", "MaxKeys params must be positive integer <= 1000.", 10022)
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
                raise r2_error("list", "The cursor is not valid: pass the cursor of a previous list() result.",
                               10022) from None
        await asyncio.sleep(0)
        objects: list[R2Object] = []
        prefixes: list[str] = []
        last_key, last_prefix = None, None
        truncated = False
        for key in self._store.keys(prefix):
            if start_after is not None and key_order(key) <= key_order(start_after):
                continue
            if after is not None and key_order(key) <= key_order(after):
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

    async def createMultipartUpload(self, key: str, *args: Any, **kwargs: Any) -> R2MultipartUpload:  # noqa: N802
        """Start a multipart upload of ``key`` (``httpMetadata``, ``customMetadata``, ``storageClass``)."""
        validate_key(key, "createMultipartUpload")
        opts = parse_options(args, kwargs)
        custom = parse_custom_metadata(opts.get("customMetadata"), "createMultipartUpload")
        http = parse_http_metadata(opts.get("httpMetadata"))
        storage_class = parse_storage_class(opts.get("storageClass"))
        await asyncio.sleep(0)
        upload_id = base64.urlsafe_b64encode(self._rng.getrandbits(192).to_bytes(24, "big")).decode("ascii")
        with self._store._lock:
            self._store.uploads[upload_id] = MultipartState(key, upload_id, self._rt.clock.wall(), http, custom,
                                                            storage_class)
        self._trace("createMultipartUpload", key=key, upload_id=upload_id)
        return R2MultipartUpload(self._rt, self._store, key, upload_id, self._rng, self._trace)

    def resumeMultipartUpload(self, key: str, uploadId: str) -> R2MultipartUpload:  # noqa: N802, N803
        """The upload ``uploadId`` of ``key``; like Cloudflare, nothing is checked until it is used."""
        validate_key(key, "resumeMultipartUpload")
        if not isinstance(uploadId, str):
            raise JsException(f"resumeMultipartUpload: uploadId must be a string, not {type(uploadId).__name__}",
                              "TypeError")
        return R2MultipartUpload(self._rt, self._store, key, uploadId, self._rng, self._trace)

    def __repr__(self) -> str:
        return f"<R2Bucket {self._binding} ({self._store.name})>"
