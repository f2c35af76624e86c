"""How Workflows plug into a runtime: the ``[[workflows]]`` config checked, bindings in ``env``, ``PLUGIN``.

Configured as in wrangler (https://developers.cloudflare.com/workflows/build/workers-api/#call-workflows-from-workers)::

    [[workflows]]
    name = "order-workflow"        # the Workflow's name (unique in the account)
    binding = "ORDERS"             # env.ORDERS
    class_name = "OrderWorkflow"   # the WorkflowEntrypoint subclass the Worker exports
    script_name = "billing"        # optional: the Workflow is defined by that other Worker
    limits = { steps = 25000 }     # optional: steps per instance (default 10,000, at most 25,000)

The section is read from the config's extra keys (``workflows`` is not a field of the kernel's
config model) and checked here: a bad entry is a ``ConfigError`` naming the key
(``workflows[0].class_name``) before the Worker is installed. ``attach`` resumes the unfinished
instances of the Workflows this Worker defines (a runtime over an existing ``persist_to``).
"""
from __future__ import annotations

from typing import Any

from course.runtime.bindings.workflows import limits
from course.runtime.bindings.workflows.binding import WorkflowBinding
from course.runtime.bindings.workflows.service import (PRESERVE_NON_RETRYABLE_FLAG, Definition, implicit_dependencies,
                                                       workflows)
from course.runtime.kernel.config import ConfigError
from course.runtime.kernel.plugins import Plugin
from course.runtime.kernel.runtime import Kernel

CONFIG_DOC = "https://developers.cloudflare.com/workflows/build/workers-api/#call-workflows-from-workers"


def _entries(worker: Any) -> list[tuple[str, dict[str, Any]]]:
    """The ``[[workflows]]`` entries of a Worker with their config keys, checked."""
    path = worker.config.path or "<code>"
    raw = (worker.config.model_extra or {}).get("workflows") or []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(path, f"must be a list of tables ([[workflows]]), got {type(raw).__name__} ({CONFIG_DOC})",
                          key="workflows")
    out = []
    seen_bindings: set[str] = set()
    for i, entry in enumerate(raw):
        key = f"workflows[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(path, f"must be a table with name, binding and class_name ({CONFIG_DOC})", key=key)
        for field in ("name", "binding", "class_name"):
            value = entry.get(field)
            if not isinstance(value, str) or not value:
                raise ConfigError(path, f"is required: a non-empty string ({CONFIG_DOC})", key=f"{key}.{field}")
        if not limits.INSTANCE_ID_PATTERN.match(entry["name"]) or len(entry["name"]) > 64:
            raise ConfigError(path, f"{entry['name']!r} is not a valid Workflow name: at most 64 characters of "
                              f"{limits.INSTANCE_ID_PATTERN.pattern}", key=f"{key}.name")
        if not entry["binding"].isidentifier():
            raise ConfigError(path, f"{entry['binding']!r} is not a valid binding name (a JavaScript identifier)",
                              key=f"{key}.binding")
        if entry["binding"] in seen_bindings:
            raise ConfigError(path, f"binding {entry['binding']!r} is declared twice", key=f"{key}.binding")
        seen_bindings.add(entry["binding"])
        script = entry.get("script_name")
        if script is not None and (not isinstance(script, str) or not script):
            raise ConfigError(path, "must be the name of the Worker that defines the Workflow", key=f"{key}.script_name")
        table = entry.get("limits")
        if table is not None and not isinstance(table, dict):
            raise ConfigError(path, "must be a table such as { steps = 25000 }", key=f"{key}.limits")
        steps = (table or {}).get("steps")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                                  or not 1 <= steps <= limits.MAX_STEP_LIMIT):
            raise ConfigError(path, f"must be an integer from 1 to {limits.MAX_STEP_LIMIT} ({limits.LIMITS_DOC})",
                              key=f"{key}.limits.steps")
        out.append((key, entry))
    return out


def _defines(worker: Any, entry: dict[str, Any]) -> bool:
    return entry.get("script_name") in (None, worker.name)


def bind(runtime: Kernel, worker: Any) -> dict[str, object]:
    """``env`` entries for each ``[[workflows]]`` binding; defines the Workflows this Worker exports."""
    path = worker.config.path or "<code>"
    service = workflows(runtime)
    out: dict[str, object] = {}
    for key, entry in _entries(worker):
        if _defines(worker, entry):
            cls = worker.exports.get(entry["class_name"])
            if cls is None:
                raise ConfigError(path, f"class {entry['class_name']!r} is not exported by the Worker's main module "
                                  f"({worker.config.main or '<code>'}); define `class {entry['class_name']}"
                                  "(WorkflowEntrypoint)` there", key=f"{key}.class_name")
            if not isinstance(cls, type) or not callable(getattr(cls, "run", None)):
                raise ConfigError(path, f"{entry['class_name']!r} must be a class with `async def run(self, event, "
                                  "step)` (a WorkflowEntrypoint subclass)", key=f"{key}.class_name")
            flags = set(worker.config.compatibility_flags or ())
            steps = (entry.get("limits") or {}).get("steps") or limits.DEFAULT_STEP_LIMIT
            service.define(Definition(entry["name"], worker.name, entry["class_name"], steps,
                                      implicit_dependencies(worker.config), PRESERVE_NON_RETRYABLE_FLAG in flags),
                           path, f"{key}.name")
        out[entry["binding"]] = WorkflowBinding(service, entry["name"], entry["binding"])
    return out


def attach(runtime: Kernel, worker: Any) -> None:
    """Resume the unfinished instances of the Workflows this Worker defines."""
    workflows(runtime).resume_unfinished(worker.name)


#: How the runtime installs this binding kind (``course.runtime.registry.PLUGINS``).
PLUGIN = Plugin("workflows", ("workflows",), bind, attach)
