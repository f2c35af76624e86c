"""CSS selectors for ``HTMLRewriter``: the subset Cloudflare documents, matched while HTML streams.

https://developers.cloudflare.com/workers/runtime-apis/html-rewriter/#selectors lists what
workerd (lol_html) accepts: ``*``, ``E``, ``E#id``, ``E.class``, ``E[a]``, ``E[a="v"]`` with
``~= ^= $= *= |=`` and the ``i``/``s`` flags, ``E F``, ``E > F``, ``:nth-child``,
``:first-child``, ``:nth-of-type``, ``:first-of-type`` and ``:not(...)``. Sibling combinators
(``+``, ``~``) and other pseudo-classes cannot be decided while streaming and are refused with
the TypeError workerd raises. A selector is matched against an element when its start tag is
read, looking only at the element and its open ancestors (:class:`Node`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from course.workers.jsproxy import JsException


@dataclass(eq=False)
class Node:
    """An element as selectors see it: name, attributes, its place among its siblings, and its
    open parent (None at the top of the document)."""

    name: str
    attrs: dict[str, str]
    parent: "Node | None"
    index: int  # 1-based among the parent's element children
    type_index: int  # 1-based among the parent's children of the same name


def _selector_error(selector: str, what: str) -> JsException:
    return JsException(f"Parser error: {what} in selector {selector!r}", "TypeError")


_IDENT = re.compile(r"-?[_a-zA-Z\u00a0-\uffff][-_a-zA-Z0-9\u00a0-\uffff]*")
_ATTR = re.compile(r"\s*(?P<name>-?[_a-zA-Z][-_a-zA-Z0-9:]*)\s*(?:(?P<op>[~^$*|]?=)\s*"
                   r"(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>-?[_a-zA-Z0-9\u00a0-\uffff-]+))"
                   r"\s*(?P<flag>[iIsS])?)?\s*\]")
_NTH = re.compile(r"\s*(?:(?P<odd>odd)|(?P<even>even)|(?P<a>[+-]?\d*)n\s*(?:(?P<sign>[+-])\s*(?P<b>\d+))?|"
                  r"(?P<only>[+-]?\d+))\s*\)", re.IGNORECASE)


@dataclass
class AttributeTest:
    name: str
    op: str | None = None
    value: str = ""
    ignore_case: bool = False

    def matches(self, attrs: dict[str, str]) -> bool:
        if self.name not in attrs:
            return False
        if self.op is None:
            return True
        actual, wanted = attrs[self.name], self.value
        if self.ignore_case:
            actual, wanted = actual.lower(), wanted.lower()
        if self.op == "=":
            return actual == wanted
        if self.op == "~=":
            return wanted in actual.split()
        if self.op == "|=":
            return actual == wanted or actual.startswith(wanted + "-")
        if not wanted:  # ^= $= *= with an empty value match nothing (Selectors Level 3, 6.3.2)
            return False
        return {"^=": actual.startswith, "$=": actual.endswith, "*=": actual.__contains__}[self.op](wanted)


@dataclass
class Compound:
    """One compound selector: ``tag#id.class[attr]:pseudo``."""

    tag: str | None = None
    ids: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    attrs: list[AttributeTest] = field(default_factory=list)
    nth: list[tuple[str, int, int]] = field(default_factory=list)  # (child|type, a, b)
    negated: list["Compound"] = field(default_factory=list)

    def matches(self, node: Node) -> bool:
        if self.tag is not None and node.name != self.tag:
            return False
        if any(node.attrs.get("id") != i for i in self.ids):
            return False
        if self.classes:
            have = set(node.attrs.get("class", "").split())
            if not all(c in have for c in self.classes):
                return False
        if not all(test.matches(node.attrs) for test in self.attrs):
            return False
        for kind, a, b in self.nth:
            position = node.index if kind == "child" else node.type_index
            if not _nth_matches(position, a, b):
                return False
        return not any(n.matches(node) for n in self.negated)


def _nth_matches(position: int, a: int, b: int) -> bool:
    if a == 0:
        return position == b
    steps, rest = divmod(position - b, a)
    return rest == 0 and steps >= 0


