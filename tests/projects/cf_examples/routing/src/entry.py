from urllib.parse import parse_qs, urlparse

from router import match, route
from workers import Response, WorkerEntrypoint

TODOS = {}


@route("GET", "/todos")
async def list_todos(request, params, query):
    done = query.get("done", [None])[0]
    items = [t for t in TODOS.values() if done is None or str(t["done"]).lower() == done]
    return Response.json(items)


@route("POST", "/todos")
async def create_todo(request, params, query):
    data = await request.json()
    todo_id = str(len(TODOS) + 1)
    TODOS[todo_id] = {"id": todo_id, "title": data["title"], "done": False}
    return Response.json(TODOS[todo_id], status=201, headers={"location": f"/todos/{todo_id}"})


@route("GET", "/todos/<todo_id>")
async def get_todo(request, params, query):
    todo = TODOS.get(params["todo_id"])
    return Response.json(todo) if todo else Response.json({"error": "not found"}, status=404)


@route("GET", "/old-todos")
async def moved(request, params, query):
    return Response.redirect("https://example.com/todos", 301)


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        handler, params, allowed = match(request.method, url.path)
        if handler is None:
            if allowed:
                return Response("method not allowed", status=405, headers={"allow": ", ".join(allowed)})
            return Response("not found", status=404)
        return await handler(request, params, parse_qs(url.query))
