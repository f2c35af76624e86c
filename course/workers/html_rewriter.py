"""``HTMLRewriter`` (``from js import HTMLRewriter``): rewrite HTML as it streams through a Worker.

The API is Cloudflare's (https://developers.cloudflare.com/workers/runtime-apis/html-rewriter/):
``HTMLRewriter.new().on(selector, handler).onDocument(handler).transform(response)`` returns a new
Response whose body is the rewritten HTML. An element handler is any object with ``element``,
``comments`` and/or ``text`` methods (a Python object, as Pyodide passes it through
``create_proxy``, or a dict of functions); a document handler has ``doctype``, ``comments``,
``text`` and/or ``end``. A handler may be ``async``: the rewriter waits for it.

How it works here: Python's ``html.parser`` tokenizes the body incrementally (workerd uses
lol_html, a streaming rewriter); each chunk of the source body is fed as it arrives, handlers
run token by token, and the rewritten bytes of that chunk go out before the next chunk is read,
so the output streams as workerd's does. Content the rewriter does not touch is copied as it was
written. Text reaches ``text`` handlers in chunks that end at a source chunk boundary or at the
end of the text node (``lastInTextNode``; the last chunk may be empty, as on workerd).

Selectors: the subset the docs list (``*``, ``E``, ``E#id``, ``E.class``, ``E[a]``,
``E[a="v"]`` with ``~= ^= $= *= |=`` and the ``i``/``s`` flags, ``E F``, ``E > F``,
``:nth-child``, ``:first-child``, ``:nth-of-type``, ``:first-of-type``, ``:not(...)``) and
selector lists; anything else raises the TypeError workerd raises for an unsupported selector.
Known differences: the body is decoded as UTF-8; an entity reference without its ``;`` is
written back with one; a malformed tree (an unclosed ``<p>``) nests as the tokens say, where
lol_html applies part of the HTML tree rules.
"""
from __future__ import annotations

import codecs
import html.parser
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from course.workers.context import current_runtime
from course.workers.css_selectors import Node as SelectorNode
from course.workers.css_selectors import Selector
from course.workers.http import NULL_BODY_STATUSES, Headers, Response
from course.workers.jsproxy import JsArray, JsException
from course.workers.streams import LiveReadableStream, start_producer

#: Elements without content or end tag (HTML Living Standard, "void elements").
VOID_ELEMENTS = frozenset("area base br col embed hr img input keygen link meta param source track wbr".split())
HTML_NAMESPACE = "http://www.w3.org/1999/xhtml"


