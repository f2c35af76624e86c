// The helper Worker in JavaScript: a fetch handler and RPC methods for service bindings.
// py_helper/src/entry.py is the same Worker in Python.
import { WorkerEntrypoint } from "cloudflare:workers";

// A named entrypoint, bound with `entrypoint: "Admin"`.
export class Admin extends WorkerEntrypoint {
  whoami() {
    return "admin";
  }
}

export default class extends WorkerEntrypoint {
  async fetch(request) {
    const url = new URL(request.url);
    return Response.json({
      method: request.method,
      url: request.url,
      query_x: url.searchParams.getAll("x"),
      body: await request.text(),
      header: request.headers.get("x-probe"),
    }, { status: 202, headers: { "X-Helper": "1" } });
  }

  add(a, b) {
    return a + b;
  }

  echo(value) {
    return value;
  }

  explode(message) {
    throw new Error(message);
  }
}
