"""The offline model: a deterministic, extractive stand-in for a Workers AI text model.

It does not generate language; it reads the conversation and recombines what is there, so its
answers are plain sentences a lesson can show:

* **Text.** The sentences of the system prompt and the conversation that share the most
  (stemmed) words with the question, with a short opener; "summarize" requests get the most
  central sentences; lists get counted and named; yes/no questions get "Yes."/"No." and the
  sentence that decided it; greetings get a greeting. After a tool result it reports the result.
* **Tools.** Each tool is scored against the last user message by TF-IDF over the words of its
  name (weighted 3), description (1) and parameters (0.5), with light stemming and a few
  synonyms ("forecast" -> weather). The best tool with a distinctive match is called; its
  arguments are filled by type from the text: enums from the schema, numbers, quoted strings,
  capitalised names and places ("in Lisbon"), time zones, e-mails, URLs, dates, then fallbacks.
* **JSON mode.** A value generated from the schema, strings filled from the prompt where the
  property name says what it holds (name, summary, title, tags...), checked with jsonschema.

Choices that a real model would vary (openers) come from a random stream seeded by the runtime
seed and the request, so the same seed and input always give the same answer.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import random
import re
from typing import Any, Iterable

from . import errors, tokens
from .request import AiRequest, Completion, Tool

# -- words ---------------------------------------------------------------------------------
STOPWORDS = frozenset("""
a an the and or but if then so of to in on at by for with from into onto about as is are was were be been being
am do does did doing have has had having i me my mine you your yours we our us he she it its they them their
this that these those there here what whats which who whom whose when where why how can could would should will
shall may might must please tell give show let lets just also very really some any all each every no not
than too more most much many again up down out over under only own same s t don doesn didn isn aren wasn
weren won wouldn couldn shouldn hi hello hey thanks thank know want need like today now
""".split())
#: Verbs every tool name starts with; they say nothing about which tool fits.
GENERIC_VERBS = frozenset("get set fetch find do make run call use lookup look check return retrieve".split())
#: A few everyday words that point at a tool whose name uses another word.
SYNONYMS = {
    "forecast": "weather", "rain": "weather", "sunny": "weather", "temperature": "weather", "snow": "weather",
    "hot": "weather", "cold": "weather", "wind": "weather", "clock": "time", "hour": "time", "o'clock": "time",
    "mail": "email", "e-mail": "email", "message": "send", "text": "send", "book": "reserve",
    "reservation": "reserve", "calculate": "math", "compute": "math", "sum": "add", "plus": "add",
    "translate": "translation", "search": "search", "google": "search", "convert": "conversion",
}
QUESTION_WORDS = frozenset("what whats what's which who whom whose when where why how".split())
YES_NO_STARTS = frozenset("is are am was were do does did can could should would will has have had may might must".split())
NEGATIONS = frozenset("not no never none cannot can't isn't aren't wasn't weren't don't doesn't didn't won't "
                      "closed unavailable".split())
POSITIVE = frozenset("good great love excellent happy amazing wonderful nice fantastic best like enjoy pleased".split())
NEGATIVE = frozenset("bad terrible hate awful sad worst poor angry disappointed broken slow refund".split())

_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+(.+?)\s*$", re.M)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*[A-Za-z])")
_QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|(?<!\w)'([^']+)'(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://[^\s\"'<>]+")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_TZ = re.compile(r"\b(?:[A-Z][a-z]+/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?|UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?\b")
_CAPITALISED = re.compile(r"\b[A-Z][\w'\-]*(?:\s+(?:of|de|da|do|del|la|le|van|von)?\s*[A-Z][\w'\-]*)*")
_PLACE = re.compile(r"\b(?:in|at|for|to|from|near|of|around)\s+((?:[A-Z][\w'\-]*)(?:\s+[A-Z][\w'\-]*)*)")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def stem(word: str) -> str:
    """A light stemmer: plural, -ing and -ed endings, enough to match "forecasts" with "forecast"."""
    w = word.lower()
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
        return w[:-1] if len(w) > 2 and w[-1] == w[-2] else w
    if len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
        return w[:-1] if len(w) > 2 and w[-1] == w[-2] else w
    if len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def words(text: str) -> list[str]:
    """The words of ``text``, camelCase and snake_case split (``getWeather`` -> get, Weather)."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text.replace("_", " "))
    return _WORD.findall(text)


