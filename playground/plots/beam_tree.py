"""The beam tree: every candidate beam search weighed, where it came from, and what became of it.

x is the step; within a step nodes are ranked by length-penalized score, best on top. Kept, finished and
returned nodes are drawn with their token and joined to their parents; pruned ones are small grey crosses, so
wide trees stay readable. Each returned sequence's whole path is a thick green line, and a node's hover gives
its beam back to step 1 with the rank it held at every step (the page's script also draws that beam). By
default only the pruned candidates that ranked near the top of their step are drawn (the rest are counted per
step); a constrained search weighs many more than it keeps. Past 24 steps a range slider scrolls the steps.
"""

from __future__ import annotations

from collections import Counter

import plotly.graph_objects as go

from playground.plots.beam_paths import NEAR, answers, lineages, ranks, shown_by_default
from playground.plots.style import BLUE, GREEN, GREY, ORANGE, VERMILLION, counted, hover_escape, show_token
from playground.trace import Beams, Trace

STATUS_STYLE = {  # status -> (symbol, colour, size); shape and colour both differ, for every kind of vision
    "kept": ("circle", BLUE, 11),
    "finished": ("diamond", ORANGE, 13),
    "returned": ("star", GREEN, 18),
    "pruned": ("x-thin-open", GREY, 6),
}
VISIBLE_STEPS = 24
BEAM_TEXT = 70  # characters of a node's beam text in its hover, the end kept


def node_positions(beams: Beams, rank: dict[int, int], shown: set[int] | None = None) -> dict[int, tuple[int, int]]:
    """Node id -> (step, row), `rank` being each node's rank within its step (`beam_paths.ranks`). With
    `shown`, only those nodes, in rank order without gaps, so hidden candidates leave no empty rows; otherwise
    every node at its rank (0 = best)."""
    nodes = [n for n in beams.nodes if shown is None or n.id in shown]
    by_step: dict[int, list] = {}
    for node in nodes:
        by_step.setdefault(node.step, []).append(node)
    return {
        node.id: (step, row)
        for step, group in by_step.items()
        for row, node in enumerate(sorted(group, key=lambda n: rank[n.id]))
    }


