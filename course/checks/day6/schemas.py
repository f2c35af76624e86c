"""Question 1, versioned event schemas: a pydantic discriminated union with upcasting.

The learner writes ``parse_event(doc)``: a stored event document to a pydantic model of its
*current* version. ``task_created`` is at version 2 (v1 had no ``priority``: upcast it with
:data:`~.types.DEFAULT_PRIORITY`), ``task_claimed`` and ``task_completed`` at version 1; a
document without ``version`` is version 1. A version this code does not know raises
:class:`~.types.UnknownEventVersion` naming the type and the version; a malformed document
(unknown type, empty ``task_id`` or ``worker``, a title longer than :data:`~.types.MAX_TITLE`
or empty, a priority outside 1..5, a missing field) raises pydantic's ``ValidationError``.

Fault kinds (:data:`FAULTS`), each a log of documents from a store written by several
generations of code: ``current`` (today's documents), ``upcast`` (old v1 documents mixed in),
``future`` (documents written by newer code), ``invalid`` (corrupt documents). Each document
must parse to exactly the current event (its ``model_dump()``), parsing the dump again gives
the same model, and the document given is never changed. A failure shrinks to the shortest log.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from course.checks.day6.common import KindScenario, short
from course.checks.day6.types import CURRENT_VERSIONS, DEFAULT_PRIORITY, MAX_TITLE, UnknownEventVersion
from course.checks.harness import Case, CaseFailed, CheckResult, MessageLog, random_stream

FAULTS = ("current", "upcast", "future", "invalid")
TITLES = ("fetch prices", "rank sources", "summarise reviews", "check stock")


def expected(doc: dict[str, Any]) -> Any:
    """The current event a document parses to (a dict), or ``"unknown-version"`` / ``"invalid"``."""
    kind, version = doc.get("type"), doc.get("version", 1)
    if kind not in CURRENT_VERSIONS:
        return "invalid"
    if kind == "task_created" and version == 1:
        doc, version = {**doc, "version": 2, "priority": DEFAULT_PRIORITY}, 2
    if version != CURRENT_VERSIONS[kind]:
        return "unknown-version"
    fields = ("task_id", "title", "priority") if kind == "task_created" else ("task_id", "worker")
    if set(doc) - {"type", "version", *fields} or any(f not in doc for f in fields):
        return "invalid"
    for name in fields:
        value = doc[name]
        if name == "priority":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
                return "invalid"
        elif not isinstance(value, str) or not value or (name == "title" and len(value) > MAX_TITLE):
            return "invalid"
    return {"type": kind, "version": version, **{f: doc[f] for f in fields}}


def _doc(rng: Any, kind: str, i: int) -> dict[str, Any]:
    task, worker = f"t{i}", rng.choice(("w1", "w2"))
    pick = rng.choice(("task_created", "task_claimed", "task_completed"))
    if kind == "upcast" and i % 2 == 0:
        return {"type": "task_created", "task_id": task, "title": rng.choice(TITLES)} | (
            {"version": 1} if rng.random() < 0.5 else {})
    if kind == "future" and i % 2 == 1:
        version = CURRENT_VERSIONS[pick] + rng.randint(1, 3)
        extra = {"title": rng.choice(TITLES), "priority": 2, "due": "2026-12-01"} if pick == "task_created" else {
            "worker": worker, "lease": 30}
        return {"type": pick, "version": version, "task_id": task} | extra
    if kind == "invalid" and i % 2 == 1:
        return rng.choice([
            {"type": "task_created", "version": 2, "task_id": task, "title": "x" * (MAX_TITLE + 1), "priority": 3},
            {"type": "task_created", "version": 2, "task_id": "", "title": "ok", "priority": 3},
            {"type": "task_created", "version": 2, "task_id": task, "title": "ok", "priority": 9},
            {"type": "task_claimed", "version": 1, "task_id": task},
            {"type": "task_reopened", "version": 1, "task_id": task},
            {"type": "task_completed", "version": 1, "task_id": task, "worker": ""}])
    if pick == "task_created":
        return {"type": pick, "version": 2, "task_id": task, "title": rng.choice(TITLES), "priority": rng.randint(1, 5)}
    return {"type": pick, "version": 1, "task_id": task, "worker": worker}


@dataclass(frozen=True)
class SchemaCase(Case):
    seed: int
    kind: str
    docs: tuple[Any, ...]

    def describe(self) -> str:
        return f"{len(self.docs)} stored documents ({self.kind}): " + "; ".join(short(d, 100) for d in self.docs)

    def smaller(self) -> Any:
        from hypothesis import strategies as st

        return st.integers(1, len(self.docs)).map(lambda n: schema_case(self.seed, self.kind, n))

    def check(self, parse_event: Any, log: MessageLog) -> str:
        for i, doc in enumerate(self.docs):
            given, want = copy.deepcopy(doc), expected(doc)
            log.record(0.1 * (i + 1), "store", "parser", "parse_event", short(doc, 100))
            try:
                got = parse_event(given)
            except UnknownEventVersion as exc:
                log.record(0.1 * (i + 1), "parser", "store", "raised", f"UnknownEventVersion: {exc}")
                if want != "unknown-version":
                    raise CaseFailed(f"parse_event({short(doc)}) raised UnknownEventVersion ({exc}); expected "
                                     + ("a ValidationError: the document is malformed" if want == "invalid"
                                        else f"the event {short(want)}")) from None
                if str(doc.get("version")) not in str(exc) or doc["type"] not in str(exc):
                    raise CaseFailed(f"parse_event({short(doc)}) raised UnknownEventVersion({str(exc)!r}): say which "
                                     f"type and version it does not know ({doc['type']!r}, {doc.get('version')})")
                continue
            except ValidationError as exc:
                log.record(0.1 * (i + 1), "parser", "store", "raised", f"ValidationError ({exc.error_count()} errors)")
                if want != "invalid":
                    what = ("UnknownEventVersion: newer code wrote it, so refuse it clearly (a ValidationError "
                            "reads as corrupt data)" if want == "unknown-version" else f"the event {short(want)}")
                    raise CaseFailed(f"parse_event({short(doc)}) raised a ValidationError; expected {what}") from None
                continue
            log.record(0.1 * (i + 1), "parser", "store", "event", short(got, 100))
            if given != doc:
                raise CaseFailed(f"parse_event changed the document it was given: {short(doc)} became {short(given)}")
            if want in ("invalid", "unknown-version"):
                raise CaseFailed(f"parse_event({short(doc)}) returned {short(_dump(got))}; expected "
                                 + ("a ValidationError (the document is malformed)" if want == "invalid" else
                                    f"UnknownEventVersion: version {doc.get('version')} of {doc['type']} is newer "
                                    f"than this code"))
            if not isinstance(got, BaseModel):
                raise CaseFailed(f"parse_event({short(doc)}) returned a {type(got).__name__}; expected a pydantic model")
            if got.model_dump() != want:
                raise CaseFailed(f"parse_event({short(doc)}) returned {short(got.model_dump())}; expected {short(want)}"
                                 + (" (a v1 task_created is upcast to v2 with priority DEFAULT_PRIORITY)"
                                    if doc.get("version", 1) == 1 and doc["type"] == "task_created" else ""))
            again = parse_event(got.model_dump(mode="json"))
            if again != got:
                raise CaseFailed(f"parse_event of the dump {short(got.model_dump())} returned {short(_dump(again))}: "
                                 f"a current event must parse to itself")
        return f"{len(self.docs)} documents"


def _dump(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value


def schema_case(seed: int, kind: str, n: int | None = None) -> SchemaCase:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULTS}")
    rng = random_stream("day6", "schemas", seed, kind)
    docs = [_doc(rng, kind, i) for i in range(rng.randint(6, 9))]
    return SchemaCase(seed, kind, tuple(docs[:n] if n else docs))


class SchemaScenario(KindScenario):
    name_root, faults, default_target, what = "schema", FAULTS, "parse_event", "stores of documents"
    make = staticmethod(schema_case)


def schema_scenario(seed: int = 0, faults: Any = None) -> SchemaScenario:
    """Stored task events of every generation: current, old (upcast), newer (refused), corrupt (invalid)."""
    return SchemaScenario(seed, faults)


def grade_schemas(parse_event: Any, seed: int = 0, faults: Any = None) -> CheckResult:
    return schema_scenario(seed, faults).run(parse_event).assert_ok()


__all__ = ["FAULTS", "SchemaCase", "SchemaScenario", "expected", "grade_schemas", "schema_case", "schema_scenario"]
