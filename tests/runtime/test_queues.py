"""Queues: producers, batching by size and timeout, ack/retry, dead letters, duplicates, limits."""
from __future__ import annotations

import datetime as dt

import pytest

from course.runtime import ConfigError
from course.runtime.bindings.queues import MAX_MESSAGE_BYTES, queues
from course.workers import JsException

# A Worker in Cloudflare's Python style: POST /send queues the JSON body, GET / lists what the
# consumer saw. The consumer's behaviour is chosen by each message body ("fail", "retry", "ack").
ENTRY = """
    from urllib.parse import urlparse
    from workers import WorkerEntrypoint, Response

    SEEN = []

    def plain(body):
        return body.to_py() if hasattr(body, "to_py") else body

    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            path = urlparse(request.url).path
            if path == "/send":
                await self.env.JOBS.send(await request.json())
                return Response("queued", status=202)
            if path == "/send-batch":
                bodies = await request.json()
                await self.env.JOBS.sendBatch([{"body": b} for b in bodies])
                return Response("queued", status=202)
            return Response.json(SEEN)

        async def queue(self, batch, env, ctx):
            crash = False
            for message in batch.messages:
                body = plain(message.body)
                SEEN.append({"queue": batch.queue, "id": message.id, "body": body,
                             "attempts": message.attempts, "size": len(batch.messages)})
                if batch.queue.endswith("-dlq"):
                    continue  # dead letters are only recorded
                action = body.get("do") if isinstance(body, dict) else None
                if action == "ack":
                    message.ack()
                elif action == "retry":
                    message.retry(delaySeconds=body.get("delay", 0))
                elif action == "fail":
                    crash = True
            if crash:
                raise RuntimeError("consumer failed")
"""


def project(consumer: str = "", extra: str = "", *, entry: str = ENTRY, name: str = "queue-worker",
            compat: str | None = "2025-01-01", consume: bool = True) -> dict[str, str]:
    """A Worker that produces to queue "jobs" as env.JOBS and (``consume``) consumes it, with the
    consumer settings ``consumer`` and further wrangler config ``extra``."""
    lines = [f'name = "{name}"', 'main = "src/entry.py"']
    if compat is not None:
        lines.append(f'compatibility_date = "{compat}"')
    lines += ["[[queues.producers]]", 'binding = "JOBS"', 'queue = "jobs"']
    if consume:
        lines += ["[[queues.consumers]]", 'queue = "jobs"', consumer]
    lines.append(extra)
    return {"wrangler.toml": "\n".join(lines) + "\n", "src/entry.py": entry}


# A producer with no consumer: GET / sends one message.
PRODUCER_ENTRY = """
    from workers import WorkerEntrypoint, Response
    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            await self.env.JOBS.send({"n": 1})
            return Response("ok")
"""


def seen(rt) -> list[dict]:
    return rt.client().get("/").json()


def test_batch_is_delivered_as_soon_as_max_batch_size_messages_are_ready(load_project):
    """A batch goes out when max_batch_size messages wait (https://developers.cloudflare.com/queues/configuration/batching-retries/)."""
    rt = load_project(project("max_batch_size = 3\nmax_batch_timeout = 30"))
    client = rt.client()
    client.post("/send-batch", json=[{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}])
    rt.run_until_idle()
    got = seen(rt)
    assert [m["body"]["n"] for m in got] == [1, 2, 3] and {m["size"] for m in got} == {3}
    assert queues(rt).queue("jobs").depth() == 1


def test_partial_batch_is_delivered_when_max_batch_timeout_elapses(load_project):
    """Fewer than max_batch_size messages go out max_batch_timeout seconds after the first became ready (https://developers.cloudflare.com/queues/configuration/batching-retries/)."""
    rt = load_project(project("max_batch_size = 10\nmax_batch_timeout = 5"))
    rt.client().post("/send", json={"n": 1})
    rt.clock.advance(2)
    rt.client().post("/send", json={"n": 2})
    rt.clock.advance(2.9)
    assert seen(rt) == []
    rt.clock.advance(0.1)
    assert [m["body"]["n"] for m in seen(rt)] == [1, 2]
    (delivery,) = rt.trace.events("queue_delivery")
    assert delivery.t == pytest.approx(5.0) and delivery.size == 2