# -- tokens -----------------------------------------------------------------------------------------
class _Tokenizer(html.parser.HTMLParser):
    """``html.parser`` as a token source that keeps the source text of every token."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tokens: list[tuple[Any, ...]] = []
        self._text: list[str] = []
        self._text_open = False  # a chunk of the current text node went out already
        self._end_at = 0

    def take(self, data: str, final: bool = False) -> list[tuple[Any, ...]]:
        if data:
            self.feed(data)
        if final:
            self.close()
            self._end_text()
        elif self._text:
            self.tokens.append(("text", "".join(self._text), False))
            self._text, self._text_open = [], True
        tokens, self.tokens = self.tokens, []
        return tokens

    def _end_text(self) -> None:
        if self._text or self._text_open:
            self.tokens.append(("text", "".join(self._text), True))
        self._text, self._text_open = [], False

    def _token(self, *token: Any) -> None:
        self._end_text()
        self.tokens.append(token)

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_entityref(self, name: str) -> None:
        self._text.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._text.append(f"&#{name};")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._token("start", tag, attrs, self.get_starttag_text() or f"<{tag}>", False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._token("start", tag, attrs, self.get_starttag_text() or f"<{tag}/>", True)

    def parse_endtag(self, i: int) -> int:
        self._end_at = i
        return super().parse_endtag(i)

    def handle_endtag(self, tag: str) -> None:
        close = self.rawdata.find(">", self._end_at)
        raw = self.rawdata[self._end_at:close + 1] if close >= 0 else f"</{tag}>"
        self._token("end", tag, raw)

    def handle_comment(self, data: str) -> None:
        self._token("comment", data)

    def handle_decl(self, decl: str) -> None:
        self._token("doctype" if decl.lower().startswith("doctype") else "raw", f"<!{decl}>", decl)

    def unknown_decl(self, data: str) -> None:
        self._token("raw", f"<![{data}]>", data)

    def handle_pi(self, data: str) -> None:
        self._token("raw", f"<?{data}>", data)


# -- what handlers get ---------------------------------------------------------------------------------
def _is_html(options: Any, html: bool | None) -> bool:
    if html is not None:
        return bool(html)
    if options is None:
        return False
    value = options.get("html") if isinstance(options, dict) else getattr(options, "html", False)
    return bool(value)


def _content(content: Any, options: Any, html: bool | None) -> str:
    """Inserted content: as HTML with ``{html: true}``, else text with ``& < >`` escaped (lol_html's
    text content type)."""
    text = str(content)
    if _is_html(options, html):
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Rewritable:
    """What elements, text chunks, comments and end tags share: ``before``, ``after``, ``replace``,
    ``remove``. Content put ``before`` keeps call order; content put ``after`` goes right after
    the token, so a later call comes first, as on workerd."""

    def __init__(self) -> None:
        self._before: list[str] = []
        self._after: list[str] = []
        self._replacement: str | None = None
        self.removed = False

    def before(self, content: Any, options: Any = None, *, html: bool | None = None) -> "_Rewritable":
        self._before.append(_content(content, options, html))
        return self

    def after(self, content: Any, options: Any = None, *, html: bool | None = None) -> "_Rewritable":
        self._after.insert(0, _content(content, options, html))
        return self

    def replace(self, content: Any, options: Any = None, *, html: bool | None = None) -> "_Rewritable":
        self._replacement = _content(content, options, html)
        self.removed = True
        return self

    def remove(self) -> "_Rewritable":
        self.removed = True
        return self

    def _render(self, source: str) -> str:
        middle = self._replacement if self._replacement is not None else "" if self.removed else source
        return "".join(self._before) + middle + "".join(self._after)


class TextChunk(_Rewritable):
    """A chunk of a text node: ``text``, ``lastInTextNode``."""

    def __init__(self, text: str, last: bool) -> None:
        super().__init__()
        self.text = text
        self.lastInTextNode = last

    last_in_text_node = property(lambda self: self.lastInTextNode)


class Comment(_Rewritable):
    """An HTML comment: ``text`` (writable)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Doctype:
    """``<!DOCTYPE ...>``: ``name``, ``publicId``, ``systemId`` (read-only)."""

    _PARTS = re.compile(r"doctype\s+(?P<name>[^\s>]+)?(?:\s+public\s+[\"'](?P<pub>[^\"']*)[\"'])?"
                        r"(?:\s+(?:system\s+)?[\"'](?P<sys>[^\"']*)[\"'])?", re.IGNORECASE)

    def __init__(self, decl: str) -> None:
        match = self._PARTS.match(decl.strip())
        self.name = (match["name"] or "").lower() if match and match["name"] else None
        self.publicId = match["pub"] if match else None
        self.systemId = match["sys"] if match else None


class DocumentEnd:
    """The end of the document: ``append(content, {html})``."""

    def __init__(self) -> None:
        self._appended: list[str] = []

    def append(self, content: Any, options: Any = None, *, html: bool | None = None) -> "DocumentEnd":
        self._appended.append(_content(content, options, html))
        return self


