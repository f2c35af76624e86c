from js import Object
from pyodide.ffi import JsException, JsProxy, create_proxy, to_js
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        # Python dict -> JS object for a binding option, the idiom in Cloudflare's docs.
        options = to_js({"expirationTtl": 120, "metadata": {"source": "ffi"}}, dict_converter=Object.fromEntries)
        await self.env.CACHE.put("answer", "42", options)
        meta = await self.env.CACHE.getWithMetadata("answer")
        as_python = meta.to_py()
        listed = await self.env.CACHE.list()
        callback = create_proxy(lambda x: x * 2)
        try:
            await self.env.CACHE.put("short", "x", {"expirationTtl": 1})
            ttl_error = None
        except JsException as exc:
            ttl_error = str(exc)
        return Response.json(
            {
                "value": meta.value,
                "source": meta.metadata.source,
                "py_type": type(as_python).__name__,
                "is_proxy": isinstance(meta, JsProxy),
                "py_is_proxy": isinstance(as_python, JsProxy),
                "listed": [k.name for k in listed.keys],
                "doubled": callback(21),
                "ttl_error": ttl_error,
            }
        )
