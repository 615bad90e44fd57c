"""Medusa rounds: the draft tree the target verified in one pass, and how deep its acceptance reached.

In the tree, x is the depth below the root (the text's last token) and the nodes of a depth are stacked so that
every subtree stays together. The accepted path is green and drawn thick, the guesses the target turned down
are grey, and the target's own token after the path is an orange diamond one step further on (half a row up, off
the guesses at that depth).
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.plots.draft_cost import add_cost_curve, round_note, with_note
from playground.plots.style import BLUE, GREEN, GREY, ORANGE, hover_escape, show_token
from playground.trace import SpeculativeRound, Trace, TreeNode
from playground.words import counted


def tree_rounds(trace: Trace) -> list[SpeculativeRound]:
    """The rounds of a Medusa run (each with its tree).

    Raises:
        ValueError: the trace has no draft trees (not speculative decoding with Medusa heads).
    """
    if not trace.speculative or not any(r.tree for r in trace.speculative.rounds):
        raise ValueError("this trace has no draft trees: run speculative decoding with Medusa heads")
    return trace.speculative.rounds


def node_rows(tree: list[TreeNode]) -> list[float]:
    """Each node's vertical position: leaves one row apart in depth-first order (best rank first), a parent
    centred on its children, so a subtree never crosses another."""
    children: list[list[int]] = [[] for _ in tree]
    for index, node in enumerate(tree[1:], start=1):
        children[node.parent].append(index)
    rows = [0.0] * len(tree)
    next_leaf = 0

    def place(index: int) -> float:
        nonlocal next_leaf
        if not children[index]:
            rows[index] = float(next_leaf)
            next_leaf += 1
        else:
            placed = [place(child) for child in children[index]]
            rows[index] = (placed[0] + placed[-1]) / 2
        return rows[index]

    place(0)
    return rows


def label_place(tree: list[TreeNode], rows: list[float], index: int) -> str:
    """Where node `index`'s label goes: beside it, right, unless an edge leaves it level to a child in its own row
    (every node of a chain, the automatic draft's copies), which would strike that label through: then above."""
    level = any(node.parent == index and rows[i] == rows[index] for i, node in enumerate(tree))
    return "top right" if level else "middle right"


def draft_tree_figure(trace: Trace, round_index: int) -> go.Figure:
    """The draft tree of round `round_index` (0-based) of a Medusa run."""
    rounds = tree_rounds(trace)
    r = rounds[min(max(round_index, 0), len(rounds) - 1)]
    tree = r.tree
    rows = node_rows(tree)
    fig = go.Figure()
    for accepted, colour, width in ((False, "#CCCCCC", 1), (True, GREEN, 4)):
        xs: list = []
        ys: list = []
        for index, node in enumerate(tree[1:], start=1):
            if node.accepted == accepted:
                xs += [tree[node.parent].depth, node.depth, None]
                ys += [rows[node.parent], rows[index], None]
        fig.add_scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=width), hoverinfo="skip",
                        showlegend=False)  # fmt: skip
    for accepted, colour, name in ((True, GREEN, "accepted"), (False, GREY, "turned down")):
        group = [(i, n) for i, n in enumerate(tree) if n.accepted == accepted]
        fig.add_scatter(
            x=[n.depth for _, n in group],
            y=[rows[i] for i, _ in group],
            mode="markers+text",
            marker=dict(symbol="circle", size=13 if accepted else 9, color=colour),
            text=[show_token(n.text) for _, n in group],
            textposition=[label_place(tree, rows, i) for i, _ in group],
            textfont=dict(color="#222222" if accepted else "#777777"),
            name=name,
            hovertext=[_hover(n) for _, n in group],
            hovertemplate="%{hovertext}<extra></extra>",
        )
    last = max((i for i, n in enumerate(tree) if n.accepted), key=lambda i: tree[i].depth)
    fig.add_scatter(
        x=[tree[last].depth + 1],
        y=[rows[last] - 0.5],  # between rows, so it never hides a guess drawn at that depth
        mode="markers+text",
        marker=dict(symbol="diamond", size=15, color=ORANGE),
        text=[show_token(r.emitted.text)],
        textposition="middle right",
        name=f"the target's own token ({r.emitted.kind})",
        hovertext=[_own_hover(r)],
        hovertemplate="%{hovertext}<extra></extra>",
    )
    depth = max(n.depth for n in tree)
    fig.update_layout(
        title=_title(r, rounds.index(r), len(rounds), tree[last].depth),
        xaxis=dict(title="tokens after the root (the text's last token)", dtick=1, range=[-0.3, depth + 1.8]),
        yaxis=dict(visible=False, autorange="reversed"),
        height=max(300, 26 * (max(rows) + 1) + 140),
        # Right of the plot area, where neither the x-axis title below nor a token's label can be under it.
        legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"),
    )
    return fig


