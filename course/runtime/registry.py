"""The explicit list of binding plugins a runtime installs, in installation order.

A new binding kind (Vectorize, Hyperdrive...) is one module exporting a ``PLUGIN`` (see
:class:`course.runtime.kernel.plugins.BindingPlugin`) and one line here. Durable Objects come
first so that every later binding can already reach a namespace when it binds.
"""
from __future__ import annotations

from course.runtime.bindings import ai, analytics, assets, cron, d1, kv, queues, r2, services, worker_loaders, workflows
from course.runtime.kernel.plugins import BindingPlugin, UnsupportedBinding
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
    workflows.PLUGIN,
    assets.PLUGIN,
    worker_loaders.PLUGIN,
)

#: Binding kinds of wrangler's configuration
#: (https://developers.cloudflare.com/workers/wrangler/configuration/#bindings) that the runtime
#: does not provide yet. A Worker that declares one still loads, with one warning naming it, and
#: ``env.<NAME>`` then says why it is missing instead of "declare it in the wrangler config".
UNSUPPORTED: tuple[UnsupportedBinding, ...] = (
    UnsupportedBinding("vectorize", "Vectorize vector indexes (insert, query)",
                       "https://developers.cloudflare.com/vectorize/"),
    UnsupportedBinding("hyperdrive", "Hyperdrive connections to an external database",
                       "https://developers.cloudflare.com/hyperdrive/"),
    UnsupportedBinding("browser", "Browser Rendering (a headless browser)",
                       "https://developers.cloudflare.com/browser-rendering/"),
    UnsupportedBinding("send_email", "sending email from a Worker",
                       "https://developers.cloudflare.com/email-routing/email-workers/send-email-workers/"),
    UnsupportedBinding("ratelimits", "the Rate Limiting binding (limit())",
                       "https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/"),
    UnsupportedBinding("mtls_certificates", "mTLS client certificates on outbound fetch",
                       "https://developers.cloudflare.com/workers/runtime-apis/bindings/mtls/"),
    UnsupportedBinding("dispatch_namespaces", "Workers for Platforms dispatch namespaces",
                       "https://developers.cloudflare.com/cloudflare-for-platforms/workers-for-platforms/"),
    UnsupportedBinding("images", "the Images binding (transformations)",
                       "https://developers.cloudflare.com/images/transform-images/bindings/"),
    UnsupportedBinding("version_metadata", "the version metadata binding (id, tag, timestamp)",
                       "https://developers.cloudflare.com/workers/runtime-apis/bindings/version-metadata/"),
    UnsupportedBinding("secrets_store_secrets", "Secrets Store secrets",
                       "https://developers.cloudflare.com/secrets-store/integrations/workers/"),
    UnsupportedBinding("pipelines", "Pipelines (streaming ingestion)",
                       "https://developers.cloudflare.com/pipelines/"),
)

__all__ = ["PLUGINS", "UNSUPPORTED"]
