"""Scores a text model against an evaluation set: tool choice, arguments, JSON mode and answers.

An evaluation set is a folder of JSON files (``tests/runtime/ai_eval/``). Each file holds
``toolsets`` (named lists of tools, shared across files) and ``cases``. A case is written the
way a lesson would state it::

    {"id": "assign-task", "category": "tools", "user": "Assign the report task to worker-3",
     "toolset": "ops", "expect": {"tool": "assign_task", "args": {"task": "report"}}}

and becomes the ``env.AI.run`` inputs ``{"messages": [...], "tools": [...]}`` (``system``,
``messages``, ``schema`` for JSON mode, ``tool_choice`` are the other keys). ``expect`` says what
a good answer holds; :func:`check` lists what a result gets wrong, so a failing case explains
itself. The same set can score the offline model or a real backend (``run`` is any callable from
inputs to the model's output dict).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable

from pydantic import BaseModel, Field

#: The model every case runs on unless it names one (it supports tools and JSON mode).
DEFAULT_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


class Expectation(BaseModel):
    """What a good answer holds. Strings compare case-insensitively; numbers numerically."""

    model_config = {"extra": "forbid"}

    tool: str | None = Field(default="", description="the tool to call; null: answer in text, no tool call")
    args: dict[str, Any] = {}  # argument -> exact value
    args_contain: dict[str, str | list[str]] = {}  # argument -> substring(s) its value must contain
    args_default: dict[str, Any] = {}  # argument -> absent, or equal to this (the schema default)
    json_: dict[str, Any] = Field(default={}, alias="json")  # dotted path -> exact value
    json_contains: dict[str, str | list[str]] = {}  # dotted path -> substring(s), or items of an array
    text_contains: list[str] = []
    text_contains_any: list[str] = []
    text_excludes: list[str] = []
    max_words: int | None = None


class EvalCase(BaseModel):
    model_config = {"extra": "forbid"}

    id: str
    category: str
    user: str | None = None
    system: str | None = None
    messages: list[dict[str, Any]] | None = None
    toolset: str | None = None
    tool_choice: Any = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    model: str = DEFAULT_MODEL
    expect: Expectation

    def inputs(self, toolsets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        """The ``env.AI.run`` inputs of this case."""
        messages = list(self.messages or [])
        if self.system:
            messages.insert(0, {"role": "system", "content": self.system})
        if self.user:
            messages.append({"role": "user", "content": self.user})
        if not messages:
            raise ValueError(f"case {self.id!r} has no 'user' or 'messages'")
        out: dict[str, Any] = {"messages": messages}
        if self.toolset:
            if self.toolset not in toolsets:
                raise ValueError(f"case {self.id!r} names toolset {self.toolset!r}, which no file defines "
                                 f"(known: {', '.join(sorted(toolsets))})")
            out["tools"] = toolsets[self.toolset]
        if self.tool_choice is not None:
            out["tool_choice"] = self.tool_choice
        if self.schema_ is not None:
            out["response_format"] = {"type": "json_schema", "json_schema": self.schema_}
        return out


class EvalSet(BaseModel):
    toolsets: dict[str, list[dict[str, Any]]] = {}
    cases: list[EvalCase] = []


def load(folder: str | Path) -> EvalSet:
    """Every ``*.json`` file of ``folder``, merged (toolsets are shared; case ids must be unique)."""
    merged = EvalSet()
    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no *.json evaluation files in {folder}")
    for path in files:
        part = EvalSet.model_validate(json.loads(path.read_text()))
        merged.toolsets.update(part.toolsets)
        merged.cases.extend(part.cases)
    ids = [c.id for c in merged.cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate case ids: {', '.join(dupes)}")
    return merged


# -- checking one result ------------------------------------------------------------------------
def _same(got: Any, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return abs(got - want) < 1e-6
    if isinstance(want, str) and isinstance(got, str):
        return got.strip().lower() == want.strip().lower()
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want))
    return got == want


def _contains(got: Any, wanted: str | list[str]) -> list[str]:
    """The wanted substrings ``got`` lacks (an array contains a phrase if one of its items does)."""
    items = got if isinstance(got, list) else [got]
    texts = [json.dumps(i) if isinstance(i, (dict, list)) else str(i) for i in items if i is not None]
    phrases = [wanted] if isinstance(wanted, str) else wanted
    return [p for p in phrases if not any(p.lower() in t.lower() for t in texts)]


_MISSING = object()


def _path(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def check(case: EvalCase, result: dict[str, Any]) -> list[str]:
    """What ``result`` (a model's output dict) gets wrong for ``case``; empty when it passes."""
    e = case.expect
    problems: list[str] = []
    calls = result.get("tool_calls") or []
    response = result.get("response")
    if e.tool is None and calls:
        problems.append(f"called {calls[0].get('name')} but no tool fits")
    elif e.tool:
        if not calls:
            problems.append(f"no tool call (expected {e.tool}); answered {str(response)[:60]!r}")
            return problems
        name, args = calls[0].get("name"), calls[0].get("arguments")
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                args = {}
        if name != e.tool:
            problems.append(f"called {name}, expected {e.tool}")
            return problems
        args = args or {}
        for key, want in e.args.items():
            if not _same(args.get(key, _MISSING), want):
                problems.append(f"{key}={args.get(key, '<missing>')!r}, expected {want!r}")
        for key, want in e.args_contain.items():
            missing = _contains(args.get(key, ""), want)
            if missing:
                problems.append(f"{key}={args.get(key, '<missing>')!r} lacks {missing}")
        for key, want in e.args_default.items():
            if key in args and not _same(args[key], want):
                problems.append(f"{key}={args[key]!r}, expected it absent or {want!r}")
    is_json = case.schema_ is not None
    if e.json_ or e.json_contains:
        doc = response
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except ValueError:
                return problems + [f"response is not JSON: {doc[:60]!r}"]
        for key, want in e.json_.items():
            got = _path(doc, key)
            if not _same(got, want):
                problems.append(f"{key}={'<missing>' if got is _MISSING else repr(got)}, expected {want!r}")
        for key, want in e.json_contains.items():
            got = _path(doc, key)
            missing = _contains("" if got is _MISSING else got, want)
            if missing:
                problems.append(f"{key}={'<missing>' if got is _MISSING else repr(got)} lacks {missing}")
    text = response if isinstance(response, str) and not is_json else ""
    if e.text_contains or e.text_contains_any or e.text_excludes or e.max_words:
        if not isinstance(response, str):
            return problems + [f"no text answer (got {response!r})"]
        low = text.lower()
        missing = [p for p in e.text_contains if p.lower() not in low]
        if missing:
            problems.append(f"answer lacks {missing}: {text[:100]!r}")
        if e.text_contains_any and not any(p.lower() in low for p in e.text_contains_any):
            problems.append(f"answer has none of {e.text_contains_any}: {text[:100]!r}")
        present = [p for p in e.text_excludes if p.lower() in low]
        if present:
            problems.append(f"answer has {present}: {text[:100]!r}")
        if e.max_words is not None and len(text.split()) > e.max_words:
            problems.append(f"answer has {len(text.split())} words, more than {e.max_words}")
    return problems


# -- a whole run ---------------------------------------------------------------------------------
class CaseResult(BaseModel):
    id: str
    category: str
    passed: bool
    problems: list[str]


class EvalReport(BaseModel):
    results: list[CaseResult]

    @property
    def accuracy(self) -> float:
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 0.0

    def by_category(self) -> dict[str, tuple[int, int]]:
        """category -> (passed, total), in first-seen order."""
        out: dict[str, tuple[int, int]] = {}
        for r in self.results:
            passed, total = out.get(r.category, (0, 0))
            out[r.category] = (passed + r.passed, total + 1)
        return out

    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    def table(self) -> str:
        lines = [f"{'category':<12} {'passed':>6} {'total':>5} {'accuracy':>8}"]
        for cat, (passed, total) in self.by_category().items():
            lines.append(f"{cat:<12} {passed:>6} {total:>5} {passed / total:>8.0%}")
        n = len(self.results)
        lines.append(f"{'overall':<12} {sum(r.passed for r in self.results):>6} {n:>5} {self.accuracy:>8.0%}")
        return "\n".join(lines)


def evaluate(evalset: EvalSet, run: Callable[[str, dict[str, Any]], dict[str, Any]],
             cases: Iterable[EvalCase] | None = None) -> EvalReport:
    """Run every case through ``run(model, inputs) -> output dict`` and check it.

    A call that raises counts as a failed case, with the error as its problem.
    """
    results = []
    for case in cases if cases is not None else evalset.cases:
        try:
            output = run(case.model, case.inputs(evalset.toolsets))
            problems = check(case, output)
        except Exception as exc:  # a model error is a wrong answer, not a crash of the evaluation
            problems = [f"{type(exc).__name__}: {exc}"]
        results.append(CaseResult(id=case.id, category=case.category, passed=not problems, problems=problems))
    return EvalReport(results=results)
