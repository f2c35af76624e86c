"""R2 binding: objects, metadata, conditional and ranged reads, listing, limits, persistence."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any, Callable

import pytest

from course.runtime import Runtime, load
from course.runtime.bindings.r2 import R2Object, R2ObjectBody, r2_bucket
from course.workers import Headers, JsException

WRANGLER = """
name = "r2-demo"
main = "src/entry.py"
compatibility_date = "2025-06-01"
compatibility_flags = ["python_workers"]

[[r2_buckets]]
binding = "BUCKET"
bucket_name = "demo-bucket"
"""

# The documented R2 Worker (PUT/GET/DELETE /<key>) in Cloudflare's Python style.
ENTRY = """
from workers import Headers, Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        key = request.url.split("://", 1)[1].split("/", 1)[1]
        if request.method == "PUT":
            obj = await self.env.BUCKET.put(key, await request.bytes(), httpMetadata=request.headers)
            return Response(f"Put {key} successfully!", headers={"etag": obj.httpEtag})
        if request.method == "DELETE":
            await self.env.BUCKET.delete(key)
            return Response("Deleted!")
        obj = await self.env.BUCKET.get(key, onlyIf=request.headers, range=request.headers)
        if obj is None:
            return Response("Object Not Found", status=404)
        headers = Headers()
        obj.writeHttpMetadata(headers)
        headers.set("etag", obj.httpEtag)
        if not hasattr(obj, "body"):
            return Response(None, status=304, headers=headers)
        status = 206 if request.headers.get("range") else 200
        return Response(obj.body, status=status, headers=headers)
