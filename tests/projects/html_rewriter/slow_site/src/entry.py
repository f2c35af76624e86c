"""A page served in three pieces a virtual second apart (through a TransformStream)."""
import asyncio

from js import TransformStream
from workers import Response, WorkerEntrypoint

PIECES = ['<html><head><meta property="og:title" content="old"><title>Sl',
          'ow</title></head><body><p>first part, ',
          'second part</p></body></html>']


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        pipe = TransformStream.new()
        writer = pipe.writable.getWriter()

        async def write():
            for i, piece in enumerate(PIECES):
                if i:
                    await asyncio.sleep(1)
                await writer.write(piece.encode())
            await writer.close()

        self.ctx.waitUntil(write())
        return Response(pipe.readable, headers={"content-type": "text/html; charset=utf-8"})
