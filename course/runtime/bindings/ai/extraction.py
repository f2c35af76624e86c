"""Candidate values in a text (quoted phrases, names, places, numbers, dates, e-mails...) and the
kind of value a schema property asks for.

:class:`Extractor` finds the candidates once per text and hands each out at most once, so two
properties never get the same value; :func:`field_kind` reads a property's name, description and
format to say what it wants (an e-mail, a place, a summary...).
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Iterable

from course.runtime.bindings.ai.arguments import PropertyReader, id_spans
from course.runtime.bindings.ai.lexicon import CURRENCY_WORDS
from course.runtime.bindings.ai.text import QUESTION_WORDS, STOPWORDS, YES_NO_STARTS, stem, words

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*[A-Za-z])")
_QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|(?<!\w)'([^']+)'(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://[^\s\"'<>]+")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_TZ = re.compile(r"\b(?:[A-Z][a-z]+/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?|UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?\b")
_CAPITALISED = re.compile(r"\b[A-Z][\w'\-]*(?:\s+(?:of|de|da|do|del|la|le|van|von)?\s*[A-Z][\w'\-]*)*")
_PLACE = re.compile(r"\b(?:in|at|for|to|from|near|of|around)\s+((?:[A-Z][\w'\-]*)(?:\s+[A-Z][\w'\-]*)*)")
#: Weekday names, for relative dates ("next friday").
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Calendar words: parts of dates, never names or places.
CALENDAR = frozenset(WEEKDAYS + ("january", "february", "march", "april", "may", "june", "july", "august",
                                 "september", "october", "november", "december", "today", "tomorrow",
                                 "yesterday"))
_PRONOUNS = frozenset("i i'm im i've i'd we we're you he she they it's hi hey hello dear".split())
_MONTH_NAMES = frozenset("january february march april may june july august september october november "
                         "december jan feb mar apr jun jul aug sep sept oct nov dec".split())
_NAME_FOLLOWERS = frozenset("and or is was will has had said says asked wants needs lives works can could "
                            "would should".split())


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
                       and p.lower() not in CALENDAR and p.split()[0].lower() not in _MONTH_NAMES]
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
                    and phrase.lower() not in CALENDAR and not any(c.isdigit() for c in phrase) \
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


def field_kind(name: str, schema: dict[str, Any]) -> str:
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
