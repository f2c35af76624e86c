"""The offline model's plain-text answers, drawn from the conversation.

After tool results it reports them; otherwise a greeting gets a greeting, "summarize" requests
the most central sentences, lists are counted and named, yes/no questions get "Yes."/"No." and
the sentence that decided it, and other questions the sentences sharing most (stemmed) words
with them, after a short opener drawn from the request's random stream.
"""
from __future__ import annotations

import json
import random
import re

from course.runtime.bindings.ai.extraction import Extractor
from course.runtime.bindings.ai.request import AiRequest
from course.runtime.bindings.ai.text import (NEGATIONS, YES_NO_STARTS, central_sentences, keywords, list_items,
                                             sentences, spoken_list, words)

_SUMMARISE = re.compile(r"\b(summari[sz]e|summary|tl;?dr|sum up|key points|main points)\b")
_SUMMARISE_LEAD = re.compile(r"^\s*(?:please\s+)?(?:summari[sz]e|give me a summary of|tl;?dr|sum up)\b[^:\n]*:\s*",
                             re.I)


def _is_persona(sentence: str) -> bool:
    s = sentence.lower()
    return s.startswith(("you are", "you're", "act as", "always ", "never ", "respond ", "answer ", "be ",
                         "reply ", "keep ", "use ", "do not", "don't"))


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
        return spoken_list([str(v) for v in data]) or "nothing"
    return str(data)


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
            return f"The main points are: {spoken_list(items)}."
        ranked = central_sentences([s for s in material if s not in q_sentences] + q_sentences, 2)
        if ranked:
            return "In short: " + " ".join(ranked)
        return f"There is not much to summarise beyond this: {question}"
    if items and re.search(r"\b(list|items|which|how many|options|choices)\b", low):
        return f"There are {len(items)} items: {spoken_list(items)}."
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