class Selector:
    """A parsed selector list; ``matches(node)`` looks at the node and its open ancestors."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._pos = 0
        self.alternatives: list[list[tuple[str | None, Compound]]] = []
        try:
            self._parse()
        except IndexError:
            raise _selector_error(text, "Unexpected end of selector") from None

    # parsing
    def _parse(self) -> None:
        s = self.text
        while True:
            self._skip_ws()
            self.alternatives.append(self._complex())
            self._skip_ws()
            if self._pos >= len(s):
                return
            if s[self._pos] != ",":
                raise _selector_error(s, f"Unexpected {s[self._pos]!r}")
            self._pos += 1

    def _skip_ws(self) -> bool:
        start = self._pos
        while self._pos < len(self.text) and self.text[self._pos] in " \t\n\r\f":
            self._pos += 1
        return self._pos > start

    def _complex(self) -> list[tuple[str | None, Compound]]:
        parts: list[tuple[str | None, Compound]] = [(None, self._compound())]
        s = self.text
        while True:
            spaced = self._skip_ws()
            if self._pos >= len(s) or s[self._pos] in ",)":
                return parts
            if s[self._pos] == ">":
                self._pos += 1
                self._skip_ws()
                parts.append((">", self._compound()))
            elif s[self._pos] in "+~":
                raise _selector_error(s, f"Unsupported combinator {s[self._pos]!r}")
            elif spaced:
                parts.append((" ", self._compound()))
            else:
                raise _selector_error(s, f"Unexpected {s[self._pos]!r}")

    def _ident(self) -> str:
        match = _IDENT.match(self.text, self._pos)
        if not match:
            raise _selector_error(self.text, f"Expected a name at position {self._pos}")
        self._pos = match.end()
        return match.group(0)

    def _compound(self) -> Compound:
        s = self.text
        compound = Compound()
        start = self._pos
        if s.startswith("*", self._pos):
            self._pos += 1
        elif _IDENT.match(s, self._pos):
            compound.tag = self._ident().lower()
        while self._pos < len(s):
            ch = s[self._pos]
            if ch == "#":
                self._pos += 1
                compound.ids.append(self._ident())
            elif ch == ".":
                self._pos += 1
                compound.classes.append(self._ident())
            elif ch == "[":
                match = _ATTR.match(s, self._pos + 1)
                if not match:
                    raise _selector_error(s, "Invalid attribute selector")
                value = next((v for v in (match["dq"], match["sq"], match["bare"]) if v is not None), "")
                flag = (match["flag"] or "").lower()
                compound.attrs.append(AttributeTest(match["name"].lower(), match["op"], value, flag == "i"))
                self._pos = match.end()
            elif ch == ":":
                self._pseudo(compound)
            else:
                break
        if self._pos == start:
            raise _selector_error(s, f"Expected a selector at position {start}")
        return compound

    def _pseudo(self, compound: Compound) -> None:
        s = self.text
        if s.startswith("::", self._pos):
            raise _selector_error(s, "Unsupported pseudo-class or pseudo-element")
        self._pos += 1
        name = self._ident().lower()
        if name in ("first-child", "first-of-type"):
            compound.nth.append(("child" if name == "first-child" else "type", 0, 1))
            return
        if not s.startswith("(", self._pos):
            raise _selector_error(s, f"Unsupported pseudo-class :{name}")
        self._pos += 1
        if name in ("nth-child", "nth-of-type"):
            match = _NTH.match(s, self._pos)
            if not match:
                raise _selector_error(s, f"Invalid argument of :{name}")
            if match["odd"]:
                a, b = 2, 1
            elif match["even"]:
                a, b = 2, 0
            elif match["only"] is not None:
                a, b = 0, int(match["only"])
            else:
                coef = match["a"]
                a = -1 if coef == "-" else 1 if coef in ("", "+") else int(coef)
                b = int(match["b"] or 0) * (-1 if match["sign"] == "-" else 1)
            compound.nth.append(("child" if name == "nth-child" else "type", a, b))
            self._pos = match.end()
        elif name == "not":
            self._skip_ws()
            compound.negated.append(self._compound())
            self._skip_ws()
            if not s.startswith(")", self._pos):
                raise _selector_error(s, ":not() takes one compound selector")
            self._pos += 1
        else:
            raise _selector_error(s, f"Unsupported pseudo-class :{name}")

    # matching
    def matches(self, node: Node) -> bool:
        return any(_match_from(parts, len(parts) - 1, node) for parts in self.alternatives)


def _match_from(parts: list[tuple[str | None, Compound]], i: int, node: Node) -> bool:
    combinator, compound = parts[i]
    if not compound.matches(node):
        return False
    if i == 0:
        return True
    if combinator == ">":
        return node.parent is not None and _match_from(parts, i - 1, node.parent)
    ancestor = node.parent
    while ancestor is not None:
        if _match_from(parts, i - 1, ancestor):
            return True
        ancestor = ancestor.parent
    return False


__all__ = ["AttributeTest", "Compound", "Node", "Selector"]
