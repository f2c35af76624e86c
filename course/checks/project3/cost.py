"""A cost estimate from the counts the runtime's trace holds, at Cloudflare's published prices.

Marginal prices on the Workers Paid plan, without the included monthly allowances (an estimate of
what the traffic adds, not a bill). Each constant cites the page it comes from. Not counted:
Durable Object duration (GB-s: the emulator does not meter memory) and CPU time.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Workers requests: $0.30 per additional million (https://developers.cloudflare.com/workers/platform/pricing/#workers).
WORKER_REQUEST_USD = 0.30 / 1e6
#: Durable Objects requests: $0.15 per million
#: (https://developers.cloudflare.com/durable-objects/platform/pricing/#compute-billing).
DO_REQUEST_USD = 0.15 / 1e6
#: SQLite-backed Durable Object storage: rows read $0.001 per million, rows written $1.00 per million
#: (https://developers.cloudflare.com/durable-objects/platform/pricing/#sqlite-storage-backend); the
#: emulator's trace counts storage operations, each counted here as one row.
ROW_READ_USD = 0.001 / 1e6
ROW_WRITTEN_USD = 1.00 / 1e6
#: Queues: $0.40 per million operations, a message costing three (write, read, delete per 64 KB)
#: (https://developers.cloudflare.com/queues/platform/pricing/).
QUEUE_OPERATION_USD = 0.40 / 1e6
QUEUE_OPERATIONS_PER_MESSAGE = 3
#: Workers Analytics Engine: $0.25 per additional million data points written
#: (https://developers.cloudflare.com/analytics/analytics-engine/pricing/).
DATA_POINT_USD = 0.25 / 1e6
#: Workers AI: $0.011 per 1,000 neurons; per-model prices per million input and output tokens
#: (https://developers.cloudflare.com/workers-ai/platform/pricing/).
AI_USD_PER_M_TOKENS = {
    "@cf/meta/llama-3.2-1b-instruct": (0.027, 0.201),
    "@cf/meta/llama-3.2-3b-instruct": (0.051, 0.335),
    "@cf/meta/llama-3.1-8b-instruct": (0.282, 0.827),
    "@cf/meta/llama-3.1-8b-instruct-fp8": (0.152, 0.287),
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast": (0.293, 2.253),
}
#: A model missing from the table is priced as the dearest one in it (the estimate must not flatter).
UNKNOWN_MODEL_USD_PER_M_TOKENS = max(AI_USD_PER_M_TOKENS.values(), key=lambda p: p[1])


@dataclass(frozen=True)
class CostEstimate:
    lines: tuple[tuple[str, int, float], ...]  # (what, count, USD)

    @property
    def total(self) -> float:
        return sum(usd for _, _, usd in self.lines)

    def text(self) -> str:
        return "; ".join(f"{what} {count}: ${usd:.5f}" for what, count, usd in self.lines if count)


def estimate(*, http_requests: int, do_requests: int, rows_read: int, rows_written: int, queue_messages: int,
             data_points: int, ai_tokens: list[tuple[str, int, int]]) -> CostEstimate:
    ai = 0.0
    for model, tokens_in, tokens_out in ai_tokens:
        price_in, price_out = AI_USD_PER_M_TOKENS.get(model, UNKNOWN_MODEL_USD_PER_M_TOKENS)
        ai += (tokens_in * price_in + tokens_out * price_out) / 1e6
    return CostEstimate((
        ("Worker requests", http_requests, http_requests * WORKER_REQUEST_USD),
        ("Durable Object requests", do_requests, do_requests * DO_REQUEST_USD),
        ("rows read", rows_read, rows_read * ROW_READ_USD),
        ("rows written", rows_written, rows_written * ROW_WRITTEN_USD),
        ("queue messages", queue_messages, queue_messages * QUEUE_OPERATIONS_PER_MESSAGE * QUEUE_OPERATION_USD),
        ("data points", data_points, data_points * DATA_POINT_USD),
        ("AI calls", len(ai_tokens), ai),
    ))


__all__ = ["AI_USD_PER_M_TOKENS", "CostEstimate", "estimate"]
