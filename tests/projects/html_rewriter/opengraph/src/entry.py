"""Share-card tags for a site the Worker proxies: HTMLRewriter drops the page's own Open Graph
tags and puts the Worker's at the top of <head> (the shape of Cloudflare's opengraph example,
written for the course's tests). ``/slow/...`` proxies the feed Worker, whose page arrives in
pieces a virtual second apart, and reports when each rewritten piece reached the Worker."""
import time
from html import escape
from urllib.parse import urlsplit

from js import HTMLRewriter
from pyodide.ffi import create_proxy
from workers import Response, WorkerEntrypoint, fetch


class CardTags:
    def __init__(self, title):
        self.title = title

    def element(self, head):
        for prop, value in (("og:type", "website"), ("og:title", self.title)):
            head.prepend(f'<meta property="{prop}" content="{escape(value, quote=True)}">', html=True)


class DropTag:
    def element(self, element):
        element.remove()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlsplit(request.url).path
        if path.startswith("/slow/"):
            upstream = await fetch("https://slow.example.com/page")
            rewritten = self.cards("Slow <page>").transform(upstream.js_object)
            reader = rewritten.body.getReader()
            pieces = []
            while True:
                result = await reader.read()
                if result.done:
                    break
                pieces.append([result.value.to_bytes().decode(), time.time()])
            return Response.json({"pieces": pieces})
        upstream = await fetch(f"https://site.example.com{path}")
        title = "Post: " + path.rsplit("/", 1)[-1].replace("-", " ").title() if path.startswith("/blog/") else "Home"
        return self.cards(title).transform(upstream.js_object)

    def cards(self, title):
        drop = create_proxy(DropTag())
        return (HTMLRewriter.new()
                .on('meta[property^="og:"]', drop)
                .on('meta[name^="twitter:" i]', drop)
                .on("head", create_proxy(CardTags(title))))
