"""How the platform's parts plug into a runtime: typed service slots, binding plugins, stores.

Three contracts, written down here so that every binding (and every later one: Workflows,
static assets...) plugs in the same way, as Miniflare's ``PLUGINS`` do:

- :class:`ServiceSlot` is the one way to reach a runtime-wide service (the fault injector, the
  network model, every KV namespace...): ``FAULTS.of(rt)`` creates it on first use and returns
  it typed; ``FAULTS.peek(rt)`` returns it only if something already created it (a hot path
  asks "are faults configured?" without creating them). A service with a ``close()`` is closed
  with the runtime.
- :class:`BindingPlugin` is what a kind of binding gives the runtime: the wrangler keys it reads,
  ``bind`` (the ``env`` entries of one Worker) and ``attach`` (handlers the platform calls: cron
  triggers, queue consumers). The explicit list of plugins is ``course.runtime.registry.PLUGINS``.
- :class:`StoreRegistry` is the per-runtime set of stores of a storage binding (KV namespaces, D1
  databases, R2 buckets): stores by key, which Worker binding points at which store, where a
  store persists under ``persist_to``, and closing them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Protocol, TypeVar

if TYPE_CHECKING:  # typing only: the kernel's runtime imports this module
    from course.runtime.kernel.runtime import Kernel
    from course.runtime.kernel.worker import Worker

S = TypeVar("S")


class ServiceSlot(Generic[S]):
    """A named, typed, runtime-wide service, created on first use by ``factory(runtime)``."""

    def __init__(self, name: str, factory: Callable[["Kernel"], S]) -> None:
        self.name = name
        self.factory = factory

    def of(self, runtime: "Kernel") -> S:
        services = runtime.services
        found = services.get(self.name)
        if found is None:
            found = services[self.name] = self.factory(runtime)
        return found  # type: ignore[no-any-return]

    def peek(self, runtime: "Kernel") -> S | None:
        return runtime.services.get(self.name)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<ServiceSlot {self.name}>"


class BindingPlugin(Protocol):
    """One kind of binding, as the runtime installs it into a Worker."""

    #: short name ("kv", "d1"...), used in traces and errors
    name: str
    #: the wrangler configuration keys this plugin reads (``WranglerConfig`` fields)
    config_keys: tuple[str, ...]

    def bind(self, runtime: "Kernel", worker: "Worker") -> dict[str, object]:
        """The ``env`` entries this binding kind gives ``worker``; validates its config section."""

    def attach(self, runtime: "Kernel", worker: "Worker") -> None:
        """After every binding is in place: start what the platform drives (timers, consumers)."""


@dataclass(frozen=True)
class Plugin:
    """A :class:`BindingPlugin` made of plain functions (what most binding modules export)."""

    name: str
    config_keys: tuple[str, ...]
    bind_env: Callable[["Kernel", "Worker"], dict[str, object]]
    attach_handlers: Callable[["Kernel", "Worker"], None] | None = None

    def bind(self, runtime: "Kernel", worker: "Worker") -> dict[str, object]:
        return self.bind_env(runtime, worker)

    def attach(self, runtime: "Kernel", worker: "Worker") -> None:
        if self.attach_handlers is not None:
            self.attach_handlers(runtime, worker)


def configured(config: Any, key: str) -> bool:
    """Whether a Worker's config sets ``key`` to anything non-empty."""
    value = getattr(config, key, None)
    if value is None:
        return False
    if hasattr(value, "model_dump"):
        return any(bool(v) for v in value.model_dump().values())
    return bool(value)


def plugins_for(config: Any, plugins: tuple[BindingPlugin, ...]) -> list[BindingPlugin]:
    """The plugins a Worker's config needs, in registry order."""
    return [p for p in plugins if any(configured(config, k) for k in p.config_keys)]


