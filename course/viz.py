"""Figures drawn from a runtime's trace (matplotlib; every function returns a Figure).

Each function takes a :class:`course.runtime.Trace` (or any iterable of its events) and works
with the Agg backend, so notebooks, tests and graders can all call it.

Why this module is long: it is the course's one gallery of figures, one small function per
picture the lessons and feedback pages draw (a section per day); splitting it per day would
scatter the shared helpers (``CourseFigure``, the sequence-diagram drawing) for no reader's gain.
"""
from __future__ import annotations

from typing import Any, Iterable

from matplotlib.figure import Figure

from course.runtime.kernel.regions import REGIONS


class CourseFigure(Figure):
    """A matplotlib Figure that shows itself in Jupyter as a PNG (no pyplot state involved)."""

    def _repr_png_(self) -> bytes:
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(self)
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()


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
    fig = CourseFigure(figsize=(9, 3.5))
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


# -- sequence diagrams --------------------------------------------------------------------------

#: One arrow of a sequence diagram: when, from, to, label, and a style ("call", "reply",
#: "error", "fault").
Message = tuple[float, str, str, str, str]


def _request_windows(events: list[Any], request: int | str) -> set[int]:
    """Positions (in trace order) of the events that belong to the request(s) ``request`` names.

    ``request`` is a request id (``trace.last("request")["id"]``) or the start of
    ``"METHOD /path"`` (``"POST /coordinators/main/tasks"``). An event belongs to a request if it
    happens between the request's arrival and its response, in trace order; other requests
    answered inside that window are left out.
    """
    def matches(e: Any) -> bool:
        if isinstance(request, int):
            return e.get("id") == request
        return f"{e.get('method')} {e.get('path')}".startswith(str(request))

    keep: set[int] = set()
    open_ids: dict[Any, int] = {}
    for i, e in enumerate(events):
        if e.kind == "request" and matches(e):
            open_ids[e.get("id")] = i
        elif e.kind == "response" and e.get("id") in open_ids:
            start = open_ids.pop(e.get("id"))
            others = {ev.get("id") for ev in events[start + 1:i] if ev.kind == "request"}
            keep.update(j for j in range(start, i + 1)
                        if not (events[j].kind in ("request", "response") and events[j].get("id") in others))
    for start in open_ids.values():  # still running when the trace was read
        keep.update(range(start, len(events)))
    return keep


def messages_from_trace(trace: Any, *, request: int | str | None = None) -> list[Message]:
    """Arrows between actors from a runtime trace: client requests, Durable Object calls and
    their returns, and faults (``kind == "fault"``), in trace order.

    ``request`` keeps one request's conversation (a request id, or the start of "METHOD /path"):
    the request, everything that happened while it ran, and its response.
    """
    events = list(trace)
    if request is not None:
        keep = _request_windows(events, request)
        events = [e for i, e in enumerate(events) if i in keep]
    out: list[Message] = []
    sources: dict[Any, str] = {}
    for e in events:
        if e.kind == "response" and e.get("id") in sources:
            status = e.get("status")
            out.append((e.t, e.get("worker", "worker"), sources.pop(e.get("id")), str(status),
                        "reply" if isinstance(status, int) and status < 400 else "error"))
        elif e.kind == "request":
            sources[e.get("id")] = e.get("source", "client")
            out.append((e.t, e.get("source", "client"), e.get("worker", "worker"),
                        f"{e.get('method')} {e.get('path')}", "call"))
        elif e.kind == "do_event" and e.get("caller"):
            callee = f"{e.get('binding')}:{e.get('object')}"
            label = e.get("method") or e.get("event_kind") or ""
            if e.get("phase") == "start":
                out.append((e.t, e.get("caller"), callee, str(label), "call"))
            elif e.get("phase") == "end":
                outcome = e.get("outcome", "ok")
                out.append((e.t, callee, e.get("caller"), "return" if outcome == "ok" else outcome,
                            "reply" if outcome == "ok" else "error"))
        elif e.kind == "net" and str(e.get("leg", "")).startswith("ws:") and e.get("src") and e.get("dst"):
            # A WebSocket frame crossing regions (messages and closes, both directions).
            out.append((e.t, e.get("src"), e.get("dst"), f"{e.get('leg')[3:]} ({e.get('ms')} ms)", "call"))
        elif e.kind == "fault":
            target = e.get("object") or e.get("target") or "network"
            out.append((e.t, target, target, f"fault: {e.get('fault') or e.get('kind_of') or ''}".strip(), "fault"))
    return out