def keywords(text: str) -> list[str]:
    """Stemmed content words of ``text``, synonyms added, stop words dropped, in order."""
    out = []
    for w in words(text):
        lw = w.lower()
        if lw in STOPWORDS or len(lw) < 2:
            continue
        out.append(stem(lw))
        if lw in SYNONYMS:
            out.append(SYNONYMS[lw])
        elif stem(lw) in SYNONYMS:
            out.append(SYNONYMS[stem(lw)])
    return out


def sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if _LIST_ITEM.match(line):
            continue
        for s in _SENTENCE.findall(line):
            s = s.strip()
            if len(words(s)) >= 2:
                out.append(s if s[-1] in ".!?" else s + ".")
    return out


def list_items(text: str) -> list[str]:
    return [m.group(1).rstrip(".;,") for m in _LIST_ITEM.finditer(text)]


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _is_persona(sentence: str) -> bool:
    s = sentence.lower()
    return s.startswith(("you are", "you're", "act as", "always ", "never ", "respond ", "answer ", "be ",
                         "reply ", "keep ", "use ", "do not", "don't"))


# -- extraction ----------------------------------------------------------------------------
class Extractor:
    """Candidate values found in a text, each taken at most once, for filling typed fields."""

    def __init__(self, text: str, context: str = "", today: _dt.date | None = None) -> None:
        self.text = text
        self.context = context
        self.today = today or _dt.date(2026, 1, 1)
        self.quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]
        self.emails = _EMAIL.findall(text)
        self.urls = _URL.findall(text)
        scrubbed = _URL.sub(" ", _EMAIL.sub(" ", text))
        self.dates = _ISO_DATE.findall(scrubbed)
        self.numbers = [n for n in _NUMBER.findall(_ISO_DATE.sub(" ", scrubbed))]
        self.timezones = _TZ.findall(text)
        self.places = [p for p in (m.group(1) for m in _PLACE.finditer(scrubbed)) if p.lower() not in STOPWORDS]
        names = []
        for m in _CAPITALISED.finditer(scrubbed):
            phrase = m.group(0).strip()
            first = phrase.split()[0].lower().rstrip("'s")
            if first in STOPWORDS or first in QUESTION_WORDS or first in YES_NO_STARTS:
                rest = phrase.split()[1:]
                phrase = " ".join(rest)
            if phrase and phrase.lower() not in STOPWORDS and phrase not in names and "/" not in phrase \
                    and phrase.lower() not in _CALENDAR:
                names.append(phrase)
        self.names = names
        self.used: set[str] = set()

    def take(self, pool: Iterable[str]) -> str | None:
        for value in pool:
            if value not in self.used:
                self.used.add(value)
                return value
        return None

    def peek(self, pool: Iterable[str]) -> str | None:
        for value in pool:
            if value not in self.used:
                return value
        return None

    def topic(self) -> str:
        """What the text is about: a quoted phrase, a name, or its main keywords."""
        if self.quoted:
            return self.quoted[0]
        if self.names:
            return self.names[0]
        kws = [w for w in words(self.text) if w.lower() not in STOPWORDS and len(w) > 2]
        return " ".join(kws[:4]) or "your question"

    def request_phrase(self) -> str:
        """The object of a request: "search for cheap flights" -> "cheap flights"."""
        text = self.text.strip().rstrip("?.!")
        m = re.search(r"\b(?:for|about|on|regarding)\s+(.+)$", text, re.I)
        return (m.group(1) if m else text).strip()


