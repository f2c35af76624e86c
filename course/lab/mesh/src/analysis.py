"""The analysis agent's reading of a job's records: Workers AI asked in JSON mode, never trusted (Day 4).

A model is a useful colleague and an unreliable dependency, so the step is a chain with rules
at both ends, the one the Day 4 lesson builds:

1. The numbers are computed here, exactly (:func:`facts`): a model is told them, never asked
   for them.
2. Each model of ``ANALYSIS_MODELS`` in turn is asked for :class:`AnalysisFindings` in JSON mode,
   each call bounded by ``ANALYSIS_AI_TIMEOUT`` and all of them together by ``ANALYSIS_BUDGET``.
3. An answer is parsed (an object, or JSON text), validated with pydantic, then checked for what
   a schema cannot say (its anomalies are keys of this job). A malformed or invalid answer is
   asked for again, once, with the reason; a failed call (AiError 3040, 3043, 3007..., or the
   timeout) moves on to the next model at once: asking an overloaded model again only adds load.
4. When no model gave a valid answer in time, :func:`rule_findings` reads the numbers: the
   report says ``source="rules"`` and ``degraded=True``. An unvalidated answer is never returned.

Nothing here touches storage: the agent's intent log (``agents.AnalysisAgent``) decides when this
runs and keeps what it returns.
"""
import asyncio
import json
import time

from js import Object
from pydantic import ValidationError
from pyodide.ffi import to_js

from agent_protocol.mesh import (
    ANALYSIS_AI_TIMEOUT,
    ANALYSIS_ATTEMPTS,
    ANALYSIS_BUDGET,
    ANALYSIS_MODELS,
    RULES_SOURCE,
    AnalysisFindings,
    AnalysisReport,
)

#: Tokens a model may spend on its answer. Workers AI's default, 256, can cut off a JSON answer
#: that lists many anomalies (https://developers.cloudflare.com/workers-ai/models/, max_tokens).
ANSWER_MAX_TOKENS = 512
#: Characters of one record's value shown to a model, and of all of them: the prompt stays far
#: inside the smallest context window of the chain (7,968 tokens for llama-3.1-8b-instruct,
#: about four characters a token), with room for the answer.
PROMPT_VALUE_CHARS, PROMPT_RECORDS_CHARS = 200, 12_000
#: How far (in standard deviations from the mean) a number stands out for the rules.
OUTLIER_SIGMAS = 2.0
#: Characters of a refusal reason sent back to the model with a retry.
REASON_CHARS = 300

SYSTEM_PROMPT = (
    "You are the analysis agent of an agent mesh. You read records that a data agent owns and say what "
    "they show. Answer with JSON only, matching the schema: summary (one or two sentences), trend (rising, "
    "falling, flat, mixed or none, over the numeric values in the order given), anomalies (the keys of the "
    "records that stand out or are missing; only keys from the list). The computed facts are exact: use "
    "them, do not recompute them."
)


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numbers_of(read):
    """The numeric values of ``read`` (booleans are not numbers here), in the job's order."""
    return [v for v in read.values() if is_number(v)]


def refusal(exc):
    """One line saying why an answer was refused, to send back with the retry."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(answer)"
        return f"{where}: {first['msg']}"[:REASON_CHARS]
    return (str(exc).splitlines() or ["invalid"])[0][:REASON_CHARS]


def facts(read):
    """The exact figures of a job's records: what the rules know and what a model is told."""
    numbers = numbers_of(read)
    return {"records": len(read), "missing": sum(v is None for v in read.values()), "numbers": len(numbers),
            "total": sum(numbers), "mean": (sum(numbers) / len(numbers)) if numbers else None}


