// Same routes and bodies as tests/projects/hello/src/entry.py.
export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/") {
      return new Response(`${env.GREETING} from a Python Worker!`, {
        headers: { "content-type": "text/plain", "x-hello": "world" },
      });
    }
    if (pathname === "/echo" && request.method === "POST") {
      const data = await request.json();
      return Response.json({ received: data, max_items: env.LIMITS.max_items });
    }
    return new Response("Not found", { status: 404 });
  },
};