@dataclass(frozen=True)
class UnsupportedBinding:
    """A binding kind of wrangler's configuration that this emulator does not provide yet."""

    #: the wrangler configuration key ("vectorize", "hyperdrive"...)
    key: str
    #: what a Worker would miss, in a learner's words
    missing: str
    #: the Cloudflare page that documents it
    doc: str

    def names(self, section: Any) -> list[str]:
        """The binding names a config section declares (``binding`` or ``name`` of each entry)."""
        entries = section if isinstance(section, list) else [section]
        out = []
        for entry in entries:
            if isinstance(entry, dict):
                name = entry.get("binding") or entry.get("name")
                if isinstance(name, str) and name:
                    out.append(name)
        return out

    def message(self, names: list[str]) -> str:
        which = f" ({', '.join(names)})" if names else ""
        return (f"the wrangler config declares `{self.key}`{which}, which the course runtime does not emulate "
                f"yet: {self.missing} ({self.doc}). The Worker loads, but env has no such binding.")


def unsupported_in(config: Any, kinds: tuple[UnsupportedBinding, ...]) -> list[tuple[UnsupportedBinding, list[str]]]:
    """The unsupported binding kinds a config declares, with the binding names of each."""
    extra = getattr(config, "model_extra", None) or {}
    return [(kind, kind.names(extra[kind.key])) for kind in kinds if extra.get(kind.key)]


class DurableObjectControl(Protocol):
    """What the network and fault layers may ask of the Durable Objects service (which sits above
    them): schedule a crash or an eviction, check a binding exists, list placements."""

    def check_binding(self, binding: str) -> None: ...

    def crash(self, binding: str, name: Any, *, code_update: bool = False) -> bool: ...

    def evict(self, binding: str, name: Any) -> bool: ...

    def placements(self) -> dict[str, str | None]: ...


#: The service name the Durable Objects package registers its control under.
DURABLE_OBJECTS_SERVICE = "durable_objects"


def durable_object_control(runtime: "Kernel") -> DurableObjectControl:
    """The runtime's Durable Objects, seen through :class:`DurableObjectControl`."""
    control = runtime.services.get(DURABLE_OBJECTS_SERVICE)
    if control is None:
        raise KeyError("no Durable Object namespace is bound in this runtime")
    return control  # type: ignore[no-any-return]


class Store(Protocol):
    def close(self) -> None: ...


StoreT = TypeVar("StoreT", bound=Store)


@dataclass
class StoreRegistry(Generic[StoreT]):
    """The stores of one storage binding kind in one runtime.

    ``open_store(key, path)`` opens a store (``path`` is None in memory, else the SQLite file
    under ``persist_to``/v3/<kind>/, wrangler's layout). ``bindings`` maps (Worker name, binding
    name) to the store key, so two Workers that name one namespace share it.
    """

    runtime: "Kernel"
    kind: str
    label: str
    open_store: Callable[[str, Path | None], StoreT]
    stores: dict[str, StoreT] = field(default_factory=dict)
    bindings: dict[tuple[str, str], str] = field(default_factory=dict)

    def store(self, key: str) -> StoreT:
        if key not in self.stores:
            self.stores[key] = self.open_store(key, self.runtime.state_path(self.kind, f"{key}.sqlite"))
        return self.stores[key]

    def bind(self, worker: str, binding: str, key: str) -> StoreT:
        """Point ``env.<binding>`` of ``worker`` at store ``key`` and return that store."""
        self.bindings[(worker, binding)] = key
        return self.store(key)

    def bound(self, binding: str, worker: str | None = None) -> StoreT:
        """The store behind ``env.<binding>`` of ``worker`` (default: the main Worker), for inspection."""
        name = self.runtime.worker(worker).name
        try:
            return self.stores[self.bindings[(name, binding)]]
        except KeyError:
            have = sorted(b for (w, b) in self.bindings if w == name)
            raise KeyError(f"Worker {name!r} has no {self.label} binding {binding!r} "
                           f"(it has: {', '.join(have) or 'none'})") from None

    def close(self) -> None:
        for store in self.stores.values():
            store.close()