def test_production_defaults_are_batches_of_ten_and_five_seconds(load_project):
    """Defaults: max_batch_size 10, max_batch_timeout 5 s (https://developers.cloudflare.com/queues/configuration/configure-queues/)."""
    rt = load_project(project())
    rt.client().post("/send-batch", json=[{"n": i} for i in range(25)])
    rt.run_until_idle()
    assert [m["size"] for m in seen(rt)] == [10] * 20
    rt.clock.advance(5)
    assert [m["size"] for m in seen(rt)][20:] == [5] * 5


def test_message_has_id_timestamp_body_and_attempts(load_project):
    """Message exposes id, timestamp (a Date), body and attempts starting at 1; batch.queue is the name (https://developers.cloudflare.com/queues/configuration/javascript-apis/)."""
    rt = load_project(project("max_batch_size = 1"))
    rt.client().post("/send", json={"hello": "queue"})
    rt.run_until_idle()
    (m,) = seen(rt)
    assert m["queue"] == "jobs" and m["body"] == {"hello": "queue"} and m["attempts"] == 1
    assert len(m["id"]) == 32
    assert rt.trace.last("queue_send").id == m["id"]


def test_message_timestamp_is_the_send_time_as_a_utc_datetime(load_project):
    """Message.timestamp is when the message was sent (https://developers.cloudflare.com/queues/configuration/javascript-apis/#message)."""
    rt = load_project(project(entry="""
        from workers import WorkerEntrypoint, Response
        STAMPS = []
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                await self.env.JOBS.send("x", contentType="text")
                return Response("ok")
            async def queue(self, batch, env, ctx):
                STAMPS.extend(m.timestamp for m in batch.messages)
    """, name="w", compat=None))
    rt.clock.advance(30)
    rt.client().get("/")
    rt.clock.advance(5)
    (stamp,) = rt.worker().exports["STAMPS"]
    assert stamp == dt.datetime(2026, 1, 1, 0, 0, 30, tzinfo=dt.timezone.utc)


def test_failing_message_is_delivered_max_retries_plus_one_times_then_dead_lettered(load_project):
    """With max_retries = 2, a failing message is seen with attempts 1, 2, 3, then goes to the dead letter queue (https://developers.cloudflare.com/queues/configuration/dead-letter-queues/)."""
    rt = load_project(project(
        'max_batch_size = 1\nmax_retries = 2\ndead_letter_queue = "jobs-dlq"',
        extra='[[queues.consumers]]\nqueue = "jobs-dlq"\nmax_batch_size = 1'))
    rt.client().post("/send", json={"do": "fail"})
    rt.clock.advance(60)
    got = seen(rt)
    assert [(m["queue"], m["attempts"]) for m in got] == [("jobs", 1), ("jobs", 2), ("jobs", 3), ("jobs-dlq", 1)]
    assert got[-1]["body"] == {"do": "fail"} and got[-1]["id"] == got[0]["id"]
    jobs = queues(rt).queue("jobs")
    assert [d["id"] for d in jobs.dead_letters()] == [got[0]["id"]]
    assert rt.trace.count("queue_retry") == 2
    assert rt.trace.last("queue_dead_letter").dead_letter_queue == "jobs-dlq"


def test_message_is_dropped_after_max_retries_without_a_dead_letter_queue(load_project):
    """Without a dead_letter_queue, a message that exhausts max_retries is deleted (https://developers.cloudflare.com/queues/configuration/dead-letter-queues/)."""
    rt = load_project(project("max_batch_size = 1\nmax_retries = 0"))
    rt.client().post("/send", json={"do": "fail"})
    rt.clock.advance(60)
    assert [m["attempts"] for m in seen(rt)] == [1]
    event = rt.trace.last("queue_dead_letter")
    assert event.dropped is True and event.dead_letter_queue is None
    assert queues(rt).queue("jobs").depth() == 0