def prompt_messages(job_id, read, figures):
    """The chat for one analysis: the instruction, then the records (cut to a budget) and the facts."""
    lines, used = [], 0
    for key, value in read.items():
        shown = "(missing)" if value is None else json.dumps(value, default=str)
        if len(shown) > PROMPT_VALUE_CHARS:
            shown = shown[:PROMPT_VALUE_CHARS] + "... (cut)"
        line = f"- {key}: {shown}"
        if used + len(line) > PROMPT_RECORDS_CHARS:
            lines.append(f"- ... and {len(read) - len(lines)} more records, not shown")
            break
        lines.append(line)
        used += len(line)
    mean = "none" if figures["mean"] is None else f"{figures['mean']:.6g}"
    user = (f"Analyse job {job_id}. Records (key: value, in order):\n" + "\n".join(lines) +
            f"\nComputed facts: {figures['records']} records, {figures['missing']} missing, {figures['numbers']} "
            f"numeric, total {figures['total']:.6g}, mean {mean}.")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def findings_schema(keys):
    """The JSON mode schema: AnalysisFindings' own, with anomalies limited to this job's keys."""
    schema = AnalysisFindings.model_json_schema()
    schema["properties"]["anomalies"]["items"] = {"type": "string", "enum": list(keys)}
    return schema


def parse_findings(reply, keys):
    """A model's reply as validated AnalysisFindings, or ValueError saying what is wrong with it."""
    reply = to_python(reply)
    if not isinstance(reply, dict):
        raise ValueError(f"the reply is a {type(reply).__name__}, not an object")
    if reply.get("tool_calls"):
        raise ValueError("the reply calls a tool instead of answering")
    value = reply.get("response")
    if isinstance(value, str):
        value = json.loads(value)  # JSONDecodeError is a ValueError: malformed or cut-off JSON
    findings = AnalysisFindings.model_validate(value)  # ValidationError is a ValueError too
    unknown = [k for k in findings.anomalies if k not in keys]
    if unknown:
        raise ValueError(f"anomalies name records this job does not have: {', '.join(unknown)}")
    return findings


def rule_findings(read):
    """The rule-based reading, always available: trend by consecutive differences, anomalies are
    missing records and numbers more than OUTLIER_SIGMAS standard deviations from the mean."""
    numbers = numbers_of(read)
    steps = [b - a for a, b in zip(numbers, numbers[1:])]
    if not steps:
        trend = "none"
    elif all(s > 0 for s in steps):
        trend = "rising"
    elif all(s < 0 for s in steps):
        trend = "falling"
    elif all(s == 0 for s in steps):
        trend = "flat"
    else:
        trend = "mixed"
    anomalies = [k for k, v in read.items() if v is None]
    if len(numbers) >= 3:
        mean = sum(numbers) / len(numbers)
        sd = (sum((x - mean) ** 2 for x in numbers) / len(numbers)) ** 0.5
        anomalies += [k for k, v in read.items() if is_number(v) and sd and abs(v - mean) > OUTLIER_SIGMAS * sd]
    figures = facts(read)
    mean = "none" if figures["mean"] is None else f"{figures['mean']:.6g}"
    summary = (f"{figures['records']} records ({figures['missing']} missing, {figures['numbers']} numeric), total "
               f"{figures['total']:.6g}, mean {mean}, trend {trend}. Rule-based reading: no model answered in time.")
    return AnalysisFindings(summary=summary[:600], trend=trend, anomalies=anomalies)


async def analyse(ai, job_id, read):
    """The report for one job: the first model answer that validates, else the rules' (degraded)."""
    keys = list(read)
    messages = prompt_messages(job_id, read, facts(read))
    schema = findings_schema(keys)
    deadline = time.time() + ANALYSIS_BUDGET
    calls = 0
    for model in ANALYSIS_MODELS:
        chat = list(messages)
        for _ in range(ANALYSIS_ATTEMPTS):
            left = deadline - time.time()
            if left <= 0:
                break
            inputs = {"messages": chat, "max_tokens": ANSWER_MAX_TOKENS,
                      "response_format": {"type": "json_schema", "json_schema": schema}}
            calls += 1
            try:
                reply = await asyncio.wait_for(ai.run(model, to_js(inputs, dict_converter=Object.fromEntries)),
                                               min(ANALYSIS_AI_TIMEOUT, left))
            except Exception:  # noqa: BLE001 - AiError (3040, 3043, 3007...) or our timeout: next model
                break
            try:
                findings = parse_findings(reply, keys)
            except ValueError as exc:
                chat = chat + [{"role": "user", "content": f"Your reply was refused ({refusal(exc)}). "
                                                           "Reply with JSON only, matching the schema."}]
                continue
            return AnalysisReport(**findings.model_dump(), source=model, model_calls=calls)
    return AnalysisReport(**rule_findings(read).model_dump(), source=RULES_SOURCE, degraded=True, model_calls=calls)
