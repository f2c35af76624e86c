"""HTMLRewriter (``from js import HTMLRewriter``): selectors, the element/text/comment/document
APIs, escaping, async handlers, and streaming through a Worker.

The rewriting tests run the rewriter on a plain event loop (it needs no runtime); the project
tests load tests/projects/html_rewriter/ (an Open Graph tag injector and a page that arrives in
pieces), written for these tests.
"""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from course.runtime import load
from course.workers import Response
from course.workers.html_rewriter import HTMLRewriter
from course.workers.jsproxy import JsException

PROJECTS = Path(__file__).resolve().parents[1] / "projects" / "html_rewriter"


def rewrite(html: str, build, chunks: list[str] | None = None) -> str:
    """Run ``build(HTMLRewriter.new())`` on ``html`` and return the rewritten text."""
    async def run() -> str:
        if chunks is None:
            source = Response(html, headers={"content-type": "text/html"})
        else:
            from course.workers.streams import LiveReadableStream

            stream = LiveReadableStream()
            for piece in chunks:
                stream.push(piece)
            stream.close()
            source = Response(stream)
        return await build(HTMLRewriter.new()).transform(source).text()

    return asyncio.run(run())


class Recorder:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def element(self, el) -> None:
        self.ids.append(el.getAttribute("id"))


DOC = ('<html><body><div id="d1" class="card big" lang="en-US" data-x="Hello">'
       '<p id="p1">a</p><p id="p2" class="lead">b</p><span id="s1">c</span><p id="p3">d</p>'
       '<section id="x1"><p id="p4">e</p></section></div><img id="i1" src="a.png"></body></html>')


@pytest.mark.parametrize("selector, expected", [
    ("*", [None, None, "d1", "p1", "p2", "s1", "p3", "x1", "p4", "i1"]),  # html and body have no id
    ("p", ["p1", "p2", "p3", "p4"]),
    ("#p2", ["p2"]),
    (".lead", ["p2"]),
    ("div.card.big", ["d1"]),
    ("[src]", ["i1"]),
    ('[lang|="en"]', ["d1"]),
    ('[class~="big"]', ["d1"]),
    ('[data-x^="Hel"]', ["d1"]),
    ('[data-x$="llo"]', ["d1"]),
    ('[data-x*="ell"]', ["d1"]),
    ('[data-x="hello" i]', ["d1"]),
    ('[data-x="hello"]', []),
    ("div p", ["p1", "p2", "p3", "p4"]),
    ("div > p", ["p1", "p2", "p3"]),
    ("section > p", ["p4"]),
    ("p:first-child", ["p1", "p4"]),
    ("p:nth-child(2)", ["p2"]),
    ("div > :nth-child(odd)", ["p1", "s1", "x1"]),
    ("p:nth-of-type(3)", ["p3"]),
    ("p:nth-of-type(-n+2)", ["p1", "p2", "p4"]),
    ("p:first-of-type", ["p1", "p4"]),
    ("p:not(.lead)", ["p1", "p3", "p4"]),
    ("span, img", ["s1", "i1"]),
])
def test_selectors_match_the_documented_subset(selector, expected):
    seen = Recorder()
    rewrite(DOC, lambda r: r.on(selector, seen))
    assert seen.ids == expected


@pytest.mark.parametrize("selector", ["p + p", "p ~ span", "a:hover", "p::before", "p[", "", "div >"])
def test_an_unsupported_or_broken_selector_is_a_type_error(selector):
    with pytest.raises(JsException) as err:
        HTMLRewriter.new().on(selector, Recorder())
    assert err.value.name == "TypeError" and "selector" in str(err.value)


def test_untouched_html_is_copied_exactly():
    html = ('<!DOCTYPE html>\n<HTML lang=en><Head><title>a &amp; b &#169;</title></Head>'
            '<body><br/><script>if (a < b && c) {}</script><!--x--><P>x</p></body></HTML>')
    assert rewrite(html, lambda r: r.on("nothing", Recorder())) == html


def test_element_content_methods_and_their_order():
    class Edit:
        def element(self, el):
            if el.tagName == "ul":
                el.before("1").before("2")
                el.after("8").after("9")       # each goes right after the element: 9 then 8
                el.prepend("<li>b</li>", html=True).prepend("<li>a</li>", {"html": True})
                el.append("<li>y</li>", html=True).append("<z>")
            elif el.tagName == "em":
                el.replace("<strong>!</strong>", html=True)
            elif el.tagName == "i":
                el.removeAndKeepContent()
            elif el.tagName == "del":
                el.remove()
            elif el.tagName == "div":
                el.setInnerContent("<p>new</p>", html=True)

    out = rewrite('<ul><li>m</li></ul><em>x</em><i>kept</i><del>gone</del><div><p>old</p></div>',
                  lambda r: r.on("*", Edit()))
    assert out == ('12<ul><li>a</li><li>b</li><li>m</li><li>y</li>&lt;z&gt;</ul>98'
                   '<strong>!</strong>kept<div><p>new</p></div>')


def test_attributes_read_write_and_escape():
    seen = {}

    class Attrs:
        def element(self, el):
            seen.update(tag=el.tagName, attrs=[list(p) for p in el.attributes], has=el.hasAttribute("HREF"),
                        missing=el.getAttribute("title"))
            el.setAttribute("href", 'https://x.test/?a=1&b="2"')
            el.setAttribute("rel", "noopener")
            el.removeAttribute("class")

    out = rewrite('<a class="c" href="/old">go</a>', lambda r: r.on("a", Attrs()))
    assert seen == {"tag": "a", "attrs": [["class", "c"], ["href", "/old"]], "has": True, "missing": None}
    assert out == '<a href="https://x.test/?a=1&b=&quot;2&quot;" rel="noopener">go</a>'


