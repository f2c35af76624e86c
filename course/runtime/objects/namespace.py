"""``env.BINDING`` of a Durable Object class: the namespace that makes ids, and the stubs.

A stub sends nothing until a method is called; each call is one event of the object, carried
across the network model (``course.runtime.net.links.call_object``: placement, latency,
partitions). RPC arguments and results are structured-cloned, as between isolates
(https://developers.cloudflare.com/durable-objects/api/namespace/,
https://developers.cloudflare.com/durable-objects/api/stub/).
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import random
from typing import Any, Awaitable, Callable, Protocol

from course.workers.context import current_region
from course.workers.http import Request, Response
from course.workers.jsproxy import JsException, to_py
from course.workers.rpc import RESERVED_RPC_NAMES

from course.runtime.kernel.clone import structured_clone
from course.runtime.kernel.runtime import relaxed_args
from course.runtime.net.faults import FAULTS
from course.runtime.net.links import call_object
from course.runtime.net.regions import NETWORK
from course.runtime.objects.host import ObjectClass
from course.runtime.objects.ids import (
    HEX64,
    LOCATION_HINTS,
    DurableObjectId,
    check_jurisdiction,
    id_tag,
    jurisdiction_of,
)


class ObjectHosts(Protocol):
    """What a namespace needs of the runtime-wide Durable Objects service."""

    def host(self, script: str, class_name: str, *, binding: str) -> ObjectClass: ...

    def unique_rng(self, key: str) -> random.Random: ...


class DurableObjectNamespace:
    """``env.BINDING``: makes ids and stubs for one Durable Object class."""

    def __init__(self, service: ObjectHosts, binding: str, script: str, class_name: str,
                 jurisdiction: str | None = None) -> None:
        self._service = service
        self.binding = binding
        self.script = script
        self.class_name = class_name
        self._key = f"{script}:{class_name}"
        self._jurisdiction = jurisdiction
        self._host: ObjectClass | None = None  # looked up on first use (the script may load later)

    @property
    def host(self) -> ObjectClass:
        host = self._host
        if host is None:
            host = self._host = self._service.host(self.script, self.class_name, binding=self.binding)
        return host

    def _make(self, body: str, name: str | None, jurisdiction: str | None) -> DurableObjectId:
        return DurableObjectId(body + id_tag(self._key, jurisdiction, body), name, self._key, jurisdiction)

    def idFromName(self, name: str) -> DurableObjectId:  # noqa: N802
        """The id for ``name``: the same name always gives the same id in this namespace (and a
        different one in each jurisdiction)."""
        if not isinstance(name, str):
            raise JsException(f"idFromName() takes a string, got {type(name).__name__}", "TypeError")
        return DurableObjectId(_named_id(self._key, self._jurisdiction, name), name, self._key, self._jurisdiction)

    def newUniqueId(self, options: Any = None, *, jurisdiction: str | None = None,  # noqa: N802
                    **_: Any) -> DurableObjectId:
        """A fresh random id (seeded by the runtime: same seed, same ids); ``{"jurisdiction": "eu"}``
        restricts it to a jurisdiction."""
        if jurisdiction is None and options is not None:
            jurisdiction = (to_py(options) or {}).get("jurisdiction")
        if jurisdiction is not None:
            check_jurisdiction(jurisdiction)
            if self._jurisdiction is not None and jurisdiction != self._jurisdiction:
                raise JsException(f"newUniqueId() jurisdiction {jurisdiction!r} differs from this namespace's "
                                  f"{self._jurisdiction!r}", "TypeError")
        rng = self._service.unique_rng(self._key)
        return self._make("%048x" % rng.getrandbits(192), None, jurisdiction or self._jurisdiction)

    def idFromString(self, text: str) -> DurableObjectId:  # noqa: N802
        """Parse an id made by this namespace (``id.toString()``); its ``name`` is None, as on
        Cloudflare (the name is not encoded in the id)."""
        if not isinstance(text, str) or not HEX64.fullmatch(text):
            raise JsException("Invalid Durable Object ID: must be 64 hex digits", "TypeError")
        valid, jurisdiction = jurisdiction_of(self._key, text)
        if not valid:
            raise JsException("Durable Object ID is not valid for this namespace.", "TypeError")
        self._check_id_jurisdiction(jurisdiction)
        return DurableObjectId(text, None, self._key, jurisdiction)

    def _check_id_jurisdiction(self, jurisdiction: str | None) -> None:
        # "You will run into an error if the jurisdiction on your DurableObjectNamespace and the
        # jurisdiction on DurableObjectId are different" (data-location docs).
        if self._jurisdiction is not None and jurisdiction != self._jurisdiction:
            raise JsException(f"Durable Object ID's jurisdiction ({jurisdiction}) does not match this namespace's "
                              f"jurisdiction ({self._jurisdiction}).", "TypeError")

    def get(self, id: DurableObjectId, options: Any = None, *, locationHint: str | None = None,
            **_: Any) -> "DurableObjectStub":
        """A stub for the object ``id`` (nothing is sent until a method is called)."""
        if not isinstance(id, DurableObjectId):
            raise JsException(f"get() takes a DurableObjectId (from idFromName, idFromString or "
                              f"newUniqueId), got {type(id).__name__}", "TypeError")
        if id.namespace_key != self._key:
            raise JsException("Durable Object ID is not valid for this namespace.", "TypeError")
        self._check_id_jurisdiction(id.jurisdiction)
        hint = locationHint
        if hint is None and isinstance(options, dict):
            hint = options.get("locationHint")
        if hint is not None and hint not in LOCATION_HINTS:
            raise JsException(f"Invalid locationHint {hint!r}; use one of {sorted(LOCATION_HINTS)}", "TypeError")
        return DurableObjectStub(self, id, hint)

    def getByName(self, name: str, options: Any = None, **kwargs: Any) -> "DurableObjectStub":  # noqa: N802
        """``get(idFromName(name))``."""
        return self.get(self.idFromName(name), options, **kwargs)

    def jurisdiction(self, name: str) -> "DurableObjectNamespace":
        """A subnamespace whose ids are restricted to jurisdiction ``name`` ("eu", "us", "fedramp"...)."""
        check_jurisdiction(name)
        return DurableObjectNamespace(self._service, self.binding, self.script, self.class_name, name)

    def resolve(self, name: Any) -> str:
        """The hex id meant by ``name``: an id, its 64 hex digits, or a name for ``idFromName``."""
        if isinstance(name, DurableObjectId):
            return name.toString()
        if isinstance(name, str) and HEX64.fullmatch(name):
            return self.idFromString(name).toString()
        return self.idFromName(name).toString()

    id_from_name, id_from_string, new_unique_id, get_by_name = idFromName, idFromString, newUniqueId, getByName

    def __repr__(self) -> str:
        return f"<DurableObjectNamespace {self.binding} -> {self.class_name} ({self.script})>"


class RpcMethod:
    """``stub.name``: call it (``await stub.name(...)``) or await it to read a property."""

    def __init__(self, stub: "DurableObjectStub", name: str) -> None:
        self._stub, self._name = stub, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._stub._rpc(self._name, args, kwargs)

    def __await__(self) -> Any:
        # ``await stub.prop`` reads a property over RPC: a getter (``@property``) answers its value;
        # a plain instance attribute is not exposed (workerd: "does not implement the method").
        return self._stub._rpc(self._name, (), {}, property_read=True).__await__()

    def __repr__(self) -> str:
        return f"<RPC method {self._name} of {self._stub!r}>"


class DurableObjectStub:
    """A client for one object: ``await stub.fetch(...)`` or ``await stub.any_method(...)``."""

    def __init__(self, namespace: DurableObjectNamespace, id: DurableObjectId, hint: str | None = None) -> None:
        setattr_ = object.__setattr__  # (the class refuses attribute writes)
        setattr_(self, "_namespace", namespace)
        setattr_(self, "id", id)
        setattr_(self, "name", id.name)
        setattr_(self, "_hint", hint)

    def _send(self, kind: str, method: str, call: Callable[[Any], Any]) -> Awaitable[Any]:
        """Deliver one event across the network model (placement, latency, partitions): the
        awaitable of its result (a plain function: one coroutine fewer between a caller and the
        object on every call)."""
        host = self._namespace.host
        services = host.runtime.services
        if NETWORK.name not in services and FAULTS.name not in services and current_region.get() is None:
            # One region, no faults: what call_object would do, without building the endpoints.
            id = self.id
            hex_id = id._hex
            if id.name is not None:
                host.names.setdefault(hex_id, id.name)
            placement = host.placement
            region = placement[hex_id] if hex_id in placement else host.place(hex_id, self._hint, None)
            if region is None:
                return host.deliver(id, kind, method, call)
        return call_object(host, self.id, self._hint, functools.partial(host.deliver, self.id, kind, method, call))

    async def fetch(self, resource: Any, init: Any = None, **kwargs: Any) -> Response:
        """Send an HTTP request to the object's ``fetch`` handler (Fetch API semantics)."""
        request = resource if isinstance(resource, Request) and not (init or kwargs) else Request(resource, init, **kwargs)
        inbound = Request.copy_of(request)  # the object gets its own copy, as over the wire
        return await self._send("fetch", request.url, _FetchEvent(inbound))

    async def _rpc(self, method: str, args: tuple, kwargs: dict, *, property_read: bool = False) -> Any:
        # Private: any public name would shadow an RPC method of the object's class.
        if method.startswith("_") or method in RESERVED_RPC_NAMES:
            why = ("names starting with '_' are private" if method.startswith("_")
                   else f"{method} is reserved (https://developers.cloudflare.com/workers/runtime-apis/rpc/reserved-methods/)")
            raise JsException(f'The RPC receiver does not implement the method "{method}". ({why})', "TypeError")
        cloned_args = [structured_clone(a, passthrough=PASSTHROUGH) for a in args]
        cloned_kwargs = {k: structured_clone(v, passthrough=PASSTHROUGH) for k, v in kwargs.items()}
        result = await self._send("rpc", method, _RpcEvent(method, cloned_args, cloned_kwargs, property_read))
        return structured_clone(result, passthrough=PASSTHROUGH)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return RpcMethod(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Durable Object stubs are read-only")

    def __repr__(self) -> str:
        return f"<DurableObjectStub {self._namespace.class_name} {self.name or self.id.toString()[:12]}>"


@functools.lru_cache(maxsize=65_536)
def _named_id(key: str, jurisdiction: str | None, name: str) -> str:
    """The 64 hex digits of ``idFromName(name)`` in namespace ``key``: two SHA-256 hashes, computed
    once per name (a Worker asks for the same names on every request)."""
    scope = key if jurisdiction is None else f"{key}@{jurisdiction}"
    body = hashlib.sha256(f"{scope}|name|{name}".encode()).hexdigest()[:48]
    return body + id_tag(key, jurisdiction, body)


class _RpcEvent:
    """The call an RPC event makes on the object's instance (see :class:`_FetchEvent`)."""

    __slots__ = ("method", "args", "kwargs", "property_read")

    def __init__(self, method: str, args: list[Any], kwargs: dict[str, Any], property_read: bool) -> None:
        self.method, self.args, self.kwargs, self.property_read = method, args, kwargs, property_read

    def __call__(self, instance: Any) -> Any:
        method = self.method
        fn = getattr(type(instance), method, None)
        if self.property_read:
            if isinstance(inspect.getattr_static(type(instance), method, None), property):
                return getattr(instance, method)
            if fn is not None and callable(fn):
                raise JsException(f"{method} is an RPC method: call it (await stub.{method}(...)) "
                                  "instead of awaiting the attribute", "TypeError")
        if fn is None or not callable(fn):
            raise JsException(f'The RPC receiver does not implement the method "{method}".', "TypeError")
        return getattr(instance, method)(*self.args, **self.kwargs)


class _FetchEvent:
    """The call a ``fetch`` event makes on the object's instance (an object, not closures: fewer
    objects per request in flight for the garbage collector to walk)."""

    __slots__ = ("request",)

    def __init__(self, request: Request) -> None:
        self.request = request

    def __call__(self, instance: Any) -> Any:
        handler = getattr(instance, "fetch", None)
        if handler is None:
            raise JsException("Handler does not export a fetch() function.", "Error")  # workerd
        return handler(*relaxed_args(handler, (self.request,)))  # its result, or a coroutine giving it

    @staticmethod
    def check(response: Any) -> None:
        """The event's result (TurnDriver calls this inside the event)."""
        if not isinstance(response, Response):
            raise TypeError(f"the Durable Object's fetch() returned {type(response).__name__}; it "
                            "must return a Response")


#: What RPC passes by reference instead of cloning (stubs, ids, namespaces, requests, responses).
PASSTHROUGH: tuple[type, ...] = (DurableObjectStub, DurableObjectId, DurableObjectNamespace, Request, Response)
