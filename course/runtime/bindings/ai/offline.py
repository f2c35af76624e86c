"""The offline model: a deterministic, extractive stand-in for a Workers AI text model.

It does not generate language; it reads the conversation and recombines what is there, with
rules simple enough to explain in a lesson (the reasoning it returns names them):

* **Text.** The sentences of the system prompt and the conversation that share the most
  (stemmed) words with the question, with a short opener; "summarize" requests get the most
  central sentences; lists get counted and named; yes/no questions get "Yes."/"No." and the
  sentence that decided it; greetings get a greeting. After a tool result it reports the result.
* **Tools.** Each tool is scored by TF-IDF over the words of its name (weighted 3), description
  (1) and parameters (0.5), plus the evidence the text gives for its arguments (a value read for
  a property, see :mod:`course.runtime.bindings.ai.arguments`) and the request's opening verb; each
  required argument the text cannot fill halves the score. The best tool is called when its
  score reaches ``MIN_TOOL_SCORE`` (``tool_choice`` "none", "required" or a named tool override
  this), unless it lacks arguments and the conversation already answers the question.
* **Arguments.** Read around each property's name ("worker-3", "priority 2", "the report task",
  "from Paris"), then by type: enums named in the text or chosen by cue words
  (:mod:`course.runtime.bindings.ai.lexicon`), numbers with units, dates, e-mails, quoted strings, names.
  Optional arguments the text does not give are left out.
* **JSON mode.** A value built from the schema the same way; enums on a scale (severity,
  priority) follow urgency cues, others follow label cues; summaries restate the user's content,
  titles are its topic, ``reason`` fields explain the enum decisions; checked with jsonschema.

Choices that a real model would vary (openers) come from a random stream seeded by the runtime
seed and the request, so the same seed and input always give the same answer. Accuracy on the
course's evaluation set: ``python bench/bench_ai_offline.py``.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any, Iterable

from course.runtime.bindings.ai import errors, tokens
from course.runtime.bindings.ai.arguments import PropertyReader, currency_mentions, id_spans, name_words, phrase_after
from course.runtime.bindings.ai.lexicon import (CURRENCY_WORDS, FILLER_OPENINGS, LABEL_CUES, LEVELS, NEUTRAL_OPTIONS, OPTION_NOISE,
                      URGENCY_HIGH, URGENCY_LOW, URGENCY_LOW_PHRASES)
from course.runtime.bindings.ai.request import AiRequest, Completion, Tool

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
    "fly": "flight", "flying": "flight", "parcel": "shipment", "package": "shipment",
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

_PRONOUNS = frozenset("i i'm im i've i'd we we're you he she they it's hi hey hello dear".split())
_MONTH_NAMES = frozenset("january february march april may june july august september october november "
                         "december jan feb mar apr jun jul aug sep sept oct nov dec".split())


def _sentence_start(text: str, pos: int) -> int:
    """Where the sentence holding ``pos`` starts (after the last ., !, ? or : before it)."""
    cut = max(text.rfind(c, 0, pos) for c in ".!?:\n")
    start = cut + 1
    while start < len(text) and not text[start].isalnum():
        start += 1
    return start


def _name_follows(rest: str) -> bool:
    """After a capitalised first word, what says it is a name: "Alice and Bob", "Lena, 34", "Ana said"."""
    m = re.match(r"\s*([,']|\w+)", rest)
    if not m:
        return False
    nxt = m.group(1)
    return nxt in (",", "'") or nxt[:1].isupper() or nxt.lower() in _NAME_FOLLOWERS or \
        (nxt.endswith("s") and not nxt.endswith("ss") and len(nxt) > 3 and nxt.lower() not in STOPWORDS
         and nxt.lower() not in ("minutes", "hours", "days"))


_NAME_FOLLOWERS = frozenset("and or is was will has had said says asked wants needs lives works can could "
                            "would should".split())


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
        self.reader = PropertyReader(text, self.today)
        self.dates = _ISO_DATE.findall(scrubbed)
        # Digits inside ids (worker-3, #123), clock times, phone numbers and dates are not quantities.
        no_ids = _ISO_DATE.sub(" ", scrubbed)
        for start, end in sorted(id_spans(no_ids), reverse=True):
            no_ids = no_ids[:start] + " " * (end - start) + no_ids[end:]
        self.numbers = [n for n in _NUMBER.findall(no_ids)]
        self.timezones = _TZ.findall(text)
        self.places = [p for p in (m.group(1) for m in _PLACE.finditer(scrubbed)) if p.lower() not in STOPWORDS
                       and p.lower() not in _CALENDAR and p.split()[0].lower() not in _MONTH_NAMES]
        names = []
        for m in _CAPITALISED.finditer(scrubbed):
            phrase = m.group(0).strip()
            parts = phrase.split()
            while parts and (parts[0].lower().rstrip("'s") in STOPWORDS or parts[0].lower() in _PRONOUNS
                             or parts[0].lower() in QUESTION_WORDS or parts[0].lower() in YES_NO_STARTS):
                parts = parts[1:]
            phrase = " ".join(parts)
            if phrase and len(parts) == 1 and m.start() + len(m.group(0)) - len(phrase) == _sentence_start(
                    scrubbed, m.start()) and not _name_follows(scrubbed[m.end():]):
                continue  # "Create a user", "Team offsite": a capitalised first word, not a name
            if phrase and phrase.lower() not in STOPWORDS and phrase not in names and "/" not in phrase \
                    and phrase.lower() not in _CALENDAR and not any(c.isdigit() for c in phrase) \
                    and phrase.split()[0].lower() not in _MONTH_NAMES and phrase.lower() not in CURRENCY_WORDS:
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

    def request_phrase(self) -> tuple[str, bool]:
        """The object of a request: "search for cheap flights" -> ("cheap flights", True); False
        when no "for"/"about" introduces it and the whole request is returned."""
        text = self.text.strip().rstrip("?.!")
        m = re.search(r"\b(?:for|about|on|regarding)\s+(.+)$", text, re.I)
        return (m.group(1) if m else text).strip(), m is not None


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
    if name_words & {"phone", "tel", "telephone", "mobile", "cell"}:
        return "phone"
    if name_words & {"time", "clock"}:
        return "time"
    if name_words & {"company", "organization", "organisation", "employer", "org", "business", "firm"}:
        return "org"
    if name_words & {"job", "occupation", "profession", "position"}:
        return "job"
    if name_words & {"location", "city", "place", "country", "region", "address", "destination", "origin",
                     "town", "where", "capital", "state"}:
        return "place"
    if name_words & {"name", "person", "user", "username", "recipient", "author", "contact", "who", "participant",
                     "people", "attendee", "owner", "assignee", "customer", "member", "guest"}:
        return "name"
    if name_words & {"reason", "reasoning", "explanation", "rationale", "why", "justification"}:
        return "reason"
    if name_words & {"summary", "description", "body", "content", "comment", "note", "detail", "message",
                     "abstract", "tldr", "highlight", "point"}:
        return "summary"
    if name_words & {"answer", "response", "reply"}:
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
    if name_words & {"task", "todo", "step", "item", "action", "chore"}:
        return "list"
    if hint & {"city", "location", "place", "country"}:
        return "place"
    return "generic"


#: Array properties that hold people (filled with e-mail addresses when the text has them).
PEOPLE_KINDS = frozenset({"name"})
#: Words of an enum-less string property whose value a reading of the text is no evidence for.
_UNREAD_KINDS = frozenset({"email", "url", "date", "datetime", "summary", "prose", "reason", "sentiment", "phone",
                           "time"})
#: Evidence (a value read for a property) adds this much to a tool's score per property.
EVIDENCE_WEIGHT = 1.5
#: Each required property the text gives no value for halves a tool's score.
MISSING_REQUIRED_FACTOR = 0.5
#: A tool is called only when its score reaches this (tool_choice "auto").
MIN_TOOL_SCORE = 1.0


class SchemaFiller:
    """Builds values for JSON Schemas from a conversation (tool arguments and JSON mode).

    ``evidence`` records, per property, the rule that read its value from the text; ``guessed``
    the properties filled without evidence (schema defaults, fallbacks); ``decisions`` why each
    enum got its value. The model's reasoning and its tool choice are built from them.
    """

    def __init__(self, extractor: Extractor, prose: str, rng: random.Random, summary: str | None = None) -> None:
        self.x = extractor
        self.prose = prose
        self.summary = summary or prose
        self.rng = rng
        self.evidence: dict[str, str] = {}
        self.guessed: list[str] = []
        self.decisions: list[str] = []
        self._siblings: set[str] = set()

    # -- entry points --------------------------------------------------------------------
    def arguments(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Tool arguments: every required property, plus optional ones the text supplies."""
        props = parameters.get("properties") or {}
        required = [r for r in parameters.get("required") or [] if r in props]
        self._siblings = set(props)
        out: dict[str, Any] = {}
        for name in required + [p for p in props if p not in required]:
            value = self.value(name, props[name] if isinstance(props[name], dict) else {},
                               required=name in required, root=parameters)
            if value is not _SKIP:
                out[name] = value
                if name not in self.evidence:
                    self.guessed.append(name)
        return {name: out[name] for name in props if name in out}

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
            return self._enum(name, schema["enum"], schema, required)
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
            outer, self._siblings = self._siblings, set(props)
            for prop in req + [p for p in props if p not in req]:
                sub = props.get(prop, {})
                v = self.value(prop, sub if isinstance(sub, dict) else {}, required=prop in req or fill_all,
                               root=root, fill_all=fill_all, depth=depth + 1)
                if v is not _SKIP:
                    out[prop] = v
            self._siblings = outer
            return {p: out[p] for p in list(props) + [k for k in out if k not in props] if p in out}
        if kind == "array":
            return self._array(name, schema, root, fill_all, depth)
        if kind in ("integer", "number"):
            return self._number(name, schema, kind, required)
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

    # -- enums: named in the text, on a scale, or by cue words ---------------------------------
    def _enum(self, name: str, options: list[Any], schema: dict[str, Any], required: bool = True) -> Any:
        labels = [o for o in options if isinstance(o, str)]
        # 1. Options the text names, in the order it names them, each taken once:
        #    "250 USD to EUR" fills from_currency, then to_currency.
        found = _mentions(labels, self.x.text)
        fresh = [o for _, o in found if f"enum:{o}" not in self.x.used]
        if fresh or found:
            choice = fresh[0] if fresh else found[0][1]
            self.x.used.add(f"enum:{choice}")
            self.evidence[name] = f"the text names {choice!r}"
            self.decisions.append(f"{name} is {choice} because the text says so")
            return choice
        # 2. A scale (severity, priority, urgency): urgency cues move along it.
        levels = {o: LEVELS[o.lower()] for o in labels if o.lower() in LEVELS}
        if len(levels) >= 2 and len(levels) == len(labels):
            choice, why = _level_choice(levels, self.x.text)
            if why != _NO_URGENCY_CUES:
                self.evidence[name] = why
            self.decisions.append(f"{name} is {choice}: {why}")
            return choice
        # 3. Cue words for each option ("charged", "invoice" -> billing).
        choice, hits = _cue_choice(labels, self.x.text)
        if choice is not None:
            self.evidence[name] = f"cue words {', '.join(hits)}"
            self.decisions.append(f"{name} is {choice} because the text mentions {_join(hits)}")
            return choice
        # 4. The conversation before names exactly one option.
        named = list(dict.fromkeys(o for _, o in _mentions(labels, self.x.context)))
        if len(named) == 1:
            self.decisions.append(f"{name} is {named[0]}, as the conversation said")
            return named[0]
        if not required:
            return _SKIP
        neutral = next((o for o in labels if o.lower() in NEUTRAL_OPTIONS), None)
        if neutral is not None:
            self.decisions.append(f"{name} is {neutral}: nothing in the text points elsewhere")
            return neutral
        if schema.get("default") in options:
            return schema["default"]
        return options[0]

    # -- numbers, booleans, strings ---------------------------------------------------------------
    def _number(self, name: str, schema: dict[str, Any], kind: str, required: bool) -> Any:
        reading = self.x.reader.number(name, schema, self.x.numbers)
        raw: str | None = None
        if reading is not None:
            value: float = reading.value
            self.evidence[name] = reading.rule
            for text in (str(value), str(int(value)) if float(value).is_integer() else ""):
                if text:
                    self.x.used.add(text)
            raw = "" if float(value).is_integer() else "."
        else:
            raw = self.x.take(self.x.numbers) if required else None
            if raw is None:
                if not required:
                    return _SKIP
                value = schema.get("default", schema.get("minimum", schema.get("exclusiveMinimum", 0)))
                if "exclusiveMinimum" in schema and "minimum" not in schema and "default" not in schema:
                    value = value + 1
            else:
                value = float(raw)  # the next unused number: a guess, not evidence
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
        keys = [w for w in name_words(name) if w not in ("is", "has", "should", "can", "enable", "enabled", "flag")]
        ws = [w.lower() for w in words(self.x.text)]
        for i, w in enumerate(ws):
            for key in keys:
                if len(key) < 3:
                    continue
                prefixed = w != key and w in (f"in{key}", f"un{key}", f"non{key}", f"dis{key}")
                if stem(w) != stem(key) and not prefixed:
                    continue
                before = ws[max(0, i - 3):i]
                negated = prefixed or bool(set(before) & (NEGATIONS | {"without", "dont", "non", "no"}))
                self.evidence[name] = f'"{" ".join(before[-2:] + [w])}"'
                return not negated
        if not required:
            return _SKIP
        if "default" in schema:
            return bool(schema["default"])
        return False

    def _string(self, name: str, schema: dict[str, Any], required: bool) -> Any:
        kind = _field_kind(name, schema)
        if kind == "name" and name.lower() in ("name", "title") and self._siblings & _PEOPLE_PROPS:
            kind = "title"  # {"name", "participants"}: the name of the event, not of a person
        x = self.x
        value: str | None = None
        if kind not in _UNREAD_KINDS:
            reading = x.reader.string(name, schema, x.used)
            if reading is not None:
                value = str(reading.value)
                x.used.add(value)
                self.evidence[name] = reading.rule
        if value is None:
            value = self._typed_string(name, kind)
        if value is None:
            if not required:
                return _SKIP
            fallbacks = {"email": "user@example.com", "url": "https://example.com", "datetime": "2026-01-01T00:00:00Z",
                         "timezone": "UTC", "prose": self.prose, "summary": self.summary}
            value = fallbacks.get(kind) or x.topic()
        return self._fit_string(value, schema)

    def _typed_string(self, name: str, kind: str) -> str | None:
        """A value of the property's kind found in the text (recorded as evidence), or a value
        made from the whole request (summaries, titles: not evidence), or None."""
        x = self.x
        found: str | None = None
        if kind == "email":
            found = x.take(x.emails)
        elif kind == "url":
            found = x.take(x.urls)
        elif kind == "date":
            found = x.take(x.dates) or x.reader.date() or self._relative_date()
        elif kind == "datetime":
            d = x.take(x.dates) or x.reader.date()
            found = (d + "T00:00:00Z") if d else None
        elif kind == "timezone":
            found = x.take(x.timezones) or x.take(x.places)
            if found is None:
                return x.take(x.names)  # any capitalised word: a guess, not evidence
        elif kind == "phone":
            found = x.reader.phone()
        elif kind == "time":
            found = x.reader.clock_time()
        elif kind == "job":
            found = x.reader.job()
        elif kind == "org":
            found = x.take([o for o in [x.reader.organisation(x.names)] if o])
        elif kind == "place":
            found = x.take(x.places) or x.take(n for n in x.names if n in x.places) or x.take(x.quoted)
        elif kind == "name":
            found = x.take(n for n in x.names if n not in x.places) or x.take(x.quoted)
        elif kind == "query":
            phrase, matched = x.request_phrase()
            found = x.take(x.quoted) or (phrase if matched else None)
            if found is None:
                return phrase
        elif kind == "summary":
            return _message_body(x.text) if name.lower() in ("body", "message", "content") else self.summary
        elif kind == "prose":
            return self.prose
        elif kind == "reason":
            return _reason(self.decisions) or self.prose
        elif kind == "title":
            found = x.take(x.quoted)
            if found is None:
                return headline(x.text)
        elif kind == "sentiment":
            return _sentiment(x.text)
        elif kind == "language":
            return "English"
        elif kind == "keywords":
            return x.topic()
        else:
            found = x.take(x.quoted) or x.take(x.names) or x.take(x.places)
        if found is not None:
            self.evidence.setdefault(name, f"the {kind} {found!r} in the text")
        return found

    def _relative_date(self) -> str | None:
        low = self.x.text.lower()
        if "tomorrow" in low:
            return (self.x.today + _dt.timedelta(days=1)).isoformat()
        if "yesterday" in low:
            return (self.x.today - _dt.timedelta(days=1)).isoformat()
        for i, day in enumerate(_WEEKDAYS):
            if day in low:
                ahead = (i - self.x.today.weekday()) % 7
                if re.search(rf"\bnext\s+{day}", low):
                    ahead += 7 if ahead else 7
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

    # -- arrays -----------------------------------------------------------------------------------
    def _array(self, name: str, schema: dict[str, Any], root: dict[str, Any], fill_all: bool, depth: int) -> list:
        items = self._resolve(schema.get("items") or {}, root)
        lo = schema.get("minItems", 0)
        hi = schema.get("maxItems", 5)
        kind = items.get("type", "object" if "properties" in items else "string")
        out: list[Any] = []
        if "enum" in items:
            low = self.x.text.lower()
            out = [o for o in items["enum"] if isinstance(o, str) and o.lower() in low]
            out = out or items["enum"][:max(1, lo)]
        elif kind == "string":
            out = [self._fit_string(v, items) for v in dict.fromkeys(self._string_items(name, items))]
            if out:
                self.evidence.setdefault(name, "items listed in the text")
        elif kind == "object" and self.x.reader.quantities():
            out = [self._counted_item(items, count, noun) for count, noun in self.x.reader.quantities()]
            self.evidence.setdefault(name, "counted items in the text")
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

    def _string_items(self, name: str, items: dict[str, Any]) -> list[str]:
        x = self.x
        field = _field_kind(name, {})
        if field == "name" or name.lower() in _PEOPLE_PROPS:
            if x.emails and (items.get("format") == "email" or not [n for n in x.names if n not in x.places]):
                return list(x.emails)
            if x.emails and items.get("format") != "email" and name.lower() in _PEOPLE_PROPS:
                return list(x.emails)
            # Not places, and not words another property already took ("called Budget review").
            return [n for n in x.names if n not in x.places and not any(n in u for u in x.used)]
        if field == "place":
            return x.places or x.names
        if field == "keywords":
            topic = re.search(r"\babout\s+(.+)$", x.text, re.I)
            source = (topic.group(1) if topic else x.text) + " " + x.context
            return [w.lower() for w in _top_keywords(source, 5)]
        if field == "email":
            return list(x.emails)
        if field == "language":
            return [n for n in x.names if n.lower().endswith(("ish", "ese", "ian", "an", "ch"))] or ["English"]
        listed = list_items(x.text) or enumeration(x.text)
        if field in ("list", "summary") or name.lower() in ("items", "points", "steps", "highlights", "bullets"):
            return listed or [s.rstrip(".") for s in sentences(_strip_lead(x.text))] or _top_keywords(x.text, 3)
        return listed or list_items(x.context) or x.names or _top_keywords(x.text, 3)

    def _counted_item(self, items: dict[str, Any], count: int, noun: str) -> dict[str, Any]:
        """One object of an item list from "2 keyboards": its count and its name."""
        out: dict[str, Any] = {}
        for prop, sub in (items.get("properties") or {}).items():
            t = sub.get("type") if isinstance(sub, dict) else None
            if t in ("integer", "number"):
                out[prop] = count
            elif t == "string":
                out[prop] = noun
        return out


