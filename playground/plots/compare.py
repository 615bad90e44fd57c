"""The Compare tab's figure: how far configuration B's next-token distribution is from run A's at every step."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from playground.plots.style import BLUE, GREY, ORANGE, VERMILLION
from playground.trace import Comparison


def divergence_figure(comparison: Comparison, a_texts: list[str]) -> go.Figure:
    """Per step of A's path: Jensen-Shannon divergence and KL(A || B) (infinite ones drawn at the top, with
    the share of A's probability B rules out), B's probability of A's token, and where B's own text first
    differs from A's.

    Args:
        a_texts: the text of each of A's tokens, for the hover labels.
    """
    steps = comparison.steps
    x = [s.index + 1 for s in steps]
    finite = [s.kl for s in steps if math.isfinite(s.kl)]
    top = max([*finite, max((s.js for s in steps), default=0.0), 0.05]) * 1.15
    fig = go.Figure()
    fig.add_scatter(
        x=x,
        y=[s.js for s in steps],
        customdata=a_texts,
        mode="lines+markers",
        name="Jensen-Shannon (nats)",
        line=dict(color=BLUE),
        hovertemplate="step %{x}: %{customdata}<br>JS = %{y:.4f} nats<extra></extra>",
    )
    fig.add_scatter(
        x=x,
        y=[s.kl if math.isfinite(s.kl) else None for s in steps],
        customdata=a_texts,
        mode="lines+markers",
        name="KL(A || B) (nats)",
        line=dict(color=ORANGE, dash="dot"),
        hovertemplate="step %{x}: %{customdata}<br>KL = %{y:.4f} nats<extra></extra>",
    )
    infinite = [s for s in steps if not math.isfinite(s.kl)]
    if infinite:
        fig.add_scatter(
            x=[s.index + 1 for s in infinite],
            y=[top] * len(infinite),
            customdata=[[a_texts[s.index], s.uncovered] for s in infinite],
            mode="markers",
            marker=dict(symbol="triangle-up", size=10, color=VERMILLION),
            name="KL infinite: B rules out tokens A could take",
            hovertemplate="step %{x}: %{customdata[0]}<br>KL = ∞: %{customdata[1]:.1%} of A's probability is on "
            "tokens B gives 0<extra></extra>",
        )
    fig.add_scatter(
        x=x,
        y=[s.prob_b for s in steps],
        customdata=[[t, s.rank_b, s.prob_a] for t, s in zip(a_texts, steps, strict=True)],
        mode="lines",
        name="B's probability of A's token",
        line=dict(color=GREY, width=1),
        yaxis="y2",
        hovertemplate="step %{x}: %{customdata[0]}<br>p under B = %{y:.3f} (rank %{customdata[1]}), "
        "under A %{customdata[2]:.3f}<extra></extra>",
    )
    if comparison.first_difference < len(steps):
        fig.add_vline(
            x=comparison.first_difference + 1,
            line=dict(color=VERMILLION, dash="dash"),
            annotation_text=f"B's own text differs from step {comparison.first_difference + 1}",
        )
    agree = sum(s.top1_agree for s in steps) / len(steps) if steps else 1.0
    mean_js = sum(s.js for s in steps) / len(steps) if steps else 0.0
    fig.update_layout(
        title=f"A vs B along A's text: mean JS {mean_js:.4f} nats, most likely tokens agree at {agree:.0%} of steps",
        xaxis=dict(title="step of A's text"),
        yaxis=dict(title="divergence (nats)", range=[0, top * 1.08]),
        yaxis2=dict(title="B's probability of A's token", overlaying="y", side="right", range=[0, 1.05]),
        legend=dict(orientation="h", y=-0.25),
        margin=dict(t=60, b=100),
    )
    return fig
