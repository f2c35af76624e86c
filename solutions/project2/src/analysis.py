"""The AnalysisAgent: reads one update's readings with Workers AI, and never trusts the answer.

- The numbers (count, mean) are computed exactly (``protocol.facts``); the model is told them and
  asked only for words: a summary, a trend, the anomalous keys, as :class:`Findings` in JSON mode.
- Each call has a deadline (``AI_TIMEOUT_SECONDS``), all calls together a budget
  (``AI_BUDGET_SECONDS``). An answer is parsed and validated; a refused one is asked for again,
  once, with the reason. A failed call (an AiError, the timeout) is not repeated: an overloaded
  model only gets more overloaded.
- When no valid answer came in time, the rules answer (``rule_findings``) and the result says
  ``degraded``. An unvalidated answer is never passed on.
- The result is stored in SQL by update id before it is returned: the same update analysed again
  (a redelivery, a retry after a crash further on) is answered from storage, with no model call.
"""
import asyncio
import json
import time

from js import Object
from pyodide.ffi import to_js
from workers import DurableObject

from protocol import (
    AI_ATTEMPTS,
    AI_BUDGET_SECONDS,
    AI_MODEL,
    AI_TIMEOUT_SECONDS,
    RULES_SOURCE,
    Findings,
    Reading,
    facts,
    rule_findings,
)

ANALYSES_TABLE = "CREATE TABLE IF NOT EXISTS analyses (update_id TEXT PRIMARY KEY, doc TEXT NOT NULL)"
SYSTEM_PROMPT = ("You are the analysis agent of an agent mesh. Read the sensor readings and answer with JSON only: "
                 "summary (one or two sentences), trend (rising, falling, flat, mixed or none), anomalies (keys of "
                 "readings that stand out or are missing; only keys from the list). The computed facts are exact.")


def to_python(value):
    """A value received over RPC or from Workers AI as plain Python (Cloudflare hands over JS proxies)."""
    return value.to_py() if hasattr(value, "to_py") else value


def parse_findings(reply, keys):
    """A model's reply as validated Findings, or ValueError saying what is wrong with it."""
    reply = to_python(reply)
    if not isinstance(reply, dict):
        raise ValueError(f"the reply is a {type(reply).__name__}, not an object")
    value = reply.get("response")
    if isinstance(value, str):
        value = json.loads(value)  # a JSONDecodeError is a ValueError
    findings = Findings.model_validate(value)  # so is a ValidationError
    unknown = [k for k in findings.anomalies if k not in keys]
    if unknown:
        raise ValueError(f"anomalies name readings this update does not have: {', '.join(unknown)}")
    return findings


class AnalysisAgent(DurableObject):
    def _sql(self):
        sql = self.ctx.storage.sql
        sql.exec(ANALYSES_TABLE)
        return sql

    async def analyse(self, feed, update_id, readings):
        """RPC: ``{"summary", "trend", "anomalies", "source", "degraded"}`` for one update's readings."""
        readings = [Reading.model_validate(r) for r in to_python(readings)]
        # BEGIN SOLUTION
        sql = self._sql()
        stored = sql.exec("SELECT doc FROM analyses WHERE update_id = ?", update_id).toArray()
        if stored:
            return json.loads(stored[0]["doc"])
        findings, source = await self.ask_model(feed, update_id, readings)
        result = {**findings.model_dump(mode="json"), "source": source, "degraded": source == RULES_SOURCE}
        sql.exec("INSERT OR IGNORE INTO analyses VALUES (?, ?)", update_id, json.dumps(result))
        return result
        # END SOLUTION
        # STARTER: findings = rule_findings(readings)  # TODO: ask Workers AI (JSON mode), validate, fall back
        # STARTER: return {**findings.model_dump(mode="json"), "source": RULES_SOURCE, "degraded": True}

    # BEGIN SOLUTION
    async def ask_model(self, feed, update_id, readings):
        keys = [r.key for r in readings]
        numbers = facts(readings)
        lines = "\n".join(f"- {r.key}: {'missing' if r.value is None else r.value}" for r in readings)
        chat = [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"Feed {feed}, update {update_id}. Readings in order:\n{lines}\n"
                                            f"Facts: {numbers['count']} readings, {numbers['missing']} missing, "
                                            f"mean {numbers['mean']}."}]
        schema = Findings.model_json_schema()
        schema["properties"]["anomalies"]["items"] = {"type": "string", "enum": keys}
        deadline = time.time() + AI_BUDGET_SECONDS
        for _ in range(AI_ATTEMPTS):
            left = deadline - time.time()
            if left <= 0:
                break
            inputs = to_js({"messages": chat, "response_format": {"type": "json_schema", "json_schema": schema}},
                           dict_converter=Object.fromEntries)
            try:
                reply = await asyncio.wait_for(self.env.AI.run(AI_MODEL, inputs), min(AI_TIMEOUT_SECONDS, left))
            except Exception:  # noqa: BLE001 - an AiError (3040, 3043, 3007...) or our timeout: the rules answer
                break
            try:
                return parse_findings(reply, keys), AI_MODEL
            except ValueError as exc:
                reason = (str(exc).splitlines() or ["invalid"])[0][:300]
                chat = chat + [{"role": "user", "content": f"Your reply was refused ({reason}). Reply with JSON only, "
                                                           "matching the schema."}]
        return rule_findings(readings), RULES_SOURCE
    # END SOLUTION
