"""A Flask app as a Python Worker through workers.wsgi: routes, form and JSON bodies, headers,
cookies, a redirect, a 204, a generator body, and the env in the WSGI environ."""
from flask import Flask, Response as FlaskResponse, jsonify, redirect, request
from workers import WorkerEntrypoint
from workers.wsgi import fetch as wsgi_fetch

app = Flask(__name__)


@app.route("/")
def index():
    return f"Hello from {request.environ['workers.env'].OWNER}'s Flask"


@app.route("/echo", methods=["POST"])
def echo():
    data = request.get_json(silent=True) or request.form.to_dict()
    resp = jsonify(received=data, path=request.path, q=request.args.get("q"), agent=request.headers.get("User-Agent"))
    resp.set_cookie("seen", "1")
    resp.headers["X-Framework"] = "flask"
    return resp


@app.route("/café/<name>")
def unicode_path(name):
    return {"name": name}


@app.route("/old")
def old():
    return redirect("/", code=301)


@app.route("/empty", methods=["DELETE"])
def empty():
    return "", 204


@app.route("/lines")
def lines():
    def generate():
        yield "a\n"
        yield ""
        yield "b\n"
    return FlaskResponse(generate(), mimetype="text/plain")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await wsgi_fetch(app, request, self.env)