def _field_kind(name: str, schema: dict[str, Any]) -> str:
    hint = set(stem(w.lower()) for w in words(name + " " + str(schema.get("description", ""))))
    name_words = set(stem(w.lower()) for w in words(name))
    fmt = schema.get("format", "")
    if fmt == "email" or "email" in name_words:
        return "email"
    if fmt in ("uri", "url") or name_words & {"url", "link", "website", "uri"}:
        return "url"
    if fmt == "date" or name_words & {"date", "day"}:
        return "date"
    if fmt == "date-time":
        return "datetime"
    if name_words & {"timezone", "tz", "zone"} or "timezone" in hint:
        return "timezone"
    if name_words & {"location", "city", "place", "country", "region", "address", "destination", "origin",
                     "town", "where", "capital", "state"}:
        return "place"
    if name_words & {"name", "person", "user", "username", "recipient", "author", "contact", "who", "participant",
                     "people", "attendee", "owner", "assignee", "customer"}:
        return "name"
    if name_words & {"summary", "description", "answer", "explanation", "reason", "response", "reply", "body",
                     "content", "comment", "note", "detail", "message", "reasoning"}:
        return "prose"
    if name_words & {"title", "headline", "subject", "label", "category", "topic", "type", "kind"}:
        return "title"
    if name_words & {"tag", "keyword", "topic", "skill", "interest"}:
        return "keywords"
    if name_words & {"sentiment", "mood", "tone"}:
        return "sentiment"
    if name_words & {"language", "lang", "locale"}:
        return "language"
    if name_words & {"query", "text", "question", "prompt", "search", "term", "input", "expression", "phrase"}:
        return "query"
    if hint & {"city", "location", "place", "country"}:
        return "place"
    return "generic"


