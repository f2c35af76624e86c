"""Values for JSON Schemas built from a conversation: tool arguments and JSON mode documents.

:class:`SchemaFiller` walks a schema (``$ref``, ``anyOf``, ``allOf``, objects, arrays) and fills
each property from the text: enums named in it, on a scale moved by urgency cues, or chosen by cue
words (:mod:`course.runtime.bindings.ai.lexicon`); numbers, booleans and strings read around the
property's name (:mod:`course.runtime.bindings.ai.arguments`) or by kind (:mod:`.extraction`).
It records why: the evidence per property, the guesses, the enum decisions.
"""
from __future__ import annotations

import datetime as _dt
import math
import random
import re
from typing import Any

from course.runtime.bindings.ai.arguments import currency_mentions, name_words
from course.runtime.bindings.ai.extraction import WEEKDAYS, Extractor, field_kind
from course.runtime.bindings.ai.lexicon import (LABEL_CUES, LEVELS, NEUTRAL_OPTIONS, OPTION_NOISE, URGENCY_HIGH,
                                                URGENCY_LOW, URGENCY_LOW_PHRASES)
from course.runtime.bindings.ai.text import (NEGATIONS, enumeration, headline, list_items, request_content,
                                             sentences, sentiment, spoken_list, stem, top_keywords, words)

#: Array properties that hold people (filled with e-mail addresses when the text has them).
PEOPLE_KINDS = frozenset({"name"})
#: Words of an enum-less string property whose value a reading of the text is no evidence for.
_UNREAD_KINDS = frozenset({"email", "url", "date", "datetime", "summary", "prose", "reason", "sentiment", "phone",
                           "time"})
_SKIP = object()
_NO_URGENCY_CUES = "no urgency cues"
_PEOPLE_PROPS = frozenset({"participants", "attendees", "people", "members", "guests", "invitees", "recipients",
                           "authors", "users", "names", "assignees", "contacts", "speakers"})


class JsonModeUnmet(Exception):
    """The schema asks for something the prompt cannot supply."""


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
            self.decisions.append(f"{name} is {choice} because the text mentions {spoken_list(hits)}")
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
        kind = field_kind(name, schema)
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
            return explain_decisions(self.decisions) or self.prose
        elif kind == "title":
            found = x.take(x.quoted)
            if found is None:
                return headline(x.text)
        elif kind == "sentiment":
            return sentiment(x.text)
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
        for i, day in enumerate(WEEKDAYS):
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
        field = field_kind(name, {})
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
            return [w.lower() for w in top_keywords(source, 5)]
        if field == "email":
            return list(x.emails)
        if field == "language":
            return [n for n in x.names if n.lower().endswith(("ish", "ese", "ian", "an", "ch"))] or ["English"]
        listed = list_items(x.text) or enumeration(x.text)
        if field in ("list", "summary") or name.lower() in ("items", "points", "steps", "highlights", "bullets"):
            return listed or [s.rstrip(".") for s in sentences(request_content(x.text))] or top_keywords(x.text, 3)
        return listed or list_items(x.context) or x.names or top_keywords(x.text, 3)

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
        return top, f"urgency cues {spoken_list(highs)}"
    if lows and len(lows) > len(highs):
        return ordered[0], f"low-urgency cues {spoken_list(lows)}"
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


def explain_decisions(decisions: list[str]) -> str:
    if not decisions:
        return ""
    return spoken_list(decisions)[:1].upper() + spoken_list(decisions)[1:] + "."


def _message_body(text: str) -> str:
    """What a message should say: "tell him the meeting moved" -> "The meeting moved"."""
    m = re.search(r"\b(?:tell(?:ing)?|say(?:ing)?|let\s+\w+\s+know|that)\s+(?:him|her|them|us|everyone|the team)?\s*"
                  r"(?:that\s+)?(.+)$", text, re.I)
    body = (m.group(1) if m else text).strip()
    return body[:1].upper() + body[1:].rstrip(".!?") + "."
