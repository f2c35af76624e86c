"""Streamed bodies through the ASGI and WSGI adapters, measured on the runtime's clock.

``/read/<path>`` serves ``<path>`` with one of the apps and reads the Response body chunk by chunk,
noting when each chunk arrived; the apps note when they produced each chunk. ``/upload`` (and
``/wsgi/upload``) sends the FastAPI (Flask) app a request body written over three seconds
through a TransformStream.
"""
import asyncio
import time
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi.responses import StreamingResponse
from flask import Flask
from flask import Response as FlaskResponse
from js import TransformStream
from pyodide.ffi import run_sync
from workers import Request, Response, WorkerEntrypoint
from workers import wsgi

import asgi

PRODUCED: list[list] = []  # [app, chunk, time produced]

api = FastAPI()


@api.get("/ticks")
async def ticks():
    async def beats():
        for i in range(3):
            PRODUCED.append(["asgi", i, time.time()])
            yield f"tick {i}\n"
            await asyncio.sleep(1)
    return StreamingResponse(beats(), media_type="text/plain")


@api.post("/count")
async def count(request: FastAPIRequest):
    seen = []
    async for chunk in request.stream():
        if chunk:
            seen.append([chunk.decode(), time.time()])
    return {"chunks": seen}


web = Flask(__name__)


@web.get("/wsgi/ticks")
def wsgi_ticks():
    def beats():
        for i in range(3):
            PRODUCED.append(["wsgi", i, time.time()])
            yield f"tick {i}\n"
            run_sync(asyncio.sleep(1))  # synchronous code waiting on the runtime, as with JSPI
    return FlaskResponse(beats(), mimetype="text/plain")


@web.post("/wsgi/count")
def wsgi_count():
    from flask import request as flask_request

    seen = []
    while True:
        chunk = flask_request.stream.read(1024)
        if not chunk:
            break
        seen.append([chunk.decode(), time.time()])
    return {"chunks": seen}


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlsplit(request.url)
        if url.path.startswith("/read/"):
            inner = Request(f"{url.scheme}://{url.netloc}/{url.path[len('/read/'):]}")
            response = await self.serve(inner)
            reader = response.body.getReader()
            arrivals = []
            while True:
                result = await reader.read()
                if result.done:
                    break
                arrivals.append([result.value.to_bytes().decode(), time.time()])
            return Response.json({"arrivals": arrivals, "produced": PRODUCED})
        if url.path in ("/upload", "/wsgi/upload"):
            pipe = TransformStream.new()
            writer = pipe.writable.getWriter()

            async def write_slowly():
                for part in ("a", "bb", "ccc"):
                    await writer.write(part.encode())
                    await asyncio.sleep(1)
                await writer.close()

            self.ctx.waitUntil(write_slowly())
            target = "/wsgi/count" if url.path.startswith("/wsgi/") else "/count"
            inner = Request(f"{url.scheme}://{url.netloc}{target}", method="POST", body=pipe.readable)
            return await self.serve(inner)
        return await self.serve(request)

    async def serve(self, request):
        if "/wsgi/" in request.url:
            return await wsgi.fetch(web, request, self.env)
        return await asgi.fetch(api, request, self.env)
