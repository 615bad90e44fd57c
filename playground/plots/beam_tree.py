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
from playground.plots.style import BLUE, GREEN, GREY, ORANGE, VERMILLION, hover_escape, show_token
from playground.trace import Beams, Trace
from playground.words import counted

STATUS_STYLE = {  # status -> (symbol, colour, size); shape and colour both differ, for every kind of vision
    "kept": ("circle", BLUE, 11),
    "finished": ("diamond", ORANGE, 13),
    "returned": ("star", GREEN, 18),
    "pruned": ("x-thin-open", GREY, 6),
}
VISIBLE_STEPS = 24
BEAM_TEXT = 70  # characters of a node's beam text in its hover, the end kept


def node_positions(beams: Beams, rank: dict[int, int], shown: set[int] | None = None) -> dict[int, tuple[int, int]]:
    """Node id -> (step, row), `rank` being each node's rank within its step (`beam_paths.ranks`). Rows count
    from 1, as the hover's ranks do. With `shown`, only those nodes, in rank order without gaps, so hidden
    candidates leave no empty rows; otherwise every node in the row of its rank (1 = best)."""
    nodes = [n for n in beams.nodes if shown is None or n.id in shown]
    by_step: dict[int, list] = {}
    for node in nodes:
        by_step.setdefault(node.step, []).append(node)
    return {
        node.id: (step, row)
        for step, group in by_step.items()
        for row, node in enumerate(sorted(group, key=lambda n: rank[n.id]), start=1)
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
    fig = go.Figure()
    _add_edges(fig, nodes, pos)
    found = answers(beams)
    _add_answer_paths(fig, found, pos)
    _add_nodes(fig, beams, nodes, pos, rank)
    rows = max(row for _, row in pos.values())  # the last rank row; rows count from 1
    hidden = _hidden_per_step(beams, shown)
    if hidden:
        _add_hidden_counts(fig, hidden, rows, NEAR * num_beams)
    _mark_answers(fig, beams, found, pos)
    steps = max(n.step for n in beams.nodes) + 1
    marks = [pos[node_id][0] + 1 for answer in found for _, node_id in answer.met]
    xaxis = dict(title="step", dtick=1, range=list(x_window(steps, marks)))
    if steps > VISIBLE_STEPS:
        xaxis["rangeslider"] = dict(visible=True, thickness=0.06)
    title = f"Beam tree: {len(beams.nodes)} candidates over {steps} steps"
    if beams.constraints:
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
            tickvals=rank_ticks(rows),  # ranks only: the "+N" row below them is no rank
        ),
        # Above the plot: below it, the range slider of a long run would cover the legend on a narrow page.
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0),
        margin=dict(t=100 if hidden else 80),
        # Room for a token label on every row: labels of neighbouring rows must not overlap.
        height=max(420, 34 * (rows + bool(hidden)) + 200),
    )
    return fig


def _add_edges(fig: go.Figure, nodes: list, pos: dict[int, tuple[int, int]]) -> None:
    """Grey lines from each kept or finished node back to its parent, in one trace."""
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


def _add_answer_paths(fig: go.Figure, found: list, pos: dict[int, tuple[int, int]]) -> None:
    """Under the markers: each answer's path from step 1, as thick as a marker, one legend entry for all."""
    for answer in found:
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


def _add_nodes(fig: go.Figure, beams: Beams, nodes: list, pos: dict[int, tuple[int, int]], rank: dict) -> None:
    """A marker trace per status; for constrained beam search coloured by bank, advancing tokens outlined."""
    paths, by_id = lineages(beams), {n.id: n for n in beams.nodes}
    constrained = bool(beams.constraints)
    banks = [n.bank or 0 for n in nodes]
    for status, (symbol, colour, size) in STATUS_STYLE.items():
        group = [n for n in nodes if n.status == status]
        if not group:
            continue
        marker = dict(symbol=symbol, size=size, color=colour, line=dict(width=1, color="#333333"))
        if constrained and status != "pruned":
            marker.update(_bank_marker(group, max(banks) or 1, showscale=status == "kept"))
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
                # node's beam back to step 1 (`ui/beam_hover.py`); 10: why the node's row is not its rank.
                [
                    show_token(n.text),
                    n.logprob,
                    n.cum_logprob,
                    n.score,
                    n.bank,
                    *_history(paths[n.id], rank, by_id),
                    n.id,
                    -1 if n.parent is None else n.parent,
                    _row_note(pos[n.id][1], rank[n.id]),
                ]
                for n in group
            ],
            hovertemplate="%{customdata[0]} (" + status + "), rank %{customdata[6]} at step %{x}%{customdata[10]}"
            "<br>beam: %{customdata[5]}<br>rank at each step: %{customdata[7]}"
            "<br>token log-prob %{customdata[1]:.3f} · cumulative %{customdata[2]:.3f}"
            " · length-penalized %{customdata[3]:.3f}"
            + ("<br>bank %{customdata[4]}" if constrained else "")
            + "<extra></extra>",
        )


