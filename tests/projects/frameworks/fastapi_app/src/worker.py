"""A FastAPI app as a Python Worker: routes, a path parameter, a JSON body, the env in the scope,
a sync route that calls an upstream with requests, a streaming response, and a WebSocket route."""
import requests
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from workers import WorkerEntrypoint


class Note(BaseModel):
    text: str
    tags: list[str] = []


app = FastAPI()


@app.get("/")
async def root(request: Request):
    env = request.scope["env"]
    return {"message": f"{env.GREETING} from FastAPI"}


@app.get("/items/{item_id}")
async def item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/notes/{key}", status_code=201)
async def save(key: str, note: Note, request: Request):
    await request.scope["env"].NOTES.put(key, note.model_dump_json())
    return {"saved": key, "tags": note.tags}


@app.get("/notes/{key}")
async def load(key: str, request: Request):
    return {"note": await request.scope["env"].NOTES.get(key, type="json")}


@app.get("/weather")
def weather():  # a sync route: FastAPI runs it with anyio.to_thread, inline in a Worker
    r = requests.get("https://weather.example.com/today", timeout=5)
    return {"upstream": r.json()}


@app.get("/stream")
async def stream():
    async def numbers():
        for i in range(3):
            yield f"chunk {i}\n"
    return StreamingResponse(numbers(), media_type="text/plain")


@app.websocket("/ws")
async def echo(ws: WebSocket):
    await ws.accept()
    while True:
        text = await ws.receive_text()
        await ws.send_text(f"echo: {text}")
        if text == "bye":
            await ws.close(code=1000)
            return


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        import asgi

        if request.headers.get("upgrade") == "websocket":
            return await asgi.websocket(app, request, self.env)
        return await asgi.fetch(app, request, self.env)
