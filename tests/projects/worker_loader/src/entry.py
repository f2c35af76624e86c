"""A Worker that loads other Python Workers from source at run time (a Worker Loader binding):
``get`` with a code callback (cached by ID), ``load`` (fresh every call), a helper module, the
loaded Worker's env (a value and the parent's KV namespace), RPC on a named entrypoint, and
WorkerCode the emulator must refuse."""
from urllib.parse import parse_qs, urlsplit

from js import Object
from pyodide.ffi import create_proxy, to_js
from workers import Response, WorkerEntrypoint

COUNTER = """
from helpers import shout
from workers import Response, WorkerEntrypoint

calls = 0


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        global calls
        calls += 1
        await self.env.NOTES.put("last", request.url)
        return Response(shout(f"{self.env.GREETING} #{calls} at {request.url}"))


class Greeter(WorkerEntrypoint):
    async def greet(self, name):
        return {"text": shout(f"{self.env.GREETING}, {name}"), "note": await self.env.NOTES.get("last")}
"""
HELPERS = 'def shout(text):\n    return text.upper()\n'

callbacks = []


def code(**extra):
    return to_js({"compatibilityDate": "2026-04-01", "compatibilityFlags": ["python_workers"],
                  "mainModule": "entry.py", "modules": {"entry.py": COUNTER, "helpers.py": {"py": HELPERS}},
                  **extra}, dict_converter=Object.fromEntries)


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        env = {"GREETING": query.get("greeting", "hello"), "NOTES": self.env.NOTES}
        if url.path == "/get":
            ident = query["id"]

            async def get_code():  # an async callback that awaits storage, as the API allows
                callbacks.append(ident)
                await self.env.NOTES.get("code-version")
                return code(env=env)

            worker = self.env.LOADER.get(ident, create_proxy(get_code))
            response = await worker.getEntrypoint().fetch(request)
            return Response(f"{await response.text()} | callbacks {callbacks}")
        if url.path == "/load":
            worker = self.env.LOADER.load(code(env=env))
            return await worker.getEntrypoint().fetch(request)
        if url.path == "/rpc":
            worker = self.env.LOADER.get(query["id"], lambda: code(env=env))
            return Response.json(await worker.getEntrypoint("Greeter").greet("Ada"))
        if url.path == "/bad":
            kind = query["kind"]
            bad = {
                "js": code(modules={"index.js": "export default {}"}, mainModule="index.js"),
                "outbound": code(globalOutbound=None),
                "main": code(mainModule="missing.py"),
                "date": to_js({"mainModule": "entry.py", "modules": {"entry.py": COUNTER}}),
            }[kind]
            worker = self.env.LOADER.get(f"bad-{kind}", lambda: bad)
            try:
                await worker.getEntrypoint().fetch(request)
            except Exception as exc:  # noqa: BLE001 - the test reads the message
                return Response(f"{getattr(exc, 'name', type(exc).__name__)}: {exc}", status=500)
            return Response("loaded", status=200)
        return Response("not found", status=404)
