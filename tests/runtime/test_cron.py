"""Cron Triggers: schedules on the virtual clock, the controller, the cron dialect, validation."""
from __future__ import annotations

import datetime as dt

import pytest

from course.runtime import ConfigError
from course.runtime.bindings.cron import crons, next_time, trigger

ENTRY = """
    import json
    from workers import WorkerEntrypoint, Response

    RUNS = []

    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            return Response.json(RUNS)

        async def scheduled(self, controller, env, ctx):
            RUNS.append({"cron": controller.cron, "scheduledTime": controller.scheduledTime,
                         "type": controller.type})
            if "fail" in self.env.MODE:
                raise RuntimeError("cron job failed")
"""


def project(crons_toml: str, mode: str = "ok") -> dict[str, str]:
    return {
        "wrangler.toml": f"""
            name = "cron-worker"
            main = "src/entry.py"
            compatibility_date = "2025-01-01"

            [vars]
            MODE = "{mode}"

            [triggers]
            crons = {crons_toml}
        """,
        "src/entry.py": ENTRY,
    }


def test_every_minute_cron_fires_exactly_three_times_in_180_seconds(load_project):
    """A `*/1 * * * *` trigger runs once per minute on the clock (https://developers.cloudflare.com/workers/configuration/cron-triggers/)."""
    rt = load_project(project('["*/1 * * * *"]'))
    client = rt.client()
    assert client.get("/").json() == []
    rt.clock.advance(180)
    runs = client.get("/").json()
    assert len(runs) == 3
    assert rt.trace.count("cron", outcome="ok") == 3


def test_controller_carries_cron_scheduled_time_in_ms_and_type(load_project):
    """controller.cron, controller.scheduledTime (ms since epoch), type "scheduled" (https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/)."""
    rt = load_project(project('["*/5 * * * *"]'))
    rt.clock.advance(600)
    runs = rt.client().get("/").json()
    start_ms = int(rt.clock.wall() * 1000) - 600_000
    assert runs == [
        {"cron": "*/5 * * * *", "scheduledTime": start_ms + 300_000, "type": "scheduled"},
        {"cron": "*/5 * * * *", "scheduledTime": start_ms + 600_000, "type": "scheduled"},
    ]


def test_each_cron_expression_fires_with_its_own_string(load_project):
    """Several crons in triggers.crons each invoke scheduled with their own controller.cron (https://developers.cloudflare.com/workers/configuration/cron-triggers/)."""
    rt = load_project(project('["*/2 * * * *", "0 * * * *"]'))
    rt.clock.advance(3600)
    runs = rt.client().get("/").json()
    assert sum(r["cron"] == "*/2 * * * *" for r in runs) == 30
    assert sum(r["cron"] == "0 * * * *" for r in runs) == 1


def test_invalid_cron_expression_is_a_config_error_naming_triggers_crons(load_project):
    """Bad expressions are refused when the Worker loads, naming triggers.crons (https://developers.cloudflare.com/workers/configuration/cron-triggers/)."""
    with pytest.raises(ConfigError, match=r"triggers\.crons\[1\].*61 \* \* \* \*"):
        load_project(project('["* * * * *", "61 * * * *"]'))
    with pytest.raises(ConfigError, match=r"triggers\.crons\[0\].*5 fields"):
        load_project(project('["0 0 * * * *"]'))


def test_weekday_numbers_count_from_sunday_as_one(load_project):
    """Cloudflare's weekdays are 1-7 with `0 17 * * 1` meaning 5PM on Sunday (https://developers.cloudflare.com/workers/configuration/cron-triggers/)."""
    rt = load_project(project('["0 17 * * 1", "10 7 * * mon-fri", "0 18 * * 6L"]'))
    nexts = {s["cron"]: s["next"] for s in crons(rt).schedules()}
    # The virtual clock starts on Thursday 2026-01-01 00:00 UTC.
    assert nexts["0 17 * * 1"] == "2026-01-04T17:00:00+00:00"            # Sunday
    assert nexts["10 7 * * mon-fri"] == "2026-01-01T07:10:00+00:00"      # Thursday
    assert nexts["0 18 * * 6L"] == "2026-01-30T18:00:00+00:00"           # last Friday