def test_exception_retries_only_messages_not_explicitly_acked(load_project):
    """When the handler throws, explicitly acked messages are not redelivered (https://developers.cloudflare.com/queues/configuration/batching-retries/#explicit-acknowledgement-and-retries)."""
    rt = load_project(project("max_batch_size = 3\nmax_batch_timeout = 1"))
    rt.client().post("/send-batch", json=[{"do": "ack", "n": 1}, {"n": 2}, {"do": "fail", "n": 3}])
    rt.run_until_idle()
    assert [(m["body"]["n"], m["attempts"]) for m in seen(rt)] == [(1, 1), (2, 1), (3, 1)]
    rt.clock.advance(1)
    again = seen(rt)[3:]
    assert [(m["body"]["n"], m["attempts"]) for m in again] == [(2, 2), (3, 2)]
    assert [e.reason for e in rt.trace.events("queue_retry")][:2] == ["exception", "exception"]


def test_returning_normally_acks_every_message(load_project):
    """A handler that returns without error implicitly acknowledges the whole batch (https://developers.cloudflare.com/queues/configuration/batching-retries/)."""
    rt = load_project(project("max_batch_size = 2"))
    rt.client().post("/send-batch", json=[{"n": 1}, {"n": 2}])
    rt.clock.advance(600)
    assert [m["attempts"] for m in seen(rt)] == [1, 1]
    assert rt.trace.count("queue_ack") == 2 and rt.trace.count("queue_retry") == 0


def test_per_message_retry_redelivers_only_that_message_after_its_delay(load_project):
    """message.retry(delaySeconds=) redelivers that message after the delay; the rest are acked (https://developers.cloudflare.com/queues/configuration/batching-retries/#delay-on-retry)."""
    rt = load_project(project("max_batch_size = 2\nmax_batch_timeout = 0"))
    rt.client().post("/send-batch", json=[{"n": 1}, {"do": "retry", "delay": 30, "n": 2}])
    rt.clock.advance(29)
    assert len(seen(rt)) == 2
    rt.clock.advance(1)
    got = seen(rt)
    assert [(m["body"]["n"], m["attempts"]) for m in got] == [(1, 1), (2, 1), (2, 2)]
    retry = rt.trace.last("queue_retry")
    assert retry.delay == 30 and retry.reason == "retry()"


def test_retry_delay_setting_delays_redelivery_after_an_exception(load_project):
    """retry_delay in the consumer config delays every retry (https://developers.cloudflare.com/queues/configuration/batching-retries/#delay-on-retry)."""
    rt = load_project(project("max_batch_size = 1\nretry_delay = 120\nmax_retries = 1"))
    rt.client().post("/send", json={"do": "fail"})
    rt.clock.advance(119)
    assert len(seen(rt)) == 1
    rt.clock.advance(1)
    assert [m["attempts"] for m in seen(rt)] == [1, 2]


def test_per_message_call_takes_precedence_over_batch_level_call(load_project):
    """ack()/retry() on a message wins over ackAll()/retryAll(); the first call wins (https://developers.cloudflare.com/queues/configuration/batching-retries/#explicit-acknowledgement-and-retries)."""
    rt = load_project(project("max_batch_size = 3\nmax_retries = 0", entry="""
        from workers import WorkerEntrypoint, Response
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                await self.env.JOBS.sendBatch([{"body": "keep"}, {"body": "again"}, {"body": "rest"}])
                return Response("ok")
            async def queue(self, batch, env, ctx):
                for m in batch.messages:
                    if m.body == "keep":
                        m.ack()
                        m.retry()          # ignored: the first call wins
                    elif m.body == "again":
                        m.retry()
                batch.ackAll()             # applies only to "rest"
    """, name="w", compat=None))
    rt.client().get("/")
    rt.run_until_idle()
    acked = {e.id for e in rt.trace.events("queue_ack")}
    dead = [e.id for e in rt.trace.events("queue_dead_letter")]
    sends = [e.id for e in rt.trace.events("queue_send")]
    assert acked == {sends[0], sends[2]} and dead == [sends[1]]


