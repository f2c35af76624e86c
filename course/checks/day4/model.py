"""The model the Day 4 checks talk to: ``env.AI`` on an emulated runtime, scripted per call.

Every case gets a fresh ``Runtime(virtual_time=True, seed=...)`` with an ``[ai]`` binding (and,
for Q5, the learner's Durable Object class). The learner's code receives a :class:`ScriptedAi`:
the ``env.AI`` binding itself behind a thin recorder, so ``await ai.run(model, inputs)`` goes
through the emulator's real input validation, wire formats and fault injection. A case decides,
call by call, what the model says (a *responder* ``(request inputs, call number) -> reply`` in
the emulator's script format) and which Workers AI fault damages or replaces that call (one of
the emulator's ``FAULT_KINDS``, injected with ``rt.ai.fault(kind, times=1)`` just before it).

Every prompt and reply goes into the case's :class:`~course.checks.harness.MessageLog`
(``agent -> model ai.run`` / ``model -> agent ai.reply``, a fault in brackets), which is what a
failure message shows.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Callable, Sequence

from course.checks.harness import CaseFailed, MessageLog
from course.runtime import Runtime
from course.runtime.bindings.ai import FAULT_KINDS
from course.workers import Response, WorkerEntrypoint
from course.workers.jsproxy import JsException

#: The checks' compatibility date (the lab Worker's).
COMPATIBILITY_DATE = "2025-11-01"
#: Model calls one check allows before it stops the learner's code (a loop without a limit).
CALL_CAP = 16
#: Characters of a prompt or reply a log line keeps.
SHOWN = 110

Responder = Callable[[dict[str, Any], int], Any]


class CallCapExceeded(BaseException):
    """The learner's code kept calling the model; a BaseException so ``except Exception`` lets it through."""