class SchemaFiller:
    """Builds values for JSON Schemas from a conversation (tool arguments and JSON mode)."""

    def __init__(self, extractor: Extractor, prose: str, rng: random.Random) -> None:
        self.x = extractor
        self.prose = prose
        self.rng = rng

    # -- entry points --------------------------------------------------------------------
    def arguments(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Tool arguments: every required property, plus optional ones the text supplies."""
        props = parameters.get("properties") or {}
        required = [r for r in parameters.get("required") or [] if r in props]
        out: dict[str, Any] = {}
        for name in required + [p for p in props if p not in required]:
            value = self.value(name, props[name] if isinstance(props[name], dict) else {},
                               required=name in required, root=parameters)
            if value is not _SKIP:
                out[name] = value
        return out

    def document(self, schema: dict[str, Any]) -> Any:
        """A JSON mode value: every property of every object filled."""
        return self.value("response", schema, required=True, root=schema, fill_all=True)

    # -- one value -------------------------------------------------------------------------
    def value(self, name: str, schema: dict[str, Any], *, required: bool, root: dict[str, Any],
              fill_all: bool = False, depth: int = 0) -> Any:
        schema = self._resolve(schema, root)
        if depth > 6:
            return None
        if "const" in schema:
            return schema["const"]
        if "enum" in schema and schema["enum"]:
            return self._enum(schema["enum"], schema)
        for key in ("anyOf", "oneOf"):
            if key in schema and schema[key]:
                options = [self._resolve(o, root) for o in schema[key]]
                typed = [o for o in options if o.get("type") != "null"] or options
                return self.value(name, typed[0], required=required, root=root, fill_all=fill_all, depth=depth + 1)
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self._resolve(part, root)
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = list(merged.get("required", [])) + list(part.get("required", []))
                for k, v in part.items():
                    merged.setdefault(k, v)
            return self.value(name, merged, required=required, root=root, fill_all=fill_all, depth=depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            props = schema.get("properties") or {}
            req = [r for r in schema.get("required") or []]
            out: dict[str, Any] = {}
            for prop in req + [p for p in props if p not in req]:
                sub = props.get(prop, {})
                v = self.value(prop, sub if isinstance(sub, dict) else {}, required=prop in req or fill_all,
                               root=root, fill_all=fill_all, depth=depth + 1)
                if v is not _SKIP:
                    out[prop] = v
            return out
        if kind == "array":
            return self._array(name, schema, root, fill_all, depth)
        if kind in ("integer", "number"):
            return self._number(schema, kind, required)
        if kind == "boolean":
            return self._boolean(name, schema, required)
        if kind == "null":
            return None
        return self._string(name, schema, required)

    @staticmethod
    def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 10:
            ref = schema["$ref"]
            target: Any = root
            if ref.startswith("#/"):
                for part in ref[2:].split("/"):
                    target = target.get(part, {}) if isinstance(target, dict) else {}
            schema = target
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def _enum(self, options: list[Any], schema: dict[str, Any]) -> Any:
        for source in (self.x.text, self.x.context):
            low = source.lower()
            found = []
            for option in options:
                if isinstance(option, str):
                    m = re.search(r"\b" + re.escape(option.lower()) + r"\b", low)
                    if m:
                        found.append((m.start(), option))
            # In the order the text mentions them, each taken once: "250 USD to EUR" fills from, then to.
            fresh = [o for _, o in sorted(found) if f"enum:{o}" not in self.x.used]
            if fresh:
                self.x.used.add(f"enum:{fresh[0]}")
                return fresh[0]
            if found:
                return sorted(found)[0][1]
        if schema.get("default") in options:
            return schema["default"]
        return options[0]

    def _number(self, schema: dict[str, Any], kind: str, required: bool) -> Any:
        raw = self.x.take(self.x.numbers)
        if raw is None:
            if not required:
                return _SKIP
            value: float = schema.get("default", schema.get("minimum", schema.get("exclusiveMinimum", 0)))
            if "exclusiveMinimum" in schema and "minimum" not in schema:
                value = value + 1
        else:
            value = float(raw)
        lo = schema.get("minimum", -math.inf)
        hi = schema.get("maximum", math.inf)
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            value = schema["exclusiveMinimum"] + (1 if kind == "integer" else 0.5)
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            value = schema["exclusiveMaximum"] - (1 if kind == "integer" else 0.5)
        value = min(max(value, lo), hi)
        step = schema.get("multipleOf")
        if step:
            value = round(value / step) * step
        if kind == "integer":
            return int(round(value))
        return int(value) if float(value).is_integer() and raw is not None and "." not in raw else float(value)

    def _boolean(self, name: str, schema: dict[str, Any], required: bool) -> Any:
        low = set(w.lower() for w in words(self.x.text))
        mentioned = bool(set(keywords(name)) & set(keywords(self.x.text)))
        if not mentioned and not required:
            return _SKIP
        if "default" in schema and not mentioned:
            return bool(schema["default"])
        return mentioned and not (low & NEGATIONS)

    def _string(self, name: str, schema: dict[str, Any], required: bool) -> Any:
        kind = _field_kind(name, schema)
        x = self.x
        value: str | None = None
        if kind == "email":
            value = x.take(x.emails)
        elif kind == "url":
            value = x.take(x.urls)
        elif kind == "date":
            value = x.take(x.dates) or self._relative_date()
        elif kind == "datetime":
            d = x.take(x.dates)
            value = (d + "T00:00:00Z") if d else None
        elif kind == "timezone":
            value = x.take(x.timezones) or x.take(x.places) or x.take(x.names)
        elif kind == "place":
            value = x.take(x.places) or x.take(x.names) or x.take(x.quoted)
        elif kind == "name":
            value = x.take(n for n in x.names if n not in x.places) or x.take(x.quoted) or x.take(x.names)
        elif kind == "query":
            value = x.take(x.quoted) or x.request_phrase()
        elif kind == "prose":
            value = self.prose
        elif kind == "title":
            value = x.take(x.quoted) or _title(x.topic())
        elif kind == "sentiment":
            value = _sentiment(x.text)
        elif kind == "language":
            value = "English"
        elif kind == "keywords":
            value = x.topic()
        else:
            value = x.take(x.quoted) or x.take(x.names) or x.take(x.places)
        if value is None:
            if not required:
                return _SKIP
            fallbacks = {"email": "user@example.com", "url": "https://example.com", "datetime": "2026-01-01T00:00:00Z",
                         "timezone": "UTC", "prose": self.prose}
            value = fallbacks.get(kind) or x.topic()
        return self._fit_string(value, schema)

    def _relative_date(self) -> str | None:
        low = self.x.text.lower()
        if "tomorrow" in low:
            return (self.x.today + _dt.timedelta(days=1)).isoformat()
        if "yesterday" in low:
            return (self.x.today - _dt.timedelta(days=1)).isoformat()
        for i, day in enumerate(_WEEKDAYS):
            if day in low:
                ahead = (i - self.x.today.weekday()) % 7
                return (self.x.today + _dt.timedelta(days=ahead)).isoformat()
        if "today" in low:
            return self.x.today.isoformat()
        return None

    def _fit_string(self, value: str, schema: dict[str, Any]) -> str:
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, value):
            pool = (self.x.quoted + self.x.names + self.x.places + self.x.numbers + self.x.dates + self.x.emails
                    + self.x.urls + words(self.x.text))
            match = next((c for c in pool if re.search(pattern, c)), None)
            if match is None:
                # JSON mode page: "If that's the case, then an error `JSON Mode couldn't be met` is returned".
                raise JsonModeUnmet(f"no text in the prompt matches the pattern {pattern!r}")
            value = match
        lo, hi = schema.get("minLength", 0), schema.get("maxLength")
        if hi is not None and len(value) > hi:
            value = value[:hi].rstrip() or value[:hi]
        if len(value) < lo:
            value = value + "." * (lo - len(value))
        return value

    def _array(self, name: str, schema: dict[str, Any], root: dict[str, Any], fill_all: bool, depth: int) -> list:
        items = self._resolve(schema.get("items") or {}, root)
        lo = schema.get("minItems", 0)
        hi = schema.get("maxItems", 5)
        kind = items.get("type", "string")
        out: list[Any] = []
        if "enum" in items:
            low = self.x.text.lower()
            out = [o for o in items["enum"] if isinstance(o, str) and o.lower() in low]
            out = out or items["enum"][:max(1, lo)]
        elif kind == "string":
            field = _field_kind(name, {})
            if field in ("name", "place"):
                pool = self.x.names if field == "name" else (self.x.places or self.x.names)
            elif field == "keywords":
                pool = _top_keywords(self.x.text + " " + self.x.context, 5)
            else:
                pool = list_items(self.x.text) or list_items(self.x.context) or self.x.names \
                    or _top_keywords(self.x.text, 3)
            out = [self._fit_string(v, items) for v in dict.fromkeys(pool)]
        else:
            count = max(lo, 1)
            out = [self.value(name, items, required=True, root=root, fill_all=fill_all, depth=depth + 1)
                   for _ in range(count)]
        out = out[:hi]
        while len(out) < lo:
            filler = self.value(name, items, required=True, root=root, fill_all=fill_all, depth=depth + 1)
            if schema.get("uniqueItems") and filler in out:
                filler = f"{filler} {len(out) + 1}" if isinstance(filler, str) else filler
            out.append(filler)
        if schema.get("uniqueItems"):
            unique: list[Any] = []
            for v in out:
                if v not in unique:
                    unique.append(v)
            out = unique
        return out


_SKIP = object()


class JsonModeUnmet(Exception):
    """The schema asks for something the prompt cannot supply."""


def _title(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


def _sentiment(text: str) -> str:
    ws = set(w.lower() for w in words(text))
    pos, neg = len(ws & POSITIVE), len(ws & NEGATIVE) + (1 if ws & NEGATIONS and ws & POSITIVE else 0)
    return "positive" if pos > neg else "negative" if neg > pos else "neutral"


def _top_keywords(text: str, n: int) -> list[str]:
    counts: dict[str, int] = {}
    for w in words(text):
        lw = w.lower()
        if lw in STOPWORDS or len(lw) < 3 or lw.isdigit():
            continue
        counts[lw] = counts.get(lw, 0) + 1
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], list(counts).index(kv[0])))][:n]


# -- tool choice ---------------------------------------------------------------------------
def score_tools(tools: list[Tool], text: str) -> list[tuple[float, Tool]]:
    """TF-IDF scores of every tool against ``text``, best first (ties keep the tools' order)."""
    docs: list[dict[str, float]] = []
    for tool in tools:
        weights: dict[str, float] = {}

        def add(source: str, weight: float) -> None:
            for w in keywords(source):
                if w in GENERIC_VERBS:
                    continue
                weights[w] = max(weights.get(w, 0.0), weight)

        add(tool.name, 3.0)
        add(tool.description, 1.0)
        for pname, pschema in (tool.parameters.get("properties") or {}).items():
            add(pname, 0.5)
            if isinstance(pschema, dict):
                add(str(pschema.get("description", "")), 0.5)
        docs.append(weights)
    n = len(tools)
    query = set(w for w in keywords(text) if w not in GENERIC_VERBS)
    scored = []
    for tool, weights in zip(tools, docs):
        score = 0.0
        for w in query:
            if w not in weights:
                continue
            df = sum(1 for d in docs if w in d)
            if n > 1 and df == n:
                continue  # a word every tool has cannot tell them apart
            score += weights[w] * math.log(1 + n / df)
        scored.append((score, tool))
    return sorted(scored, key=lambda st: -st[0])


def choose_tool(tools: list[Tool], text: str) -> Tool | None:
    if not tools:
        return None
    best_score, best = score_tools(tools, text)[0]
    return best if best_score > 0 else None


# -- text answers --------------------------------------------------------------------------
def _overlap(a: set[str], sentence: str) -> int:
    return len(a & set(keywords(sentence)))


def _tool_result_answer(request: AiRequest, rng: random.Random) -> str | None:
    """The final answer after tool results: report what the tools returned."""
    last_user = max((i for i, m in enumerate(request.messages) if m["role"] == "user"), default=-1)
    results = [m for m in request.messages[last_user + 1:] if m["role"] == "tool"]
    if not results:
        return None
    names = {}
    for m in request.messages[last_user + 1:]:
        for call in m.get("tool_calls") or []:
            spec = call.get("function", call) if isinstance(call, dict) else {}
            if call.get("id"):
                names[call["id"]] = spec.get("name")
            names.setdefault(None, spec.get("name"))
    parts = []
    for m in results:
        name = m.get("name") or names.get(m.get("tool_call_id")) or names.get(None) or "the tool"
        parts.append((name, _describe(m["content"])))
    lead = rng.choice(["Here is what I found", "Here's the result", "I checked for you"])
    body = "; ".join(f"{name} returned {desc}" for name, desc in parts)
    return f"{lead}: {body}."


def _describe(content: str) -> str:
    try:
        data = json.loads(content)
    except (ValueError, TypeError):
        return content.strip().rstrip(".")
    if isinstance(data, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_describe(json.dumps(v)) if isinstance(v, (dict, list)) else v}"
                         for k, v in data.items()) or "nothing"
    if isinstance(data, list):
        return _join([str(v) for v in data]) or "nothing"
    return str(data)


_SUMMARISE = re.compile(r"\b(summari[sz]e|summary|tl;?dr|sum up|key points|main points)\b")
_SUMMARISE_LEAD = re.compile(r"^\s*(?:please\s+)?(?:summari[sz]e|give me a summary of|tl;?dr|sum up)\b[^:\n]*:\s*",
                             re.I)
_CALENDAR = frozenset(_WEEKDAYS + ("january", "february", "march", "april", "may", "june", "july", "august",
                                   "september", "october", "november", "december", "today", "tomorrow",
                                   "yesterday"))


def answer(request: AiRequest, rng: random.Random) -> str:
    """A plain-text answer drawn from the conversation."""
    from_tools = _tool_result_answer(request, rng)
    if from_tools:
        return from_tools
    question = request.last_user.strip()
    summarise = _SUMMARISE.search(question.lower()) is not None
    if summarise:
        question = _SUMMARISE_LEAD.sub("", question).strip() or question
    context_msgs = [m["content"] for m in request.messages[:-1] if m["role"] in ("system", "user", "assistant")]
    q_sentences = sentences(question)
    asks = [s for s in q_sentences if s.endswith("?")] or q_sentences[-1:] or [question]
    ask = asks[-1]
    material = [s for text in context_msgs for s in sentences(text) if not _is_persona(s)]
    material += [s for s in q_sentences if s not in asks and not _is_persona(s)]
    items = list_items(question) or [i for t in context_msgs for i in list_items(t)]
    low = question.lower()
    first = (words(ask)[:1] or [""])[0].lower()
    x = Extractor(question)

    if re.match(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b", low) and len(words(question)) <= 6:
        return rng.choice(["Hello! How can I help you today?", "Hi there! What can I do for you?",
                           "Hello! What would you like to know?"])
    if summarise:
        if items:
            return f"The main points are: {_join(items)}."
        ranked = _central([s for s in material if s not in q_sentences] + q_sentences, 2)
        if ranked:
            return "In short: " + " ".join(ranked)
        return f"There is not much to summarise beyond this: {question}"
    if items and re.search(r"\b(list|items|which|how many|options|choices)\b", low):
        return f"There are {len(items)} items: {_join(items)}."
    qk = set(keywords(ask))
    ranked = sorted(((_overlap(qk, s), i, s) for i, s in enumerate(material)), key=lambda t: (-t[0], t[1]))
    best = [s for score, _, s in ranked if score > 0]
    if first in YES_NO_STARTS and not ask.lower().startswith(("can you", "could you", "would you", "will you")):
        if not best:
            return rng.choice(["I can't tell from the information I have.",
                               "I don't have enough information to say for sure."])
        decisive = best[0]
        negated = bool(set(w.lower() for w in words(decisive)) & NEGATIONS) != \
            bool(set(w.lower() for w in words(ask)) & NEGATIONS)
        return ("No. " if negated else "Yes. ") + decisive
    if best:
        opener = rng.choice(["", "Here's what I know. ", "Based on the information provided: ",
                             "According to the context, "])
        picked = best[:2] if len(best) > 1 and ranked[1][0] == ranked[0][0] else best[:1]
        text = " ".join(picked)
        if opener.endswith(", ") and text[:1].isupper() and not text.split()[0] in x.names:
            text = text[:1].lower() + text[1:]
        return opener + text
    topic = x.topic()
    return rng.choice([
        f"You asked about {topic}. I'm the course's offline model, so I can only answer from the text I'm given, "
        "and it doesn't say more about that.",
        f"That's a question about {topic}. Working offline, I only know what the prompt tells me, and it has "
        "no more detail on it.",
    ])


def _central(items: list[str], n: int) -> list[str]:
    """The ``n`` sentences sharing most words with the rest, in their original order."""
    if not items:
        return []
    counts: dict[str, int] = {}
    for s in items:
        for w in set(keywords(s)):
            counts[w] = counts.get(w, 0) + 1
    scored = sorted(((sum(counts[w] for w in set(keywords(s))), i) for i, s in enumerate(items)),
                    key=lambda t: (-t[0], t[1]))
    keep = sorted(i for _, i in scored[:n])
    return [items[i] for i in keep]


# -- the model -----------------------------------------------------------------------------
class OfflineModel:
    """Answers an :class:`AiRequest` without a network, deterministically for a given rng."""

    name = "offline"

    def __init__(self, today: _dt.date | None = None) -> None:
        self.today = today

    def complete(self, request: AiRequest, rng: random.Random) -> Completion:
        question = request.last_user
        context = "\n".join(m["content"] for m in request.messages[:-1])
        x = Extractor(question, context, self.today)
        after_tool = bool(request.messages) and request.messages[-1]["role"] == "tool"
        if request.json_mode:
            prose = answer(request, rng)
            schema = request.json_schema or {"type": "object", "properties": {"response": {"type": "string"}}}
            try:
                value = SchemaFiller(x, prose, rng).document(schema)
            except JsonModeUnmet as exc:
                raise errors.AiError(None, f"JSON Mode couldn't be met ({exc})", 400) from None
            _validate(value, schema)
            reasoning = f"The request asks for JSON matching a schema with fields {', '.join(_fields(schema))}."
            return Completion(json_value=value, reasoning=reasoning)
        tool = None if after_tool else choose_tool(request.tools, question)
        if tool is not None:
            args = SchemaFiller(x, question, rng).arguments(tool.parameters)
            shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
            reasoning = (f"The user asks: {question.strip()!r}. The tool {tool.name} matches the request best, "
                         f"so I will call it with {shown or 'no arguments'}.")
            return Completion(text=None, tool_calls=[{"name": tool.name, "arguments": args}], reasoning=reasoning)
        text = answer(request, rng)
        text = tokens.truncate(text, request.max_tokens)
        reasoning = (f"The user asks: {question.strip()!r}. I will answer from what the conversation says."
                     if not after_tool else "The tool results are in; I will report them to the user.")
        return Completion(text=text, reasoning=reasoning)


def _fields(schema: dict[str, Any]) -> list[str]:
    return list((schema.get("properties") or {}).keys()) or [str(schema.get("type", "value"))]


def _validate(value: Any, schema: dict[str, Any]) -> None:
    import jsonschema

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        raise errors.AiError(None, f"JSON Mode couldn't be met ({exc.message})", 400) from None
