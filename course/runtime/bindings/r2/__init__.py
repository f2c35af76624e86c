"""R2: the ``r2_buckets`` binding, a strongly consistent object store with Cloudflare's API.

The binding (``self.env.BUCKET``) has Cloudflare's methods: ``put`` (``httpMetadata``,
``customMetadata``, ``md5``/``sha1``/``sha256``/``sha384``/``sha512``, ``onlyIf``) returning an
``R2Object`` (None when ``onlyIf`` fails), ``get`` (``onlyIf``, ``range``) returning an
``R2ObjectBody``, None for a missing key, or an ``R2Object`` without body when ``onlyIf`` fails,
``head``, ``delete`` (one key or up to 1000), ``list`` (``prefix``, ``limit``, ``cursor``,
``delimiter``, ``startAfter``, ``include``) and multipart uploads (``createMultipartUpload``,
``resumeMultipartUpload`` -> ``R2MultipartUpload`` with ``uploadPart``, ``abort``, ``complete``;
uploads in progress live in memory and are aborted after 7 days on the runtime clock).
Conditions follow RFC 7232 and may be given as an ``R2Conditional`` dict or as a ``Headers``
object (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since); ranges as ``{offset, length}``, ``{suffix}`` or a ``Range`` header.
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

One module per job (as Miniflare keeps one folder per binding): :mod:`.store` (records, the
bucket's store), :mod:`.arguments` (checking what Worker code passes), :mod:`.objects`
(``R2Object``/``R2ObjectBody``), :mod:`.conditions` (``onlyIf`` and ranges), :mod:`.bucket` (the
``R2Bucket`` API), :mod:`.multipart` (``R2MultipartUpload``) and :mod:`.plugin` (the wiring).
This package re-exports their public names.
"""
from __future__ import annotations

from course.runtime.bindings.r2.arguments import MAX_KEY_BYTES, MAX_METADATA_BYTES, MAX_PUT_BYTES
from course.runtime.bindings.r2.bucket import DELETE_MAX_KEYS, HASH_ALGORITHMS, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, R2Bucket
from course.runtime.bindings.r2.conditions import condition_passes, conditional_from, resolve_range
from course.runtime.bindings.r2.multipart import (MAX_OBJECT_BYTES, MAX_UPLOAD_PARTS, MIN_PART_BYTES,
                                                  MULTIPART_UPLOAD_LIFETIME, R2MultipartUpload)
from course.runtime.bindings.r2.objects import R2Object, R2ObjectBody
from course.runtime.bindings.r2.plugin import LIST_HONOR_INCLUDE_DATE, PLUGIN, R2, bind, r2_bucket
from course.runtime.bindings.r2.store import MultipartState, R2Record, R2Store

__all__ = ["R2Bucket", "R2MultipartUpload", "R2Object", "R2ObjectBody", "R2Record", "R2", "R2Store", "bind", "r2_bucket",
           "condition_passes", "resolve_range", "conditional_from", "MultipartState", "PLUGIN",
           "MAX_KEY_BYTES", "MAX_METADATA_BYTES", "MAX_PUT_BYTES", "LIST_DEFAULT_LIMIT", "LIST_MAX_LIMIT",
           "DELETE_MAX_KEYS", "LIST_HONOR_INCLUDE_DATE", "MAX_UPLOAD_PARTS", "MIN_PART_BYTES", "MAX_OBJECT_BYTES",
           "MULTIPART_UPLOAD_LIFETIME", "HASH_ALGORITHMS"]
