"""Typed messages and state shared by the lab Worker, the notebooks and the checks.

Every message between agents travels in an :class:`Envelope`; every task moves through one
lifecycle (:class:`TaskState`, :data:`LIFECYCLE`, :mod:`course.protocol.lifecycle`), the same
one the Day 1 exercises and checks use; the payload types and the agent state types of the
coordinator + worker pair (Project 1) live in :mod:`course.protocol.pair`; Day 2's discovery
(agent cards, the registry) in :mod:`course.protocol.discovery`, its pools and ephemeral task
agents in :mod:`course.protocol.pool`; the agent mesh's states (Day 3 on) in :mod:`course.protocol.mesh`; agents
as HTTP APIs (Day 5: A2A-style agent cards, tasks, problem details, OpenAPI) in :mod:`course.protocol.agent_api`;
the mesh's events (Day 6) in :mod:`course.protocol.events`; the production system's signed requests,
trace context and health report (Day 7) in :mod:`course.protocol.production`.
"""
from .agent_api import (
    PROBLEM_JSON,
    TERMINAL_STATES,
    WELL_KNOWN_AGENT_CARD,
    A2AAgentCard,
    A2ATask,
    A2ATaskState,
    AgentSkill,
    ProblemDetails,
    openapi_document,
    problem,
)
from .discovery import AgentCard, HeartbeatReply, RegistryEntry, RegistryListing
from .envelope import SCHEMA_VERSION, Envelope, new_envelope
from .lifecycle import (
    LIFECYCLE,
    TASK_EVENTS,
    TRANSITIONS,
    IllegalTransition,
    TaskState,
    can_transition,
    next_state,
)
from .pair import (
    AgentKind,
    CoordinatorState,
    LogEntry,
    Operation,
    SubtaskResult,
    SubtaskSpec,
    SubtaskState,
    TaskReport,
    TaskRecord,
    TaskRequest,
    WorkerConfig,
    WorkerState,
    apply_operation,
)
from .mesh import (
    MESH_STATE_VERSION,
    AnalysisAgentState,
    AnalysisJob,
    AnalysisRequest,
    DataAgentState,
    Notification,
    NotificationAgentState,
    Record,
    RecordWrite,
    Subscription,
)
from .pool import (
    EphemeralTaskReport,
    EphemeralTaskRequest,
    PoolConfig,
    PoolState,
    PoolTaskReport,
    PoolTaskRequest,
    Strategy,
    ring_owner,
    stable_hash,
)
from .events import (  # Day 6: the mesh's events, their upcaster, replay
    AlertBoard,
    MeshEvent,
    StoredEvent,
    UnknownEventVersion,
    parse_event,
    project_alerts,
    replay,
    upcast_event,
)
from .production import (
    TRACEPARENT,
    ChainRequest,
    HealthReport,
    SignedTask,
    TraceContext,
    check_signature,
    sign,
)

__all__ = [
    "SCHEMA_VERSION", "Envelope", "new_envelope", "AgentKind", "CoordinatorState", "LogEntry",
    "Operation", "SubtaskResult", "SubtaskSpec", "SubtaskState", "TaskRecord", "TaskReport", "TaskRequest",
    "WorkerConfig", "WorkerState", "apply_operation",
    "AgentCard", "HeartbeatReply", "RegistryEntry", "RegistryListing",
    "EphemeralTaskReport", "EphemeralTaskRequest", "PoolConfig", "PoolState", "PoolTaskReport", "PoolTaskRequest",
    "Strategy", "ring_owner", "stable_hash",
    "MESH_STATE_VERSION", "AnalysisAgentState", "AnalysisJob", "AnalysisRequest", "DataAgentState", "Notification",
    "NotificationAgentState", "Record", "RecordWrite", "Subscription",
    "PROBLEM_JSON", "TERMINAL_STATES", "WELL_KNOWN_AGENT_CARD", "A2AAgentCard", "A2ATask", "A2ATaskState",
    "AgentSkill", "ProblemDetails", "openapi_document", "problem",
    "IllegalTransition", "LIFECYCLE", "TASK_EVENTS", "TRANSITIONS", "TaskState", "can_transition", "next_state",
    "AlertBoard", "MeshEvent", "StoredEvent", "UnknownEventVersion", "parse_event", "project_alerts", "replay",
    "upcast_event",
    "TRACEPARENT", "ChainRequest", "HealthReport", "SignedTask", "TraceContext", "check_signature", "sign",
]
