"""Worker code reads its own Analytics Engine data through the SQL API, as on Cloudflare."""
from __future__ import annotations

from course.runtime import Runtime
from course.workers import Response, WorkerEntrypoint

SQL_URL = "https://api.cloudflare.com/client/v4/accounts/0123abcd/analytics_engine/sql"


class Reader(WorkerEntrypoint):
    async def fetch(self, request):
        from course.workers import fetch

        self.env.METRICS.writeDataPoint({"blobs": ["/a", "ok"], "doubles": [12.0], "indexes": ["t1"]})
        self.env.METRICS.writeDataPoint({"blobs": ["/a", "error"], "doubles": [30.0], "indexes": ["t2"]})
        token = request.headers.get("x-token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = await fetch(SQL_URL, method="POST", headers=headers,
                           body="SELECT blob2 AS status, SUM(_sample_interval) AS n, AVG(double1) AS ms "
                                "FROM agent_metrics GROUP BY blob2 ORDER BY status FORMAT JSON")
        return Response(await resp.text(), status=resp.status)


def _runtime() -> Runtime:
    rt = Runtime(virtual_time=True)
    rt.add_worker(Reader, name="reader", config={"analytics_engine_datasets": [
        {"binding": "METRICS", "dataset": "agent_metrics"}]})
    return rt


def test_a_worker_queries_its_data_points_through_the_sql_api_in_format_json() -> None:
    with _runtime() as rt:
        body = rt.client().get("/", headers={"x-token": "secret"}).json()
    assert body["rows"] == 2 and [m["name"] for m in body["meta"]] == ["status", "n", "ms"]
    assert body["data"] == [{"status": "error", "n": 1, "ms": 30.0}, {"status": "ok", "n": 1, "ms": 12.0}]
    assert body["meta"][1]["type"] == "UInt64"


def test_the_sql_api_without_a_bearer_token_answers_401() -> None:
    with _runtime() as rt:
        resp = rt.client().get("/")
    assert resp.status_code == 401 and "Bearer" in resp.text
