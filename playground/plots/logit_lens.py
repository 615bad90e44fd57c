"""The logit lens drawn and told: a layers x top-k heatmap (token text in the cells, probability as colour), the
chosen token's rank and probability at every layer, KL(layer || final) per layer, a sentence naming the first
layer where the chosen token is top-1, and the CLI's table. Pure functions of a `LensStep`."""

from __future__ import annotations

import plotly.graph_objects as go

from playground.logit_lens import LensStep
from playground.plots.style import BLUE, ORANGE, VERMILLION, hover_escape, show_token

CELL_CHARS = 8  # a cell's token text is cut to this many characters (the hover shows it whole)


def layer_label(layer: int) -> str:
    """A row's label: "emb" for the embeddings (row 0), else the layer's number, counted from 1."""
    return "emb" if layer == 0 else str(layer)


def top1_sentence(lens: LensStep) -> str:
    """One sentence naming the first layer where the step's chosen token is top-1 (or that none is)."""
    token = show_token(lens.token_text)
    if lens.first_top1_layer is None:
        return f"At step {lens.step}, no layer ranks the chosen token {token!r} first."
    return (
        f"At step {lens.step}, the chosen token {token!r} first becomes top-1 at layer {lens.first_top1_layer} "
        f"of {lens.num_layers}."
    )


def lens_heatmap(lens: LensStep) -> go.Figure:
    """Rows: the embeddings, then layers 1..L (the last at the top); columns: each row's k most likely tokens,
    best first. A cell shows the token's text; its colour is its probability at that layer."""
    rows = lens.layers
    labels = [layer_label(row.layer) for row in rows]
    probs = [[token.prob for token in row.top] for row in rows]
    texts = [[_cell(token.text) for token in row.top] for row in rows]
    hovers = [
        [f"{layer_label(row.layer)} · #{rank}: {hover_escape(show_token(t.text))} {t.prob:.4f}" for rank, t in
         enumerate(row.top, start=1)]
        for row in rows
    ]  # fmt: skip
    chosen = [[t.id == lens.token_id for t in row.top] for row in rows]
    texts = [[f"<b>{text}</b>" if mine else text for text, mine in zip(r, c, strict=True)] for r, c in
             zip(texts, chosen, strict=True)]  # fmt: skip
    fig = go.Figure(
        go.Heatmap(
            z=probs,
            x=[f"#{rank}" for rank in range(1, len(rows[0].top) + 1)],
            y=labels,
            text=texts,
            texttemplate="%{text}",
            textfont=dict(size=10),
            customdata=hovers,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar=dict(title="probability"),
        )
    )
    fig.update_layout(
        title=f"Step {lens.step}: each layer's most likely tokens (the chosen {show_token(lens.token_text)!r} in bold)",
        xaxis=dict(title="rank at that layer", side="top"),
        yaxis=dict(title="layer", type="category"),
        height=max(360, 22 * len(rows) + 140),
        margin=dict(t=90),
    )
    return fig


def chosen_figure(lens: LensStep) -> go.Figure:
    """The chosen token's probability (left axis) and rank (right axis, log scale) at every layer, with the first
    layer where it is top-1 marked."""
    labels = [layer_label(row.layer) for row in lens.layers]
    fig = go.Figure()
    fig.add_scatter(x=labels, y=[row.chosen_prob for row in lens.layers], name="probability", mode="lines+markers",
                    line=dict(color=BLUE))  # fmt: skip
    fig.add_scatter(x=labels, y=[row.chosen_rank for row in lens.layers], name="rank", mode="lines+markers",
                    yaxis="y2", line=dict(color=ORANGE, dash="dot"))  # fmt: skip
    if lens.first_top1_layer is not None:
        fig.add_vline(x=lens.first_top1_layer, line=dict(color=VERMILLION, dash="dash"),
                      annotation_text=f"top-1 from layer {lens.first_top1_layer}")  # fmt: skip
    fig.update_layout(
        title=f"The chosen token {show_token(lens.token_text)!r} at every layer",
        xaxis=dict(title="layer", type="category"),
        yaxis=dict(title="probability", range=[0, 1.05]),
        yaxis2=dict(title="rank (1 = top)", overlaying="y", side="right", type="log", autorange="reversed"),
        legend=dict(orientation="h", y=-0.25),
        height=340,
    )
    return fig


def kl_figure(lens: LensStep) -> go.Figure:
    """KL(layer || final) per layer, in nats: how far each layer's guess is from the model's output."""
    labels = [layer_label(row.layer) for row in lens.layers]
    fig = go.Figure(go.Bar(x=labels, y=[row.kl for row in lens.layers], marker_color=BLUE,
                           hovertemplate="layer %{x}: KL %{y:.3f} nats<extra></extra>"))  # fmt: skip
    fig.update_layout(
        title="KL(layer ‖ final): how far each layer is from the output",
        xaxis=dict(title="layer", type="category"),
        yaxis=dict(title="KL (nats)"),
        height=300,
    )
    return fig


def lens_table(lens: LensStep, shown: int = 5) -> str:
    """The CLI's layer table: per row, the chosen token's rank and probability, KL(layer || final) and the
    `shown` most likely tokens; then the top-1 sentence."""
    lines = [f"{'layer':>5}  {'rank':>6}  {'prob':>8}  {'KL':>8}  top tokens"]
    for row in lens.layers:
        top = "  ".join(f"{show_token(t.text)} {t.prob:.3f}" for t in row.top[:shown])
        lines.append(f"{layer_label(row.layer):>5}  {row.chosen_rank:>6}  {row.chosen_prob:8.4f}  {row.kl:8.3f}  {top}")
    lines.append(top1_sentence(lens))
    return "\n".join(lines)


def _cell(text: str) -> str:
    shown = hover_escape(show_token(text))
    return shown if len(shown) <= CELL_CHARS else shown[: CELL_CHARS - 1] + "…"
