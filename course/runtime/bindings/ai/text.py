"""Words and sentences of a text: tokens, stems, keywords, lists, and short restatements of a request.

The offline model's reading of language is this small toolkit: a light stemmer, a stop-word list
and a few synonyms that point everyday words at tool names (``forecast`` -> ``weather``), sentence
and list splitting, and the rules that turn a request into a title or a restatement.
"""
from __future__ import annotations

import re

from course.runtime.bindings.ai.arguments import phrase_after
from course.runtime.bindings.ai.lexicon import FILLER_OPENINGS

STOPWORDS = frozenset("""
a an the and or but if then so of to in on at by for with from into onto about as is are was were be been being
am do does did doing have has had having i me my mine you your yours we our us he she it its they them their
this that these those there here what whats which who whom whose when where why how can could would should will
shall may might must please tell give show let lets just also very really some any all each every no not
than too more most much many again up down out over under only own same s t don doesn didn isn aren wasn
weren won wouldn couldn shouldn hi hello hey thanks thank know want need like today now
""".split())
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


def spoken_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def central_sentences(items: list[str], n: int) -> list[str]:
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


def top_keywords(text: str, n: int) -> list[str]:
    counts: dict[str, int] = {}
    for w in words(text):
        lw = w.lower()
        if lw in STOPWORDS or len(lw) < 3 or lw.isdigit():
            continue
        counts[lw] = counts.get(lw, 0) + 1
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], list(counts).index(kv[0])))][:n]


def sentiment(text: str) -> str:
    ws = set(w.lower() for w in words(text))
    pos, neg = len(ws & POSITIVE), len(ws & NEGATIVE) + (1 if ws & NEGATIONS and ws & POSITIVE else 0)
    return "positive" if pos > neg else "negative" if neg > pos else "neutral"


def request_content(text: str) -> str:
    """The content of a request: "Classify this ticket: X" -> "X" (an instruction before a colon goes)."""
    m = re.match(r"\s*([^:\n]{1,60}):\s+(\S.*)$", text, re.S)
    if m and (re.search(r"\b(classify|categori[sz]e|summari[sz]e|summary|route|label|tag|triage|extract|sort|"
                        r"analy[sz]e|rate|todo|to-do|notes?|changelog|report|ticket|message|email|review|"
                        r"request|feedback)\b", m.group(1), re.I) and len(m.group(1).split()) <= 8):
        return m.group(2).strip()
    return text.strip()


def drop_filler(text: str) -> str:
    low = text.lower()
    for opening in FILLER_OPENINGS:
        if low.startswith(opening + " "):
            return text[len(opening) + 1:].strip()
    return text


def restate(text: str, max_sentences: int = 2) -> str:
    """A compressed restatement of ``text``: its instruction lead dropped, its central sentences kept."""
    body = request_content(text)
    parts = sentences(body) or [body]
    if len(parts) > max_sentences:
        parts = central_sentences(parts, max_sentences)
    cleaned = []
    for s in parts:
        s = drop_filler(s.strip())
        s = re.sub(r"\b(?:absolutely|really|very|just|totally|basically)\s+", "", s, flags=re.I)
        s = s.rstrip(" !?.") + "."
        cleaned.append(s[:1].upper() + s[1:])
    return " ".join(cleaned)


def headline(text: str, max_words: int = 8) -> str:
    """A short title for a request: a quoted or "about X" topic, an "a science fair" noun phrase,
    or its opening words ("Team offsite on ..." -> "Team offsite")."""
    body = drop_filler(request_content(text))
    first = (sentences(body) or [body])[0].rstrip(".!?")
    m = re.search(r"\babout\s+", first, re.I)
    phrase = phrase_after(first, m.end(), max_words=max_words) if m else None
    if not phrase:
        m = re.search(r"\s(?:a|an|the)\s+", first, re.I)
        if m and re.match(r"^\s*[A-Z][a-z]+\s+(?:and|&)\s+[A-Z]", first):  # "Alice and Bob ... a science fair"
            phrase = phrase_after(first, m.end(), max_words=4)
    if not phrase:
        phrase = phrase_after(drop_filler(first), 0, max_words=max_words)
    phrase = phrase or first
    return phrase[:1].upper() + phrase[1:]


def enumeration(text: str) -> list[str]:
    """A list written in a sentence: "Todo: buy milk, call the plumber, and renew my passport"."""
    body = request_content(text).rstrip(".!?")
    if "," not in body and " and " not in body:
        return []
    parts = [p.strip() for p in re.split(r",\s*(?:and\s+|or\s+)?|\s+and\s+", body) if p.strip()]
    if len(parts) < 2 or any(len(p.split()) > 6 for p in parts):
        return []
    return parts
