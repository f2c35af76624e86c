"""The Workflow binding a Worker sees (``env.MY_WORKFLOW``) and the instance handles it returns.

The Workers API (https://developers.cloudflare.com/workflows/build/workers-api/#workflow), with
camelCase names as on Cloudflare; options are an object (a dict) or keyword arguments, as Pyodide
passes Python keyword arguments to a JavaScript method::

    instance = await self.env.MY_WORKFLOW.create(id="order-42", params={"sku": "A1"})
    instances = await self.env.MY_WORKFLOW.createBatch([{"id": "a"}, {"id": "b"}])
    instance = await self.env.MY_WORKFLOW.get("order-42")     # Error instance.not_found
    await instance.status()      # {"status": "running", "output": None} (+ "error" once errored)
    await instance.pause(); await instance.resume(); await instance.terminate(); await instance.restart()
    await instance.sendEvent({"type": "approved", "payload": {"by": "ana"}})
"""
from __future__ import annotations

from typing import Any

from course.workers.jsproxy import JsException, JsObject, to_py

from course.runtime.bindings.workflows import limits
from course.runtime.bindings.workflows.service import WorkflowService

#: Keys of ``WorkflowInstanceCreateOptions`` (``retention`` is accepted and has no effect here:
#: the emulator keeps finished instances as long as its state directory).
CREATE_OPTIONS = ("id", "params", "retention")
EVENT_OPTIONS = ("type", "payload")


def _options(options: Any, kwargs: dict[str, Any], allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    if options is not None:
        plain = to_py(options)
        if not isinstance(plain, dict):
            raise JsException(f"{what}: the options must be an object (a dict), got {type(options).__name__}",
                              "TypeError")
        merged.update(plain)
    merged.update(kwargs)
    unknown = sorted(set(merged) - set(allowed))
    if unknown:
        raise JsException(f"{what}: unknown option(s) {', '.join(unknown)} (allowed: {', '.join(allowed)})",
                          "TypeError")
    return merged


class WorkflowInstance:
    """A handle on one instance (``WorkflowInstance``): ``id`` and the lifecycle methods."""

    def __init__(self, service: WorkflowService, workflow: str, instance_id: str) -> None:
        self._service = service
        self._workflow = workflow
        self.id = instance_id

    async def status(self) -> JsObject:
        """``{status, output}``, plus ``error`` ({name, message}) once errored."""
        return self._service.instance_status(self._workflow, self.id)

    async def pause(self) -> None:
        self._service.pause(self._workflow, self.id)

    async def resume(self) -> None:
        self._service.resume(self._workflow, self.id)

    async def terminate(self) -> None:
        self._service.terminate(self._workflow, self.id)

    async def restart(self) -> None:
        self._service.restart(self._workflow, self.id)

    async def sendEvent(self, options: Any = None, **kwargs: Any) -> None:  # noqa: N802 - Cloudflare's name
        """Send ``{"type", "payload"}`` to the instance; a ``wait_for_event`` of that type receives it."""
        opts = _options(options, kwargs, EVENT_OPTIONS, "sendEvent()")
        if "type" not in opts:
            raise JsException("sendEvent(): the event needs a `type` (the type its wait_for_event waits for)",
                              "TypeError")
        self._service.send_event(self._workflow, self.id, opts["type"], opts.get("payload"))

    def __repr__(self) -> str:
        return f"<WorkflowInstance {self._workflow}/{self.id}>"


class WorkflowBinding:
    """``env.<binding>`` of a ``[[workflows]]`` entry: create and get instances of one Workflow."""

    def __init__(self, service: WorkflowService, workflow: str, binding: str) -> None:
        self._service = service
        self._workflow = workflow
        self._binding = binding

    async def create(self, options: Any = None, **kwargs: Any) -> WorkflowInstance:
        """Start a new instance (``id`` generated unless given; ``params`` become ``event["payload"]``)."""
        opts = _options(options, kwargs, CREATE_OPTIONS, "create()")
        instance_id = self._service.create(self._workflow, opts.get("id"), opts.get("params"))
        return WorkflowInstance(self._service, self._workflow, instance_id)

    async def createBatch(self, batch: Any) -> list[WorkflowInstance]:  # noqa: N802 - Cloudflare's name
        """Start up to 100 instances at once; each element is ``create``'s options."""
        items = to_py(batch)
        if not isinstance(items, list):
            raise JsException(f"createBatch(): expects a list of create options, got {type(batch).__name__}",
                              "TypeError")
        if not items:
            raise JsException("WorkflowError: batchCreate should have at least 1 instance", "Error")
        if len(items) > limits.MAX_BATCH_SIZE:
            raise JsException(f"WorkflowError: batchCreate takes at most {limits.MAX_BATCH_SIZE} instances, got "
                              f"{len(items)} ({limits.API_DOC}#createbatch)", "Error")
        options = [_options(item, {}, CREATE_OPTIONS, f"createBatch()[{i}]") for i, item in enumerate(items)]
        return [await self.create(o) for o in options]

    async def get(self, instance_id: Any) -> WorkflowInstance:
        """The instance ``instance_id``; ``Error: instance.not_found`` when there is none."""
        if not isinstance(instance_id, str):
            raise JsException(f"get(): the instance id must be a str, got {type(instance_id).__name__}", "TypeError")
        self._service.definition(self._workflow)
        if self._service.store(self._workflow).instance(instance_id) is None:
            raise JsException("instance.not_found", "Error")
        return WorkflowInstance(self._service, self._workflow, instance_id)

    def __repr__(self) -> str:
        return f"<Workflow binding {self._binding} -> {self._workflow}>"