class _Edge(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Response:
        return Response("the Day 4 checks call env.AI and the objects directly", status=404)


def emulated_ai(seed: int, durable_objects: dict[str, type] | None = None) -> Runtime:
    """A virtual-time runtime whose Worker binds ``AI`` (and ``durable_objects``); close it when done."""
    rt = Runtime(virtual_time=True, seed=seed)
    try:
        rt.add_worker(_Edge, name="day4-check", durable_objects=durable_objects or {},
                      config={"compatibility_date": COMPATIBILITY_DATE, "ai": {"binding": "AI"}})
    except BaseException:
        rt.close()
        raise
    return rt


def short(text: Any, limit: int = SHOWN) -> str:
    """One line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_request(model: str, inputs: Any) -> str:
    """``llama-3.3-70b: 3 messages, json_schema, 2 tools; last: 'What is...'``."""
    inputs = inputs.to_py() if hasattr(inputs, "to_py") else inputs
    if not isinstance(inputs, dict):
        return f"{model.rsplit('/', 1)[-1]}: {short(inputs)}"
    parts = []
    messages = inputs.get("messages") or []
    if messages:
        parts.append(f"{len(messages)} message{'s' if len(messages) != 1 else ''}")
    if inputs.get("response_format"):
        parts.append("json_schema")
    if inputs.get("tools"):
        parts.append(f"tools={','.join(str(t.get('name')) for t in inputs['tools'] if isinstance(t, dict))}")
    last = messages[-1] if messages else {"role": "prompt", "content": inputs.get("prompt", "")}
    if isinstance(last, dict):
        parts.append(f"last {last.get('role')}: {short(last.get('content'), 60)!r}")
    return f"{model.rsplit('/', 1)[-1]}: " + ", ".join(parts)


def describe_reply(result: Any) -> str:
    result = result.to_py() if hasattr(result, "to_py") else result
    if isinstance(result, dict):
        if result.get("tool_calls"):
            calls = [f"{c.get('name')}({c.get('arguments')!r})" for c in result["tool_calls"] if isinstance(c, dict)]
            return short("tool_calls " + "; ".join(calls))
        response = result.get("response")
        return short(json.dumps(response) if not isinstance(response, str) else repr(response))
    return short(repr(result))


class ScriptedAi:
    """``env.AI`` for the learner's code, with this call's reply and fault chosen by the case.

    ``faults[i]`` is the Workers AI fault of call ``i`` (None: none; calls past the list have
    none); ``fault_for(model, inputs)`` decides instead when given (Q4: a fault per question and
    model). ``model_now`` is the model of the call being answered (for a responder that says who
    answered).
    """

    def __init__(self, rt: Runtime, log: MessageLog, responder: Responder, *, faults: Sequence[str | None] = (),
                 fault_for: Callable[[str, dict[str, Any]], str | None] | None = None, actor: str = "agent",
                 latency: float = 0.0) -> None:
        self.rt, self.log, self.actor = rt, log, actor
        self.faults = list(faults)
        self.fault_for = fault_for
        self.model_now = ""
        self.latency = latency
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._binding = rt.env["AI"]
        rt.ai.clear_scripts()
        rt.ai.script(lambda inputs: True, lambda inputs: responder(inputs, len(self.requests) - 1))

    @property
    def calls(self) -> int:
        return len(self.requests)

    def _fault(self, model: str, inputs: Any) -> str | None:
        if self.fault_for is not None:
            return self.fault_for(model, inputs if isinstance(inputs, dict) else {})
        n = len(self.requests)
        return self.faults[n] if n < len(self.faults) else None

    async def run(self, model: Any, inputs: Any = None, options: Any = None) -> Any:
        if len(self.requests) >= CALL_CAP:
            raise CallCapExceeded(f"your code called the model {CALL_CAP} times in one check and did not stop")
        plain = inputs.to_py() if hasattr(inputs, "to_py") else inputs
        fault = self._fault(str(model), plain)
        self.model_now = str(model)
        self.requests.append((str(model), json.loads(json.dumps(plain, default=str)) if plain is not None else {}))
        self.rt.ai.clear_faults()
        if fault is not None:
            if fault not in FAULT_KINDS:
                raise ValueError(f"not a Workers AI fault: {fault!r}")
            self.rt.ai.fault(fault, times=1, seconds=self.latency or 1.0)
        t = self.rt.clock.now()
        self.log.record(t, self.actor, "model", "ai.run", describe_request(str(model), plain))
        try:
            result = await self._binding.run(model, inputs, options)
        except Exception as exc:
            self.log.record(self.rt.clock.now(), "model", self.actor, "ai.error", short(str(exc), 70),
                            f"fault: {fault}" if fault else "")
            raise
        finally:
            self.rt.ai.clear_faults()
        self.log.record(self.rt.clock.now(), "model", self.actor, "ai.reply", describe_reply(result),
                        f"fault: {fault}" if fault else "")
        return result

    def __repr__(self) -> str:
        return "<env.AI (scripted by the check)>"


def run_learner(rt: Runtime, make: Callable[[], Any]) -> Any:
    """Run the learner's coroutine ``make()`` on the runtime's loop and return its value.

    A call cap reached inside becomes a plain failure reason (see :class:`CallCapExceeded`).
    """
    async def go() -> Any:
        return await make()

    try:
        return rt.call(go())
    except CallCapExceeded as exc:
        raise CaseFailed(str(exc)) from None


class ObjectRaised(Exception):
    """The learner's Durable Object raised while handling a call (the text names the error)."""


def rpc(rt: Runtime, awaitable: Any) -> Any:
    """``rpc(rt, stub.method(...))``: the call's value as plain Python, for a notebook cell.

    An exception the object raised comes back as the platform's ``Error``; it is re-raised as
    :class:`ObjectRaised`, or as ``NotImplementedError`` so a question not attempted reads as such.
    """
    async def go() -> Any:
        return await awaitable

    try:
        value = rt.call(go())
    except NotImplementedError:
        raise
    except JsException as exc:
        text = str(exc)
        if "NotImplementedError" in text:
            raise NotImplementedError(text) from None
        raise ObjectRaised(text.removeprefix("Error: ")) from None
    return value.to_py() if hasattr(value, "to_py") else value


def fewer(case: Any, attr: str) -> Any:
    """A Hypothesis strategy of ``case`` with some of its ``attr`` items left out (at least one kept)."""
    # Hypothesis is imported only when a case fails and is shrunk (it costs ~0.3 s at import).
    from hypothesis import strategies as st

    items = getattr(case, attr)
    n = len(items)
    if n <= 1:
        return None
    return st.lists(st.booleans(), min_size=n, max_size=n).map(
        lambda keep: replace(case, **{attr: tuple(x for x, k in zip(items, keep) if k) or items[-1:]}))


__all__ = ["CALL_CAP", "ObjectRaised", "fewer", "rpc", "COMPATIBILITY_DATE", "CallCapExceeded", "Responder", "ScriptedAi", "describe_reply",
           "describe_request", "emulated_ai", "run_learner", "short"]
