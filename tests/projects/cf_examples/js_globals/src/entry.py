import js
from js import JSON, URL, Headers, Object, console
from pyodide.ffi import to_js
from workers import WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = URL.new(request.url)
        if url.pathname == "/js-response":
            headers = Headers.new()
            headers.set("x-made-with", "js.Headers")
            init = to_js({"status": 202, "headers": headers}, dict_converter=Object.fromEntries)
            return js.Response.new("built in JavaScript", init)
        if url.pathname == "/from-entries":
            options = Object.fromEntries(to_js({"city": url.searchParams.get("city"), "n": 2}))
            console.log("options are", JSON.stringify(options))
            body = JSON.stringify(options)
            return js.Response.new(body, headers=to_js({"content-type": "application/json"}))
        if url.pathname == "/parse":
            parsed = JSON.parse('{"items": [1, 2, 3], "keys": ["a"], "get": "value"}')
            # Attribute access reads the JavaScript object's properties.
            total = sum(parsed.items)
            return js.Response.new(f"{total} {parsed.keys[0]} {parsed.get}")
        if url.pathname == "/request":
            forwarded = js.Request.new("https://origin.example/api", method="POST", body="payload")
            return js.Response.new(f"{forwarded.method} {URL.new(forwarded.url).hostname} {await forwarded.text()}")
        if url.pathname == "/now":
            return js.Response.new(str(js.Date.now()))
        return js.Response.new("not found", status=404)