def test_retry_all_retries_the_whole_batch_with_its_delay(load_project):
    """batch.retryAll(delaySeconds=) redelivers every message of the batch later (https://developers.cloudflare.com/queues/configuration/javascript-apis/#messagebatch)."""
    rt = load_project(project("max_batch_size = 2\nmax_batch_timeout = 0", entry="""
        from workers import WorkerEntrypoint, Response
        ATTEMPTS = []
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                await self.env.JOBS.sendBatch([{"body": 1}, {"body": 2}])
                return Response("ok")
            async def queue(self, batch, env, ctx):
                ATTEMPTS.append([m.attempts for m in batch.messages])
                if batch.messages[0].attempts == 1:
                    batch.retryAll(delaySeconds=10)
    """, name="w", compat=None))
    rt.client().get("/")
    rt.clock.advance(9)
    assert rt.worker().exports["ATTEMPTS"] == [[1, 1]]
    rt.clock.advance(1)
    assert rt.worker().exports["ATTEMPTS"] == [[1, 1], [2, 2]]


def test_delay_seconds_defers_delivery(load_project):
    """send(delaySeconds=), as keyword or options dict, holds a message back (https://developers.cloudflare.com/queues/configuration/batching-retries/#delay-messages)."""
    rt = load_project(project("max_batch_size = 1"))
    producer = rt.env.JOBS
    rt.call(producer.send({"n": 1}, delaySeconds=100))
    rt.call(producer.send({"n": 2}, {"delaySeconds": 50}))
    rt.clock.advance(49)
    assert seen(rt) == []
    rt.clock.advance(1)
    assert [m["body"]["n"] for m in seen(rt)] == [2]
    rt.clock.advance(50)
    assert [m["body"]["n"] for m in seen(rt)] == [2, 1]


def test_producer_delivery_delay_is_the_default_delay(load_project):
    """delivery_delay on a producer delays its messages unless delaySeconds says otherwise (https://developers.cloudflare.com/queues/configuration/batching-retries/#delay-messages)."""
    files = project("max_batch_size = 1")
    files["wrangler.toml"] = files["wrangler.toml"].replace('queue = "jobs"\n', 'queue = "jobs"\ndelivery_delay = 60\n', 1)
    rt = load_project(files)
    rt.call(rt.env.JOBS.send({"n": 1}))
    rt.call(rt.env.JOBS.send({"n": 2}, delaySeconds=0))
    rt.clock.advance(59)
    assert [m["body"]["n"] for m in seen(rt)] == [2]
    rt.clock.advance(1)
    assert [m["body"]["n"] for m in seen(rt)] == [2, 1]


def test_body_is_copied_when_sent(load_project):
    """Bodies are serialized at send time, so later mutation by the producer is not seen (https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype)."""
    rt = load_project(project("max_batch_size = 1"))
    body = {"items": [1, 2]}
    rt.call(rt.env.JOBS.send(body))
    body["items"].append(3)
    rt.run_until_idle()
    assert seen(rt)[0]["body"] == {"items": [1, 2]}


def test_content_types_text_bytes_and_v8_round_trip(load_project):
    """contentType "text", "bytes" and "v8" carry str, bytes and structured-cloneable values (https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype)."""
    rt = load_project(project("max_batch_size = 3", entry="""
        from workers import WorkerEntrypoint, Response
        GOT = []
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return Response("ok")
            async def queue(self, batch, env, ctx):
                GOT.extend(m.body for m in batch.messages)
    """, name="w", compat=None))
    when = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    rt.call(rt.env.JOBS.sendBatch([
        {"body": "plain text", "contentType": "text"},
        {"body": b"\x00\x01", "contentType": "bytes"},
        {"body": {"at": when, "raw": b"\x02"}, "contentType": "v8"},
    ]))
    rt.run_until_idle()
    text, raw, v8 = rt.worker().exports["GOT"]
    assert text == "plain text" and bytes(raw) == b"\x00\x01"
    assert v8["at"] == when and bytes(v8.raw) == b"\x02"


def test_json_content_type_rejects_values_json_cannot_carry(load_project):
    """The json content type needs a JSON-serializable body (https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype)."""
    rt = load_project(project())
    with pytest.raises(JsException, match="not JSON-serializable"):
        rt.call(rt.env.JOBS.send({"when": dt.datetime(2026, 1, 1)}))
    with pytest.raises(JsException, match="contentType must be one of"):
        rt.call(rt.env.JOBS.send("x", contentType="xml"))
    with pytest.raises(JsException, match="DataCloneError|cannot be structured-cloned"):
        rt.call(rt.env.JOBS.send(object(), contentType="v8"))


