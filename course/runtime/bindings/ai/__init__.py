"""Workers AI for the emulated runtime: the ``ai`` binding (``[ai] binding = "AI"``).

``await env.AI.run(model, inputs)`` speaks Workers AI's wire formats (``prompt``/``messages`` in,
``{"response", "tool_calls", "usage"}`` out; ``tools``; JSON mode; the gpt-oss ``instructions``/
``input`` Responses form; ``stream: True`` as server-sent events), answered by a deterministic
offline model by default, by scripts, or by a real backend; faults are injected on demand.
Docs: https://developers.cloudflare.com/workers-ai/configuration/bindings/

From a notebook or a test::

    ai = service(rt)            # or rt.ai
    ai.script("weather", tool_call("get_weather", location="Lisbon"), times=1)
    ai.fault("rate_limit", rate=0.2)
    ai.use_backend("openai", base_url="http://localhost:11434/v1", model="llama3.1")
"""
from __future__ import annotations

from typing import Any

from course.runtime.kernel.plugins import Plugin
from course.runtime.bindings.ai.errors import AiError
from course.runtime.bindings.ai.faults import FAULT_KINDS
from course.runtime.bindings.ai.models import CATALOG, ModelInfo
from course.runtime.bindings.ai.scripts import tool_call
from course.runtime.bindings.ai.service import Ai, AiService, service
from course.runtime.bindings.ai.wire import EventStream
from course.runtime.kernel.runtime import Kernel

__all__ = ["Ai", "AiError", "AiService", "CATALOG", "EventStream", "FAULT_KINDS", "ModelInfo", "bind", "service",
           "tool_call"]


def bind(runtime: Kernel, worker: Any) -> dict[str, Any]:
    """``env.<binding>`` for the Worker's ``ai`` config section."""
    section = worker.config.ai
    if section is None or not section.binding:
        return {}
    return {section.binding: Ai(service(runtime), section.binding)}


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin('ai', ("ai",), bind)
