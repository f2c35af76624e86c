"""Streamed bodies: ASGI ``StreamingResponse`` and WSGI generators reach the reader chunk by chunk,
and a streamed request body reaches an ASGI or WSGI app chunk by chunk (all on the virtual clock).

The project is tests/projects/streaming (FastAPI + Flask, written for these tests).
"""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from course.runtime import load

PROJECT = Path(__file__).resolve().parents[1] / "projects" / "streaming"


@pytest.fixture
def rt(tmp_path, runtimes):
    folder = tmp_path / "streaming"
    shutil.copytree(PROJECT, folder)
    runtime = load(folder, virtual_time=True)
    runtimes.append(runtime)
    return runtime


@pytest.mark.parametrize("app, path", [("asgi", "ticks"), ("wsgi", "wsgi/ticks")])
def test_first_chunk_arrives_before_the_last_is_produced(rt, app, path):
    report = rt.client().get(f"/read/{path}").json()
    arrivals, produced = report["arrivals"], [p for p in report["produced"] if p[0] == app]
    assert [text for text, _ in arrivals] == ["tick 0\n", "tick 1\n", "tick 2\n"]
    assert [i for _, i, _ in produced] == [0, 1, 2]
    # each chunk is read the moment it is produced, a virtual second apart
    assert arrivals[0][1] < produced[2][2]
    assert [t for _, t in arrivals] == [t for _, _, t in produced]
    assert produced[2][2] - produced[0][2] == pytest.approx(2.0)


@pytest.mark.parametrize("path", ["/ticks", "/wsgi/ticks"])
def test_a_client_receives_the_whole_streamed_body(rt, path):
    r = rt.client().get(path)
    assert r.status_code == 200 and r.text == "tick 0\ntick 1\ntick 2\n"
    assert r.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/upload", "/wsgi/upload"])
def test_a_streamed_request_body_reaches_the_app_in_chunks(rt, path):
    chunks = rt.client().get(path).json()["chunks"]
    assert [text for text, _ in chunks] == ["a", "bb", "ccc"]
    times = [t for _, t in chunks]
    assert times[1] - times[0] == pytest.approx(1.0) and times[2] - times[1] == pytest.approx(1.0)


# -- the stream API on its own (no runtime needed) -----------------------------------------------
def test_readable_stream_from_a_source_with_start_and_pull():
    from course.workers.js import ReadableStream

    async def run():
        pulls = []

        def start(controller):
            controller.enqueue("a")

        async def pull(controller):
            pulls.append(len(pulls))
            if len(pulls) < 3:
                controller.enqueue(f"{len(pulls)}".encode())
            else:
                controller.close()

        stream = ReadableStream.new({"start": start, "pull": pull})
        return [bytes(chunk) async for chunk in stream], pulls

    assert asyncio.run(run()) == ([b"a", b"1", b"2"], [0, 1, 2])


def test_a_cloned_streaming_response_gives_both_readers_every_chunk():
    from course.workers import Response
    from course.workers.streams import TransformStream

    async def run():
        pipe = TransformStream.new()
        original = Response(pipe.readable)
        copy = original.clone()
        writer = pipe.writable.getWriter()
        for part in (b"x", b"y"):
            await writer.write(part)
        await writer.close()
        return await original.text(), await copy.text(), original.bodyUsed

    assert asyncio.run(run()) == ("xy", "xy", True)


def test_pipe_through_a_transform_stream_and_the_body_reads_once():
    from course.workers import Response
    from course.workers.jsproxy import JsException
    from course.workers.streams import LiveReadableStream, TransformStream

    async def run():
        source = LiveReadableStream()
        source.push(b"one ")
        source.push("two")
        source.close()
        response = Response(source.pipeThrough(TransformStream.new()))
        text = await response.text()
        try:
            await response.text()
        except JsException as exc:
            return text, exc.name
        return text, None

    assert asyncio.run(run()) == ("one two", "TypeError")


def test_a_locked_stream_cannot_become_a_body():
    from course.workers import Response
    from course.workers.jsproxy import JsException
    from course.workers.streams import LiveReadableStream

    stream = LiveReadableStream()
    stream.getReader()
    with pytest.raises(JsException, match="locked"):
        Response(stream)


@pytest.mark.parametrize("path", ["/ticks", "/wsgi/ticks"])
def test_an_in_process_client_streams_the_body_as_it_is_made(rt, path):
    """``client.stream`` gets each chunk when the app yields it (a virtual second apart), with no
    Content-Length, as over HTTP; the sync and the async client alike."""
    with rt.client().stream("GET", path) as r:
        assert "content-length" not in r.headers
        seen = [(chunk, rt.clock.now()) for chunk in r.iter_raw()]
    assert [c for c, _ in seen] == [b"tick 0\n", b"tick 1\n", b"tick 2\n"]
    assert seen[2][1] - seen[0][1] == pytest.approx(2.0)

    async def read_async():
        async with rt.async_client() as client, client.stream("GET", path) as r:
            return [(chunk, rt.clock.now()) async for chunk in r.aiter_raw()]

    seen = asyncio.run(read_async())
    assert [c for c, _ in seen] == [b"tick 0\n", b"tick 1\n", b"tick 2\n"]
    assert seen[2][1] - seen[0][1] == pytest.approx(2.0)