def test_message_over_128_kb_is_rejected(load_project):
    """A message may be at most 128 KB, with 1 KB = 1000 bytes (https://developers.cloudflare.com/queues/platform/limits/)."""
    rt = load_project(project())
    rt.call(rt.env.JOBS.send("x" * MAX_MESSAGE_BYTES, contentType="text"))
    with pytest.raises(JsException, match="128000-byte limit") as info:
        rt.call(rt.env.JOBS.send("x" * (MAX_MESSAGE_BYTES + 1), contentType="text"))
    assert info.value.name == "RangeError"
    assert queues(rt).queue("jobs").sent == 1


def test_send_batch_is_limited_to_100_messages_and_256_kb(load_project):
    """sendBatch takes at most 100 messages and 256 KB in total (https://developers.cloudflare.com/queues/platform/limits/)."""
    rt = load_project(project())
    with pytest.raises(JsException, match="at most 100"):
        rt.call(rt.env.JOBS.sendBatch([{"body": i} for i in range(101)]))
    big = "y" * 100_000
    with pytest.raises(JsException, match="at most 256000 bytes"):
        rt.call(rt.env.JOBS.sendBatch([{"body": big, "contentType": "text"}] * 3))
    assert queues(rt).queue("jobs").sent == 0  # nothing of a refused batch is sent


def test_delay_over_24_hours_is_rejected(load_project):
    """delaySeconds may be at most 24 hours (86400 s) when sending or retrying; the current limits
    page says 24 hours (it was 12) (https://developers.cloudflare.com/queues/platform/limits/)."""
    rt = load_project(project())
    rt.call(rt.env.JOBS.send({"ok": 1}, delaySeconds=86_400))
    with pytest.raises(JsException, match="between 0 and 86400"):
        rt.call(rt.env.JOBS.send({"ok": 1}, delaySeconds=86_401))
    with pytest.raises(JsException, match="between 0 and 86400"):
        rt.call(rt.env.JOBS.sendBatch([{"body": 1}], delaySeconds=-1))


def test_duplicates_are_injected_deterministically_by_seed(load_project):
    """Delivery is at least once; injected duplicates follow the runtime seed (https://developers.cloudflare.com/queues/reference/delivery-guarantees/)."""
    def run(seed: int) -> list[tuple[int, int]]:
        rt = load_project(project("max_batch_size = 5\nmax_batch_timeout = 1"), seed=seed)
        queues(rt).inject_duplicates(0.3)
        rt.client().post("/send-batch", json=[{"n": i} for i in range(20)])
        rt.clock.advance(120)
        return [(m["body"]["n"], m["attempts"]) for m in seen(rt)]

    first, again, other = run(1), run(1), run(2)
    assert first == again
    assert len(first) > 20 and len({n for n, _ in first}) == 20
    assert first != other


def test_consumer_loaded_after_messages_were_sent_receives_them(load_project, make_project):
    """Messages wait in the queue until a consumer exists (https://developers.cloudflare.com/queues/configuration/configure-queues/)."""
    rt = load_project(project(entry=PRODUCER_ENTRY, name="producer", compat=None, consume=False))
    rt.client().get("/")
    rt.clock.advance(10)
    assert queues(rt).queue("jobs").depth() == 1
    rt.add_project(make_project(project()))
    rt.clock.advance(5)
    assert [m["body"] for m in rt.client(worker="queue-worker").get("/").json()] == [{"n": 1}]
    assert queues(rt).queue("jobs").depth() == 0


def test_a_queue_has_only_one_consumer(load_project):
    """Each queue has exactly one consumer Worker (https://developers.cloudflare.com/queues/configuration/configure-queues/)."""
    with pytest.raises(ConfigError, match=r"queues\.consumers\[1\].*already has a consumer"):
        load_project(project(extra='[[queues.consumers]]\nqueue = "jobs"'))


def test_consumer_settings_outside_documented_ranges_are_config_errors(load_project):
    """max_batch_size <= 100, max_batch_timeout <= 60, max_retries <= 100 (https://developers.cloudflare.com/queues/platform/limits/)."""
    with pytest.raises(ConfigError, match=r"queues\.consumers\[0\]\.max_batch_size"):
        load_project(project("max_batch_size = 101"))
    with pytest.raises(ConfigError, match=r"max_batch_timeout"):
        load_project(project("max_batch_timeout = 61"))
    with pytest.raises(ConfigError, match=r"max_retries"):
        load_project(project("max_retries = 101"))


