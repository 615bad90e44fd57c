"""The beam tree: every candidate beam search weighed, where it came from, and what became of it.

x is the step; within a step nodes are ranked by length-penalized score, best on top. Kept, finished and
returned nodes are drawn with their token and joined to their parents; pruned ones are small grey crosses, so
wide trees stay readable. Past 24 steps a range slider scrolls along the steps.
"""

from __future__ import annotations

import plotly.graph_objects as go

from playground.plots.style import BLUE, GREEN, GREY, ORANGE, VERMILLION, show_token
from playground.trace import Trace

STATUS_STYLE = {  # status -> (symbol, colour, size); shape and colour both differ, for every kind of vision
    "kept": ("circle", BLUE, 11),
    "finished": ("diamond", ORANGE, 13),
    "returned": ("star", GREEN, 18),
    "pruned": ("x-thin-open", GREY, 6),
}
VISIBLE_STEPS = 24


def node_positions(trace: Trace) -> dict[int, tuple[int, int]]:
    """Node id -> (step, rank within the step by score, 0 = best)."""
    by_step: dict[int, list] = {}
    for node in trace.beams.nodes:
        by_step.setdefault(node.step, []).append(node)
    positions = {}
    for step, nodes in by_step.items():
        for rank, node in enumerate(sorted(nodes, key=lambda n: -n.score)):
            positions[node.id] = (step, rank)
    return positions


def beam_tree_figure(trace: Trace) -> go.Figure:
    """The beam tree of a beam search or constrained beam search trace.

    Raises:
        ValueError: the trace has no beams (greedy, sampling or speculative runs).
    """
    if trace.beams is None or not trace.beams.nodes:
        raise ValueError("this trace has no beam tree: run beam search or constrained beam search")
    nodes = trace.beams.nodes
    pos = node_positions(trace)
    constrained = bool(trace.beams.constraints)
    fig = go.Figure()
    edge_x: list = []
    edge_y: list = []
    for node in nodes:
        if node.status != "pruned" and node.parent is not None:
            (x0, y0), (x1, y1) = pos[node.parent], pos[node.id]
            edge_x += [x0 + 1, x1 + 1, None]
            edge_y += [y0, y1, None]
    fig.add_scatter(
        x=edge_x, y=edge_y, mode="lines", line=dict(color="#BBBBBB", width=1), hoverinfo="skip", showlegend=False
    )
    banks = [n.bank or 0 for n in nodes]
    for status, (symbol, colour, size) in STATUS_STYLE.items():
        group = [n for n in nodes if n.status == status]
        if not group:
            continue
        marker = dict(symbol=symbol, size=size, color=colour, line=dict(width=1, color="#333333"))
        if constrained and status != "pruned":
            marker.update(
                color=[n.bank or 0 for n in group],
                colorscale="Viridis",
                cmin=0,
                cmax=max(banks) or 1,
                colorbar=dict(title="bank"),
                showscale=status == "kept",
            )
            # Tokens that advanced a constraint get a thick vermillion outline.
            marker["line"] = dict(
                width=[3 if n.constraint is not None else 1 for n in group],
                color=[VERMILLION if n.constraint is not None else "#333333" for n in group],
            )
        fig.add_scatter(
            x=[pos[n.id][0] + 1 for n in group],
            y=[pos[n.id][1] for n in group],
            mode="markers" if status == "pruned" else "markers+text",
            text=[show_token(n.text) for n in group],
            textposition="top center",
            textfont=dict(size=10),
            marker=marker,
            name=status,
            customdata=[[show_token(n.text), n.logprob, n.cum_logprob, n.score, n.bank] for n in group],
            hovertemplate="%{customdata[0]} (" + status + ")<br>token log-prob %{customdata[1]:.3f}"
            "<br>cumulative %{customdata[2]:.3f}<br>length-penalized %{customdata[3]:.3f}"
            + ("<br>bank %{customdata[4]}" if constrained else "")
            + "<extra></extra>",
        )
    steps = max(n.step for n in nodes) + 1
    xaxis = dict(title="step", dtick=1, range=[0.5, min(steps, VISIBLE_STEPS) + 0.5])
    if steps > VISIBLE_STEPS:
        xaxis["rangeslider"] = dict(visible=True, thickness=0.06)
    fig.update_layout(
        title=f"Beam tree: {len(nodes)} candidates over {steps} steps"
        + (f", {_count(len(trace.beams.constraints), 'constraint')} (outline = advanced one)" if constrained else ""),
        xaxis=xaxis,
        yaxis=dict(title="rank in step (best on top)", autorange="reversed", zeroline=False),
        # Above the plot: below it, the range slider of a long run would cover the legend on a narrow page.
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0),
        margin=dict(t=80),
        # Room for a token label on every rank: labels of neighbouring ranks must not overlap.
        height=max(420, 34 * (max(rank for _, rank in pos.values()) + 1) + 200),
    )
    return fig


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
