"""Seeded scenario checks for Day 4: Workers AI and agent reasoning, one module per question.

- :mod:`.prompt` (Q1, a prompt template within a token budget), :mod:`.parsing` (Q2, a robust
  structured-reply parser), :mod:`.tools` (Q3, a tool-use loop), :mod:`.fallback` (Q4, a
  fallback chain), :mod:`.context` (Q5, a conversation in a Durable Object), :mod:`.planner`
  (Q6, a planner agent, graded on outcomes);
- :mod:`.types`: the types and constants the exercises and the checks share (given to learners);
- :mod:`.model`: the scripted model the learner's code talks to (``env.AI`` on the emulator,
  each call's reply and Workers AI fault chosen by the case; prompts and replies logged).

Every check is seeded and deterministic: ``<name>_scenario(seed=N).run(answer)`` returns a
:class:`~course.checks.harness.CheckResult`, and ``grade_<name>(answer, seed=N)`` raises
``AssertionError`` with its story when it fails. The exercise notebook imports this package as
``day4`` (``from course.checks import day4``), so a reproduce line such as
``day4.parser_scenario(seed=0).run(ask_json)`` runs as pasted there.
"""
from course.checks.day4.context import FAULTS as CONVERSATION_FAULTS
from course.checks.day4.context import ContextScenario, conversation_scenario, grade_conversation
from course.checks.day4.fallback import FAULTS as FALLBACK_FAULTS
from course.checks.day4.fallback import FallbackScenario, fallback_scenario, grade_fallback
from course.checks.day4.model import ObjectRaised, ScriptedAi, emulated_ai, rpc
from course.checks.day4.parsing import FAULTS as PARSER_FAULTS
from course.checks.day4.parsing import ParserScenario, grade_parser, parser_scenario
from course.checks.day4.planner import FAULTS as PLANNER_FAULTS
from course.checks.day4.planner import PlannerScenario, grade_planner, planner_scenario
from course.checks.day4.prompt import FAULTS as PROMPT_FAULTS
from course.checks.day4.prompt import PromptScenario, grade_prompt, prompt_scenario
from course.checks.day4.tools import FAULTS as TOOL_LOOP_FAULTS
from course.checks.day4.tools import ToolScenario, grade_tool_loop, tool_loop_scenario
from course.checks.day4.types import (
    AI_TIMEOUT,
    CHAT_SYSTEM,
    FALLBACK_MODEL,
    HISTORY_BUDGET,
    MAX_ATTEMPTS,
    MAX_PLAN_STEPS,
    MAX_STEPS,
    MODEL,
    RULE_DEFAULT,
    RULES,
    STEP_RETRIES,
    SUMMARIZER_PROMPT,
    SYSTEM_PROMPT,
    Answer,
    Fact,
    LoopResult,
    NoValidReply,
    Plan,
    PlanOutcome,
    Route,
    Step,
    Tool,
    TransientToolError,
    Triage,
    as_json,
    count_messages,
    count_tokens,
    prompt_messages,
    rule_answer,
)
from course.checks.harness import CheckResult

__all__ = [
    "PromptScenario", "ParserScenario", "ToolScenario", "FallbackScenario", "ContextScenario", "PlannerScenario",
    "prompt_scenario", "parser_scenario", "tool_loop_scenario", "fallback_scenario", "conversation_scenario",
    "planner_scenario", "grade_prompt", "grade_parser", "grade_tool_loop", "grade_fallback", "grade_conversation",
    "grade_planner", "PROMPT_FAULTS", "PARSER_FAULTS", "TOOL_LOOP_FAULTS", "FALLBACK_FAULTS", "CONVERSATION_FAULTS",
    "PLANNER_FAULTS", "ObjectRaised", "ScriptedAi", "emulated_ai", "rpc",
    "AI_TIMEOUT", "CHAT_SYSTEM", "FALLBACK_MODEL", "HISTORY_BUDGET", "MAX_ATTEMPTS", "MAX_PLAN_STEPS", "MAX_STEPS",
    "MODEL", "RULE_DEFAULT", "RULES", "STEP_RETRIES", "SUMMARIZER_PROMPT", "SYSTEM_PROMPT", "Answer", "Fact",
    "LoopResult", "NoValidReply", "Plan", "PlanOutcome", "Route", "Step", "Tool", "TransientToolError", "Triage",
    "as_json", "count_messages", "count_tokens", "prompt_messages", "rule_answer", "CheckResult",
]