def messages_from_envelopes(envelopes: Iterable[dict[str, Any]], *, conversation: str | None = None) -> list[Message]:
    """Arrows from agent envelopes (dicts with sender, recipient, type, sent_at), deduplicated by
    id, ordered by send time, with times relative to the first message.

    ``conversation`` keeps one conversation: the envelopes whose ``correlation_id`` is it.
    """
    seen: set[str] = set()
    out: list[Message] = []
    for env in envelopes:
        mid = env.get("id")
        if mid in seen or (conversation is not None and env.get("correlation_id") != conversation):
            continue
        seen.add(mid)
        kind = str(env.get("type", ""))
        if "fail" in kind or "error" in kind:
            style = "error"
        elif kind.endswith((".result", ".report", ".reply")):
            style = "reply"
        else:
            style = "call"
        out.append((float(env.get("sent_at", 0.0)), env["sender"], env["recipient"], kind, style))
    out.sort(key=lambda m: m[0])
    if out:
        t0 = out[0][0]
        out = [(t - t0, *rest) for t, *rest in out]  # type: ignore[misc]
    return out


def _messages_of(source: Any, *, conversation: str | None = None, request: int | str | None = None) -> list[Message]:
    if hasattr(source, "events") or (isinstance(source, list) and source and hasattr(source[0], "kind")):
        return messages_from_trace(source, request=request)
    if isinstance(source, list) and source and isinstance(source[0], dict):
        return messages_from_envelopes(source, conversation=conversation)
    return list(source)


#: Below this spread of times (seconds) every message counts as simultaneous: steps are numbered.
INSTANT = 1e-6


def time_labels(messages: list[Message]) -> tuple[list[str], str]:
    """A label per message and a note for the figure: times when they differ, step numbers when not.

    Everything in-process on the emulator without regions happens at one instant of the virtual
    clock, and a column of "0.00s" says nothing; then each message gets its step number (the
    order it happened in) and the note says why.
    """
    if not messages:
        return [], ""
    times = [m[0] for m in messages]
    if max(times) - min(times) < INSTANT:
        return ([f"#{i}" for i in range(1, len(messages) + 1)],
                f"all at t = {times[0]:.2f} s (no latency): numbered in the order they happened")
    span = max(times) - min(times)
    digits = 3 if span < 10 else 2
    return [f"{t:.{digits}f}s" for t in times], "time on the left, in seconds"


def _draw_sequence(ax: Any, messages: list[Message], names: list[str], title: str) -> None:
    col = {name: i for i, name in enumerate(names)}
    n = len(messages)
    labels, note = time_labels(messages)
    for name, x in col.items():
        ax.vlines(x, -0.5, max(n, 1) - 0.5, colors="lightgray", linestyles="--", linewidth=1)
        ax.text(x, -0.9, name, ha="center", va="bottom", fontsize=9, fontweight="bold",
                bbox={"boxstyle": "round", "facecolor": "whitesmoke", "edgecolor": "gray"})
    colors = {"call": "tab:blue", "reply": "tab:green", "error": "tab:red", "fault": "tab:red"}
    for row, ((t, sender, recipient, label, style), when) in enumerate(zip(messages, labels)):
        x0, x1 = col[sender], col[recipient]
        color = colors.get(style, "tab:blue")
        ax.text(-0.45, row, when, fontsize=7, color="gray", va="center", ha="right")
        if style == "fault" or x0 == x1:
            ax.plot([x0], [row], marker="x", color=color, markersize=10)
            ax.text(x0 + 0.05, row, label, fontsize=8, color=color, va="center")
            continue
        ax.annotate("", xy=(x1, row), xytext=(x0, row),
                    arrowprops={"arrowstyle": "->", "color": color,
                                "linestyle": "--" if style == "reply" else "-"})
        ax.text((x0 + x1) / 2, row - 0.12, label, ha="center", va="bottom", fontsize=8, color=color)
    if not messages:
        ax.text(0.5, 0.5, "no messages", ha="center", va="center", transform=ax.transAxes, color="gray")
    # The title sits above the actors' boxes, with the timing note under it.
    ax.set_title(title + (f"\n{note}" if note else ""), pad=22, fontsize=11)
    ax.set_xlim(-0.75, max(len(names) - 0.4, 0.6))
    ax.set_ylim(max(n, 1) - 0.4, -1.3)
    ax.axis("off")


def _actors(messages: list[Message], first: list[str] | None = None) -> list[str]:
    names = list(first or [])
    for _, sender, recipient, _, _ in messages:
        for actor in (sender, recipient):
            if actor not in names:
                names.append(actor)
    return names