def test_depth_and_in_flight_are_inspectable(load_project):
    """Queue state is visible from Python: depth, in flight, counters (https://developers.cloudflare.com/queues/observability/metrics/)."""
    rt = load_project(project("max_batch_size = 10\nmax_batch_timeout = 5"))
    rt.client().post("/send-batch", json=[{"n": i} for i in range(3)])
    q = queues(rt).queue("jobs")
    assert (q.depth(), q.in_flight()) == (3, 0)
    assert [m["body"] for m in q.messages()] == [{"n": 0}, {"n": 1}, {"n": 2}]
    rt.clock.advance(5)
    assert q.stats() == {"queue": "jobs", "depth": 0, "in_flight": 0, "sent": 3, "delivered": 3,
                         "acked": 3, "retried": 0, "dead_lettered": 0, "expired": 0,
                         "consumer": "queue-worker"}


def test_fault_api_duplicates_and_drops_queue_deliveries(load_project) -> None:
    """rt.faults.duplicate / drop with target "queue:NAME" act on Queues deliveries
    (at-least-once: https://developers.cloudflare.com/queues/reference/delivery-guarantees/)."""
    files = project("max_batch_size = 1\nmax_retries = 5", '[[kv_namespaces]]\nbinding = "SEEN"', entry="""
        from workers import WorkerEntrypoint, Response

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                for i in range(5):
                    await self.env.JOBS.send({"n": i})
                return Response("sent")

            async def queue(self, batch, env, ctx):
                for message in batch.messages:
                    key = f"n{message.body['n']}"
                    seen = int(await self.env.SEEN.get(key) or 0)
                    await self.env.SEEN.put(key, str(seen + 1))
    """, name="q", compat=None)
    rt = load_project(files, seed=4)
    rt.faults.duplicate(1.0, target="queue:jobs", during=(0, 6))
    rt.faults.drop(0.5, target="queue:jobs", during=(0, 6))
    rt.client().get("/")
    rt.clock.advance(120)
    assert rt.trace.count("fault", fault="duplicate") >= 1
    assert rt.trace.count("fault", fault="drop") >= 1
    from course.runtime.bindings.kv import kv_store

    counts = {k: int(v) for k, v in kv_store(rt, "SEEN").items()}
    assert sorted(counts) == [f"n{i}" for i in range(5)], counts  # dropped ones came back
    assert sum(counts.values()) > 5, counts  # and duplicated ones were processed twice


def test_message_timestamp_is_a_js_date_with_get_time(load_project):
    """Message.timestamp is a Date: Python code can call getTime() on it as on Cloudflare
    (https://developers.cloudflare.com/queues/configuration/javascript-apis/#message)."""
    from course.runtime.bindings.queues import Message, StoredMessage

    stored = StoredMessage("id", '"x"', "json", 3, timestamp=1_767_225_630.5, ready_at=0, seq=1)
    stamp = Message(stored).timestamp
    assert stamp.getTime() == 1_767_225_630_500
    assert stamp == dt.datetime(2026, 1, 1, 0, 0, 30, 500000, tzinfo=dt.timezone.utc)


def test_unconsumed_messages_are_deleted_after_the_4_day_default_retention(load_project):
    """Messages in a queue that reach the retention period (4 days by default) are deleted,
    also when the queue has no consumer (https://developers.cloudflare.com/queues/platform/limits/)."""
    rt = load_project(project(entry=PRODUCER_ENTRY, name="producer", compat=None, consume=False))
    rt.client().get("/")
    q = queues(rt).queue("jobs")
    rt.clock.advance(4 * 86_400 - 1)
    assert q.depth() == 1
    rt.clock.advance(1)
    assert q.depth() == 0 and q.stats()["expired"] == 1
    assert rt.trace.last("queue_expired").queue == "jobs"