_SKIP = object()
_NO_URGENCY_CUES = "no urgency cues"
_FREE_TEXT = frozenset({"summary", "prose", "reason", "title"})
_PEOPLE_PROPS = frozenset({"participants", "attendees", "people", "members", "guests", "invitees", "recipients",
                           "authors", "users", "names", "assignees", "contacts", "speakers"})


class JsonModeUnmet(Exception):
    """The schema asks for something the prompt cannot supply."""


def _mentions(labels: list[str], text: str) -> list[tuple[int, str]]:
    """(position, option) for each option the text names, currency words counting as their codes."""
    low = text.lower()
    found: list[tuple[int, str]] = []
    for option in labels:
        spoken = option.lower().replace("_", " ").replace("-", " ")
        for form in dict.fromkeys((option.lower(), spoken)):
            m = re.search(r"(?<![\w-])" + re.escape(form) + r"(?![\w-])", low)
            if m:
                found.append((m.start(), option))
                break
    codes = {o.upper(): o for o in labels}
    for pos, code in currency_mentions(text):
        if code in codes and not any(o == codes[code] for _, o in found):
            found.append((pos, codes[code]))
    return sorted(found)


def _level_choice(levels: dict[str, int], text: str) -> tuple[str, str]:
    """Pick a point on a scale from urgency cues: (option, why)."""
    low = text.lower()
    ws = [w.lower() for w in words(text)]
    lows = [p for p in URGENCY_LOW_PHRASES if p in low] + [w for w in ws if w in URGENCY_LOW]
    negated_high = {w for p in lows for w in p.split()}
    highs = [w for w in ws if w in URGENCY_HIGH and w not in negated_high]
    ordered = sorted(levels, key=lambda o: levels[o])
    if len(highs) > len(lows):
        top = ordered[-1]
        if levels[top] > 3 and len(highs) < 2 and len(ordered) > 2:
            top = ordered[-2]  # one cue is "high"; "critical" takes two
        return top, f"urgency cues {_join(highs)}"
    if lows and len(lows) > len(highs):
        return ordered[0], f"low-urgency cues {_join(lows)}"
    middle = ordered[(len(ordered) - 1) // 2]
    return middle, _NO_URGENCY_CUES


def _cue_choice(labels: list[str], text: str) -> tuple[str | None, list[str]]:
    """The option whose cue words the text uses most (negated positives count as negative)."""
    ws = [w.lower() for w in words(text)]
    best: tuple[float, str | None, list[str]] = (0.0, None, [])
    for option in labels:
        own = [w for w in name_words(option) if w not in OPTION_NOISE] or name_words(option)
        cues: set[str] = set(own) | {stem(w) for w in own}
        for w in own:
            cues |= LABEL_CUES.get(w, frozenset())
            cues |= LABEL_CUES.get(stem(w), frozenset())
        hits = []
        for i, w in enumerate(ws):
            if w in cues or stem(w) in cues:
                negated = bool(set(ws[max(0, i - 2):i]) & NEGATIONS)
                polar = option.lower() in ("positive", "negative")
                if negated and polar:
                    continue
                hits.append(w)
            elif option.lower() == "negative" and (w in LABEL_CUES["positive"]) and \
                    set(ws[max(0, i - 2):i]) & NEGATIONS:
                hits.append(f"not {w}")
        score = len(hits) + (0.5 if "question" in own and text.rstrip().endswith("?") else 0)
        if score > best[0]:
            best = (score, option, list(dict.fromkeys(hits)) or ["a question mark"])
    return best[1], best[2]


def _reason(decisions: list[str]) -> str:
    if not decisions:
        return ""
    return _join(decisions)[:1].upper() + _join(decisions)[1:] + "."


def _message_body(text: str) -> str:
    """What a message should say: "tell him the meeting moved" -> "The meeting moved"."""
    m = re.search(r"\b(?:tell(?:ing)?|say(?:ing)?|let\s+\w+\s+know|that)\s+(?:him|her|them|us|everyone|the team)?\s*"
                  r"(?:that\s+)?(.+)$", text, re.I)
    body = (m.group(1) if m else text).strip()
    return body[:1].upper() + body[1:].rstrip(".!?") + "."


def _strip_lead(text: str) -> str:
    """The content of a request: "Classify this ticket: X" -> "X" (an instruction before a colon goes)."""
    m = re.match(r"\s*([^:\n]{1,60}):\s+(\S.*)$", text, re.S)
    if m and (re.search(r"\b(classify|categori[sz]e|summari[sz]e|summary|route|label|tag|triage|extract|sort|"
                        r"analy[sz]e|rate|todo|to-do|notes?|changelog|report|ticket|message|email|review|"
                        r"request|feedback)\b", m.group(1), re.I) and len(m.group(1).split()) <= 8):
        return m.group(2).strip()
    return text.strip()


def _drop_filler(text: str) -> str:
    low = text.lower()
    for opening in FILLER_OPENINGS:
        if low.startswith(opening + " "):
            return text[len(opening) + 1:].strip()
    return text


def restate(text: str, max_sentences: int = 2) -> str:
    """A compressed restatement of ``text``: its instruction lead dropped, its central sentences kept."""
    body = _strip_lead(text)
    parts = sentences(body) or [body]
    if len(parts) > max_sentences:
        parts = _central(parts, max_sentences)
    cleaned = []
    for s in parts:
        s = _drop_filler(s.strip())
        s = re.sub(r"\b(?:absolutely|really|very|just|totally|basically)\s+", "", s, flags=re.I)
        s = s.rstrip(" !?.") + "."
        cleaned.append(s[:1].upper() + s[1:])
    return " ".join(cleaned)


def headline(text: str, max_words: int = 8) -> str:
    """A short title for a request: a quoted or "about X" topic, an "a science fair" noun phrase,
    or its opening words ("Team offsite on ..." -> "Team offsite")."""
    body = _drop_filler(_strip_lead(text))
    first = (sentences(body) or [body])[0].rstrip(".!?")
    m = re.search(r"\babout\s+", first, re.I)
    phrase = phrase_after(first, m.end(), max_words=max_words) if m else None
    if not phrase:
        m = re.search(r"\s(?:a|an|the)\s+", first, re.I)
        if m and re.match(r"^\s*[A-Z][a-z]+\s+(?:and|&)\s+[A-Z]", first):  # "Alice and Bob ... a science fair"
            phrase = phrase_after(first, m.end(), max_words=4)
    if not phrase:
        phrase = phrase_after(_drop_filler(first), 0, max_words=max_words)
    phrase = phrase or first
    return phrase[:1].upper() + phrase[1:]


def enumeration(text: str) -> list[str]:
    """A list written in a sentence: "Todo: buy milk, call the plumber, and renew my passport"."""
    body = _strip_lead(text).rstrip(".!?")
    if "," not in body and " and " not in body:
        return []
    parts = [p.strip() for p in re.split(r",\s*(?:and\s+|or\s+)?|\s+and\s+", body) if p.strip()]
    if len(parts) < 2 or any(len(p.split()) > 6 for p in parts):
        return []
    return parts


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


@dataclass
class ToolChoice:
    """Why a tool was (or was not) chosen: its score parts and the arguments read for it."""

    tool: Tool
    score: float
    words: float
    arguments: dict[str, Any]
    evidence: dict[str, str]
    missing: list[str]


def rank_tools(tools: list[Tool], text: str, today: _dt.date | None = None, context: str = "") -> list[ToolChoice]:
    """Every tool scored by its words (TF-IDF), the arguments the text gives for it (evidence),
    the request's opening verb, and halved per required argument the text cannot fill."""
    by_words = {id(t): s for s, t in score_tools(tools, text)}
    opening = _opening_verb(text)
    ranked = []
    for tool in tools:
        filler = SchemaFiller(Extractor(text, context, today=today), text, random.Random(0))
        args = filler.arguments(tool.parameters)
        required = [r for r in tool.parameters.get("required") or [] if r in (tool.parameters.get("properties") or {})]
        # Free text (a summary, a reason, a title) can always be written from the request itself.
        missing = [r for r in required if r not in filler.evidence
                   and _field_kind(r, (tool.parameters.get("properties") or {}).get(r) or {}) not in _FREE_TEXT]
        score = by_words[id(tool)] + EVIDENCE_WEIGHT * len(filler.evidence)
        if opening and opening in {stem(w.lower()) for w in words(tool.name)} - GENERIC_VERBS:
            score += 2.0
        score *= MISSING_REQUIRED_FACTOR ** len(missing)
        ranked.append(ToolChoice(tool, score, by_words[id(tool)], args, dict(filler.evidence), missing))
    return sorted(ranked, key=lambda c: -c.score)


def _opening_verb(text: str) -> str | None:
    """The request's first word once politeness is dropped: "Please email Bob" -> "email"."""
    body = _drop_filler(text.strip())
    ws = words(body)
    return stem(ws[0].lower()) if ws else None


def choose_tool(tools: list[Tool], text: str, *, choice: str = "auto", forced: str | None = None,
                context: str = "", today: _dt.date | None = None) -> ToolChoice | None:
    """The tool to call, or None to answer in text.

    ``tool_choice`` "none" never calls, "required" always calls the best tool, a named tool is
    always that tool. With "auto" the best tool is called when its score reaches
    MIN_TOOL_SCORE, unless it lacks required arguments and the conversation already answers.
    """
    if not tools or choice == "none":
        return None
    if forced is not None:
        tools = [t for t in tools if t.name == forced] or tools
    ranked = rank_tools(tools, text, today, context)
    best = ranked[0]
    if forced is not None or choice == "required":
        return best
    if best.score < MIN_TOOL_SCORE:
        return None
    if best.missing and context and _answered_by(context, text):
        return None
    return best


def _answered_by(context: str, question: str) -> bool:
    """Does a sentence of the context share two content words with the question?"""
    qk = set(keywords(question))
    return any(len(qk & set(keywords(s))) >= 2 for s in sentences(context))


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
            filler = SchemaFiller(x, prose, rng, summary=restate(question))
            try:
                value = filler.document(schema)
            except JsonModeUnmet as exc:
                raise errors.AiError(None, f"JSON Mode couldn't be met ({exc})", 400) from None
            _validate(value, schema)
            reasoning = f"The request asks for JSON matching a schema with fields {', '.join(_fields(schema))}."
            if filler.decisions:
                reasoning += " " + _reason(filler.decisions)
            return Completion(json_value=value, reasoning=reasoning)
        choice = None if after_tool else choose_tool(request.tools, question, choice=request.tool_choice,
                                                     forced=request.forced_tool, context=context, today=self.today)
        if choice is not None:
            args = choice.arguments
            shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
            read = "; ".join(f"{k} from {why}" for k, why in choice.evidence.items() if k in args)
            reasoning = (f"The user asks: {question.strip()!r}. The tool {choice.tool.name} fits best "
                         f"(score {choice.score:.1f}), so I will call it with {shown or 'no arguments'}."
                         + (f" I read {read}." if read else ""))
            return Completion(text=None, tool_calls=[{"name": choice.tool.name, "arguments": args}],
                              reasoning=reasoning)
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
