"""Figures drawn from a runtime's trace (matplotlib; every function returns a Figure).

Each function takes a :class:`course.runtime.Trace` (or any iterable of its events) and works
with the Agg backend, so notebooks, tests and graders can all call it.
"""
from __future__ import annotations

from typing import Any, Iterable

from matplotlib.figure import Figure


def _events(trace: Any, kinds: set[str]) -> list[Any]:
    return [e for e in (trace if isinstance(trace, Iterable) else []) if e.kind in kinds]


def object_timeline(trace: Any, binding: str, name: str) -> Figure:
    """One Durable Object's events on a time axis: one row per event, a mark per turn.

    Turns that ran storage operations (input gate held) are filled, others hollow; a dashed
    line shows where an event waited at a closed gate; grey vertical lines are evictions, red
    ones crashes. ``name`` is the object's name (``idFromName``) or its 64-hex id.
    """
    mine = [e for e in _events(trace, {"do_event", "do_turn", "do_evict", "do_crash", "do_construct"})
            if e.get("binding") == binding and (e.get("object") == name or e.get("id") == name)]
    fig = Figure(figsize=(9, 3.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(f"Durable Object {binding}:{name} - turns by event")
    ax.set_xlabel("time (s)")
    starts = {e.event: e for e in mine if e.kind == "do_event" and e.get("phase") == "start"}
    ends = {e.event: e for e in mine if e.kind == "do_event" and e.get("phase") == "end"}
    rows = {eid: i for i, eid in enumerate(sorted(starts))}
    labels = []
    for eid, row in rows.items():
        start = starts[eid]
        end = ends.get(eid)
        t1 = end.get("end") if end is not None else start.t
        color = {"ok": "tab:blue", "error": "tab:orange", "reset": "tab:red"}.get(
            end.get("outcome") if end is not None else "", "tab:gray")
        ax.hlines(row, start.t, t1, colors=color, linewidth=2, alpha=0.5)
        labels.append(f"#{eid} {start.get('event_kind')} {str(start.get('method'))[:24]}")
    for e in mine:
        if e.kind != "do_turn" or e.event not in rows:
            continue
        row = rows[e.event]
        held = e.get("input_gate") == "held"
        ax.plot([e.get("start")], [row], marker="s" if held else "o", markersize=7,
                markerfacecolor="tab:green" if held else "white", markeredgecolor="tab:green")
        if e.get("gate_wait"):
            ax.hlines(row, e.get("start") - e.get("gate_wait"), e.get("start"), colors="tab:purple",
                      linestyles="dashed", linewidth=1.5)
    for e in mine:
        if e.kind in ("do_evict", "do_crash"):
            ax.axvline(e.t, color="tab:red" if e.kind == "do_crash" else "0.6", linestyle=":", linewidth=1.5)
    ax.set_yticks(list(rows.values()), labels)
    ax.invert_yaxis()
    if not rows:
        ax.text(0.5, 0.5, f"no events for {binding}:{name} in this trace", ha="center", va="center",
                transform=ax.transAxes)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
