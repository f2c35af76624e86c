"""The explicit list of binding plugins a runtime installs, in installation order.

A new binding kind (Workflows, static assets...) is one module exporting a ``PLUGIN`` (see
:class:`course.runtime.kernel.plugins.BindingPlugin`) and one line here. Durable Objects come
first so that every later binding can already reach a namespace when it binds.
"""
from __future__ import annotations

from course.runtime.bindings import ai, analytics, cron, d1, kv, queues, r2, services
from course.runtime.kernel.plugins import BindingPlugin
from course.runtime.objects import durable_objects

PLUGINS: tuple[BindingPlugin, ...] = (
    durable_objects.PLUGIN,
    kv.PLUGIN,
    d1.PLUGIN,
    r2.PLUGIN,
    queues.PLUGIN,
    cron.PLUGIN,
    services.PLUGIN,
    analytics.PLUGIN,
    ai.PLUGIN,
)

__all__ = ["PLUGINS"]