def _title(r: SpeculativeRound, index: int, count: int, accepted: int) -> str:
    """The tree's title: which round, its guesses, what was accepted, and (when the run records them) which
    source drafted it and what its pass cost."""
    depth = max(n.depth for n in r.tree)
    title = (
        f"round {index + 1} of {count}: {len(r.tree) - 1} guesses, {depth} deep, checked in one "
        f"pass · {accepted} accepted + the target's own = {counted(accepted + 1, 'token')}"
    )
    return with_note(title, r)


def _own_hover(r: SpeculativeRound) -> str:
    """The target's own token after the accepted path: why it was taken, and its p where the trace has it."""
    p = "" if r.emitted.p is None else f", p = {r.emitted.p:.3f}"
    return with_note(f"{hover_escape(show_token(r.emitted.text))}<br>the target's own token: {r.emitted.kind}{p}", r)


def _hover(node: TreeNode) -> str:
    token = hover_escape(show_token(node.text))
    if node.parent < 0:
        return f"{token}<br>the root: the text's last token"
    verdict = "accepted" if node.accepted else "turned down"
    return (
        f"{token}<br>head {node.depth}'s guess #{node.rank + 1}: q = {node.q:.3f}"
        f"<br>target after its parent: p = {node.p:.3f}<br>{verdict}"
    )


def add_tree_rounds(fig: go.Figure, trace: Trace) -> None:
    """The depth view's second panel: each round at (its tree's nodes, the tokens it emitted), and when the run
    measured it the pass cost c(k), the tokens a round of k nodes must emit to pay for its pass."""
    rounds = trace.speculative.rounds
    notes = [round_note(r) for r in rounds]
    hover = dict(text=notes, hovertemplate="%{x} nodes: %{y} tokens<br>%{text}<extra></extra>") if any(notes) else {}
    fig.add_scatter(
        x=[len(r.tree) for r in rounds],
        y=[r.tokens for r in rounds],
        mode="markers",
        marker=dict(color=BLUE, size=9, opacity=0.35),
        name="a round",
        **hover,
        row=1,
        col=2,
    )
    if trace.speculative.cost_curve:
        add_cost_curve(fig, trace.speculative.cost_curve, row=1, col=2)


def depth_figure(trace: Trace) -> go.Figure:
    """Two panels: the share of rounds that accepted a guess at each depth, and tokens per target pass round
    by round against the tree's size, with the heads' expected tokens (from their held-out accuracy) and, when the
    run measured it, the pass cost c(k): a round of k nodes paid if it stands above it."""
    rounds = tree_rounds(trace)
    spec = trace.speculative
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.12,
        subplot_titles=("acceptance by depth", "tokens per target pass against the tree's nodes"),
    )  # fmt: skip
    by_depth = spec.acceptance_by_depth or []
    fig.add_bar(
        x=list(range(1, len(by_depth) + 1)),
        y=by_depth,
        marker_color=GREEN,
        name="rounds that accepted a guess this deep",
        text=[f"{a:.0%}" for a in by_depth],
        textposition="outside",
        row=1,
        col=1,
    )
    sizes = [len(r.tree) for r in rounds]
    add_tree_rounds(fig, trace)
    fig.add_scatter(
        x=[max(sizes)],
        y=[spec.tokens_per_round],
        mode="markers",
        marker=dict(color=GREEN, size=15, symbol="diamond"),
        name=f"this run: {spec.tokens_per_round:.2f} tokens per pass",
        row=1,
        col=2,
    )
    full = [r for r in rounds if len(r.tree) == max(sizes)]
    fig.add_scatter(
        x=[max(sizes)],
        y=[full[0].expected_tokens],
        mode="markers",
        marker=dict(color=ORANGE, size=15, symbol="x"),
        name=f"expected from the heads' held-out accuracy: {full[0].expected_tokens:.2f}",
        row=1,
        col=2,
    )
    fig.update_xaxes(title_text="depth (head)", dtick=1, row=1, col=1)
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%", row=1, col=1)
    fig.update_xaxes(title_text="nodes verified in the pass (the root included)", row=1, col=2)
    fig.update_yaxes(title_text="tokens emitted", rangemode="tozero", row=1, col=2)
    fig.update_layout(height=380, legend=dict(orientation="h", y=-0.25))
    return fig
