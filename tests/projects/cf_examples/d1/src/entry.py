from urllib.parse import parse_qs, urlparse

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        db = self.env.DB
        if url.path == "/add" and request.method == "POST":
            body = await request.json()
            result = await db.prepare("INSERT INTO quotes (quote, author) VALUES (?, ?)").bind(body["quote"], body["author"]).run()
            return Response.json({"id": result.meta.last_row_id, "changes": result.meta.changes, "success": result.success}, status=201)
        if url.path == "/all":
            results = await db.prepare("SELECT quote, author FROM quotes ORDER BY id").all()
            return Response.json({"rows": results.results, "first_author": results.results[0].author})
        if url.path == "/first":
            author = parse_qs(url.query)["author"][0]
            row = await db.prepare("SELECT * FROM quotes WHERE author = ?").bind(author).first()
            if row is None:
                return Response("no quote", status=404)
            count = await db.prepare("SELECT COUNT(*) AS n FROM quotes").first("n")
            return Response.json({"quote": row["quote"], "count": count})
        if url.path == "/raw":
            rows = await db.prepare("SELECT author FROM quotes ORDER BY id").raw(columnNames=True)
            return Response.json(rows)
        if url.path == "/batch":
            stmt = db.prepare("INSERT INTO quotes (quote, author) VALUES (?, ?)")
            results = await db.batch([stmt.bind("a", "Batch"), stmt.bind("b", "Batch")])
            return Response.json([r.meta.changes for r in results])
        return Response("not found", status=404)