def test_retention_is_configurable_from_60_seconds_to_14_days(load_project):
    """A queue's retention period can be set from 60 seconds to 14 days; a message retried past
    it is deleted instead of redelivered
    (https://developers.cloudflare.com/changelog/2025-02-14-customize-queue-retention-period/)."""
    rt = load_project(project("max_batch_size = 1\nmax_retries = 10"))
    q = queues(rt).queue("jobs")
    for bad in (59, 14 * 86_400 + 1):
        with pytest.raises(ValueError, match="between 60 and 1209600 seconds"):
            q.set_retention(bad)
    q.set_retention(600)
    rt.client().post("/send", json={"do": "retry", "delay": 400})
    rt.clock.advance(1000)
    assert [m["attempts"] for m in seen(rt)] == [1, 2]  # sent at 0, again at 400, not at 800
    assert q.depth() == 0 and q.stats()["expired"] == 1


def test_max_concurrency_limits_simultaneous_consumer_invocations(load_project):
    """max_concurrency = 1 runs one batch at a time; the next starts when it finishes
    (https://developers.cloudflare.com/queues/configuration/consumer-concurrency/)."""
    entry = """
        import asyncio
        from workers import WorkerEntrypoint, Response
        LOG = []
        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                await self.env.JOBS.sendBatch([{"body": i} for i in range(3)])
                return Response("ok")
            async def queue(self, batch, env, ctx):
                LOG.append(("start", batch.messages[0].body))
                await asyncio.sleep(10)
                LOG.append(("end", batch.messages[0].body))
    """
    def run(setting: str) -> list:
        rt = load_project(project(f"max_batch_size = 1\n{setting}", entry=entry))
        rt.client().get("/")
        rt.clock.advance(60)
        return rt.worker().exports["LOG"]

    assert run("max_concurrency = 1") == [("start", 0), ("end", 0), ("start", 1), ("end", 1),
                                          ("start", 2), ("end", 2)]
    assert run("")[:3] == [("start", 0), ("start", 1), ("start", 2)]  # autoscaling: all at once
    with pytest.raises(ConfigError, match="max_concurrency"):
        load_project(project("max_concurrency = 251"))


def test_a_delivered_message_body_is_its_own_copy_and_read_only(load_project):
    """Each delivery copies the stored body (built on first read, then the same object), and
    ``body`` cannot be replaced, as on Cloudflare where it is a read-only property."""
    from course.runtime.bindings.queues import Message, StoredMessage

    stored = StoredMessage("id", '{"n": [1, 2]}', "json", 13, timestamp=1_767_225_630.5, ready_at=0, seq=1)
    first, second = Message(stored), Message(stored)
    assert first.body is first.body and first.body == {"n": [1, 2]} and first.body.n == [1, 2]
    first.body["n"].append(3)
    assert second.body == {"n": [1, 2]} and stored.payload == '{"n": [1, 2]}'
    with pytest.raises(AttributeError):
        first.body = {}


# A Durable Object produces; the consumer calls another object. The consumer's calls are the
# consumer Worker's, not the producer object's (the batch is the platform's delivery).
DO_PRODUCER_ENTRY = """
    from workers import DurableObject, WorkerEntrypoint, Response

    class Producer(DurableObject):
        async def produce(self, n):
            await self.env.JOBS.send({"n": n})
            return "sent"

    class Ledger(DurableObject):
        async def note(self, n):
            return n

    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            return Response(await self.env.PRODUCER.getByName("p").produce(1))

        async def queue(self, batch, env, ctx):
            for message in batch.messages:
                await self.env.LEDGER.getByName("l").note(message.body["n"])  # env is None here, as on workerd
"""


def test_a_batch_is_delivered_by_the_platform_not_by_the_producer(load_project):
    extra = ('[[durable_objects.bindings]]\nname = "PRODUCER"\nclass_name = "Producer"\n'
             '[[durable_objects.bindings]]\nname = "LEDGER"\nclass_name = "Ledger"\n'
             '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Producer", "Ledger"]\n')
    rt = load_project(project("max_batch_size = 1", extra, entry=DO_PRODUCER_ENTRY))
    assert rt.client().get("/").text == "sent"
    rt.clock.advance(2)
    calls = rt.trace.events("do_event", phase="start", method="note")
    assert [c.data["caller"] for c in calls] == ["queue-worker"]
