"""The "Where the mass goes" figure: a sunburst of every continuation the mass tree holds, ring k = the k-th
token ahead, each arc as wide as the path's joint probability, the mass below the threshold grey ("other"), so
every ring adds up to the whole."""

from __future__ import annotations

import plotly.graph_objects as go

from playground.plots.style import BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILLION, YELLOW, hover_escape, show_token
from playground.trace import MassNode, MassTree
from playground.words import counted

# The first token's continuations take one colour each, and their descendants keep it.
BRANCH_COLOURS = (BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW)
OTHER = "#DDDDDD"


def mass_figure(tree: MassTree) -> go.Figure:
    """The tree as a sunburst. Arcs are sized by "remainder" values: an expanded node adds nothing of its own,
    its children and its "other" make its width, so the rings add up exactly, whatever the float rounding."""
    ids, labels, parents, values, colours, hover = [], [], [], [], [], []

    def add(node_id: str, label: str, parent: str, value: float, colour: str, text: str) -> None:
        ids.append(node_id)
        labels.append(label)
        parents.append(parent)
        values.append(value)
        colours.append(colour)
        hover.append(text)

    def walk(node: MassNode, node_id: str, path: str, colour: str) -> None:
        for rank, child in enumerate(node.children):
            shade = BRANCH_COLOURS[rank % len(BRANCH_COLOURS)] if node is tree.root else colour
            child_id = f"{node_id}/{child.token_id}"
            child_path = path + child.text
            expanded = bool(child.children) or child.other > 0
            add(child_id, show_token(child.text), node_id, 0.0 if expanded else child.joint, shade,
                _hover(child_path, child, node))  # fmt: skip
            walk(child, child_id, child_path, shade)
        if node.other > 0:
            add(f"{node_id}/other", "other", node_id, node.other, OTHER,
                f"{hover_escape(path) or 'first token'}: continuations below {tree.threshold:g}<br>"
                f"together p = {node.other:.4f}")  # fmt: skip

    add("root", "prompt", "", 0.0, "white", "the prompt: every ring around it adds up to 1")
    walk(tree.root, "root", "", GREY)
    fig = sunburst(ids, labels, parents, values, colours, hover, "remainder")
    capped = " (stopped at the server's cap)" if tree.capped else ""
    fig.update_layout(
        title=f"Where the mass goes: {tree.nodes} continuations up to {counted(tree.depth, 'token')} at p ≥ "
        f"{tree.threshold:g}{capped}; grey = the rest",
        height=640,
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return fig


def sunburst(
    ids: list[str],
    labels: list[str],
    parents: list[str],
    values: list[float],
    colours: list[str],
    hover: list[str],
    branchvalues: str,
    texts: list[str] | None = None,
) -> go.Figure:
    """A sunburst of a tree given node by node, drawn in the order given (likeliest first), each node's hover
    text its own, and `texts` (else the labels) written on the arcs wide enough to hold them."""
    fig = go.Figure(
        go.Sunburst(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues=branchvalues,
            marker=dict(colors=colours, line=dict(color="white", width=1)),
            text=texts,
            texttemplate="%{text}" if texts else "%{label}",
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            insidetextorientation="radial",
            sort=False,
        )
    )
    fig.update_layout(uniformtext=dict(minsize=9, mode="hide"))  # an arc too thin for its text shows none
    return fig


def _hover(path: str, node: MassNode, parent: MassNode) -> str:
    end = " (end of text)" if node.ended else ""
    after = "the prompt" if parent.token_id is None else hover_escape(show_token(parent.text))
    return f"{hover_escape(path)}{end}<br>p = {node.joint:.4f} of all continuations<br>{node.prob:.3f} after {after}"
