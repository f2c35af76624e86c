"""Looking at Durable Objects from outside (a notebook, a test): live objects and storage views."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from course.runtime.kernel.runtime import Kernel
from course.runtime.objects.storage import ObjectStorage

T = TypeVar("T")


@dataclass(frozen=True)
class ObjectInfo:
    """A live object, as ``rt.objects()`` lists it."""

    binding: str
    class_name: str
    script: str
    id: str
    name: str | None
    events_in_flight: int
    created_at: float
    last_active: float


class StorageView:
    """Read an object's storage from outside: KV entries, SQL, alarm (run on the runtime's loop)."""

    def __init__(self, runtime: Kernel, storage: ObjectStorage) -> None:
        self._runtime, self._storage = runtime, storage

    def _run(self, fn: Callable[[], T]) -> T:
        return self._runtime.run_on_loop(fn)

    def kv(self) -> dict[str, Any]:
        """Every key of the async/sync KV API, in key order, as plain Python."""
        return self._run(self._storage.snapshot)

    def get(self, key: str, default: Any = None) -> Any:
        return self.kv().get(key, default)

    def sql(self, query: str, *params: Any) -> list[dict[str, Any]]:
        """Rows of a SQL query on the object's database (SQLite-backed objects)."""
        return self._run(lambda: self._storage.query(query, *params))

    def tables(self) -> list[str]:
        return self._run(self._storage.tables)

    def alarm(self) -> int | None:
        return self._run(self._storage.alarm_ms)

    def __repr__(self) -> str:
        return f"<StorageView {self.kv()!r}>"
