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

One module per step: :mod:`.text` (words and sentences), :mod:`.extraction` (candidate values,
property kinds), :mod:`.schema_filler` (arguments and JSON mode values), :mod:`.tool_choice`,
:mod:`.answers` (text answers) and this one, the model that puts them together. The names they
define are importable from here too, as before the split.
"""
from __future__ import annotations

import datetime as _dt
import random
from typing import Any

from course.runtime.bindings.ai import errors, tokens
from course.runtime.bindings.ai.answers import answer
from course.runtime.bindings.ai.extraction import Extractor
from course.runtime.bindings.ai.request import AiRequest, Completion
from course.runtime.bindings.ai.schema_filler import PEOPLE_KINDS, JsonModeUnmet, SchemaFiller, explain_decisions
from course.runtime.bindings.ai.text import (NEGATIONS, NEGATIVE, POSITIVE, QUESTION_WORDS, STOPWORDS, SYNONYMS,
                                             YES_NO_STARTS, enumeration, headline, keywords, list_items, restate,
                                             sentences, stem, words)
from course.runtime.bindings.ai.tool_choice import (EVIDENCE_WEIGHT, GENERIC_VERBS, MIN_TOOL_SCORE,
                                                    MISSING_REQUIRED_FACTOR, ToolChoice, choose_tool, rank_tools,
                                                    score_tools)

__all__ = [
    "OfflineModel",
    # re-exported from the modules the model was split into
    "STOPWORDS", "GENERIC_VERBS", "SYNONYMS", "QUESTION_WORDS", "YES_NO_STARTS", "NEGATIONS", "POSITIVE", "NEGATIVE",
    "stem", "words", "keywords", "sentences", "list_items", "restate", "headline", "enumeration",
    "Extractor", "SchemaFiller", "JsonModeUnmet", "PEOPLE_KINDS",
    "EVIDENCE_WEIGHT", "MISSING_REQUIRED_FACTOR", "MIN_TOOL_SCORE", "score_tools", "ToolChoice", "rank_tools",
    "choose_tool", "answer",
]


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
                reasoning += " " + explain_decisions(filler.decisions)
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
    # Imported on first use, not to dodge a cycle: jsonschema takes ~0.8 s to import and only JSON mode
    # needs it.
    import jsonschema

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        raise errors.AiError(None, f"JSON Mode couldn't be met ({exc.message})", 400) from None
