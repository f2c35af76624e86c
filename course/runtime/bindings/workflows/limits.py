"""Workflows' limits, defaults, statuses and input rules, as named constants with their sources.

Durations follow the engine (Cloudflare's ``workflows-shared``, which ``wrangler dev`` runs): a
number is milliseconds, a string is ``"<n> <unit>"`` with unit second, minute, hour, day, week,
month (30 days) or year (365.25 days), singular or plural. The docs' prose calls a bare number
"seconds" in places, but their own default ``delay: 10000`` (10 s) and the engine read it as
milliseconds, which is what runs.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from course.workers.jsproxy import JsException, to_py

LIMITS_DOC = "https://developers.cloudflare.com/workflows/reference/limits/"
RETRY_DOC = "https://developers.cloudflare.com/workflows/build/sleeping-and-retrying/"
API_DOC = "https://developers.cloudflare.com/workflows/build/workers-api/"
EVENTS_DOC = "https://developers.cloudflare.com/workflows/build/events-and-parameters/"

# -- statuses (API_DOC, "InstanceStatus") ---------------------------------------------------------
QUEUED, RUNNING, PAUSED, ERRORED = "queued", "running", "paused", "errored"
TERMINATED, COMPLETE, WAITING, WAITING_FOR_PAUSE = "terminated", "complete", "waiting", "waitingForPause"
STATUSES = (QUEUED, RUNNING, PAUSED, ERRORED, TERMINATED, COMPLETE, WAITING, WAITING_FOR_PAUSE, "unknown")
#: Statuses an instance never leaves by itself (only ``restart`` starts it again).
FINISHED = frozenset({ERRORED, TERMINATED, COMPLETE})

# -- limits (LIMITS_DOC) ----------------------------------------------------------------------------
#: "Maximum length of a Workflow instance ID": 100 characters, matching this pattern (LIMITS_DOC).
MAX_INSTANCE_ID_LENGTH = 100
INSTANCE_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9\-_]*$")
#: Step names: at most 256 characters, no control characters (the engine's validator).
MAX_STEP_NAME_LENGTH = 256
_CONTROL_CHARS = re.compile(r"[\x00-\x1f]")
#: "Maximum persisted state per step": 1 MiB; "Maximum event payload size": 1 MiB (LIMITS_DOC).
MAX_STEP_RESULT_BYTES = 2**20
MAX_EVENT_PAYLOAD_BYTES = 2**20
#: "Maximum state that can be persisted per Workflow instance": 1 GB on Workers Paid (LIMITS_DOC).
MAX_INSTANCE_STATE_BYTES = 2**30
#: "Maximum steps per Workflow": 10,000 by default, configurable up to 25,000 with
#: ``limits.steps`` in the ``[[workflows]]`` entry; sleeps count too in the engine (LIMITS_DOC).
DEFAULT_STEP_LIMIT = 10_000
MAX_STEP_LIMIT = 25_000
#: "Maximum step.sleep duration": 365 days (LIMITS_DOC).
MAX_SLEEP_MS = 365 * 86_400_000
#: ``createBatch``: "up to 100 instances at a time" (API_DOC).
MAX_BATCH_SIZE = 100
#: ``waitForEvent`` without a timeout waits 24 hours (API_DOC).
DEFAULT_EVENT_TIMEOUT = "24 hours"

#: The retry policy of a step without ``config`` (RETRY_DOC: "Workflows applies the following
#: defaults"). Local ``wrangler dev`` uses a 1 s delay instead (docs/conformance.md).
DEFAULT_RETRIES = {"limit": 5, "delay": 10_000, "backoff": "exponential"}
DEFAULT_TIMEOUT = "10 minutes"
BACKOFFS = ("constant", "linear", "exponential")

_UNITS_MS = {"second": 1_000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000, "week": 604_800_000,
             "month": 2_592_000_000, "year": 31_557_600_000, "m": 1}
_DURATION = re.compile(r"^([^ ]+) +(\w\w*?)s?$")


def duration_ms(value: Any) -> float:
    """Milliseconds of a Workflows duration (number = ms, or ``"10 seconds"``); NaN when unreadable."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return math.nan
    try:
        return float(value)
    except ValueError:
        pass
    match = _DURATION.match(value.strip())
    if match is None:
        return math.nan
    try:
        amount = float(match.group(1))
    except ValueError:
        return math.nan
    return amount * _UNITS_MS.get(match.group(2), 1)


def valid_instance_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_INSTANCE_ID_LENGTH and bool(INSTANCE_ID_PATTERN.match(value))


def valid_step_name(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_STEP_NAME_LENGTH and not _CONTROL_CHARS.search(value)


def fatal(message: str) -> JsException:
    """The engine's ``WorkflowFatalError``: the step cannot run at all (bad name, bad config)."""
    return JsException(message, "WorkflowFatalError")


@dataclass(frozen=True)
class StepConfig:
    """A step's effective retry policy and timeout (defaults merged with its ``config``)."""

    limit: int
    delay: Any
    backoff: str
    timeout: Any

    @property
    def timeout_ms(self) -> float:
        return duration_ms(self.timeout)

    def retry_delay_ms(self, attempts: int) -> float:
        """Wait before the next attempt after ``attempts`` failed ones (the engine's formula)."""
        delay = duration_ms(self.delay)
        if self.backoff == "exponential":
            return delay * 2 ** (attempts - 1)
        if self.backoff == "linear":
            return delay * attempts
        return delay

    def as_dict(self) -> dict[str, Any]:
        return {"retries": {"limit": self.limit, "delay": self.delay, "backoff": self.backoff},
                "timeout": self.timeout}


def step_config(name: str, config: Any) -> StepConfig:
    """The effective config of step ``name``; a ``WorkflowFatalError`` for a malformed one.

    Accepted (RETRY_DOC, API_DOC "WorkflowStepConfig"): ``{"retries": {"limit": int >= 0,
    "delay": ms or duration, "backoff": "constant" | "linear" | "exponential"}, "timeout": ms or
    duration > 0}``, nothing else.
    """
    bad = fatal(f'Step config for "{name}" is in a invalid format. See {RETRY_DOC}')
    raw = to_py(config) if config is not None else {}
    if not isinstance(raw, dict) or set(raw) - {"retries", "timeout"}:
        raise bad
    retries = raw.get("retries")
    merged = dict(DEFAULT_RETRIES)
    if retries is not None:
        if not isinstance(retries, dict) or set(retries) - {"limit", "delay", "backoff"} or \
                not {"limit", "delay"} <= set(retries):
            raise bad
        limit, delay, backoff = retries["limit"], retries["delay"], retries.get("backoff")
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit < 0:
            raise bad
        if isinstance(delay, bool) or not isinstance(delay, (int, float, str)) or math.isnan(duration_ms(delay)) \
                or (isinstance(delay, (int, float)) and delay < 0):
            raise bad
        if backoff is not None and backoff not in BACKOFFS:
            raise bad
        merged.update({k: v for k, v in retries.items() if v is not None})
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float, str)):
        raise bad
    ms = duration_ms(timeout)
    if math.isnan(ms) or ms <= 0:
        raise bad
    return StepConfig(int(merged["limit"]), merged["delay"], merged["backoff"], timeout)