def sequence_diagram(source: Any, *, title: str = "messages between agents",
                     actors: list[str] | None = None, max_messages: int = 60,
                     conversation: str | None = None, request: int | str | None = None) -> Figure:
    """A sequence diagram: one lifeline per actor, one arrow per message, time flowing down.

    ``source`` is a runtime Trace, a list of envelope dicts (an agent's log), or a list of
    ``(t, sender, recipient, label, style)`` tuples. Errors are drawn red, faults as red crosses.
    Each arrow shows when it happened; when everything happened at one instant (no latency on
    the emulator), arrows are numbered in order instead. ``conversation`` keeps one
    conversation of an envelope log (its ``correlation_id``, e.g. a task id); ``request`` keeps
    one request of a trace (its id, or the start of "METHOD /path").
    """
    messages = _messages_of(source, conversation=conversation, request=request)[:max_messages]
    names = _actors(messages, actors)
    height = max(3.2, 0.32 * len(messages) + 2.0)
    fig = CourseFigure(figsize=(max(6.0, 1.9 * len(names)), height))
    _draw_sequence(fig.add_subplot(1, 1, 1), messages, names, title)
    fig.tight_layout()
    return fig


def sequence_diagrams(sources: dict[str, Any], *, title: str | None = None, max_messages: int = 40) -> Figure:
    """Several sequence diagrams side by side, one per ``{caption: source}`` (same sources as
    :func:`sequence_diagram`): the same job done two ways, compared at a glance."""
    all_messages = {caption: _messages_of(src)[:max_messages] for caption, src in sources.items()}
    widths = [max(2, len(_actors(m))) for m in all_messages.values()]
    rows = max((len(m) for m in all_messages.values()), default=1)
    fig = CourseFigure(figsize=(max(8.0, 1.6 * sum(widths)), max(3.4, 0.32 * rows + 2.2)))
    grid = fig.add_gridspec(1, len(all_messages), width_ratios=widths)
    for i, (caption, messages) in enumerate(all_messages.items()):
        _draw_sequence(fig.add_subplot(grid[0, i]), messages, _actors(messages), caption)
    if title:
        fig.suptitle(title, fontsize=12, fontweight="bold")
    fig.tight_layout()
    return fig


