"""R2 multipart uploads: parts uploaded separately, then joined into one object (``R2MultipartUpload``).

An upload is started by ``R2Bucket.createMultipartUpload`` (or found again by
``resumeMultipartUpload``) and lives in the bucket's store, in memory only, until it is
completed, aborted, or 7 days old on the runtime clock.
Reference: https://developers.cloudflare.com/r2/api/workers/workers-multipart-usage/.
"""
from __future__ import annotations

import asyncio
import hashlib
import random
from typing import Any, Callable

from course.runtime.bindings.r2.arguments import MAX_PUT_BYTES, body_bytes, r2_error
from course.runtime.bindings.r2.objects import R2Object
from course.runtime.bindings.r2.store import MultipartState, R2Record, R2Store
from course.workers.jsproxy import JsException, to_py, wrap
from course.runtime.kernel.runtime import Kernel

#: "Maximum upload parts: 10,000" (https://developers.cloudflare.com/r2/platform/limits/); part
#: numbers run from 1 to this.
MAX_UPLOAD_PARTS = 10_000
#: Every part but the last must be at least 5 MiB
#: (https://developers.cloudflare.com/r2/api/workers/workers-multipart-usage/: "5MB is the
#: minimum part size, except for the last part").
MIN_PART_BYTES = 5 * 1024**2
#: Object size: 5 TiB less 5 GiB (https://developers.cloudflare.com/r2/platform/limits/, note 2).
MAX_OBJECT_BYTES = 5 * 1024**4 - 5 * 1024**3
#: "Uncompleted multipart uploads will be automatically aborted after 7 days"
#: (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2multipartupload-definition).
MULTIPART_UPLOAD_LIFETIME = 7 * 24 * 3600


class R2MultipartUpload:
    """An upload in progress: ``key``, ``uploadId``, ``uploadPart``, ``abort``, ``complete``.

    Parts may arrive in any order; ``complete`` joins the listed parts by part number. Every
    part but the last must be the same size, at least 5 MiB; the last may be smaller
    (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2multipartupload-definition).
    The object's etag is S3's: the MD5 of the parts' MD5s, then ``-<number of parts>``, and it
    has no MD5 checksum ("The MD5 checksum will be included by default for non-multipart
    objects").
    """

    def __init__(self, runtime: Kernel, store: R2Store, key: str, upload_id: str, rng: random.Random,
                 trace: Callable[..., None]) -> None:
        self._rt = runtime
        self._store = store
        self._rng = rng  # the bucket's stream: versions of uploaded objects come from it too
        self._trace = trace
        self.key = key
        self.uploadId = upload_id

    def _live(self, op: str) -> MultipartState:
        """The upload's state, or Cloudflare's NoSuchUpload error (also once 7 days have passed)."""
        state = self._store.uploads.get(self.uploadId)
        if state is not None and self._rt.clock.wall() >= state.created + MULTIPART_UPLOAD_LIFETIME:
            self._store.uploads.pop(self.uploadId, None)
            self._trace("abortMultipartUpload", key=state.key, upload_id=self.uploadId, expired=True)
            state = None
        if state is None or state.key != self.key:
            raise JsException(f"{op}: The specified multipart upload does not exist. (10024): no upload "
                              f"{self.uploadId!r} in progress for key {self.key!r} (completed, aborted, expired "
                              "after 7 days, or never created)", "Error")
        return state

    async def uploadPart(self, partNumber: int, value: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802, N803
        """Store part ``partNumber`` (1 to 10,000); returns ``{partNumber, etag}``."""
        if isinstance(partNumber, bool) or not isinstance(partNumber, int) or not 1 <= partNumber <= MAX_UPLOAD_PARTS:
            raise JsException(f"uploadPart: partNumber must be an integer from 1 to {MAX_UPLOAD_PARTS}, got "
                              f"{partNumber!r}", "RangeError")
        data = body_bytes(value)
        if len(data) > MAX_PUT_BYTES:
            raise r2_error("uploadPart", "Your proposed upload exceeds the maximum allowed object size.", 100100)
        await asyncio.sleep(0)
        with self._store._lock:
            state = self._live("uploadPart")
            etag = hashlib.md5(data).hexdigest()
            state.parts[partNumber] = (etag, data)  # a part uploaded again replaces the earlier one
        self._trace("uploadPart", key=self.key, upload_id=self.uploadId, part=partNumber, size=len(data))
        return wrap({"partNumber": partNumber, "etag": etag})

    async def abort(self) -> None:
        """Abandon the upload and its parts."""
        await asyncio.sleep(0)
        with self._store._lock:
            self._live("abortMultipartUpload")
            self._store.uploads.pop(self.uploadId, None)
        self._trace("abortMultipartUpload", key=self.key, upload_id=self.uploadId)

    async def complete(self, uploadedParts: Any) -> R2Object:  # noqa: N803
        """Join the listed parts (``[{partNumber, etag}, ...]``) into the object; returns its R2Object."""
        op = "completeMultipartUpload"
        parts = [to_py(p) for p in (uploadedParts or [])]
        await asyncio.sleep(0)
        with self._store._lock:
            state = self._live(op)
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
                raise r2_error(op, "Your proposed upload exceeds the maximum allowed object size.", 100100)
            digest = hashlib.md5(b"".join(bytes.fromhex(e) for _, e, _ in chosen)).hexdigest()
            record = R2Record(key=self.key, version=f"{self._rng.getrandbits(128):032x}", data=data,
                              etag=f"{digest}-{len(chosen)}", uploaded_ms=int(self._rt.clock.wall() * 1000),
                              http_metadata=state.http_metadata, custom_metadata=state.custom_metadata,
                              checksums={}, storage_class=state.storage_class)
            self._store.put(record)
            self._store.uploads.pop(self.uploadId, None)
        self._trace(op, key=self.key, upload_id=self.uploadId, parts=len(chosen), size=len(data),
                    etag=record.etag)
        return R2Object(record, range=None, whole_range=False)

    def __repr__(self) -> str:
        return f"<R2MultipartUpload {self.key!r} {self.uploadId}>"