"""

FILES = {"wrangler.toml": WRANGLER, "src/entry.py": ENTRY}


@pytest.fixture
def rt(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project(FILES)


def call(rt: Runtime, awaitable: Any) -> Any:
    return rt.call(awaitable)


def test_worker_project_stores_and_serves_objects_with_http_metadata(rt: Runtime) -> None:
    """put() stores the body and Content-Type; get() + writeHttpMetadata() serve them back.
    https://developers.cloudflare.com/r2/api/workers/workers-api-usage/"""
    client = rt.client()
    put = client.put("/docs/a.txt", content=b"hello", headers={"content-type": "text/plain"})
    assert put.text == "Put docs/a.txt successfully!"
    assert put.headers["etag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    r = client.get("/docs/a.txt")
    assert (r.status_code, r.content, r.headers["content-type"]) == (200, b"hello", "text/plain")
    assert client.get("/docs/missing").status_code == 404
    client.delete("/docs/a.txt")
    assert client.get("/docs/a.txt").status_code == 404


def test_if_none_match_returns_metadata_without_body(rt: Runtime) -> None:
    """A failed condition makes get() return an R2Object without body (a 304 for the Worker).
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#conditional-operations"""
    client = rt.client()
    etag = client.put("/x", content=b"data").headers["etag"]
    assert client.get("/x", headers={"if-none-match": etag}).status_code == 304
    assert client.get("/x", headers={"if-none-match": '"other"'}).status_code == 200


def test_range_header_returns_partial_content(rt: Runtime) -> None:
    """A Range header as the range option returns only those bytes.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#ranged-reads"""
    client = rt.client()
    client.put("/digits", content=b"0123456789")
    r = client.get("/digits", headers={"range": "bytes=2-4"})
    assert (r.status_code, r.content) == (206, b"234")
    assert client.get("/digits", headers={"range": "bytes=-3"}).content == b"789"


def test_put_returns_an_r2_object_with_documented_fields(rt: Runtime) -> None:
    """R2Object has key, version, size, etag (unquoted md5), httpEtag (quoted), uploaded, ...
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2object-definition"""
    obj = call(rt, rt.env.BUCKET.put("k", "héllo", customMetadata={"owner": "ada"},
                                     httpMetadata={"contentType": "text/plain", "cacheControl": "max-age=60"}))
    digest = hashlib.md5("héllo".encode()).hexdigest()
    assert isinstance(obj, R2Object) and obj.key == "k" and obj.size == 6
    assert obj.etag == digest and obj.httpEtag == f'"{digest}"' and obj["etag"] == digest
    assert obj.uploaded == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert obj.customMetadata == {"owner": "ada"} and obj.httpMetadata.contentType == "text/plain"
    assert bytes(obj.checksums.md5).hex() == digest and len(obj.version) == 32
    assert obj.storageClass == "Standard"


def test_each_put_gets_a_new_version(rt: Runtime) -> None:
    """version is a unique string per upload of a key.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2object-definition"""
    v1 = call(rt, rt.env.BUCKET.put("k", "a")).version
    v2 = call(rt, rt.env.BUCKET.put("k", "a")).version
    assert v1 != v2


def test_get_returns_a_body_readable_once(rt: Runtime) -> None:
    """R2ObjectBody offers text(), json(), arrayBuffer(); the body can be consumed once.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2objectbody-definition"""
    call(rt, rt.env.BUCKET.put("cfg.json", '{"a": [1, 2]}'))
    obj = call(rt, rt.env.BUCKET.get("cfg.json"))
    assert isinstance(obj, R2ObjectBody) and obj.bodyUsed is False
    assert call(rt, obj.json()).a == [1, 2] and obj.bodyUsed is True
    with pytest.raises(JsException, match="already been used"):
        call(rt, obj.text())
    again = call(rt, rt.env.BUCKET.get("cfg.json"))
    assert bytes(call(rt, again.arrayBuffer())) == b'{"a": [1, 2]}'


def test_get_and_head_of_missing_key_return_none(rt: Runtime) -> None:
    """get() and head() resolve to null when the key does not exist.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#bucket-method-definitions"""
    assert call(rt, rt.env.BUCKET.get("nope")) is None
    assert call(rt, rt.env.BUCKET.head("nope")) is None


def test_head_returns_metadata_only(rt: Runtime) -> None:
    """head() returns the R2Object without a body.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#bucket-method-definitions"""
    call(rt, rt.env.BUCKET.put("k", "abc"))
    obj = call(rt, rt.env.BUCKET.head("k"))
    assert obj.size == 3 and not hasattr(obj, "body")


def test_put_with_failing_only_if_returns_none_and_stores_nothing(rt: Runtime) -> None:
    """If a put() precondition fails, put() returns null and the object is not stored.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#conditional-operations"""
    first = call(rt, rt.env.BUCKET.put("k", "v1"))
    assert call(rt, rt.env.BUCKET.put("k", "v2", onlyIf={"etagMatches": "not-the-etag"})) is None
    assert r2_bucket(rt, "BUCKET").get("k") == b"v1"
    assert call(rt, rt.env.BUCKET.put("k", "v3", onlyIf={"etagMatches": first.etag})) is not None
    # create-only: etagDoesNotMatch "*" fails when the key exists, passes when it does not
    assert call(rt, rt.env.BUCKET.put("k", "v4", onlyIf={"etagDoesNotMatch": "*"})) is None
    assert call(rt, rt.env.BUCKET.put("new", "v", onlyIf={"etagDoesNotMatch": "*"})) is not None
    assert call(rt, rt.env.BUCKET.put("other", "v", onlyIf={"etagMatches": "*"})) is None


def test_uploaded_conditions_compare_upload_time(rt: Runtime) -> None:
    """uploadedBefore / uploadedAfter compare with the upload time (virtual clock).
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#conditional-operations"""
    call(rt, rt.env.BUCKET.put("k", "v"))
    uploaded = call(rt, rt.env.BUCKET.head("k")).uploaded
    later = uploaded + dt.timedelta(hours=1)
    assert hasattr(call(rt, rt.env.BUCKET.get("k", onlyIf={"uploadedBefore": later})), "body")
    assert not hasattr(call(rt, rt.env.BUCKET.get("k", onlyIf={"uploadedAfter": later})), "body")
    headers = Headers({"if-modified-since": "Thu, 01 Jan 2026 00:00:00 GMT"})
    assert not hasattr(call(rt, rt.env.BUCKET.get("k", onlyIf=headers)), "body")  # not modified since


def test_ranges_by_offset_length_and_suffix(rt: Runtime) -> None:
    """range takes {offset, length}, {offset}, {length} or {suffix}; range is reported.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#ranged-reads"""
    call(rt, rt.env.BUCKET.put("k", "0123456789"))

    def read(rng: dict[str, int]) -> tuple[str, dict[str, int]]:
        obj = call(rt, rt.env.BUCKET.get("k", range=rng))
        return call(rt, obj.text()), obj.range

    assert read({"offset": 2, "length": 3}) == ("234", {"offset": 2, "length": 3})
    assert read({"offset": 7}) == ("789", {"offset": 7, "length": 3})
    assert read({"length": 2}) == ("01", {"offset": 0, "length": 2})
    assert read({"suffix": 4}) == ("6789", {"offset": 6, "length": 4})
    assert read({"offset": 8, "length": 100})[0] == "89"
    with pytest.raises(JsException, match="range is not satisfiable"):
        call(rt, rt.env.BUCKET.get("k", range={"offset": 11}))


def test_delete_accepts_one_key_or_a_list(rt: Runtime) -> None:
    """delete() takes a key or an array of keys; missing keys are fine.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#bucket-method-definitions"""
    for key in ("a", "b", "c"):
        call(rt, rt.env.BUCKET.put(key, "x"))
    call(rt, rt.env.BUCKET.delete("a"))
    call(rt, rt.env.BUCKET.delete(["b", "zzz"]))
    assert r2_bucket(rt, "BUCKET").keys() == ["c"]
    with pytest.raises(JsException, match="at most 1000 keys"):
        call(rt, rt.env.BUCKET.delete([f"k{i}" for i in range(1001)]))


def test_list_pages_with_limit_cursor_and_truncated(rt: Runtime) -> None:
    """list() returns objects in lexicographic order, truncated and a cursor while more remain.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2listoptions"""
    for key in ("c", "a", "e", "b", "d"):
        call(rt, rt.env.BUCKET.put(key, "x"))
    page = call(rt, rt.env.BUCKET.list(limit=2))
    assert [o.key for o in page.objects] == ["a", "b"] and page.truncated is True
    page = call(rt, rt.env.BUCKET.list({"limit": 2, "cursor": page.cursor}))
    assert [o.key for o in page.objects] == ["c", "d"]
    page = call(rt, rt.env.BUCKET.list(limit=2, cursor=page.cursor))
    assert [o.key for o in page.objects] == ["e"] and page.truncated is False and "cursor" not in page


def test_list_limit_must_be_between_1_and_1000(rt: Runtime) -> None:
    """limit defaults to 1000 with a maximum of 1000.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2listoptions"""
    with pytest.raises(JsException, match=r"MaxKeys params must be positive integer <= 1000. \(10022\)"):
        call(rt, rt.env.BUCKET.list(limit=1001))


def test_list_groups_keys_by_delimiter_into_delimited_prefixes(rt: Runtime) -> None:
    """With a delimiter, keys below the next delimiter are grouped into delimitedPrefixes.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2objects"""
    for key in ("photos/2025/a.jpg", "photos/2025/b.jpg", "photos/2026/c.jpg", "photos/index.html", "readme"):
        call(rt, rt.env.BUCKET.put(key, "x"))
    top = call(rt, rt.env.BUCKET.list(delimiter="/"))
    assert [o.key for o in top.objects] == ["readme"] and top.delimitedPrefixes == ["photos/"]
    inner = call(rt, rt.env.BUCKET.list(prefix="photos/", delimiter="/"))
    assert [o.key for o in inner.objects] == ["photos/index.html"]
    assert inner.delimitedPrefixes == ["photos/2025/", "photos/2026/"]
    paged = call(rt, rt.env.BUCKET.list(prefix="photos/", delimiter="/", limit=1))
    rest = call(rt, rt.env.BUCKET.list(prefix="photos/", delimiter="/", cursor=paged.cursor))
    assert paged.delimitedPrefixes == ["photos/2025/"]
    assert rest.delimitedPrefixes == ["photos/2026/"] and [o.key for o in rest.objects] == ["photos/index.html"]


def test_list_start_after_and_prefix(rt: Runtime) -> None:
    """startAfter skips keys up to and including it; prefix filters.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2listoptions"""
    for key in ("a1", "a2", "a3", "b1"):
        call(rt, rt.env.BUCKET.put(key, "x"))
    listed = call(rt, rt.env.BUCKET.list(prefix="a", startAfter="a1"))
    assert [o.key for o in listed.objects] == ["a2", "a3"]


def test_list_includes_metadata_only_when_asked(rt: Runtime) -> None:
    """Listed objects carry httpMetadata/customMetadata only if `include` names them
    (compatibility date 2022-08-04 or later).
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2listoptions"""
    call(rt, rt.env.BUCKET.put("k", "x", customMetadata={"a": "1"}, httpMetadata={"contentType": "text/plain"}))
    plain = call(rt, rt.env.BUCKET.list()).objects[0]
    assert plain.customMetadata is None and plain.httpMetadata is None
    full = call(rt, rt.env.BUCKET.list(include=["customMetadata"])).objects[0]
    assert full.customMetadata == {"a": "1"} and full.httpMetadata is None


def test_key_longer_than_1024_bytes_is_rejected(rt: Runtime) -> None:
    """Object keys are at most 1,024 bytes.
    https://developers.cloudflare.com/r2/platform/limits/"""
    call(rt, rt.env.BUCKET.put("k" * 1024, "ok"))
    with pytest.raises(JsException, match=r"put: The specified object name is not valid. \(10020\)"):
        call(rt, rt.env.BUCKET.put("k" * 1025, "x"))


def test_custom_metadata_over_8192_bytes_is_rejected(rt: Runtime) -> None:
    """Object metadata is at most 8,192 bytes.
    https://developers.cloudflare.com/r2/platform/limits/"""
    call(rt, rt.env.BUCKET.put("k", "x", customMetadata={"m": "x" * 8191}))
    with pytest.raises(JsException, match=r"metadata headers exceed the maximum allowed metadata size. \(10012\)"):
        call(rt, rt.env.BUCKET.put("k", "x", customMetadata={"m": "x" * 8192}))


def test_checksum_mismatch_is_rejected_and_match_is_recorded(rt: Runtime) -> None:
    """A given md5/sha256 must match the body; the checksum is then stored.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2putoptions"""
    good = hashlib.sha256(b"data").hexdigest()
    obj = call(rt, rt.env.BUCKET.put("k", b"data", sha256=good))
    assert bytes(obj.checksums.sha256).hex() == good
    with pytest.raises(JsException, match=r"The Content-MD5 checksum you specified did not match"):
        call(rt, rt.env.BUCKET.put("k", b"data", md5="0" * 32))
    with pytest.raises(JsException, match="multiple hashing algorithms"):
        call(rt, rt.env.BUCKET.put("k", b"data", md5=hashlib.md5(b"data").hexdigest(), sha256=good))


def test_every_operation_records_an_r2_trace_event(rt: Runtime) -> None:
    """put, get, head, list and delete each appear in the trace with op and key."""
    call(rt, rt.env.BUCKET.put("k", "x"))
    call(rt, rt.env.BUCKET.get("k"))
    call(rt, rt.env.BUCKET.head("k"))
    call(rt, rt.env.BUCKET.list())
    call(rt, rt.env.BUCKET.delete("k"))
    assert [e.op for e in rt.trace.events("r2")] == ["put", "get", "head", "list", "delete"]
    assert rt.trace.events("r2")[0].key == "k" and rt.trace.events("r2")[0].bucket == "demo-bucket"


def test_persisted_bucket_survives_a_restart(make_project: Callable[..., Path], tmp_path: Path) -> None:
    """With persist_to, objects and their metadata are read back by a new runtime.
    https://developers.cloudflare.com/workers/development-testing/local-data/"""
    project = make_project(FILES)
    state = tmp_path / "state"
    with load(project, virtual_time=True, persist_to=state) as rt1:
        rt1.client().put("/kept.txt", content=b"yes", headers={"content-type": "text/plain"})
    with load(project, virtual_time=True, persist_to=state) as rt2:
        r = rt2.client().get("/kept.txt")
        assert (r.content, r.headers["content-type"]) == (b"yes", "text/plain")


MIB = 1024 * 1024


def test_multipart_upload_joins_parts_in_part_number_order(rt: Runtime) -> None:
    """createMultipartUpload + uploadPart (any order) + complete stores the joined object, with an
    S3-style etag "<md5 of part md5s>-<parts>" and no MD5 checksum.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2multipartupload-definition"""
    part1, part2, last = b"a" * (5 * MIB), b"b" * (5 * MIB), b"tail"
    upload = call(rt, rt.env.BUCKET.createMultipartUpload("big.bin", customMetadata={"k": "v"},
                                                          httpMetadata={"contentType": "application/x"}))
    assert upload.key == "big.bin" and isinstance(upload.uploadId, str) and upload.uploadId
    p3 = call(rt, upload.uploadPart(3, last))
    p1 = call(rt, upload.uploadPart(1, part1))
    # Another invocation resumes the same upload from its id.
    p2 = call(rt, rt.env.BUCKET.resumeMultipartUpload("big.bin", upload.uploadId).uploadPart(2, part2))
    assert (p1.partNumber, p1.etag) == (1, hashlib.md5(part1).hexdigest())
    assert r2_bucket(rt, "BUCKET").get("big.bin") is None  # nothing visible before complete()
    obj = call(rt, upload.complete([p3, p1, p2]))
    digest = hashlib.md5(bytes.fromhex(p1.etag) + bytes.fromhex(p2.etag) + bytes.fromhex(p3.etag)).hexdigest()
    assert obj.etag == f"{digest}-3" and obj.httpEtag == f'"{digest}-3"' and obj.size == 10 * MIB + 4
    assert obj.customMetadata.k == "v" and obj.httpMetadata.contentType == "application/x"
    assert obj.checksums.to_py() == {}
    assert r2_bucket(rt, "BUCKET").get("big.bin") == part1 + part2 + last


def test_multipart_parts_except_the_last_must_be_at_least_5_mib(rt: Runtime) -> None:
    """Every part but the last must be at least 5 MiB.
    https://developers.cloudflare.com/r2/api/workers/workers-multipart-usage/"""
    upload = call(rt, rt.env.BUCKET.createMultipartUpload("k"))
    parts = [call(rt, upload.uploadPart(1, b"small")), call(rt, upload.uploadPart(2, b"last"))]
    with pytest.raises(JsException, match=r"smaller than the minimum allowed object size. \(10011\): part 1"):
        call(rt, upload.complete(parts))
    # A single small part is fine: it is also the last one.
    single = call(rt, rt.env.BUCKET.createMultipartUpload("one"))
    obj = call(rt, single.complete([call(rt, single.uploadPart(1, b"tiny"))]))
    assert obj.size == 4 and obj.etag.endswith("-1")


def test_multipart_parts_must_be_uniform_in_size(rt: Runtime) -> None:
    """Each part must be the same size, except the final one, which can be smaller.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2multipartupload-definition"""
    upload = call(rt, rt.env.BUCKET.createMultipartUpload("k"))
    parts = [call(rt, upload.uploadPart(1, b"a" * (5 * MIB))), call(rt, upload.uploadPart(2, b"b" * (5 * MIB + 1)))]
    with pytest.raises(JsException, match=r"problem with the multipart upload. \(10048\)"):
        call(rt, upload.complete(parts))


def test_multipart_complete_rejects_unknown_parts_and_etags(rt: Runtime) -> None:
    """complete() takes the R2UploadedPart objects uploadPart() returned; others are not found.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2uploadedpart"""
    upload = call(rt, rt.env.BUCKET.createMultipartUpload("k"))
    call(rt, upload.uploadPart(1, b"x"))
    with pytest.raises(JsException, match=r"parts could not be found. \(10025\)"):
        call(rt, upload.complete([{"partNumber": 1, "etag": "0" * 32}]))
    with pytest.raises(JsException, match=r"\(10025\)"):
        call(rt, upload.complete([{"partNumber": 2, "etag": hashlib.md5(b"x").hexdigest()}]))
    with pytest.raises(JsException, match="partNumber must be an integer from 1 to 10000"):
        call(rt, upload.uploadPart(10001, b"x"))


def test_aborted_or_completed_upload_no_longer_exists(rt: Runtime) -> None:
    """After abort() or complete(), the upload id is gone; resumeMultipartUpload checks nothing
    until the upload is used.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#bucket-method-definitions"""
    upload = call(rt, rt.env.BUCKET.createMultipartUpload("k"))
    call(rt, upload.uploadPart(1, b"x"))
    call(rt, upload.abort())
    with pytest.raises(JsException, match=r"The specified multipart upload does not exist. \(10024\)"):
        call(rt, upload.uploadPart(2, b"y"))
    ghost = rt.env.BUCKET.resumeMultipartUpload("k", "no-such-upload")  # no error yet
    with pytest.raises(JsException, match=r"\(10024\)"):
        call(rt, ghost.complete([]))
    done = call(rt, rt.env.BUCKET.createMultipartUpload("k"))
    call(rt, done.complete([call(rt, done.uploadPart(1, b"z"))]))
    with pytest.raises(JsException, match=r"\(10024\)"):
        call(rt, done.uploadPart(1, b"again"))
    assert "k" in r2_bucket(rt, "BUCKET") and "abortMultipartUpload" in [e.op for e in rt.trace.events("r2")]


def test_uncompleted_multipart_upload_is_aborted_after_7_days(rt: Runtime) -> None:
    """Uncompleted multipart uploads are automatically aborted after 7 days.
    https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2multipartupload-definition"""
    upload = call(rt, rt.env.BUCKET.createMultipartUpload("k"))
    part = call(rt, upload.uploadPart(1, b"x"))
    rt.clock.advance(7 * 24 * 3600 - 1)
    call(rt, upload.uploadPart(1, b"x"))
    rt.clock.advance(1)
    with pytest.raises(JsException, match=r"does not exist. \(10024\).*expired after 7 days"):
        call(rt, upload.complete([part]))
