"""Which tool the offline model calls, if any: tools scored against the request and the best one chosen.

Each tool is scored by TF-IDF over the words of its name (weighted 3), description (1) and
parameters (0.5), plus the evidence the text gives for its arguments and the request's opening
verb; each required argument the text cannot fill halves the score. ``choose_tool`` applies
``tool_choice`` ("auto", "none", "required" or a named tool) and ``MIN_TOOL_SCORE``.
"""
from __future__ import annotations

import datetime as _dt
import math
import random
from dataclasses import dataclass
from typing import Any

from course.runtime.bindings.ai.extraction import Extractor, field_kind
from course.runtime.bindings.ai.request import Tool
from course.runtime.bindings.ai.schema_filler import SchemaFiller
from course.runtime.bindings.ai.text import drop_filler, keywords, sentences, stem, words

#: Verbs every tool name starts with; they say nothing about which tool fits.
GENERIC_VERBS = frozenset("get set fetch find do make run call use lookup look check return retrieve".split())
#: Evidence (a value read for a property) adds this much to a tool's score per property.
EVIDENCE_WEIGHT = 1.5
#: Each required property the text gives no value for halves a tool's score.
MISSING_REQUIRED_FACTOR = 0.5
#: A tool is called only when its score reaches this (tool_choice "auto").
MIN_TOOL_SCORE = 1.0
#: Property kinds that never count as missing: free text can always be written from the request.
FREE_TEXT_KINDS = frozenset({"summary", "prose", "reason", "title"})


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
                   and field_kind(r, (tool.parameters.get("properties") or {}).get(r) or {}) not in FREE_TEXT_KINDS]
        score = by_words[id(tool)] + EVIDENCE_WEIGHT * len(filler.evidence)
        if opening and opening in {stem(w.lower()) for w in words(tool.name)} - GENERIC_VERBS:
            score += 2.0
        score *= MISSING_REQUIRED_FACTOR ** len(missing)
        ranked.append(ToolChoice(tool, score, by_words[id(tool)], args, dict(filler.evidence), missing))
    return sorted(ranked, key=lambda c: -c.score)


def _opening_verb(text: str) -> str | None:
    """The request's first word once politeness is dropped: "Please email Bob" -> "email"."""
    body = drop_filler(text.strip())
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
