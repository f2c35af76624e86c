"""The agent mesh's state models (Day 3 onwards): a data agent, an analysis agent, a notification agent.

The mesh (Project 2) grows from here: a :class:`DataAgentState` owns records fetched from
outside (one writer; each record carries a version for compare-and-set), an
:class:`AnalysisAgentState` runs jobs over those records from an intent log that an alarm
resumes, and a :class:`NotificationAgentState` keeps its subscribers and an outbox deduplicated
by key. Every state document carries :data:`MESH_STATE_VERSION`; the lab's mesh Worker stores
them and answers them on ``GET /{kind}/{name}/state``. Days 4 to 6 add reasoning, protocols
and events on top; the states stay the contract.

Day 4 gives the analysis agent a model to ask: :class:`AnalysisFindings` is the JSON mode schema
a model must meet (validated, never trusted), :class:`AnalysisReport` what the job keeps, with
the model that answered or, when every model failed or ran out of time, the rule-based reading
flagged ``degraded``. The models and time limits the agent works within are named here, so the
Worker, the tests and the checks agree on them.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The state documents' schema version (raise it with an upcaster when a model changes).
MESH_STATE_VERSION = 1
#: What a record key, a job id and a subscriber look like.
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
#: Largest record value (bytes of its JSON): Durable Object SQL rows stop at 2 MB; keep far below.
MAX_RECORD_BYTES = 64 * 1024
#: Most records one analysis job reads, most notifications an outbox keeps.
MAX_JOB_KEYS, MAX_OUTBOX = 100, 200
JobStatus = Literal["accepted", "running", "done", "failed"]

#: The Workers AI models the analysis agent asks, in order: a large model, then a small one. Both
#: support JSON mode (https://developers.cloudflare.com/workers-ai/features/json-mode/).
ANALYSIS_MODELS = ("@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/meta/llama-3.1-8b-instruct")
#: Calls per model for one analysis: the first try and one retry after a malformed answer.
ANALYSIS_ATTEMPTS = 2
#: Seconds one model call may take before the agent gives up on it (Workers AI's own 3007
#: "Request timeout" comes far later: https://developers.cloudflare.com/workers-ai/platform/errors/).
ANALYSIS_AI_TIMEOUT = 5.0
#: Seconds the whole model part of one analysis may take; past it the rules answer (degraded).
ANALYSIS_BUDGET = 12.0
#: Where a reading came from when no model's answer validated.
RULES_SOURCE = "rules"
Trend = Literal["rising", "falling", "flat", "mixed", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Record(_Model):
    """One piece of external data, as the data agent owns it."""

    key: str = Field(pattern=KEY_PATTERN)
    value: Any
    source: str = Field(default="", max_length=256)
    version: int = Field(default=1, ge=1)
    updated_at: float = 0.0


class RecordWrite(_Model):
    """A write to the data agent; with ``expected_version`` it is a compare-and-set (409 on a conflict)."""

    value: Any
    source: str = Field(default="", max_length=256)
    expected_version: int | None = Field(default=None, ge=0)


class DataAgentState(_Model):
    version: int = MESH_STATE_VERSION
    name: str
    records: int = Field(ge=0)
    bytes: int = Field(ge=0)


class AnalysisFindings(_Model):
    """What the analysis agent asks a model for (the JSON mode schema): a reading of a job's records.

    ``anomalies`` name record keys of the job; the agent refuses any other key (a schema cannot
    say which keys exist, the agent can).
    """

    summary: str = Field(min_length=1, max_length=600)
    trend: Trend
    anomalies: list[str] = Field(default_factory=list, max_length=MAX_JOB_KEYS)


class AnalysisReport(AnalysisFindings):
    """A job's reading as the analysis agent keeps it: the findings and where they came from.

    ``source`` is the model that answered, or :data:`RULES_SOURCE`; ``degraded`` is true exactly
    when the rules answered because no model gave a valid answer in time.
    """

    source: str = Field(min_length=1, max_length=128)
    degraded: bool = False
    model_calls: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _rules_are_degraded(self) -> "AnalysisReport":
        if self.degraded != (self.source == RULES_SOURCE):
            raise ValueError("a report is degraded exactly when the rules made it")
        return self


class AnalysisJob(_Model):
    """An analysis job: which records of which data agent, and what became of it (the intent log)."""

    job_id: str = Field(pattern=KEY_PATTERN)
    data_agent: str = Field(pattern=KEY_PATTERN)
    keys: list[str] = Field(min_length=1, max_length=MAX_JOB_KEYS)
    notify: str | None = Field(default=None, pattern=KEY_PATTERN)
    status: JobStatus = "accepted"
    read: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    attempts: int = Field(default=0, ge=0)
    analysis: AnalysisReport | None = None  # Day 4: the model's reading of the records, or the rules'

    @model_validator(mode="after")
    def _done_has_result(self) -> "AnalysisJob":
        if self.status == "done" and self.result is None:
            raise ValueError("a done job has a result")
        return self


class AnalysisRequest(_Model):
    job_id: str = Field(pattern=KEY_PATTERN)
    data_agent: str = Field(pattern=KEY_PATTERN)
    keys: list[str] = Field(min_length=1, max_length=MAX_JOB_KEYS)
    notify: str | None = Field(default=None, pattern=KEY_PATTERN)


class AnalysisAgentState(_Model):
    version: int = MESH_STATE_VERSION
    name: str
    jobs: dict[str, JobStatus] = Field(default_factory=dict)


class Notification(_Model):
    """One notification in the outbox; ``key`` makes a repeated send a no-op."""

    key: str = Field(pattern=KEY_PATTERN)
    text: str = Field(min_length=1, max_length=2000)
    sent_at: float = 0.0
    to: list[str] = Field(default_factory=list)


class Subscription(_Model):
    subscriber: str = Field(pattern=KEY_PATTERN)


class NotificationAgentState(_Model):
    version: int = MESH_STATE_VERSION
    name: str
    subscribers: list[str] = Field(default_factory=list)
    outbox: list[Notification] = Field(default_factory=list, max_length=MAX_OUTBOX)


__all__ = ["ANALYSIS_AI_TIMEOUT", "ANALYSIS_ATTEMPTS", "ANALYSIS_BUDGET", "ANALYSIS_MODELS", "MAX_JOB_KEYS", "MAX_OUTBOX",
           "MAX_RECORD_BYTES", "MESH_STATE_VERSION", "RULES_SOURCE", "AnalysisAgentState", "AnalysisFindings",
           "AnalysisJob", "AnalysisReport", "AnalysisRequest", "DataAgentState", "JobStatus", "Notification", "NotificationAgentState", "Record",
           "RecordWrite", "Subscription", "Trend"]
