"""The seeded fault schedule of the simulated hour: arrivals, attacks, faults and health probes.

A :class:`Schedule` is drawn from a seed (:func:`draw_schedule`) and is plain data, so a failure
can print it and the shrinker can cut it (:meth:`Schedule.candidates`: the first half of the
hour, the hour without faults, the hour with one kind of fault). The hour's shape, with seeded jitter:

- **arrivals**: a task every 3-9 s (about 600 in the hour) from three client regions (wnam, weur,
  apac); one in ten is a partner's signed call to ``/internal/tasks``;
- **faults** (:data:`FAULT_KINDS`): a region's planners cut off for 3 minutes (``planner-partition``),
  queue redeliveries for 5 minutes (``redelivery``), a Workers AI outage for 5 minutes
  (``ai-outage``), a flaky AI for 5 minutes (``ai-flaky``: a third of calls rate limited), one
  feed shard cut off for 2 minutes (``feed-partition``), and crashes and evictions of planners,
  analysts, feed shards and the nonce ledger at random moments;
- **attacks** on ``/internal/tasks`` (:data:`ATTACK_KINDS`): unsigned, forged (the body changed
  after signing), stale (a timestamp 10 minutes old), signed with the wrong key, a replay of a
  valid call within the skew window, and the same replay right after the nonce ledger crashed;
- **probes** of ``/readyz`` (and ``/healthz``): in a planner partition from the cut-off region
  (expect "degraded", the planner check failing), 2.5 minutes into the AI outage (expect the
  ``ai`` check "open"), and at quiet moments (expect "ok").

Times are seconds on the runtime's virtual clock; the run lasts :data:`HOUR` plus a drain.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from course.checks.harness.streams import Streams
from course.checks.project3.contract import CLIENT_COLOS, task_text

HOUR = 3600.0
#: The shrinker halves the hour while it is longer than this: its shortest schedule is 225 s
#: (about 25 tasks, before any fault window opens), enough to show a failure of the plain path.
MIN_DURATION = 200.0
#: Virtual seconds after the hour for retries, dead letters and redeliveries to settle.
DRAIN = 1800.0
#: A client's task every ARRIVAL_GAP seconds (uniform), and the share of partner (signed) calls.
ARRIVAL_GAP = (3.0, 9.0)
SIGNED_SHARE = 0.1
FAULT_KINDS = ("planner-partition", "redelivery", "ai-outage", "ai-flaky", "feed-partition", "crash", "evict")
ATTACK_KINDS = ("unsigned", "forged", "stale", "wrong-key", "replay", "replay-after-crash")
#: Where each window starts (minute of the hour, before up to a minute of jitter) and how long it lasts.
WINDOWS = {"planner-partition": (5, 180.0), "redelivery": (12, 300.0), "ai-outage": (20, 300.0),
           "ai-flaky": (30, 300.0), "feed-partition": (40, 120.0)}
#: Share of queue deliveries duplicated during the redelivery window; of AI calls failing when flaky.
REDELIVERY_RATE = 0.3
FLAKY_RATE = 0.33
#: Objects a crash or an eviction may hit ("BINDING:name"); shards 0-3 of each sharded role.
LIFECYCLE_TARGETS = tuple([f"ANALYST:analyst-{i}" for i in range(4)] + [f"FEED:feed-{i}" for i in range(4)]
                          + [f"PLANNER:planner-{r}-{i}" for r in CLIENT_COLOS for i in range(4)]
                          + ["NONCES:nonces"])
#: Minutes of the quiet probes (nothing cut off, the AI healthy for a while).
QUIET_PROBES = (2, 11, 29, 50, 58)


@dataclass(frozen=True)
class Arrival:
    t: float
    region: str
    task_id: str
    text: str
    signed: bool


@dataclass(frozen=True)
class Attack:
    t: float
    kind: str
    region: str
    task_id: str
    text: str
    delay: float  # replays: seconds between the valid call and its replay


@dataclass(frozen=True)
class Fault:
    kind: str
    t0: float
    t1: float  # == t0 for a crash or an eviction
    target: str  # a region, "FEED:feed-2", "BINDING:name", or ""

    def describe(self) -> str:
        if self.kind in ("crash", "evict"):
            return f"{self.kind} {self.target} at {self.t0:g}s"
        where = f" {self.target}" if self.target else ""
        return f"{self.kind}{where} {self.t0:g}-{self.t1:g}s"


@dataclass(frozen=True)
class Probe:
    t: float
    region: str
    expect: str  # "ok", "planner" (a planner check failing, status degraded) or "ai" (ai "open")


@dataclass(frozen=True)
class Schedule:
    seed: int
    duration: float
    arrivals: tuple[Arrival, ...]
    attacks: tuple[Attack, ...]
    faults: tuple[Fault, ...]
    probes: tuple[Probe, ...]

    def window(self, kind: str) -> Fault | None:
        return next((f for f in self.faults if f.kind == kind), None)

    def describe(self) -> str:
        kinds = sorted({a.kind for a in self.attacks})
        return (f"seed {self.seed}: {self.duration:g} s, {len(self.arrivals)} tasks "
                f"({sum(a.signed for a in self.arrivals)} signed), faults: "
                f"{'; '.join(f.describe() for f in self.faults) or 'none'}; attacks: {', '.join(kinds) or 'none'}; "
                f"{len(self.probes)} readiness probes")

    def until(self, end: float) -> "Schedule":
        """The schedule cut at ``end`` seconds (windows that start later dropped)."""
        return replace(self, duration=end, arrivals=tuple(a for a in self.arrivals if a.t < end - 60),
                       attacks=tuple(a for a in self.attacks if a.t + a.delay < end - 60),
                       faults=tuple(f for f in self.faults if f.t1 < end - 60),
                       probes=tuple(p for p in self.probes if p.t < end - 60))

    def only(self, kinds: tuple[str, ...]) -> "Schedule":
        """The schedule with only the faults of ``kinds`` (and the probes that do not need the others)."""
        return replace(self, faults=tuple(f for f in self.faults if f.kind in kinds),
                       probes=tuple(p for p in self.probes if p.expect == "ok" or _probe_kind(p) in kinds))

    def candidates(self) -> list["Schedule"]:
        """Smaller schedules of the same shape, smallest first: the first half of the hour, the
        hour without any fault (attacks stay: a replay after a crash brings its own crash), then
        the hour with only one kind of fault."""
        out = []
        if self.duration / 2 >= MIN_DURATION:
            out.append(self.until(self.duration / 2))
        kinds = tuple(sorted({f.kind for f in self.faults}, key=FAULT_KINDS.index))
        if kinds:
            out.append(self.only(()))
        if len(kinds) > 1:
            out += [self.only((k,)) for k in kinds]
        return out


def _probe_kind(probe: Probe) -> str:
    """The fault a probe is about (its expectation is only true while that fault is on)."""
    return {"planner": "planner-partition", "ai": "ai-outage"}.get(probe.expect, "")


def draw_schedule(seed: int, duration: float = HOUR) -> Schedule:
    streams = Streams(seed)
    rng = streams("arrivals")
    regions = tuple(CLIENT_COLOS)
    arrivals, t, n = [], 5.0, 0
    while t < duration - 60:
        signed = rng.random() < SIGNED_SHARE
        arrivals.append(Arrival(round(t, 3), rng.choice(regions), f"{'p' if signed else 't'}{seed}-{n:04d}",
                                task_text(rng), signed))
        n += 1
        t += rng.uniform(*ARRIVAL_GAP)
    frng = streams("faults")
    faults = []
    for kind, (minute, length) in WINDOWS.items():
        t0 = round(minute * 60 + frng.uniform(0, 60), 3)
        target = {"planner-partition": frng.choice(regions), "feed-partition": f"FEED:feed-{frng.randrange(4)}"}.get(kind, "")
        faults.append(Fault(kind, t0, t0 + length, target))
    for kind, count in (("crash", 4), ("evict", 3)):
        for _ in range(count):
            t0 = round(frng.uniform(60, duration - 120), 3)
            faults.append(Fault(kind, t0, t0, frng.choice(LIFECYCLE_TARGETS)))
    faults.sort(key=lambda f: (f.t0, f.kind, f.target))
    arng = streams("attacks")
    kinds = list(ATTACK_KINDS) * 2
    arng.shuffle(kinds)
    attacks = []
    for k, kind in enumerate(kinds):
        t0 = round(arng.uniform(60, duration - 400), 3)
        attacks.append(Attack(t0, kind, arng.choice(regions), f"x{seed}-{k:02d}", task_text(arng),
                              round(arng.uniform(5, 200), 3)))
    attacks.sort(key=lambda a: a.t)
    probes = [Probe(m * 60.0, regions[i % len(regions)], "ok") for i, m in enumerate(QUIET_PROBES)]
    part = next(f for f in faults if f.kind == "planner-partition")
    outage = next(f for f in faults if f.kind == "ai-outage")
    probes += [Probe(part.t0 + 90, part.target, "planner"), Probe(outage.t0 + 150, frng.choice(regions), "ai")]
    probes = [p for p in probes if p.t < duration - 60]
    probes.sort(key=lambda p: p.t)
    return Schedule(seed, duration, tuple(arrivals), tuple(attacks), tuple(faults), tuple(probes))


def schedules(seed: int, cases: int) -> Sequence[Schedule]:
    """The hours a scenario plays: ``cases`` seeds derived from ``seed``."""
    return [draw_schedule(seed * 100 + n) for n in range(cases)]


__all__ = ["ARRIVAL_GAP", "ATTACK_KINDS", "Arrival", "Attack", "DRAIN", "FAULT_KINDS", "Fault", "HOUR", "Probe",
           "Schedule", "draw_schedule", "schedules"]