def test_end_tag_handler_and_renaming():
    def on_element(el):
        el.tagName = "section"

        def on_end(end):
            end.before("[end]")
            end.after("<hr>", html=True)
        el.onEndTag(on_end)

    assert rewrite('<div a="1">x</div>', lambda r: r.on("div", {"element": on_element})) == \
        '<section a="1">x[end]</section><hr>'


def test_text_chunks_split_at_source_chunks_with_last_in_text_node():
    chunks = []

    def on_text(t):
        chunks.append((t.text, t.lastInTextNode))

    out = rewrite("", lambda r: r.on("p", {"text": on_text}),
                  chunks=["<p>Hel", "lo <b>wor", "ld</b>!</p>"])
    assert out == "<p>Hello <b>world</b>!</p>"
    assert chunks == [("Hel", False), ("lo ", True), ("wor", False), ("ld", True), ("!", True)]


def test_text_handlers_see_the_text_of_descendants_too():
    # as lol_html does (cloudflare/lol-html#93): a handler on <span> gets the text inside <b>
    def on_text(t):
        if t.lastInTextNode:
            t.after("|")

    assert rewrite("<span>Hello<b>hi</b></span><i>no</i>", lambda r: r.on("span", {"text": on_text})) == \
        "<span>Hello|<b>hi|</b></span><i>no</i>"


def test_text_and_comments_rewritten_with_text_escaped():
    def on_text(t):
        if t.text:
            t.replace(t.text.upper() + "<")

    def on_comment(c):
        if "secret" in c.text:
            c.remove()
        else:
            c.text = c.text.strip()

    out = rewrite("<p>hi<!-- secret --><!-- keep --></p>",
                  lambda r: r.on("p", {"text": on_text, "comments": on_comment}))
    assert out == "<p>HI&lt;<!--keep--></p>"


def test_document_handlers_doctype_text_and_end():
    seen = {}

    class Doc:
        def doctype(self, d):
            seen["doctype"] = (d.name, d.publicId, d.systemId)

        def text(self, t):
            seen.setdefault("text", []).append(t.text)

        def end(self, end):
            end.append("<!-- served by a Worker -->", html=True)

    html = '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><p>a</p>'
    out = rewrite(html, lambda r: r.onDocument(Doc()))
    assert seen["doctype"] == ("html", "-//W3C//DTD XHTML 1.0 Strict//EN",
                               "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd")
    assert "".join(seen["text"]) == "a"
    assert out == html + "<!-- served by a Worker -->"


def test_async_handlers_are_awaited_in_order():
    order = []

    class Slow:
        async def element(self, el):
            await asyncio.sleep(0)
            order.append(el.getAttribute("id"))
            el.setAttribute("data-seen", str(len(order)))

    out = rewrite('<i id="a"></i><i id="b"></i>', lambda r: r.on("i", Slow()))
    assert order == ["a", "b"]
    assert out == '<i id="a" data-seen="1"></i><i id="b" data-seen="2"></i>'


def test_a_response_without_a_body_passes_through():
    async def run():
        out = HTMLRewriter.new().on("p", Recorder()).transform(Response(None, status=204, headers={"x-a": "1"}))
        return out.status, out.body, out.headers.get("x-a")

    assert asyncio.run(run()) == (204, None, "1")


def test_a_failing_handler_fails_the_body_with_its_error():
    def boom(el):
        raise ValueError("handler broke")

    with pytest.raises(ValueError, match="handler broke"):
        rewrite("<p>x</p>", lambda r: r.on("p", {"element": boom}))


def test_transform_needs_a_response_and_an_unused_body():
    with pytest.raises(JsException, match="takes a Response"):
        HTMLRewriter.new().transform("<p>")
    with pytest.raises(JsException, match="needs a handler"):
        HTMLRewriter.new().on("p", object())

    async def used():
        response = Response("<p>")
        await response.text()
        HTMLRewriter.new().on("p", Recorder()).transform(response)

    with pytest.raises(JsException, match="already been used"):
        asyncio.run(used())


# -- in a Worker -----------------------------------------------------------------------------------
@pytest.fixture
def rt(tmp_path, runtimes):
    for name in ("opengraph", "slow_site"):
        shutil.copytree(PROJECTS / name, tmp_path / name)
    runtime = load(tmp_path / "opengraph", virtual_time=True)
    runtimes.append(runtime)
    runtime.add_project(tmp_path / "slow_site")
    return runtime


PAGE = ('<html><head><meta charset="utf-8"><meta property="og:title" content="Old">'
        '<meta name="Twitter:card" content="x"><title>Blog</title></head><body>post</body></html>')


def test_a_worker_injects_open_graph_tags_into_a_proxied_page(rt):
    rt.network.upstream("https://site.example.com",
                        lambda request: Response(PAGE, headers={"content-type": "text/html", "content-length": "999"}))
    r = rt.client().get("/blog/hello-world")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html"
    assert r.text == ('<html><head><meta property="og:title" content="Post: Hello World">'
                      '<meta property="og:type" content="website"><meta charset="utf-8">'
                      '<title>Blog</title></head><body>post</body></html>')


def test_the_rewritten_body_streams_as_the_source_arrives(rt):
    rt.network.upstream("https://slow.example.com", "slow-site")
    pieces = rt.client().get("/slow/page").json()["pieces"]
    text = "".join(p for p, _ in pieces)
    assert text == ('<html><head><meta property="og:title" content="Slow &lt;page&gt;">'
                    '<meta property="og:type" content="website"><title>Slow</title></head>'
                    '<body><p>first part, second part</p></body></html>')
    times = [t for _, t in pieces]
    assert len(pieces) == 3 and times[1] - times[0] == pytest.approx(1.0) and times[2] - times[1] == pytest.approx(1.0)
