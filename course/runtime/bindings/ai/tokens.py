"""A small deterministic tokenizer that counts Workers AI ``usage`` and splits streams.

Real models use BPE vocabularies; the course needs counts that are stable, cheap and about the
right size. A token here is an optional run of whitespace followed by either up to four word
characters or one punctuation character. English averages about four characters per BPE token,
so the counts land near a real tokenizer's (within roughly 30%), and the pieces concatenate back
to the exact text, which is how streamed chunks are cut.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

_PIECE = re.compile(r"\s*(?:\w{1,4}|[^\w\s])|\s+")

#: Tokens the chat template adds around each message (role header and end-of-turn markers).
MESSAGE_OVERHEAD_TOKENS = 4


def pieces(text: str) -> list[str]:
    """Split ``text`` into token pieces; ``"".join(pieces(t)) == t``."""
    return _PIECE.findall(text)


def stream_chunks(text: str) -> list[str]:
    """Word-sized pieces (with their leading space) for streamed events; they concatenate to ``text``."""
    return re.findall(r"\s*\S+|\s+$", text)


def count(text: str) -> int:
    return len(pieces(text))


def count_messages(messages: Iterable[dict[str, Any]]) -> int:
    """Prompt tokens for a chat: every message's content plus the template's per-message overhead."""
    total = 0
    for message in messages:
        content = message.get("content")
        total += MESSAGE_OVERHEAD_TOKENS + count(content if isinstance(content, str) else str(content or ""))
    return total


def truncate(text: str, n: int) -> str:
    """The first ``n`` tokens of ``text``."""
    return "".join(pieces(text)[: max(0, n)])
