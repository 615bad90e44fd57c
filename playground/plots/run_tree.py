"""The Runs tab's figure: a browser session's runs as a tree, each branch under the run it continued, the edge
labelled with the step and the token taken there. A click on a node shows that run (the page's script sends the
node's run_id back)."""

from __future__ import annotations

import plotly.graph_objects as go

from playground.plots.style import BLUE, GREY, VERMILLION, hover_escape, placeholder, preview, show_token
from playground.run_tree import RunTree
from playground.trace import Trace
from playground.words import counted

PREVIEW = 60  # characters of a run's text in its node's hover


def run_tree_figure(tree: RunTree) -> go.Figure:
    """Nodes left to right by how many branchings lie above them; the shown run in vermillion.

    Each node's customdata is [run_id], which a click sends back to the page."""
    if not tree.runs:
        return placeholder("Generate a run: each run of this tab, and each branch you take, becomes a node here.")
    places = tree.layout()
    fig = go.Figure()
    edges_x: list[float | None] = []
    edges_y: list[float | None] = []
    labels = []  # (x, y, text) at each edge's middle
    for run in tree.runs:
        parent = tree.parent(run)
        if parent is None:
            continue
        (x0, y0), (x1, y1) = places[parent], places[run]
        edges_x += [x0, x1, None]
        edges_y += [-y0, -y1, None]
        branch = tree.runs[run].branch
        labels.append(((x0 + x1) / 2, -(y0 + y1) / 2, f"step {branch.at}: {show_token(branch.token.text)}"))
    fig.add_scatter(x=edges_x, y=edges_y, mode="lines", line=dict(color=GREY, width=1.5), hoverinfo="skip")
    if labels:
        fig.add_scatter(
            x=[x for x, _, _ in labels],
            y=[y for _, y, _ in labels],
            text=[text for _, _, text in labels],
            mode="text",
            textposition="top center",
            textfont=dict(size=11, color=GREY),
            hoverinfo="skip",
        )
    runs = list(tree.runs)
    fig.add_scatter(
        x=[places[run][0] for run in runs],
        y=[-places[run][1] for run in runs],
        mode="markers+text",
        text=[f"#{tree.number(run)}" for run in runs],
        textposition="middle right",
        customdata=[[run] for run in runs],
        hovertext=[_hover(tree, run) for run in runs],
        hovertemplate="%{hovertext}<extra></extra>",
        marker=dict(
            size=[22 if run == tree.shown else 16 for run in runs],
            color=[VERMILLION if run == tree.shown else BLUE for run in runs],
            line=dict(color="white", width=2),
        ),
    )
    rows = max((row for _, row in places.values()), default=0) + 1
    depth = max((d for d, _ in places.values()), default=0)
    fig.update_layout(
        title=f"{counted(len(runs), 'run')} in this tab (the shown one in vermillion): click a run to show it",
        showlegend=False,
        hovermode="closest",
        height=max(260, 110 + 56 * rows),
        margin=dict(l=20, r=20, t=50, b=20),
        xaxis=dict(visible=False, range=[-0.3, depth + 0.7]),
        yaxis=dict(visible=False, range=[-(rows - 1) - 0.6, 0.6]),
    )
    return fig


def _hover(tree: RunTree, run: str) -> str:
    trace: Trace = tree.runs[run]
    text = preview(trace.output.text, PREVIEW)
    lines = [
        f"#{tree.number(run)} · {trace.settings.get('strategy')} · {trace.model.id} {trace.model.precision} · "
        + counted(len(trace.output.token_ids), "token"),
        hover_escape(text),
    ]
    if trace.branch is not None:
        parent = tree.parent(run)
        source = f"#{tree.number(parent)}" if parent else "a run no longer kept"
        token = hover_escape(show_token(trace.branch.token.text))
        lines.append(
            f"branched from {source} at step {trace.branch.at}, taking {token} (p = {trace.branch.token.prob:.3f})"
        )
    return "<br>".join(lines)