def _bank_marker(group: list, top_bank: int, showscale: bool) -> dict:
    """Marker settings that colour nodes by bank (how much of the constraints their beam met) and give the
    tokens that advanced a constraint a thick vermillion outline."""
    return dict(
        color=[n.bank or 0 for n in group],
        colorscale="Viridis",
        cmin=0,
        cmax=top_bank,
        # Whole banks; padded clear of the last step's "answer N" labels, which run past the plot.
        colorbar=dict(title="bank", dtick=1, xpad=40),
        showscale=showscale,
        line=dict(
            width=[3 if n.constraint is not None else 1 for n in group],
            color=[VERMILLION if n.constraint is not None else "#333333" for n in group],
        ),
    )


def _add_hidden_counts(fig: go.Figure, hidden: dict[int, int], rows: int, near: int) -> None:
    """Under the last rank row, "+N" at each step: the pruned candidates ranked below `near`, not drawn."""
    fig.add_scatter(
        x=[step + 1 for step in hidden],
        y=[rows + 1] * len(hidden),
        mode="text",
        text=[f"+{count}" for count in hidden.values()],
        textfont=dict(size=10, color=GREY),
        name="pruned, ranked lower (not drawn)",
        customdata=list(hidden.values()),
        hovertemplate="step %{x}: %{customdata} more pruned candidates ranked below " + str(near) + "<extra></extra>",
    )


def x_window(steps: int, marks: list[int]) -> tuple[float, float]:
    """The x range the tree opens on: every step when they fit, else VISIBLE_STEPS of them, from step 1 or, when
    the first "met" mark lies past those, around it; never past the last step.

    Args:
        steps: how many steps the run took.
        marks: the 1-based steps where the answers met their constraints (empty: none).
    """
    if steps <= VISIBLE_STEPS:
        return 0.5, steps + 0.5
    first = min(marks, default=1)
    start = 0.5 if first < VISIBLE_STEPS else min(first - VISIBLE_STEPS / 2, steps + 0.5 - VISIBLE_STEPS)
    return start, start + VISIBLE_STEPS


def rank_ticks(last: int) -> list[int]:
    """The y ticks of ranks 1 to `last`: every rank, or rank 1 and every 2nd, 5th, 10th, ... when there are too
    many rows to label each."""
    every = next(n for n in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, last) if last / n <= 20)
    return [1, *range(every, last + 1, every)] if every > 1 else list(range(1, last + 1))


def _mark_answers(fig: go.Figure, beams: Beams, found: list, pos: dict[int, tuple[int, int]]) -> None:
    """Labels each answer at its end, and each node where an answer met a constraint (above it, or below it in
    row 1). Answers that share the start of their path may have met a constraint at the same node: that node gets
    one label, not one each."""
    for answer in found:
        last = answer.path[-1]
        fig.add_annotation(
            x=pos[last][0] + 1, y=pos[last][1], text=f"answer {answer.number}", showarrow=False, xanchor="left",
            xshift=12, font=dict(color=GREEN, size=11), bgcolor="rgba(255, 255, 255, 0.85)",  # over later nodes
        )  # fmt: skip
    met = dict.fromkeys((index, node_id) for answer in found for index, node_id in answer.met)  # in order, once
    for index, node_id in met:
        constraint = beams.constraints[index]
        words = (" | " if constraint.kind == "one_of" else " ").join(constraint.words)
        step, row = pos[node_id]
        fig.add_annotation(
            x=step + 1, y=row, text=f"met {hover_escape(words)!r}", showarrow=True, arrowcolor=VERMILLION, ax=0,
            ay=38 if row == 1 else -38,  # above the node, but below a top-row one: above it is the legend
            font=dict(color=VERMILLION, size=11),
            bgcolor="rgba(255, 255, 255, 0.85)",
        )  # fmt: skip


def _history(path: list[int], rank: dict[int, int], by_id: dict) -> list:
    """The beam of a node (the last of `path`) as text (its end), the node's rank (1-based), and the beam's
    rank at each step from step 1."""
    text = "".join(by_id[i].text for i in path)
    text = text if len(text) <= BEAM_TEXT else "…" + text[-BEAM_TEXT:]
    return [hover_escape(repr(text)), rank[path[-1]] + 1, " → ".join(str(rank[i] + 1) for i in path)]


def _row_note(row: int, rank: int) -> str:
    """What the hover adds when a node is drawn above its rank (`rank` 0-based): the pruned candidates ranked
    between are counted, not drawn, so a constrained search's kept node far down its step moves up."""
    return "" if row == rank + 1 else f" (drawn in row {row}: lower-ranked pruned candidates are not drawn)"


def _hidden_per_step(beams, shown: set[int]) -> dict[int, int]:
    """Step (0-based) -> how many of its candidates are not drawn, for the steps that have any."""
    return dict(sorted(Counter(node.step for node in beams.nodes if node.id not in shown).items()))