def test_last_weekday_of_month_w_syntax_is_supported():
    """`59 23 LW * *` is 11:59PM on the last weekday of the month (https://developers.cloudflare.com/workers/configuration/cron-triggers/)."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    got = dt.datetime.fromtimestamp(next_time("59 23 LW * *", start), dt.timezone.utc)
    assert got == dt.datetime(2026, 1, 30, 23, 59, tzinfo=dt.timezone.utc)  # Jan 31 is a Saturday


def test_trigger_fires_scheduled_handler_directly(load_project):
    """Tests fire a trigger at will, like `wrangler dev --test-scheduled` (https://developers.cloudflare.com/workers/configuration/cron-triggers/)."""
    rt = load_project(project('["0 0 1 1 *"]'))
    controller = trigger(rt)
    assert controller.cron == "0 0 1 1 *"
    assert rt.client().get("/").json() == [
        {"cron": "0 0 1 1 *", "scheduledTime": int(rt.clock.wall() * 1000), "type": "scheduled"}]
    trigger(rt, cron="*/7 * * * *")
    assert rt.client().get("/").json()[-1]["cron"] == "*/7 * * * *"


def test_failing_scheduled_handler_is_traced_and_schedule_continues(load_project):
    """An exception in scheduled is reported; the next scheduled time still fires (https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/)."""
    rt = load_project(project('["* * * * *"]', mode="fail"))
    rt.clock.advance(120)
    assert len(rt.client().get("/").json()) == 2
    failures = rt.trace.events("cron", outcome="exception")
    assert len(failures) == 2 and "cron job failed" in failures[0].error
    assert any("cron job failed" in line.message for line in rt.logs if line.level == "error")


def test_no_retry_is_recorded_in_the_trace(load_project):
    """controller.noRetry() asks the platform not to retry the event (https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/)."""
    rt = load_project({
        "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n[triggers]\ncrons = ["* * * * *"]\n',
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response("ok")
                async def scheduled(self, controller, env, ctx):
                    controller.noRetry()
                    raise ValueError("boom")
        """,
    })
    rt.clock.advance(60)
    (event,) = rt.trace.events("cron")
    assert event.no_retry is True and event.outcome == "exception"


def test_cron_producer_and_queue_consumer_run_together_on_the_clock(load_project):
    """A scheduled handler can send to a queue that the same Worker consumes (https://developers.cloudflare.com/queues/configuration/javascript-apis/#producer)."""
    rt = load_project({
        "wrangler.toml": """
            name = "ticker"
            main = "src/entry.py"

            [triggers]
            crons = ["* * * * *"]

            [[queues.producers]]
            binding = "TICKS"
            queue = "ticks"

            [[queues.consumers]]
            queue = "ticks"
            max_batch_size = 5
        """,
        "src/entry.py": """
            from workers import WorkerEntrypoint, Response
            DONE = []
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    return Response(str(len(DONE)))
                async def scheduled(self, controller, env, ctx):
                    await self.env.TICKS.sendBatch([{"body": {"i": i}} for i in range(5)])
                async def queue(self, batch, env, ctx):
                    DONE.extend(m.body.i for m in batch.messages)
                    batch.ackAll()
        """,
    })
    rt.clock.advance(180)
    assert rt.client().get("/").text == "15"
    assert rt.trace.count("queue_delivery") == 3 and rt.trace.count("queue_ack") == 15


def test_on_real_time_crons_do_not_fire_on_their_own(load_project):
    """Like `wrangler dev`, which never runs cron triggers by itself: no timer is armed on real time."""
    rt = load_project(project('["*/1 * * * *", "0 0 * * *"]'), virtual_time=False)
    assert [s["next"] for s in crons(rt).schedules()] == [None, None]
    assert rt.trace.count("cron") == 0


def test_on_real_time_the_trigger_route_fires_the_handler_in_process(load_project):
    rt = load_project(project('["*/1 * * * *"]'), virtual_time=False)
    client = rt.client()
    r = client.get("/cdn-cgi/handler/scheduled", params={"cron": "*/1 * * * *", "time": "946684800000"})
    assert (r.status_code, r.text) == (200, "ok")
    assert client.get("/").json() == [{"cron": "*/1 * * * *", "scheduledTime": 946684800000, "type": "scheduled"}]


def test_start_fires_crons_on_the_wall_clock(load_project):
    """`course serve --crons`: the schedules get their timers, at the next match of the wall clock."""
    rt = load_project(project('["*/1 * * * *"]'), virtual_time=False)
    crons(rt).start()
    [schedule] = crons(rt).schedules()
    nxt = dt.datetime.fromisoformat(schedule["next"]).timestamp()
    assert 0 < nxt - rt.clock.wall() <= 60 and nxt % 60 == 0


def test_on_virtual_time_crons_are_armed_from_the_start(load_project):
    rt = load_project(project('["*/1 * * * *"]'))
    assert crons(rt).on_clock and crons(rt).schedules()[0]["next"] is not None
