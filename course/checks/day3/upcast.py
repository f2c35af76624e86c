"""Question 2, upcasters: old state documents loaded by new code, v1 -> v2 -> v3, nothing lost.

The memory agent's state document changed twice (see :data:`~.types.CURRENT_VERSION`):

- v1 ``{"version": 1, "owner": str, "notes": [str]}``; the very first code wrote no
  ``"version"`` at all, so a document without one is v1;
- v2 ``{"version": 2, "owner": str, "entries": [{"key", "text", "created_at"}]}``: note ``i``
  became the entry ``{"key": f"note-{i}", "text": note, "created_at": 0.0}``;
- v3 ``{"version": 3, "agent_id": str, "entries": [{"key", "text", "created_at", "topic"}]}``:
  ``owner`` renamed ``agent_id``, each entry got ``topic = topic_of(text)``.

The learner writes ``upcast_v1``, ``upcast_v2`` and ``load_state(doc)``: the current (v3)
document for a stored one of any known version. The checks load historical fixtures drawn
from the seed (each version, v1 with and without its version key) and check: the result is
exactly the v3 document the rules give (nothing lost, nothing invented); loading a loaded
document changes nothing (idempotent); the stored document is not modified; a document of an
unknown version (newer code wrote it) raises :class:`~.types.UnknownSchemaVersion` whose
message names that version.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Sequence

from course.checks.day3.types import CURRENT_VERSION, UnknownSchemaVersion, topic_of
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, Scenario, random_stream

NOTES = ("book the #travel to Lyon", "prices rose 3% #prices", "call Ana back", "the #report is due Friday",
         "#Travel: window seat", "stock low on item 42", "meeting moved to 3pm", "#prices: compare vendors")


def expected_v3(doc: dict[str, Any]) -> dict[str, Any]:
    """The v3 document the rules give for ``doc`` (the checks' own reading of the history)."""
    version = doc.get("version", 1)
    if version == 1:
        doc = {"version": 2, "owner": doc["owner"],
               "entries": [{"key": f"note-{i}", "text": n, "created_at": 0.0} for i, n in enumerate(doc["notes"])]}
    if doc["version"] == 2:
        doc = {"version": 3, "agent_id": doc["owner"],
               "entries": [{**e, "topic": topic_of(e["text"])} for e in doc["entries"]]}
    return doc


@dataclass(frozen=True)
class UpcastCase(Case):
    what: str
    document: str  # JSON

    def describe(self) -> str:
        return f"load_state({self.document}) ({self.what})"

    def check(self, load_state: Any, log: MessageLog) -> str:
        doc = json.loads(self.document)
        stored = copy.deepcopy(doc)
        version = doc.get("version", 1)
        if isinstance(version, int) and version > CURRENT_VERSION:
            try:
                load_state(doc)
            except UnknownSchemaVersion as exc:
                if str(version) not in str(exc):
                    raise CaseFailed(f"load_state refused version {version} with {str(exc)!r}: the message must "
                                     f"name the version ({version}), so whoever reads the log knows what wrote it")
                return "refused"
            except Exception as exc:  # noqa: BLE001 - the wrong error type is the failure
                raise CaseFailed(f"load_state({self.document}) raised {type(exc).__name__}: {exc}; a version newer "
                                 f"than {CURRENT_VERSION} must raise UnknownSchemaVersion naming it") from None
            raise CaseFailed(f"load_state({self.document}) accepted version {version}: newer code wrote it, and "
                             f"this code would drop what it does not know; raise UnknownSchemaVersion")
        want = expected_v3(doc)
        got = load_state(doc)
        if doc != stored:
            raise CaseFailed(f"load_state modified the stored document: {self.document} became {json.dumps(doc)}; "
                             f"build a new document (copy what you change)")
        if got != want:
            lost = [e["text"] for e in want["entries"] if e["text"] not in json.dumps(got)]
            hint = f": the notes {lost} were lost" if lost else ""
            raise CaseFailed(f"load_state({self.document}) returned {json.dumps(got)}, expected {json.dumps(want)}{hint}")
        again = load_state(copy.deepcopy(got))
        if again != got:
            raise CaseFailed(f"load_state is not idempotent: loading its own result {json.dumps(got)} gave "
                             f"{json.dumps(again)} (a v3 document must come back unchanged)")
        return "loaded"


class UpcastScenario(Scenario):
    default_target = "load_state"

    def __init__(self, seed: int = 0) -> None:
        super().__init__("upcasters", seed, f"day3.upcast_scenario(seed={seed})")

    def cases(self) -> Sequence[Case]:
        rng = random_stream("day3", "upcast", self.seed)
        out: list[Case] = []
        for what in ("v1 without a version key", "v1", "v2", "v3", "v1 with no notes", "a newer version"):
            owner = f"memory-{rng.randrange(10, 99)}"
            notes = rng.sample(NOTES, 0 if "no notes" in what else rng.randint(1, 4))
            v1: dict[str, Any] = {"owner": owner, "notes": notes} if "without" in what else \
                {"version": 1, "owner": owner, "notes": notes}
            doc: dict[str, Any] = v1
            if what in ("v2", "v3", "a newer version"):
                doc = {"version": 2, "owner": owner,
                       "entries": [{"key": f"k{rng.randrange(100, 999)}-{i}", "text": n, "created_at": float(i * 60)}
                                   for i, n in enumerate(notes)]}
            if what in ("v3", "a newer version"):
                doc = expected_v3(doc)
            if what == "a newer version":
                doc = {**doc, "version": CURRENT_VERSION + rng.randint(1, 5), "embeddings": "..."}
            out.append(UpcastCase(what, json.dumps(doc)))
        return out

    def summary(self, cases: Sequence[Case], last: str) -> str:
        return f"{len(cases)} stored documents: each version upcast to v3, nothing lost, idempotent, newer refused"


def upcast_scenario(seed: int = 0) -> UpcastScenario:
    """Historical state documents of every version (and one from the future) through ``load_state``."""
    return UpcastScenario(seed)


def grade_upcasters(load_state: Any, seed: int = 0) -> CheckResult:
    return upcast_scenario(seed).run(load_state).assert_ok()


__all__ = ["UpcastCase", "UpcastScenario", "expected_v3", "grade_upcasters", "upcast_scenario"]
