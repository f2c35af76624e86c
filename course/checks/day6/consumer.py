"""Question 4, an exactly-once effect from an at-least-once queue, with a dead-letter queue.

The learner writes ``Consumer(ledger, dlq)`` with ``handle(message)``: a :class:`~.types.Message`
(``id``, ``body``, ``attempts``, ``ack()``, ``retry()``) whose body should be an
:class:`~.types.Order`. The effect is ``ledger.credit(account, amount)`` (every call counts);
it must happen once per idempotency key (``body["key"]``; a producer that retried its send
made a second message, with a new id, for the same key). Remember keys in ``ledger.kv`` (it
survives a crash; the consumer's memory does not), and only once the credit happened. A body
that fails (not a valid Order, or :class:`~.types.TransientError`) is retried
(``message.retry()``) until its ``attempts`` reaches :data:`~.types.MAX_ATTEMPTS`; then it goes
to the dead-letter queue (``dlq.append(message.body)``) and is acked. Everything else is acked.

A seeded, sans-I/O delivery model plays the queue: at-least-once, in no promised order. Fault
kinds (:data:`FAULTS`): ``duplicate`` (messages redelivered, and orders sent twice by the
producer), ``reorder`` (batches shuffled), ``crash`` (the consumer dies with deliveries
unacked: a new consumer on the same ledger gets them again), ``poison`` (malformed bodies,
and a busy ledger that fails some credits a few times). At the end every valid order is
credited exactly once, the dead-letter queue holds each poison body once, after
``MAX_ATTEMPTS`` deliveries, and nothing good. A failure shrinks to the fewest messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from course.checks.day6.common import KindScenario, short
from course.checks.day6.types import MAX_ATTEMPTS, Ledger, Message, Order
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, random_stream

FAULTS = ("duplicate", "reorder", "crash", "poison")
ACCOUNTS = ("acme", "globex", "initech")


def _valid(body: Any) -> bool:
    try:
        Order.model_validate(body)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ConsumerCase(Case):
    seed: int
    kind: str
    sent: tuple[tuple[str, Any], ...]  # (message id, body) as the producer sent them
    busy: tuple[tuple[str, int, int], ...] = ()  # (account, amount, failures) of the ledger

    def describe(self) -> str:
        busy = f"; the ledger fails credit{[(a, m) for a, m, _ in self.busy]} at first" if self.busy else ""
        return (f"{len(self.sent)} messages ({self.kind}): " + ", ".join(f"{i} {short(b, 60)}" for i, b in self.sent)
                + busy)

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, len(self.sent)).map(lambda n: consumer_case(self.seed, self.kind, n))

    def check(self, consumer_cls: Any, log: MessageLog) -> str:
        rng = random_stream("day6", "consumer-delivery", self.seed, self.kind, len(self.sent))
        ledger, dlq = Ledger({(a, m): f for a, m, f in self.busy}), []
        consumer = consumer_cls(ledger, dlq)
        pending = [(mid, body, 1) for mid, body in self.sent]
        dead_at: dict[str, int] = {}
        t, crashed, rounds = 0.0, False, 0
        while pending:
            rounds += 1
            if rounds > 40:
                raise CaseFailed(f"the queue never drained: {len(pending)} message(s) still redelivered after 40 "
                                 f"rounds (ack every message you are done with; dead-letter after {MAX_ATTEMPTS})")
            batch, pending = pending, []
            if self.kind in ("reorder", "crash", "duplicate"):
                rng.shuffle(batch)
            if self.kind == "duplicate" and rounds == 1:
                batch += [m for m in batch if rng.random() < 0.4]  # redelivered although it will be acked
            for position, (mid, body, attempts) in enumerate(batch):
                t += 0.1
                message = Message(mid, body, attempts)
                log.record(t, "queue", "consumer", "deliver", f"{mid} {short(body, 70)} attempts={attempts}")
                before, dead_before = len(ledger.entries), len(dlq)
                consumer.handle(message)
                did = [f"credit{ledger.entries[i]}" for i in range(before, len(ledger.entries))]
                did += [f"dead-letter {short(b, 40)}" for b in dlq[dead_before:]]
                for body_dead in dlq[dead_before:]:
                    dead_at[short(body_dead)] = attempts
                log.record(t, "consumer", "queue", message.outcome or "no ack", ", ".join(did))
                if self.kind == "crash" and not crashed and position == len(batch) // 2:
                    crashed = True
                    log.record(t + 0.05, "platform", "consumer", "crash",
                               "the consumer dies: this batch's acks are lost", "fault")
                    pending = [(m, b, a + 1 if k <= position else a) for k, (m, b, a) in enumerate(batch)]
                    consumer = consumer_cls(ledger, dlq)
                    break
                if message.outcome != "ack":
                    pending.append((mid, body, attempts + 1))
        return self._verdict(ledger, dlq, dead_at)

    def _verdict(self, ledger: Ledger, dlq: list[Any], dead_at: dict[str, int]) -> str:
        orders = {b["key"]: (b["account"], b["amount"]) for _, b in self.sent if _valid(b)}
        want = sorted(orders.values())
        if sorted(ledger.entries) != want:
            extra = [e for e in set(ledger.entries) if ledger.entries.count(e) > want.count(e)]
            missing = [e for e in set(want) if ledger.entries.count(e) < want.count(e)]
            raise CaseFailed(f"the ledger was credited {sorted(ledger.entries)}; expected each order's key once: "
                             f"{want}" + (f"; credited too often: {extra}" if extra else "")
                             + (f"; never credited: {missing}" if missing else ""))
        poison = sorted(short(b) for _, b in self.sent if not _valid(b))
        if sorted(short(b) for b in dlq) != poison:
            raise CaseFailed(f"the dead-letter queue holds {[short(b, 60) for b in dlq]}; expected each malformed "
                             f"body once and nothing else: {poison}")
        early = {b: a for b, a in dead_at.items() if a < MAX_ATTEMPTS}
        if early:
            raise CaseFailed(f"dead-lettered after {sorted(early.values())} attempt(s): retry a failing message "
                             f"until attempts reaches MAX_ATTEMPTS={MAX_ATTEMPTS} (the failure may be transient)")
        return f"{len(orders)} orders credited once, {len(poison)} dead-lettered"


def consumer_case(seed: int, kind: str, n: int | None = None) -> ConsumerCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day6", "consumer", seed, kind)
    sent: list[tuple[str, Any]] = []
    for i in range(rng.randint(5, 7)):
        body: Any = {"key": f"order-{seed}-{i}", "account": rng.choice(ACCOUNTS), "amount": 100 * (i + 1)}
        if kind == "poison" and i % 3 == 1:
            body = rng.choice([{"key": f"order-{seed}-{i}", "account": "acme", "amount": -5},
                               {"key": f"order-{seed}-{i}", "amount": 100}, "not json at all",
                               {"key": "", "account": "acme", "amount": 100}])
        sent.append((f"m{len(sent) + 1}", body))
        if kind in ("duplicate", "crash") and rng.random() < 0.4:
            sent.append((f"m{len(sent) + 1}", body))  # the producer retried its send: a new message, the same key
    sent = sent[:n] if n else sent
    busy: tuple[tuple[str, int, int], ...] = ()
    if kind == "poison":
        good = [b for _, b in sent if _valid(b)]
        busy = tuple((b["account"], b["amount"], MAX_ATTEMPTS - 1) for b in good[:1])
    return ConsumerCase(seed, kind, tuple(sent), busy)


class ConsumerScenario(KindScenario):
    name_root, faults, default_target, what = "consumer", FAULTS, "Consumer", "delivery schedules"
    make = staticmethod(consumer_case)


def consumer_scenario(seed: int = 0, faults: Any = None) -> ConsumerScenario:
    """Orders through an at-least-once queue: duplicates, reordering, a consumer crash, poison bodies."""
    return ConsumerScenario(seed, faults)


def grade_consumer(consumer_cls: Any, seed: int = 0, faults: Any = None) -> CheckResult:
    return consumer_scenario(seed, faults).run(consumer_cls).assert_ok()


__all__ = ["FAULTS", "ConsumerCase", "ConsumerScenario", "consumer_case", "consumer_scenario", "grade_consumer"]