def beam_tree_figure(trace: Trace, show_all: bool = False) -> go.Figure:
    """The beam tree of a beam search or constrained beam search trace.

    Args:
        trace: a beam search or constrained beam search trace.
        show_all: draw every pruned candidate, not only those ranked near the top of their step.

    Raises:
        ValueError: the trace has no beams (greedy, sampling or speculative runs).
    """
    if trace.beams is None or not trace.beams.nodes:
        raise ValueError("this trace has no beam tree: run beam search or constrained beam search")
    beams = trace.beams
    num_beams = int(trace.settings.get("num_beams", 1))
    rank = ranks(beams)
    shown = {n.id for n in beams.nodes} if show_all else shown_by_default(beams, num_beams, rank)
    nodes = [n for n in beams.nodes if n.id in shown]
    pos = node_positions(beams, rank, None if show_all else shown)
    by_id = {n.id: n for n in beams.nodes}
    paths = lineages(beams)
    constrained = bool(beams.constraints)
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
    found = answers(beams)
    for answer in found:  # under the markers: the answer's path from step 1, as thick as a marker
        fig.add_scatter(
            x=[pos[i][0] + 1 for i in answer.path],
            y=[pos[i][1] for i in answer.path],
            mode="lines",
            line=dict(color=GREEN, width=7),
            opacity=0.45,
            name="answers' paths",
            legendgroup="paths",
            showlegend=answer.number == found[0].number,  # one legend entry: more would wrap over the title
            hoverinfo="skip",
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
                colorbar=dict(title="bank", dtick=1),  # banks are whole numbers
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
            customdata=[
                # 8 and 9: the node and its parent (-1: none), for the page's script that draws a hovered
                # node's beam back to step 1 (`ui/beam_hover.py`).
                [
                    show_token(n.text),
                    n.logprob,
                    n.cum_logprob,
                    n.score,
                    n.bank,
                    *_history(paths[n.id], rank, by_id),
                    n.id,
                    -1 if n.parent is None else n.parent,
                ]
                for n in group
            ],
            hovertemplate="%{customdata[0]} (" + status + "), rank %{customdata[6]} at step %{x}"
            "<br>beam: %{customdata[5]}<br>rank at each step: %{customdata[7]}"
            "<br>token log-prob %{customdata[1]:.3f} · cumulative %{customdata[2]:.3f}"
            " · length-penalized %{customdata[3]:.3f}"
            + ("<br>bank %{customdata[4]}" if constrained else "")
            + "<extra></extra>",
        )

    steps = max(n.step for n in beams.nodes) + 1
    rows = max(row for _, row in pos.values()) + 1
    hidden = _hidden_per_step(beams, shown)
    if hidden:
        fig.add_scatter(
            x=[step + 1 for step in hidden],
            y=[rows] * len(hidden),
            mode="text",
            text=[f"+{count}" for count in hidden.values()],
            textfont=dict(size=10, color=GREY),
            name="pruned, ranked lower (not drawn)",
            customdata=list(hidden.values()),
            hovertemplate="step %{x}: %{customdata} more pruned candidates ranked below "
            + str(NEAR * num_beams)
            + "<extra></extra>",
        )
        rows += 1
    for answer in found:
        last = answer.path[-1]
        fig.add_annotation(
            x=pos[last][0] + 1, y=pos[last][1], text=f"answer {answer.number}", showarrow=False, xanchor="left",
            xshift=12, font=dict(color=GREEN, size=11), bgcolor="rgba(255, 255, 255, 0.85)",  # over later nodes
        )  # fmt: skip
        for index, node_id in answer.met:
            constraint = beams.constraints[index]
            words = (" | " if constraint.kind == "one_of" else " ").join(constraint.words)
            fig.add_annotation(
                x=pos[node_id][0] + 1, y=pos[node_id][1], text=f"met {hover_escape(words)!r}", showarrow=True,
                arrowcolor=VERMILLION, ax=0, ay=-38, font=dict(color=VERMILLION, size=11),
                bgcolor="rgba(255, 255, 255, 0.85)",
            )  # fmt: skip

    # Room on the right for the last step's "answer N" labels. A long tree opens on its first steps, or, when
    # the best answer met a constraint past them, on the steps around where it did.
    met = [pos[node_id][0] + 1 for _, node_id in found[0].met] if found else []
    start = 0.5 if not met or max(met) <= VISIBLE_STEPS else max(met) - VISIBLE_STEPS / 2
    xaxis = dict(title="step", dtick=1, range=[start, start + min(steps, VISIBLE_STEPS) + 1])
    if steps > VISIBLE_STEPS:
        xaxis["rangeslider"] = dict(visible=True, thickness=0.06)
    title = f"Beam tree: {len(beams.nodes)} candidates over {steps} steps"
    if constrained:
        title += f", {counted(len(beams.constraints), 'constraint')} (outline = advanced one)"
    if hidden:
        title += f"<br><sup>{len(beams.nodes) - len(shown)} pruned candidates ranked below {NEAR * num_beams} "
        title += "in their step are counted (+N), not drawn</sup>"
    fig.update_layout(
        title=title,
        xaxis=xaxis,
        yaxis=dict(
            title="rank in step (best on top)" if show_all or not hidden else "rank in step, drawn ones (best on top)",
            autorange="reversed",
            zeroline=False,
        ),
        # Above the plot: below it, the range slider of a long run would cover the legend on a narrow page.
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0),
        margin=dict(t=100 if hidden else 80),
        # Room for a token label on every row: labels of neighbouring rows must not overlap.
        height=max(420, 34 * rows + 200),
    )
    return fig


def _history(path: list[int], rank: dict[int, int], by_id: dict) -> list:
    """The beam of a node (the last of `path`) as text (its end), the node's rank (1-based), and the beam's
    rank at each step from step 1."""
    text = "".join(by_id[i].text for i in path)
    text = text if len(text) <= BEAM_TEXT else "…" + text[-BEAM_TEXT:]
    return [hover_escape(repr(text)), rank[path[-1]] + 1, " → ".join(str(rank[i] + 1) for i in path)]


def _hidden_per_step(beams, shown: set[int]) -> dict[int, int]:
    """Step (0-based) -> how many of its candidates are not drawn, for the steps that have any."""
    return dict(sorted(Counter(node.step for node in beams.nodes if node.id not in shown).items()))
