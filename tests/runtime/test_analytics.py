"""Workers Analytics Engine: writeDataPoint, its limits, and SQL over the written points."""
from __future__ import annotations

import pytest

from course.runtime.bindings.analytics import analytics
from course.workers import JsException

PROJECT = {
    "wrangler.toml": """
        name = "metrics-worker"
        main = "src/entry.py"
        compatibility_date = "2025-01-01"

        [[analytics_engine_datasets]]
        binding = "METRICS"
        dataset = "agent_metrics"
    """,
    "src/entry.py": """
        from urllib.parse import urlparse
        from workers import WorkerEntrypoint, Response

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                path = urlparse(request.url).path
                result = self.env.METRICS.writeDataPoint({
                    "blobs": [path, request.method],
                    "doubles": [len(path), 1],
                    "indexes": ["agent-7"],
                })
                return Response(f"wrote {result}")
    """,
}


def test_write_data_point_is_sync_and_stores_a_row_per_call(load_project):
    """writeDataPoint is not awaited and returns nothing; each call is one data point (https://developers.cloudflare.com/analytics/analytics-engine/get-started/)."""
    rt = load_project(PROJECT)
    assert rt.client().get("/chat").text == "wrote None"
    (row,) = analytics(rt).rows("agent_metrics")
    assert (row["dataset"], row["index1"], row["blob1"], row["blob2"], row["blob3"]) == \
        ("agent_metrics", "agent-7", "/chat", "GET", "")
    assert (row["double1"], row["double2"], row["double3"], row["_sample_interval"]) == (5.0, 1.0, 0.0, 1)
    assert rt.trace.last("analytics_write").dataset == "agent_metrics"


def test_timestamp_column_follows_the_runtime_clock(load_project):
    """Each point gets a UTC timestamp column at write time (https://developers.cloudflare.com/analytics/analytics-engine/sql-reference/)."""
    rt = load_project(PROJECT)
    rt.clock.advance(3600 + 61)
    rt.client().get("/a")
    assert analytics(rt).rows()[0]["timestamp"] == "2026-01-01 01:01:01"


def test_sql_query_groups_points_by_dataset_view(load_project):
    """Points are queried with SQL over blobN/doubleN/_sample_interval columns, FROM the dataset (https://developers.cloudflare.com/analytics/analytics-engine/sql-api/)."""
    rt = load_project(PROJECT)
    client = rt.client()
    for path in ["/chat", "/chat", "/tools", "/chat"]:
        client.get(path)
    rows = analytics(rt).query(
        "SELECT blob1 AS route, SUM(_sample_interval) AS n, AVG(double1) AS avg_len "
        "FROM agent_metrics GROUP BY blob1 ORDER BY n DESC")
    assert rows == [{"route": "/chat", "n": 3, "avg_len": 5.0}, {"route": "/tools", "n": 1, "avg_len": 6.0}]


def test_query_is_read_only(load_project):
    """The SQL API only reads data (https://developers.cloudflare.com/analytics/analytics-engine/sql-api/)."""
    rt = load_project(PROJECT)
    with pytest.raises(ValueError, match="must be a SELECT"):
        analytics(rt).query("DELETE FROM agent_metrics")


@pytest.mark.parametrize("point, message", [
    ({"blobs": ["b"] * 21}, "21 blobs; at most 20"),
    ({"doubles": [1.0] * 21}, "21 doubles; at most 20"),
    ({"indexes": ["a", "b"]}, "2 indexes; at most 1"),
    ({"indexes": ["i" * 97]}, "97 bytes; at most 96"),
    ({"blobs": ["x" * 10_000, "y" * 7_000]}, "17000 bytes; at most 16384"),
    ({"doubles": ["1"]}, "must be a number"),
    ({"blobs": [3]}, "must be a string or bytes"),
    ({"labels": ["x"]}, "unknown field"),
])
def test_data_points_over_documented_limits_are_rejected(load_project, point, message):
    """20 blobs, 20 doubles, 1 index of at most 96 bytes, 16 KB of blobs per point (https://developers.cloudflare.com/analytics/analytics-engine/limits/)."""
    rt = load_project(PROJECT)
    with pytest.raises(JsException, match=message):
        rt.env.METRICS.writeDataPoint(point)
    assert analytics(rt).count() == 0


def test_data_point_at_the_limits_is_accepted(load_project):
    """Exactly 20 blobs (16 KB in all), 20 doubles and a 96-byte index fit (https://developers.cloudflare.com/analytics/analytics-engine/limits/)."""
    rt = load_project(PROJECT)
    blobs = ["z" * 800] * 20
    blobs[0] = "z" * (16 * 1024 - 19 * 800)
    rt.env.METRICS.writeDataPoint({"blobs": blobs, "doubles": list(range(20)), "indexes": ["i" * 96]})
    (row,) = analytics(rt).rows()
    assert row["double20"] == 19.0 and len(row["index1"]) == 96
