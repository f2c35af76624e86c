"""Property-aware reading: the value a text gives for one named schema property.

A model fills ``assign_task(task, worker, priority)`` from "Assign the report task to worker-3
with priority 2" by reading the text around each property's name. The offline model does the
same with a few explainable rules, tried in order, each returning the span it read:

1. **Labels.** "named X", "titled X", "called X" for names and titles.
2. **Tokens that contain the property's name.** ``worker`` <- "worker-3"; ``task_id`` <- "task-17".
3. **The value after the property's name.** ``order_id`` <- "order #123"; ``tracking_number``
   <- "tracking number is 1Z99..."; ``priority`` <- "priority 2"; ``name`` <- "the name Okafor".
4. **The word before a noun property.** ``task`` <- "the report task".
5. **Prepositions by role.** ``origin`` <- "from Paris"; ``destination`` <- "to Tokyo";
   ``subject`` <- "about the quarterly review"; ``target_language`` <- "into Spanish".
6. **Typed patterns.** Numbers with units converted to the property's unit ("in 2 hours" ->
   120 for ``minutes``), money for amounts, phone numbers, clock times, dates in words, arithmetic
   expressions, "remind me to X".

Each rule either finds something specific to the property (evidence, which also counts towards
choosing the tool) or returns None, and the caller falls back to type-based guesses.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any

from course.runtime.bindings.ai.lexicon import CURRENCY_WORDS, HEADCOUNT_NOUNS, ROLE_PREPOSITIONS, TIME_UNITS_IN_MINUTES

#: Words of a property name that say what kind of value it is, not what it refers to.
ID_WORDS = frozenset("id ids number num no code ref key identifier".split())
#: Words that end a phrase read after a preposition ("to New York on 2026-03-14": stop at "on").
BOUNDARY = frozenset("""on at in for with from to by about into and or but because so then while
    when if that which who please via using saying tomorrow today tonight next this""".split())
_ARTICLES = frozenset("the a an this that my our your their his her its".split())
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_MONTH_RE = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_WORDS = re.compile(rf"\b{_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?"
                         rf"{_MONTH_RE}\b", re.I)
_CLOCK = re.compile(r"\b(\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2})\b", re.I)
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d\s().-]{6,}\d(?![\w.]*[A-Za-z])")
_EXPRESSION = re.compile(r"[-(]?\d+(?:\.\d+)?\s*(?:[-+*/x\u00d7^%]\s*\(?\s*-?\d+(?:\.\d+)?\s*\)?\s*)+")
_MONEY = re.compile(r"([$\u20ac\u00a3\u00a5])\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?"
                    r"(dollars?|euros?|pounds?|yen|usd|eur|gbp|jpy|bucks)\b", re.I)
#: worker-3, #123, 1Z999AA1, "order 555": tokens whose digits identify rather than count.
_ID_TOKEN = re.compile(r"\b[A-Za-z]+[-_]\d[\w-]*|#\s?\d+|\b(?=\w*\d)(?=\w*[A-Za-z])\w{5,}\b|"
                       r"\b(?:order|ticket|invoice|case|issue|pr|task|worker|user|id)\s+(?:no\.?\s*)?\d+\b", re.I)
_QUANTITY = re.compile(r"\b(\d+)\s+([a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)", re.I)


@dataclass
class Reading:
    """A value read for a property, and which rule read it (shown in the model's reasoning)."""

    value: Any
    rule: str


def name_words(name: str) -> list[str]:
    """``target_language`` -> ["target", "language"]; ``trackingNumber`` -> ["tracking", "number"]."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return [w.lower() for w in spaced.split() if w]


def _noun_forms(word: str) -> str:
    """A regex for a noun and its plural."""
    base = word[:-1] if word.endswith("s") and len(word) > 3 else word
    return re.escape(base) + r"(?:s|es)?"


def phrase_after(text: str, start: int, *, capitalised: bool = False, max_words: int = 6) -> str | None:
    """The phrase starting at ``start``, cut at punctuation or a boundary word.

    With ``capitalised``, only a run of capitalised words (a place or a person) counts.
    """
    out: list[str] = []
    for m in re.finditer(r"[^\s,;:!?()\"]+", text[start:]):
        token = m.group(0)
        bare = token.rstrip(".")
        if not bare:
            break
        if out and bare.lower() in BOUNDARY:
            break
        if capitalised and not (bare[:1].isupper() or (out and bare.lower() in ("de", "da", "do", "van", "von",
                                                                                    "del", "la", "le"))):
            break
        if not out and bare.lower() in _ARTICLES and not capitalised:
            continue
        out.append(bare)
        gap = text[start + m.end(): start + m.end() + 1]
        if token.endswith(".") or len(out) >= max_words or gap in (",", ";", ":", "!", "?"):
            break
    phrase = " ".join(out).strip()
    return phrase or None


class PropertyReader:
    """Reads property values from one user message (see the module docstring for the rules)."""

    def __init__(self, text: str, today: _dt.date) -> None:
        self.text = text
        self.low = text.lower()
        self.today = today

    # -- strings ------------------------------------------------------------------------------
    def string(self, name: str, schema: dict[str, Any], used: set[str]) -> Reading | None:
        words = name_words(name)
        subject = [w for w in words if w not in ID_WORDS] or words
        is_id = bool(set(words) & ID_WORDS) or "id" in str(schema.get("description", "")).lower().split()
        for rule in (self._labelled, self._token_with_name, self._after_name, self._noun_before,
                     self._by_preposition, self._reminder_text, self._expression, self._because):
            reading = rule(name, words, subject, is_id)
            if reading is not None and str(reading.value) not in used and reading.value:
                return reading
        return None

    def _labelled(self, name: str, words: list[str], subject: list[str], is_id: bool) -> Reading | None:
        if not set(words) & {"name", "title", "subject", "headline", "label"}:
            return None
        m = re.search(r"\b(?:named|called|titled|entitled|subject(?:\s+line)?(?:\s+of)?)\s*:?\s*", self.text, re.I)
        if m:
            phrase = phrase_after(self.text, m.end(), max_words=6)
            if phrase:
                return Reading(phrase, f'"{m.group(0).strip()} ..."')
        return None

    def _token_with_name(self, name: str, words: list[str], subject: list[str], is_id: bool) -> Reading | None:
        # worker-3, task_17, TASK-17: the token itself names the property.
        for w in subject:
            if len(w) < 3:
                continue
            m = re.search(rf"\b{_noun_forms(w)}[-_](\w*\d\w*)\b", self.text, re.I)
            if m:
                return Reading(m.group(0), f"the token {m.group(0)!r} contains {w!r}")
        return None

    def _after_name(self, name: str, words: list[str], subject: list[str], is_id: bool) -> Reading | None:
        # "order #123", "tracking number is 1Z99", "the name Okafor", "order 555"
        phrase = r"[\s_-]*".join(_noun_forms(w) if i == len(words) - 1 else re.escape(w)
                                 for i, w in enumerate(words))
        candidates = [phrase]
        if is_id and subject != words:
            candidates.append(r"[\s_-]*".join(re.escape(w) for w in subject))
        for pattern in candidates:
            for m in re.finditer(rf"\b{pattern}\b\s*(?:is|was|=|:|of|no\.?|number)?\s*(#?\s*[\w@.+-]+)", self.text,
                                 re.I):
                value = m.group(1).lstrip("#").strip().rstrip(".")
                if not value or value.lower() in BOUNDARY or value.lower() in _ARTICLES:
                    continue
                if any(c.isdigit() for c in value) or value[:1].isupper():
                    if value[:1].isupper() and not any(c.isdigit() for c in value):
                        value = phrase_after(self.text, m.start(1), capitalised=True) or value
                    return Reading(value, f"the value after {m.group(0).split()[0]!r}")
        return None

    def _noun_before(self, name: str, words: list[str], subject: list[str], is_id: bool) -> Reading | None:
        # "the report task" -> task = "report"
        if len(subject) != 1 or len(subject[0]) < 3:
            return None
        m = re.search(rf"\b(?:{'|'.join(_ARTICLES)})\s+([a-z][\w-]*)\s+{_noun_forms(subject[0])}\b", self.text, re.I)
        if m and m.group(1).lower() not in BOUNDARY:
            return Reading(m.group(1), f'"the {m.group(1)} {subject[0]}"')
        return None

    def _by_preposition(self, name: str, words: list[str], subject: list[str], is_id: bool) -> Reading | None:
        preps: tuple[str, ...] = ()
        for w in words:
            preps = preps or ROLE_PREPOSITIONS.get(w, ())
        if not preps:
            return None
        capitalised = not set(words) & {"subject", "topic"}
        for prep in preps:
            for m in re.finditer(rf"\b{prep}\s+", self.text, re.I):
                value = phrase_after(self.text, m.end(), capitalised=capitalised)
                if value and not (capitalised and value.lower() in _MONTHS):
                    return Reading(value, f'"{prep} {value}"')
        return None

    def _reminder_text(self, name: str, words: list[str], subject: list[str], is_id: bool) -> Reading | None:
        if not set(words) & {"text", "message", "note", "what", "task", "reminder"}:
            return None
        m = re.search(r"\bremind\s+(?:me|us|them|him|her)\s+(?:to|about|that)\s+", self.text, re.I)
        if not m:
            return None
        rest = self.text[m.end():]
        rest = re.split(r"\s+(?:in|at|on|by|after|tomorrow|tonight)\s+(?:\d|the|an?\b|tomorrow|noon)|[.!?]\s*$|,\s",
                        rest)[0]
        return Reading(rest.strip().rstrip(".!?"), '"remind me to ..."') if rest.strip() else None

    def _expression(self, name: str, words: list[str], subject: list[str], is_id: bool) -> Reading | None:
        if not set(words) & {"expression", "formula", "equation", "calculation", "math"}:
            return None
        m = _EXPRESSION.search(self.text)
        return Reading(m.group(0).strip(), "an arithmetic expression") if m else None

    def _because(self, name: str, words: list[str], subject: list[str], is_id: bool) -> Reading | None:
        if not set(words) & {"reason", "why", "cause", "because", "justification"}:
            return None
        m = re.search(r"\b(?:because(?:\s+of)?|due\s+to|since|as)\s+(.+?)(?:[.!?](?:\s|$)|$)", self.text, re.I)
        return Reading(m.group(1).strip(), f'"{m.group(0).split()[0]} ..."') if m else None

    # -- typed patterns -------------------------------------------------------------------------
    def phone(self) -> str | None:
        m = _PHONE.search(self.text)
        return m.group(0).strip() if m else None

    def clock_time(self) -> str | None:
        m = _CLOCK.search(self.text)
        return m.group(1) if m else None

    def job(self) -> str | None:
        m = re.search(r"\b(?:works?|working)\s+as\s+(?:an?\s+)?([a-z][\w-]*(?:\s+[a-z][\w-]*)?)", self.text, re.I) \
            or re.search(r"\b(?:is|am|'m)\s+an?\s+([a-z][\w-]*)", self.text, re.I)
        return phrase_after(m.group(1), 0, max_words=3) if m else None

    def organisation(self, names: list[str]) -> str | None:
        m = re.search(r"\b([A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*)*\s+(?:Corp|Inc|Ltd|LLC|GmbH|SA|Co)\b\.?)", self.text)
        if m:
            return m.group(1).rstrip(".")
        for prep in ("from", "at", "with"):
            for m in re.finditer(rf"\b{prep}\s+", self.text):
                value = phrase_after(self.text, m.end(), capitalised=True)
                if value and value in names:
                    return value
        return None

    def date(self) -> str | None:
        """A date written in words ("March 3", "3rd of May"), in the next year it falls in."""
        m = _DATE_WORDS.search(self.text)
        if not m:
            return None
        month_word = (m.group(1) or m.group(4)).lower()[:3]
        day = int(m.group(2) or m.group(3))
        month = next(i for i, name in enumerate(_MONTHS, 1) if name.startswith(month_word))
        year = self.today.year
        try:
            when = _dt.date(year, month, day)
            if when < self.today:
                when = _dt.date(year + 1, month, day)
        except ValueError:
            return None
        return when.isoformat()

    def number(self, name: str, schema: dict[str, Any], free: list[str]) -> Reading | None:
        """A number for the property: after its name, before its noun, with a unit, or as money."""
        words = name_words(name)
        desc = name_words(str(schema.get("description", "")).replace(" ", "_"))
        subject = [w for w in words if w not in ID_WORDS] or words
        unit = next((w for w in words + desc if w in TIME_UNITS_IN_MINUTES and len(w) > 2), None)
        if unit:
            target = TIME_UNITS_IN_MINUTES[unit]
            for m in re.finditer(r"(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(TIME_UNITS_IN_MINUTES, key=len, reverse=True))
                                 + r")\b", self.text, re.I):
                value = float(m.group(1)) * TIME_UNITS_IN_MINUTES[m.group(2).lower()] / target
                return Reading(value, f'"{m.group(0)}" in {unit}')
        for w in subject:
            m = re.search(rf"\b{_noun_forms(w)}\s*(?:of|to|=|:|is|at)?\s*(-?\d+(?:\.\d+)?)(?![\w.]*[A-Za-z])",
                          self.text, re.I)
            if m:
                return Reading(float(m.group(1)), f'"{m.group(0)}"')
        nouns = [w for w in subject + desc[-1:] if len(w) > 2]
        if any(_noun_forms(w) and re.fullmatch(_noun_forms(w), h) for w in subject for h in HEADCOUNT_NOUNS):
            nouns += [h for h in HEADCOUNT_NOUNS if h not in nouns]
        for w in nouns:
            m = re.search(rf"(?<![\w.#-])(\d+(?:\.\d+)?)\s+(?:\w+\s+)?{_noun_forms(w)}\b", self.text, re.I)
            if m:
                return Reading(float(m.group(1)), f'"{m.group(0)}"')
        if set(words) & {"amount", "price", "total", "cost", "budget", "sum", "fee", "balance"}:
            m = _MONEY.search(self.text)
            if m:
                raw = (m.group(2) or m.group(3)).replace(",", "")
                return Reading(float(raw), f'the amount "{m.group(0).strip()}"')
        if set(words) & {"limit", "count", "top", "max", "results", "n"}:
            m = re.search(r"\b(?:top|first|last|limit|up to|at most)\s+(\d+)\b", self.text, re.I)
            if m:
                return Reading(float(m.group(1)), f'"{m.group(0)}"')
        return None

    def quantities(self) -> list[tuple[int, str]]:
        """"2 keyboards and 1 monitor" -> [(2, "keyboards"), (1, "monitor")]."""
        out = []
        for m in _QUANTITY.finditer(self.text):
            noun = m.group(2).split()
            if noun[0].lower() in TIME_UNITS_IN_MINUTES or noun[0].lower() in BOUNDARY:
                continue
            if len(noun) > 1 and noun[1].lower() in BOUNDARY | {"total"}:
                noun = noun[:1]
            out.append((int(m.group(1)), " ".join(noun)))
        return out


def currency_mentions(text: str) -> list[tuple[int, str]]:
    """(position, ISO code) for every currency named in words or symbols, in order."""
    out = []
    for m in re.finditer(r"[$\u20ac\u00a3\u00a5]|\b[A-Za-z]+\b", text):
        code = CURRENCY_WORDS.get(m.group(0).lower())
        if code:
            out.append((m.start(), code))
    return out


def id_spans(text: str) -> list[tuple[int, int]]:
    """Spans of id-like tokens (worker-3, #123, 1Z999AA1, v2) whose digits are not quantities."""
    spans = []
    for m in _ID_TOKEN.finditer(text):
        spans.append(m.span())
    for m in _CLOCK.finditer(text):
        spans.append(m.span())
    for m in _PHONE.finditer(text):
        if len(re.sub(r"\D", "", m.group(0))) >= 7:
            spans.append(m.span())
    for m in _DATE_WORDS.finditer(text):
        spans.append(m.span())
    return spans
