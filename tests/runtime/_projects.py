"""Worker projects that several runtime test files share: wrangler configs and Worker sources.

Test files import it as ``from _projects import ...`` (pytest puts this folder on ``sys.path``).
"""
from __future__ import annotations

from pathlib import Path

#: The chat example project in tests/projects/chat (a WebSocket chat room as the CHAT_ROOM Durable Object).
CHAT = Path(__file__).resolve().parents[1] / "projects" / "chat"

#: A Worker whose fetch handler only answers "ok": for tests that call its bindings directly.
OK_ENTRY = """
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")
"""

#: The Durable Objects docs' List example: GET / adds "hello" to the "default" list and returns it.
LIST_EXAMPLE = '''
from workers import DurableObject, Response, WorkerEntrypoint
from pyodide.ffi import to_js
class List(DurableObject):
    async def get_messages(self):
        messages = await self.ctx.storage.get("messages")
        return messages.to_py() if messages else []
    async def add_message(self, message):
        messages = await self.get_messages()
        messages.append(message)
        await self.ctx.storage.put("messages", to_js(messages))
class Default(WorkerEntrypoint):
    async def fetch(self, request):
        stub = self.env.LIST.getByName("default")
        await stub.add_message("hello")
        return Response.json(await stub.get_messages())
'''


def ai_project(name: str, entry: str = OK_ENTRY) -> dict[str, str]:
    """A project named ``name`` with the Workers AI binding as ``env.AI`` and the Worker ``entry``."""
    return {"wrangler.toml": f'name = "{name}"\nmain = "src/entry.py"\n[ai]\nbinding = "AI"\n', "src/entry.py": entry}


def durable_objects_toml(classes: dict[str, str], *, name: str = "app", compat: str | None = "2025-11-01",
                         kind: str = "new_sqlite_classes", extra: str = "",
                         migrations: list[tuple[str, list[str]]] | None = None) -> str:
    """A wrangler.toml binding each Durable Object class of ``classes`` (binding -> class name).

    The classes are created by one migration of ``kind``, or by ``migrations``: (kind, classes)
    steps tagged v1, v2, ... ``compat`` None leaves out the compatibility date; ``extra`` is
    further config placed before the bindings.
    """
    head = f'name = "{name}"\nmain = "src/entry.py"\n'
    if compat is not None:
        head += f'compatibility_date = "{compat}"\n'
    bindings = "".join(f'[[durable_objects.bindings]]\nname = "{b}"\nclass_name = "{c}"\n' for b, c in classes.items())
    steps = migrations if migrations is not None else [(kind, list(classes.values()))]
    tags = ""
    for i, (step_kind, step_classes) in enumerate(steps, 1):
        listed = ", ".join(f'"{c}"' for c in step_classes)
        tags += f'[[migrations]]\ntag = "v{i}"\n{step_kind} = [{listed}]\n'
    return f"{head}{extra}\n{bindings}{tags}"