def latency_by_region(trace: Any, *, title: str = "observed network latency by region (ms, one way)") -> Figure:
    """A heatmap of the mean one-way latency of network legs, caller region by callee region.

    Reads the ``net`` events the network model records (``src_region``, ``dst_region``, ``ms``;
    ``course.runtime.net.regions``); the number of legs is printed under each mean.
    """
    sums: dict[tuple[str, str], list[float]] = {}
    for e in _events(trace, {"net"}):
        src, dst = e.get("src_region") or "default", e.get("dst_region") or "default"
        sums.setdefault((src, dst), []).append(float(e.get("ms", 0.0)))
    order = list(REGIONS)
    seen = sorted({r for pair in sums for r in pair}, key=lambda r: (order.index(r) if r in order else 99, r))
    fig = CourseFigure(figsize=(max(4.5, 0.8 * len(seen) + 2.5), max(3.5, 0.6 * len(seen) + 2)))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title)
    if not seen:
        ax.text(0.5, 0.5, "no network legs in this trace (name a region: rt.client(region=...))",
                ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return fig
    idx = {r: i for i, r in enumerate(seen)}
    grid = [[float("nan")] * len(seen) for _ in seen]
    for (src, dst), values in sums.items():
        grid[idx[src]][idx[dst]] = sum(values) / len(values)
    image = ax.imshow(grid, cmap="viridis")
    fig.colorbar(image, ax=ax, label="mean ms")
    for (src, dst), values in sums.items():
        mean = sum(values) / len(values)
        ax.text(idx[dst], idx[src], f"{mean:.0f}\nn={len(values)}", ha="center", va="center", fontsize=8,
                color="white" if mean < max(max(v) for v in sums.values()) * 0.6 else "black")
    ax.set_xticks(range(len(seen)), seen)
    ax.set_yticks(range(len(seen)), seen)
    ax.set_xlabel("to (callee region)")
    ax.set_ylabel("from (caller region)")
    fig.tight_layout()
    return fig


def lifecycle_diagram(transitions: dict[Any, Any], *, title: str = "subtask lifecycle") -> Figure:
    """A state machine as a diagram: states as boxes on a row, legal moves as arrows."""
    states = [getattr(s, "value", str(s)) for s in transitions]
    x = {s: i for i, s in enumerate(states)}
    fig = CourseFigure(figsize=(max(6.0, 1.8 * len(states)), 3.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title)
    for s in states:
        ax.text(x[s], 0, s, ha="center", va="center", fontsize=10,
                bbox={"boxstyle": "round,pad=0.5", "facecolor": "#e8f0fe", "edgecolor": "tab:blue"})
    for src, dsts in transitions.items():
        a = getattr(src, "value", str(src))
        for dst in dsts:
            b = getattr(dst, "value", str(dst))
            forward = x[b] > x[a]
            bend = 0.35 if forward else -0.45
            color = "tab:blue" if forward else "tab:orange"
            ax.annotate("", xy=(x[b], 0.12 if forward else -0.12), xytext=(x[a], 0.12 if forward else -0.12),
                        arrowprops={"arrowstyle": "->", "color": color,
                                    "connectionstyle": f"arc3,rad={-bend if forward else bend}"})
    ax.text(0, -0.9, "blue: forward moves   orange: recovery (a failed subtask is assigned again)",
            fontsize=8, color="gray")
    ax.set_xlim(-0.7, len(states) - 0.3)
    ax.set_ylim(-1.1, 1.1)
    ax.axis("off")
    fig.tight_layout()
    return fig


def state_diagram(table: dict[tuple[Any, str], Any], *, title: str = "lifecycle",
                  positions: dict[str, tuple[float, float]] | None = None,
                  highlight: Iterable[str] = ()) -> Figure:
    """A state machine with labelled moves: ``{(state, event): next_state}``, states as boxes.

    States are laid out left to right by how many moves they are from the first state (or at
    ``positions``: ``{state: (x, y)}``); each arrow carries its event's name. ``highlight``
    names states drawn in orange (e.g. the ones a failure leads to).
    """
    def name(state: Any) -> str:
        return str(getattr(state, "value", state))

    edges = [(name(src), event, name(dst)) for (src, event), dst in table.items()]
    order: list[str] = []
    for src, _, dst in edges:
        for st in (src, dst):
            if st not in order:
                order.append(st)
    if positions is None:
        depth = {order[0]: 0} if order else {}
        frontier = order[:1]
        while frontier:
            nxt = []
            for st in frontier:
                for src, _, dst in edges:
                    if src == st and dst not in depth:
                        depth[dst] = depth[st] + 1
                        nxt.append(dst)
            frontier = nxt
        for st in order:
            depth.setdefault(st, max(depth.values(), default=0) + 1)
        layers: dict[int, list[str]] = {}
        for st in order:
            layers.setdefault(depth[st], []).append(st)
        positions = {st: (float(d) * 2.2, (len(members) - 1) / 2 - i) for d, members in layers.items()
                     for i, st in enumerate(members)}
    xs = [p[0] for p in positions.values()] or [0.0]
    ys = [p[1] for p in positions.values()] or [0.0]
    fig = CourseFigure(figsize=(max(6.0, 1.25 * (max(xs) - min(xs)) + 3), max(3.0, 1.3 * (max(ys) - min(ys)) + 2.2)))
    ax = fig.add_subplot(1, 1, 1)
    hot = {name(h) for h in highlight}
    pairs = {(src, dst) for src, _, dst in edges}
    for src, event, dst in edges:
        (x0, y0), (x1, y1) = positions[src], positions[dst]
        back = (dst, src) in pairs and order.index(dst) < order.index(src)
        rad = 0.25 if back else (0.12 if (dst, src) in pairs else 0.0)
        color = "tab:orange" if dst in hot or src in hot else "tab:blue"
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": color, "shrinkA": 26, "shrinkB": 26,
                                "connectionstyle": f"arc3,rad={rad}"})
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        offset = 0.22 if not back else -0.22
        if src == dst:
            continue
        ax.text(mx, my + offset, event, ha="center", va="center", fontsize=8, color=color,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    for st, (x, y) in positions.items():
        ax.text(x, y, st, ha="center", va="center", fontsize=10,
                bbox={"boxstyle": "round,pad=0.5", "facecolor": "#fde8d7" if st in hot else "#e8f0fe",
                      "edgecolor": "tab:orange" if st in hot else "tab:blue"})
    ax.set_title(title, pad=14)
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    fig.tight_layout()
    return fig


def png_bytes(fig: Figure, *, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, without the Software stamp (the same figure, the same bytes)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def workflow_timeline(trace: Any, instance: str, *, title: str | None = None) -> Figure:
    """One Workflow instance on a time axis: a row per step, sleep or wait, a bar per attempt.

    Attempts are blue when they succeeded, orange when they failed (a retry follows after the
    dotted gap), red when an engine crash lost them; sleeps and event waits are grey bars; red
    vertical lines are engine crashes and the title ends with the instance's last status. Reads
    the ``workflow_*`` events of a runtime's trace (``rt.trace``).
    """
    mine = [e for e in _events(trace, {"workflow_attempt", "workflow_sleep", "workflow_wait", "workflow_retry",
                                       "workflow_crash", "workflow_status", "workflow_step"})
            if e.get("instance") == instance]
    rows: dict[str, int] = {}
    labels: list[str] = []

    def row(key: str, label: str) -> int:
        if key not in rows:
            rows[key] = len(rows)
            labels.append(label)
        return rows[key]

    fig = CourseFigure(figsize=(9, 1.2 + 0.45 * max(1, len({e.get("key") for e in mine if e.get("key")}))))
    ax = fig.add_subplot(1, 1, 1)
    end = max((e.t for e in mine), default=0.0)
    open_waits: dict[str, Any] = {}
    started: dict[tuple[str, int], Any] = {}
    status = None
    for e in mine:
        key = e.get("key")
        if e.kind == "workflow_status":
            status = e.get("status")
        elif e.kind == "workflow_crash":
            ax.axvline(e.t, color="tab:red", linewidth=1.5)
        elif e.kind == "workflow_attempt" and e.get("phase") == "start":
            started[(key, e.get("attempt"))] = e
            row(key, f"{e.get('step')}")
        elif e.kind == "workflow_attempt" and e.get("phase") == "end":
            y = row(key, f"{e.get('step')}")
            color = "tab:blue" if e.get("ok") else "tab:orange"
            ax.barh(y, max(e.t - e.get("start", e.t), end * 0.004 or 0.01), left=e.get("start", e.t), color=color,
                    height=0.5)
            started.pop((key, e.get("attempt")), None)
        elif e.kind == "workflow_attempt" and e.get("phase") == "lost":
            lost = started.pop((key, e.get("attempt")), None)
            y = row(key, f"{e.get('step')}")
            if lost is not None:
                ax.barh(y, max(e.t - lost.t, end * 0.004 or 0.01), left=lost.t, color="tab:red", height=0.5)
        elif e.kind == "workflow_retry":
            y = row(key, f"{e.get('step')}")
            ax.hlines(y, e.t, e.t + e.get("delay_ms", 0) / 1000, colors="tab:orange", linestyles="dotted")
        elif e.kind in ("workflow_sleep", "workflow_wait") and e.get("phase") == "start":
            what = "sleep" if e.kind == "workflow_sleep" else f"wait {e.get('type')}"
            row(key, f"{e.get('step')} ({what})")
            open_waits[key] = e
        elif e.kind in ("workflow_sleep", "workflow_wait") and e.get("phase") in ("end", "timeout"):
            began = open_waits.pop(key, None)
            if began is not None:
                ax.barh(rows[key], e.t - began.t, left=began.t, color="lightgray", height=0.5,
                        hatch="//" if e.get("phase") == "timeout" else None, edgecolor="gray")
    for key, began in open_waits.items():
        ax.barh(rows[key], end - began.t, left=began.t, color="whitesmoke", height=0.5, edgecolor="gray")
    for (key, _), began in started.items():
        ax.barh(rows[key], max(end - began.t, 0.01), left=began.t, color="lightsteelblue", height=0.5)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.set_title(title or f"Workflow instance {instance}" + (f" - {status}" if status else ""))
    fig.tight_layout()
    return fig


# -- Day 2: lifecycles, pools, discovery --------------------------------------------------------
def object_count_timeline(times: list[float], counts: dict[str, list[int]], *,
                          title: str = "Durable Objects holding state over time") -> Figure:
    """One step line per series (e.g. ephemeral vs persistent agents) of a count sampled at ``times``."""
    fig = CourseFigure(figsize=(8, 3.6))
    ax = fig.subplots()
    for label, values in counts.items():
        ax.step(times, values, where="post", label=label, linewidth=2)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("objects")
    ax.set_ylim(bottom=0, top=max((max(v) for v in counts.values() if v), default=1) + 1)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(counts), fontsize=8, frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def latency_by_strategy(latencies: dict[str, list[float]], *,
                        title: str = "latency per dispatch strategy (s)") -> Figure:
    """Each strategy's request latencies: every request as a dot, the median as a bar."""
    fig = CourseFigure(figsize=(8, 3.2))
    ax = fig.subplots()
    for i, (label, values) in enumerate(latencies.items()):
        ordered = sorted(values)
        median = ordered[len(ordered) // 2] if ordered else 0.0
        ax.barh(i, median, color="#cfe2f3", edgecolor="#3d85c6")
        ax.scatter(values, [i + (j % 5 - 2) * 0.06 for j in range(len(values))], s=12, color="#0b5394", zorder=3)
        ax.text(max(values or [0]) + 0.2, i, f"median {median:.1f} s, max {max(values or [0]):.1f} s", va="center",
                fontsize=8)
    ax.set_yticks(range(len(latencies)), list(latencies))
    ax.invert_yaxis()
    ax.set_xlabel("seconds from submit to result")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def heartbeat_timeline(events: Iterable[tuple[str, float, str]], alive: dict[str, list[tuple[float, float]]], *,
                       title: str = "heartbeats and expiry") -> Figure:
    """Per agent: the windows the registry listed it as alive (bars) and its messages over time.

    ``events`` are ``(agent, time, kind)`` with kind ``register``, ``heartbeat``, ``lost`` (a
    heartbeat that never arrived) or ``expired``; ``alive`` maps each agent to its alive windows.
    """
    styles = {"register": ("o", "#38761d"), "heartbeat": ("|", "#0b5394"), "lost": ("x", "#cc0000"),
              "expired": ("v", "#990000")}
    agents = list(alive)
    fig = CourseFigure(figsize=(8, 1.2 + 0.55 * max(1, len(agents))))
    ax = fig.subplots()
    for i, agent in enumerate(agents):
        for start, end in alive[agent]:
            ax.barh(i, end - start, left=start, height=0.5, color="#d9ead3", edgecolor="#93c47d")
    seen = set()
    for agent, t, kind in events:
        marker, color = styles[kind]
        ax.scatter([t], [agents.index(agent)], marker=marker, color=color, s=60, zorder=3,
                   label=kind if kind not in seen else None)
        seen.add(kind)
    ax.set_yticks(range(len(agents)), agents)
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=4, fontsize=8, frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


# -- Day 3: agent state ---------------------------------------------------------------------------
def crash_point_outcomes(points: list[str], outcomes: dict[str, list[str]], *,
                         title: str = "what a crash right after each operation does to the task") -> Figure:
    """One row per version of an agent, one cell per crash point: green when the task still ends
    right, orange when a step runs twice, red when work is lost. ``outcomes`` maps a row label to
    one of ``"ok"``, ``"twice"``, ``"lost"`` per point."""
    colors = {"ok": "tab:green", "twice": "tab:orange", "lost": "tab:red"}
    fig = CourseFigure(figsize=(max(7.0, 0.55 * len(points) + 3), 1.2 + 0.6 * len(outcomes)))
    ax = fig.subplots()
    for row, (label, cells) in enumerate(outcomes.items()):
        for col, outcome in enumerate(cells):
            ax.add_patch(_rectangle((col, row), colors.get(outcome, "0.8")))
    ax.set_xlim(0, len(points))
    ax.set_ylim(len(outcomes), 0)
    ax.set_xticks([i + 0.5 for i in range(len(points))], [f"{i + 1}. {p}" for i, p in enumerate(points)],
                  rotation=60, ha="right", fontsize=7)
    ax.set_yticks([i + 0.5 for i in range(len(outcomes))], list(outcomes))
    handles = [_rectangle((0, 0), c) for c in colors.values()]
    ax.legend(handles, ["task right", "a step ran twice", "work lost"], loc="upper center",
              bbox_to_anchor=(0.5, 1.35), ncol=3, fontsize=8, frameon=False)
    ax.set_title(title, pad=28)
    fig.subplots_adjust(left=0.22, right=0.98, bottom=0.5, top=0.72)
    return fig


def _rectangle(xy: tuple[float, float], color: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(xy, 1, 1, facecolor=color, edgecolor="white", linewidth=2)


def storage_budget(sizes: dict[str, list[float]], limits: dict[str, float], *,
                   title: str = "an agent's state against Cloudflare's limits (bytes, log scale)") -> Figure:
    """How a state grows (one line per layout, sampled per step) against the limits it meets."""
    fig = CourseFigure(figsize=(8, 3.6))
    ax = fig.subplots()
    for label, values in sizes.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label, linewidth=2)
    for i, (label, limit) in enumerate(limits.items()):
        ax.axhline(limit, color=("tab:red", "tab:purple", "0.4")[i % 3], linestyle="--", linewidth=1)
        ax.text(1, limit * 1.15, label, fontsize=8, color=("tab:red", "tab:purple", "0.4")[i % 3])
    ax.set_yscale("log")
    ax.set_xlabel("memories stored")
    ax.set_ylabel("bytes")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


# -- Day 4: Workers AI and agent reasoning -------------------------------------------------------
def token_budget_bars(prompts: dict[str, dict[str, int]], budget: int, *,
                      title: str = "prompt tokens by part, against the budget") -> Figure:
    """One stacked bar per prompt (e.g. "everything" and "fitted"): tokens of each part, the budget as a line."""
    fig = CourseFigure(figsize=(8, 2.8))
    ax = fig.subplots()
    parts = list(dict.fromkeys(part for sizes in prompts.values() for part in sizes))
    colors = ["#3d85c6", "#93c47d", "#f6b26b", "#c27ba0", "#999999"]
    for i, (label, sizes) in enumerate(prompts.items()):
        left = 0
        for j, part in enumerate(parts):
            value = sizes.get(part, 0)
            ax.barh(i, value, left=left, color=colors[j % len(colors)], label=part if i == 0 else None)
            left += value
        ax.text(left + 3, i, f"{left} tokens", va="center", fontsize=8)
    ax.axvline(budget, color="#cc0000", linestyle="--", linewidth=1.5)
    ax.text(budget, -0.6, f" budget {budget}", color="#cc0000", fontsize=8, va="bottom")
    ax.set_yticks(range(len(prompts)), list(prompts))
    ax.invert_yaxis()
    ax.set_xlabel("tokens")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=len(parts), fontsize=8, frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def model_cost_bars(costs: dict[str, float], *, unit: str = "USD per 1,000 requests",
                    title: str = "what the same request costs on each model") -> Figure:
    """A horizontal bar per model: its cost for the same request, cheapest first."""
    fig = CourseFigure(figsize=(8, 2.6))
    ax = fig.subplots()
    ordered = sorted(costs.items(), key=lambda kv: kv[1])
    ax.barh(range(len(ordered)), [v for _, v in ordered], color="#6fa8dc")
    for i, (_, value) in enumerate(ordered):
        ax.text(value, i, f" {value:.4f}", va="center", fontsize=8)
    ax.set_yticks(range(len(ordered)), [k for k, _ in ordered], fontsize=8)
    ax.set_xlabel(unit)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def degradation_curve(rates: list[float], shares: dict[str, list[float]], latency: list[float], *,
                      title: str = "answers and latency as Workers AI faults rise") -> Figure:
    """Where answers came from (stacked shares) and the mean latency (right axis) at each fault rate."""
    fig = CourseFigure(figsize=(8, 3.4))
    ax = fig.subplots()
    percent = [r * 100 for r in rates]
    ax.stackplot(percent, *shares.values(), labels=list(shares), colors=["#6aa84f", "#a4c2f4", "#ffd966", "#e06666"],
                 alpha=0.85)
    ax.set_xlabel("AI calls failing (%)")
    ax.set_ylabel("share of answers")
    ax.set_ylim(0, 1)
    right = ax.twinx()
    right.plot(percent, latency, color="black", marker="o", linewidth=1.5, label="mean latency (s)")
    right.set_ylabel("mean latency (s)")
    right.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=5, fontsize=8, frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


# -- Day 6: event-driven coordination -------------------------------------------------------------
def mesh_messages(messages: list[tuple[float, str, str]], *,
                  title: str = "the mesh's WebSocket messages over time") -> Figure:
    """One row per agent, one marker per message it received at that virtual time, coloured by
    kind. ``messages`` is ``(t, agent, kind)``; the kinds are the legend (``"presence"``,
    ``"event"``, ``"replayed"``, ``"held back"``...)."""
    fig = CourseFigure(figsize=(8.5, 1.4 + 0.5 * len({a for _, a, _ in messages})))
    ax = fig.subplots()
    agents = sorted({a for _, a, _ in messages})
    kinds = list(dict.fromkeys(k for _, _, k in messages))
    colors = ("tab:blue", "tab:green", "tab:orange", "tab:red", "tab:purple", "0.4")
    for i, kind in enumerate(kinds):
        points = [(t, agents.index(a)) for t, a, k in messages if k == kind]
        ax.scatter([t for t, _ in points], [y for _, y in points], s=40, marker="os^vDx"[i % 6],
                   color=colors[i % len(colors)], label=kind, zorder=3)
    ax.set_yticks(range(len(agents)), agents)
    ax.set_ylim(len(agents) - 0.5, -0.5)
    ax.set_xlabel("virtual time (s)")
    ax.grid(axis="x", linestyle=":", linewidth=0.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=min(len(kinds), 5), fontsize=8, frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def projection_lag(times: list[float], written: list[int], projected: list[int], *,
                   title: str = "a reader's view lags the event log (CQRS)") -> Figure:
    """Events written to the log vs events the read model has applied, sampled over time; the
    shaded gap is what a reader of the projection does not see yet."""
    fig = CourseFigure(figsize=(8, 3.4))
    ax = fig.subplots()
    ax.step(times, written, where="post", label="events in the log (commands)", linewidth=2)
    ax.step(times, projected, where="post", label="events in the read model (queries)", linewidth=2)
    ax.fill_between(times, projected, written, step="post", alpha=0.2, color="tab:red", label="lag")
    ax.set_xlabel("virtual time (s)")
    ax.set_ylabel("events")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def queue_depth(times: list[float], series: dict[str, list[int]], *, faults: Iterable[tuple[float, str]] = (),
                title: str = "queue depth and dead letters over a run with faults") -> Figure:
    """Sampled counters of a queue run (depth, in flight, dead-lettered...), with the injected
    faults marked as vertical lines labelled with what they were."""
    fig = CourseFigure(figsize=(8, 3.4))
    ax = fig.subplots()
    for label, values in series.items():
        ax.step(times, values, where="post", label=label, linewidth=2)
    for t, label in faults:
        ax.axvline(t, color="0.5", linestyle=":", linewidth=1)
        ax.text(t, ax.get_ylim()[1] * 0.95, f" {label}", fontsize=7, color="0.3", va="top")
    ax.set_xlabel("virtual time (s)")
    ax.set_ylabel("messages")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


# -- Day 5: HTTP agent protocols -------------------------------------------------------------------
def retry_herd(arrivals: dict[str, list[float]], *, bin_seconds: float = 0.25, capacity: float | None = None,
               title: str = "retries reaching a recovering agent") -> Figure:
    """One panel per retry policy: how many requests arrive in each ``bin_seconds`` of virtual
    time. ``arrivals`` is ``{policy: [arrival times]}``; ``capacity`` (requests per bin) is drawn
    as a dashed line, so the herd's spikes above it show at a glance."""
    fig = CourseFigure(figsize=(8, 1.2 + 1.9 * len(arrivals)))
    axes = fig.subplots(len(arrivals), 1, sharex=True, squeeze=False)[:, 0]
    end = max((max(ts) for ts in arrivals.values() if ts), default=1.0)
    bins = [i * bin_seconds for i in range(int(end / bin_seconds) + 2)]
    for ax, (policy, times) in zip(axes, arrivals.items()):
        ax.hist(times, bins=bins, color="tab:blue", alpha=0.8)
        if capacity is not None:
            ax.axhline(capacity, color="tab:red", linestyle="--", linewidth=1, label="what the agent can serve")
            ax.legend(loc="upper right", fontsize=8)
        ax.set_ylabel(f"requests per {bin_seconds:g}s", fontsize=8)
        ax.set_title(policy, fontsize=9, loc="left")
    axes[-1].set_xlabel("virtual time (s)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def breaker_timeline(timeline: list[tuple[float, str]], *, end: float, down: Iterable[tuple[float, float]] = (),
                     calls: Iterable[tuple[float, bool]] = (),
                     title: str = "a circuit breaker's state under a failure schedule") -> Figure:
    """The breaker's state (closed / half-open / open) as a step line over virtual time, the
    windows in which the downstream agent was failing shaded, and each call marked as let through
    (dot) or refused (cross). ``timeline`` is ``[(time, state)]`` at every transition."""
    levels = {"closed": 0, "half-open": 1, "open": 2}
    fig = CourseFigure(figsize=(8.5, 3.0))
    ax = fig.subplots()
    for a, b in down:
        ax.axvspan(a, b, color="tab:red", alpha=0.12)
    xs = [t for t, _ in timeline] + [end]
    ys = [levels[s] for _, s in timeline] + [levels[timeline[-1][1]]]
    ax.step(xs, ys, where="post", linewidth=2, color="tab:blue", label="breaker state")
    calls = list(calls)
    if calls:
        ax.scatter([t for t, ok in calls if ok], [-0.35] * sum(1 for _, ok in calls if ok), s=14, color="tab:green",
                   label="call let through")
        ax.scatter([t for t, ok in calls if not ok], [-0.35] * sum(1 for _, ok in calls if not ok), s=18,
                   marker="x", color="tab:red", label="call refused")
    ax.set_yticks([0, 1, 2], ["closed", "half-open", "open"])
    ax.set_ylim(-0.6, 2.4)
    ax.set_xlim(0, end)
    ax.set_xlabel("virtual time (s)  (shaded: the downstream agent is failing)")
    ax.legend(loc="upper right", fontsize=7, ncol=3)
    ax.set_title(title)
    fig.tight_layout()
    return fig
