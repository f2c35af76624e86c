"""The emulator answers every probe route exactly as workerd (``wrangler dev``) does.

Each behaviour in :mod:`behaviours` is observed on both targets over HTTP: the JavaScript probe
on workerd and the Python probe on the emulator. The answers must be equal, with numbers compared
strictly (``2`` and ``2.0`` differ, because Python code sees an int from Pyodide). Where local
workerd deliberately differs from production, each target is held to its own documented answer.
The last test writes docs/conformance.md from what was observed.
"""
from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from behaviours import BEHAVIOURS, BY_ID, Behaviour, Outcome
from targets import REPO, Target

pytestmark = pytest.mark.conformance

#: How long an asynchronous behaviour (alarm, queue) may take to settle on one target.
SETTLE_TIMEOUT_S = 30
#: After an async answer looks final, wait this long and read again: nothing more may arrive.
SETTLE_CONFIRM_S = 1.5
POLL_INTERVAL_S = 0.25

TABLE_PATH = REPO / "docs" / "conformance.md"

#: Behaviours where the emulator is known to be wrong: id -> what is wrong. The test is then an
#: expected failure (strict: it fails when the emulator gets fixed, so this list stays honest).
EMULATOR_BUGS: dict[str, str] = {
}

OUTCOMES: dict[str, Outcome] = {}


# -- observing ---------------------------------------------------------------------------------
def _request(client: httpx.Client, behaviour: Behaviour, route: str) -> dict[str, Any]:
    response = client.request(behaviour.method, route, headers=list(behaviour.headers),
                              content=behaviour.body)
    body: Any
    if behaviour.digest_body:
        body = {"length": len(response.content), "sha256": hashlib.sha256(response.content).hexdigest()}
    else:
        try:
            body = response.json()
        except ValueError:
            body = response.text
    answer: dict[str, Any] = {"status": response.status_code, "body": body}
    if behaviour.reason:
        answer["reason"] = response.reason_phrase
    for name in behaviour.response_headers:
        # Repeated headers may arrive as repeated lines or one comma-joined line (RFC 9110 5.3);
        # Set-Cookie is the exception and must stay apart.
        answer[name] = response.headers.get_list(name, split_commas=name != "set-cookie")
    return answer


def observe(target: Target, behaviour: Behaviour, run: str) -> dict[str, Any]:
    """The behaviour's answer on one target (polled until settled for async behaviours)."""
    if behaviour.drive is not None:
        return behaviour.drive(target, run)
    route = behaviour.route.format(run=run)
    if "run=" not in route:
        route += ("&" if "?" in route else "?") + f"run={run}"
    with target.client(follow_redirects=False) as client:
        if behaviour.settled is None:
            return _request(client, behaviour, route)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        answer = _request(client, behaviour, route)
        while not (answer["status"] == 200 and behaviour.settled(answer)):
            if time.monotonic() > deadline:
                return {**answer, "unsettled_after_s": SETTLE_TIMEOUT_S}
            time.sleep(POLL_INTERVAL_S)
            answer = _request(client, behaviour, route)
        time.sleep(SETTLE_CONFIRM_S)
        return _request(client, behaviour, route)


def differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """Where ``a`` and ``b`` differ, as JSON paths; int and float are different types here."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a:
                out.append(f"{path}.{key}: missing on workerd, emulator has {b[key]!r}")
            elif key not in b:
                out.append(f"{path}.{key}: workerd has {a[key]!r}, missing on emulator")
            else:
                out.extend(differences(a[key], b[key], f"{path}.{key}"))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if type(a) is not type(b) or a != b:
        return [f"{path}: workerd {a!r} != emulator {b!r}"]
    return []


def judge(behaviour: Behaviour, on_workerd: Any, on_emulator: Any) -> Outcome:
    known = behaviour.known_difference
    if known is None:
        diff = differences(on_workerd, on_emulator)
        return Outcome(behaviour, on_workerd, on_emulator, "same" if not diff else "different",
                       EMULATOR_BUGS.get(behaviour.id, ""), diff)
    diff = differences(known.workerd, known.select(on_workerd))
    diff += differences(known.emulator, known.select(on_emulator))
    # Apart from the documented difference, both must still agree.
    rest_w = _without(on_workerd, known.select(on_workerd))
    rest_e = _without(on_emulator, known.select(on_emulator))
    diff += differences(rest_w, rest_e)
    verdict = "known difference" if not diff else "different"
    return Outcome(behaviour, on_workerd, on_emulator, verdict, known.why, diff)


def _without(answer: Any, part: Any) -> Any:
    """``answer`` with the sub-value ``part`` blanked out (compared separately)."""
    if answer is part:
        return "<compared separately>"
    if isinstance(answer, dict):
        return {k: _without(v, part) for k, v in answer.items()}
    return answer


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def run_id() -> str:
    """Names this session's keys, objects and messages on both targets."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def async_started(workerd: Target, emulator: Target, run_id: str) -> bool:
    """Fire every async behaviour's start route on both targets once, as early as possible."""
    for target in (workerd, emulator):
        with target.client() as client:
            for behaviour in BEHAVIOURS:
                for route in behaviour.start:
                    r = client.get(route.format(run=run_id))
                    assert r.status_code == 200, f"{target.name} {route}: {r.status_code} {r.text[:500]}"
    return True


def outcome_for(behaviour: Behaviour, workerd: Target, emulator: Target, run_id: str) -> Outcome:
    if behaviour.id not in OUTCOMES:
        OUTCOMES[behaviour.id] = judge(behaviour, observe(workerd, behaviour, run_id),
                                       observe(emulator, behaviour, run_id))
    return OUTCOMES[behaviour.id]


# -- tests -------------------------------------------------------------------------------------
@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=[b.id for b in BEHAVIOURS])
def test_emulator_answers_like_workerd(behaviour: Behaviour, workerd: Target, emulator: Target,
                                       run_id: str, async_started: bool,
                                       request: pytest.FixtureRequest) -> None:
    if behaviour.id in EMULATOR_BUGS:
        request.applymarker(pytest.mark.xfail(reason=EMULATOR_BUGS[behaviour.id], strict=True))
    outcome = outcome_for(behaviour, workerd, emulator, run_id)
    assert outcome.workerd.get("status") == behaviour.status, (
        f"the JS probe itself failed on workerd: {outcome.workerd}\n{workerd.log_tail()}")
    assert not outcome.differences, (
        f"{behaviour.id} ({behaviour.route}) differs:\n  " + "\n  ".join(outcome.differences)
        + f"\nworkerd:  {outcome.workerd}\nemulator: {outcome.emulator}")


def test_conformance_table_lists_every_behaviour(workerd: Target, emulator: Target, run_id: str,
                                                 async_started: bool) -> None:
    from generate_table import write_table

    outcomes = [outcome_for(b, workerd, emulator, run_id) for b in BEHAVIOURS]
    text = write_table(outcomes, TABLE_PATH)
    for behaviour in BEHAVIOURS:
        assert f"`{behaviour.id}`" in text
    assert Path(TABLE_PATH).is_file()
    assert set(OUTCOMES) == set(BY_ID)