class EndTag(_Rewritable):
    """An element's end tag, given to ``element.onEndTag(handler)``: ``name`` (writable)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class Element(_Rewritable):
    """A start tag and what the handlers did to the element."""

    def __init__(self, node: "Node", self_closing: bool) -> None:
        super().__init__()
        self._node = node
        self.tagName = node.name
        self._attrs: list[list[str]] = [[k, v] for k, v in node.attr_list]
        self._attrs_changed = False
        self._prepended: list[str] = []
        self._appended: list[str] = []
        self._inner: str | None = None
        self._keep_content = False
        self._end_handlers: list[Callable[..., Any]] = []
        self.selfClosing = self_closing
        self.canHaveContent = node.name not in VOID_ELEMENTS and not self_closing
        self.namespaceURI = HTML_NAMESPACE

    @property
    def attributes(self) -> JsArray:
        """``[name, value]`` pairs, in source order."""
        return JsArray(JsArray(pair) for pair in self._attrs)

    def getAttribute(self, name: str) -> str | None:  # noqa: N802 - the API's name
        key = str(name).lower()
        return next((v for k, v in self._attrs if k == key), None)

    def hasAttribute(self, name: str) -> bool:  # noqa: N802
        key = str(name).lower()
        return any(k == key for k, _ in self._attrs)

    def setAttribute(self, name: str, value: Any) -> "Element":  # noqa: N802
        key = str(name).lower()
        for pair in self._attrs:
            if pair[0] == key:
                pair[1] = str(value)
                break
        else:
            self._attrs.append([key, str(value)])
        self._attrs_changed = True
        return self

    def removeAttribute(self, name: str) -> "Element":  # noqa: N802
        key = str(name).lower()
        kept = [pair for pair in self._attrs if pair[0] != key]
        if len(kept) != len(self._attrs):
            self._attrs, self._attrs_changed = kept, True
        return self

    def prepend(self, content: Any, options: Any = None, *, html: bool | None = None) -> "Element":
        self._prepended.insert(0, _content(content, options, html))
        return self

    def append(self, content: Any, options: Any = None, *, html: bool | None = None) -> "Element":
        self._appended.append(_content(content, options, html))
        return self

    def setInnerContent(self, content: Any, options: Any = None, *, html: bool | None = None) -> "Element":  # noqa: N802
        self._inner = _content(content, options, html)
        self._prepended, self._appended = [], []
        return self

    def removeAndKeepContent(self) -> "Element":  # noqa: N802
        self._keep_content = True
        return self

    def onEndTag(self, handler: Callable[..., Any]) -> None:  # noqa: N802
        if not self.canHaveContent:
            raise JsException(f"No end tag: <{self.tagName}> is a void or self-closing element", "TypeError")
        self._end_handlers.append(handler)

    # snake_case spellings some Python code uses
    get_attribute, has_attribute, set_attribute, remove_attribute = getAttribute, hasAttribute, setAttribute, removeAttribute
    set_inner_content, remove_and_keep_content, on_end_tag = setInnerContent, removeAndKeepContent, onEndTag

    def _start_tag(self, source: str) -> str:
        if not self._attrs_changed and self.tagName == self._node.name:
            return source
        attrs = "".join(f' {k}="{v.replace(chr(34), "&quot;")}"' if v is not None else f" {k}"
                        for k, v in self._attrs)
        return f"<{self.tagName}{attrs}{' /' if self.selfClosing else ''}>"


# -- the rewriter ----------------------------------------------------------------------------------------
@dataclass(eq=False)
class Node(SelectorNode):
    """An open element: what selectors see, and what its handlers asked."""

    attr_list: list[tuple[str, str | None]] = field(default_factory=list)
    children: int = 0
    types: dict[str, int] = field(default_factory=dict)
    element: "Element | None" = None
    content_handlers: list[Any] = field(default_factory=list)  # handlers whose selector matched here or above
    suppresses: bool = False


def _method(handler: Any, name: str) -> Callable[..., Any] | None:
    if isinstance(handler, dict):
        return handler.get(name)
    fn = getattr(handler, name, None)
    return fn if callable(fn) else None


async def _call(fn: Callable[..., Any], arg: Any) -> None:
    result = fn(arg)
    if hasattr(result, "__await__"):
        await result


class _Rewrite:
    """One transform: tokens in, rewritten HTML out, handlers called in between."""

    def __init__(self, element_handlers: list[tuple[Selector, Any]], document_handlers: list[Any]) -> None:
        self.element_handlers = element_handlers
        self.document_handlers = document_handlers
        self.root = Node("#document", {}, None, 0, 0)
        self.stack: list[Node] = []
        self.suppressed = 0

    def _parent(self) -> Node:
        return self.stack[-1] if self.stack else self.root

    def _content_handlers(self) -> list[Any]:
        node = self.stack[-1] if self.stack else None
        return (node.content_handlers if node is not None else []) + self.document_handlers

    async def run(self, tokens: list[tuple[Any, ...]]) -> str:
        out: list[str] = []
        for token in tokens:
            kind = token[0]
            if kind == "start":
                await self._start(token, out)
            elif kind == "end":
                await self._end(token, out)
            elif self.suppressed:
                continue
            elif kind == "text":
                await self._text(token[1], token[2], out)
            elif kind == "comment":
                await self._comment(token[1], out)
            elif kind == "doctype":
                for handler in self.document_handlers:
                    fn = _method(handler, "doctype")
                    if fn is not None:
                        await _call(fn, Doctype(token[2]))
                out.append(token[1])
            else:
                out.append(token[1])
        return "".join(out)

    async def finish(self) -> str:
        out: list[str] = []
        while self.stack:  # elements still open at the end of the document: no end tags to write
            self._close(self.stack.pop(), out, end_tag=None)
        end = DocumentEnd()
        for handler in self.document_handlers:
            fn = _method(handler, "end")
            if fn is not None:
                await _call(fn, end)
        out.extend(end._appended)
        return "".join(out)

    async def _start(self, token: tuple[Any, ...], out: list[str]) -> None:
        _, name, attr_list, source, self_closing = token
        parent = self._parent()
        parent.children += 1
        parent.types[name] = parent.types.get(name, 0) + 1
        attrs: dict[str, str] = {}
        for key, value in attr_list:
            attrs.setdefault(key, value if value is not None else "")
        node = Node(name, attrs, parent if parent is not self.root else None, parent.children, parent.types[name],
                    attr_list=attr_list)
        void = name in VOID_ELEMENTS or self_closing
        if self.suppressed:
            if not void:
                self.stack.append(node)
            return
        node.content_handlers = list(self.stack[-1].content_handlers) if self.stack else []
        element = None
        for selector, handler in self.element_handlers:
            if selector.matches(node):
                if handler not in node.content_handlers:
                    node.content_handlers.append(handler)
                fn = _method(handler, "element")
                if fn is not None:
                    element = element or Element(node, self_closing)
                    await _call(fn, element)
        node.element = element
        if element is None:
            out.append(source)
        else:
            out.extend(element._before)
            if element.removed:
                out.append(element._replacement or "")
                node.suppresses = True
            else:
                if not element._keep_content:
                    out.append(element._start_tag(source))
                if element._inner is not None:
                    out.append(element._inner)
                    node.suppresses = True
                elif element.canHaveContent:
                    out.extend(element._prepended)
        if void:
            if element is not None:
                out.extend(element._after)
            return
        self.stack.append(node)
        if node.suppresses:
            self.suppressed += 1

    async def _end(self, token: tuple[Any, ...], out: list[str]) -> None:
        _, name, source = token
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth].name == name:
                break
        else:
            if not self.suppressed:
                out.append(source)  # an end tag with no open element: copied as written
            return
        while len(self.stack) > depth + 1:
            self._close(self.stack.pop(), out, end_tag=None)
        node = self.stack.pop()
        element = node.element
        end = None
        if element is not None and element._end_handlers and not element.removed:
            end = EndTag(element.tagName)
            for fn in element._end_handlers:
                await _call(fn, end)
        self._close(node, out, end_tag=source, end=end)

    def _close(self, node: Node, out: list[str], *, end_tag: str | None, end: EndTag | None = None) -> None:
        if node.suppresses:
            self.suppressed -= 1
        if self.suppressed:
            return
        element = node.element
        if element is None:
            if end_tag is not None:
                out.append(end_tag)
            return
        if element.removed:
            out.extend(element._after)
            return
        out.extend(element._appended)
        if end_tag is not None and not element._keep_content:
            renamed = element.tagName != node.name
            tag = f"</{element.tagName}>" if renamed else end_tag
            if end is not None:
                tag = end._render(f"</{end.name}>" if end.name != element.tagName else tag)
            out.append(tag)
        out.extend(element._after)

    async def _text(self, text: str, last: bool, out: list[str]) -> None:
        handlers = [fn for fn in (_method(h, "text") for h in self._content_handlers()) if fn is not None]
        if not handlers:
            out.append(text)
            return
        chunk = TextChunk(text, last)
        for fn in handlers:
            await _call(fn, chunk)
        out.append(chunk._render(text))

    async def _comment(self, data: str, out: list[str]) -> None:
        handlers = [fn for fn in (_method(h, "comments") for h in self._content_handlers()) if fn is not None]
        if not handlers:
            out.append(f"<!--{data}-->")
            return
        comment = Comment(data)
        for fn in handlers:
            await _call(fn, comment)
        out.append(comment._render(f"<!--{comment.text}-->"))


class HTMLRewriter:
    """``new HTMLRewriter()``: register handlers with ``on`` / ``onDocument``, then ``transform``."""

    def __init__(self) -> None:
        self._element_handlers: list[tuple[Selector, Any]] = []
        self._document_handlers: list[Any] = []

    @classmethod
    def new(cls) -> "HTMLRewriter":
        return cls()

    def on(self, selector: str, handlers: Any) -> "HTMLRewriter":
        """Call ``handlers.element`` / ``comments`` / ``text`` for elements matching ``selector``."""
        if not isinstance(selector, str):
            raise JsException(f"HTMLRewriter.on() needs a selector string, got {type(selector).__name__}",
                              "TypeError")
        if not any(_method(handlers, m) for m in ("element", "comments", "text")):
            raise JsException("HTMLRewriter.on() needs a handler with an element, comments or text method",
                              "TypeError")
        self._element_handlers.append((Selector(selector), handlers))
        return self

    def onDocument(self, handlers: Any) -> "HTMLRewriter":  # noqa: N802 - the API's name
        """Call ``handlers.doctype`` / ``comments`` / ``text`` / ``end`` for the whole document."""
        if not any(_method(handlers, m) for m in ("doctype", "comments", "text", "end")):
            raise JsException("HTMLRewriter.onDocument() needs a handler with a doctype, comments, text or end "
                              "method", "TypeError")
        self._document_handlers.append(handlers)
        return self

    on_document = onDocument

    def transform(self, response: Any) -> Response:
        """A new Response with ``response``'s status and headers and the rewritten body, which
        streams: each chunk of the source is rewritten and sent on when it arrives."""
        if not isinstance(response, Response):
            raise JsException(f"HTMLRewriter.transform() takes a Response, got {type(response).__name__}",
                              "TypeError")
        if response.bodyUsed:
            raise JsException("HTMLRewriter.transform(): the Response body has already been used", "TypeError")
        if response.status in NULL_BODY_STATUSES:  # nothing to rewrite (101, 204, 205, 304)
            return Response(None, status=response.status, statusText=response.statusText,
                            headers=Headers(response.headers), web_socket=response.webSocket)
        source = response.body
        rewrite = _Rewrite(list(self._element_handlers), list(self._document_handlers))
        output = LiveReadableStream()

        async def pump() -> None:
            tokenizer = _Tokenizer()
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            try:
                if source is not None:
                    async for chunk in source:
                        text = await rewrite.run(tokenizer.take(decoder.decode(bytes(chunk))))
                        if text:
                            output.push(text)
                text = await rewrite.run(tokenizer.take(decoder.decode(b"", final=True), final=True))
                output.push(text + await rewrite.finish())
            except Exception as exc:  # noqa: BLE001 - the reader of the body sees the handler's error
                rt = current_runtime.get()
                if rt is not None:
                    rt.log("error", f"HTMLRewriter: a handler failed: {type(exc).__name__}: {exc}")
                output.fail(exc)
            else:
                output.close()

        start_producer(pump(), label="HTMLRewriter.transform")
        headers = Headers(response.headers)
        headers.delete("content-length")  # the rewritten body has another length
        return Response(output, status=response.status, statusText=response.statusText, headers=headers)


__all__ = ["Comment", "Doctype", "DocumentEnd", "Element", "EndTag", "HTMLRewriter", "TextChunk"]
